/* quant-test-util.h — random weights in every format of the matmul family, for
 * the op tests (CPU here, CPU vs Vulkan in tests/vulkan). Header-only.
 *
 * Block formats get random bytes with their f16 scale fields replaced by
 * finite values in ±[2^-20, 1) (so some are f16 subnormals); fp8 bytes avoid
 * NaN and infinity. The reference values come from the CPU decoder. */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

#include "core/quant.h"

/* The formats beyond f32/f16/bf16, in td_dtype order (the Vulkan family test
 * checks this list against the formats the kernels support). */
static const td_dtype quant_test_formats[] = {
  TD_F8_E4M3, TD_F8_E5M2, TD_Q4_0, TD_Q4_1, TD_Q5_0, TD_Q5_1, TD_Q8_0,
  TD_Q2_K, TD_Q3_K, TD_Q4_K, TD_Q5_K, TD_Q6_K,
};

/* Byte offsets of a block's f16 scale fields (-1 ends the list). */
static inline const int *
quant_test_half_fields (td_dtype dtype)
{
  static const int d[] = { 0, -1 }, dm[] = { 0, 2, -1 }, q2k[] = { 80, 82, -1 }, q3k[] = { 108, -1 },
                   q6k[] = { 208, -1 }, none[] = { -1 };
  switch (dtype)
    {
    case TD_Q4_0: case TD_Q5_0: case TD_Q8_0: return d;
    case TD_Q4_1: case TD_Q5_1: case TD_Q4_K: case TD_Q5_K: return dm;
    case TD_Q2_K: return q2k;
    case TD_Q3_K: return q3k;
    case TD_Q6_K: return q6k;
    default: return none;
    }
}

/* n values' worth of random weight bytes of `dtype` (g_free); *bytes gets the size. */
static inline guint8 *
quant_test_random_weights (td_dtype dtype, int64_t n, GRand *rng, size_t *bytes)
{
  g_assert_true (td_dtype_nbytes (dtype, n, bytes));
  guint8 *raw = g_malloc (*bytes + 1);
  for (size_t i = 0; i < *bytes; i++)
    raw[i] = (guint8) g_rand_int_range (rng, 0, 256);
  if (dtype == TD_F8_E4M3)
    for (size_t i = 0; i < *bytes; i++)
      raw[i] = (raw[i] & 0x7f) == 0x7f ? raw[i] & 0xfe : raw[i];
  if (dtype == TD_F8_E5M2)
    for (size_t i = 0; i < *bytes; i++)
      raw[i] = (raw[i] & 0x7c) == 0x7c ? raw[i] & 0xbf : raw[i];
  if (td_dtype_is_quantized (dtype))
    {
      size_t block_bytes = td_dtype_block_bytes (dtype);
      for (size_t b = 0; b < *bytes / block_bytes; b++)
        for (const int *f = quant_test_half_fields (dtype); *f >= 0; f++)
          {
            float scale = ldexpf ((float) g_rand_double_range (rng, 0.5, 1.0), -g_rand_int_range (rng, 1, 21));
            uint16_t h = td_f32_to_f16 (g_rand_boolean (rng) ? -scale : scale);
            memcpy (raw + b * block_bytes + *f, &h, 2);
          }
    }
  return raw;
}
