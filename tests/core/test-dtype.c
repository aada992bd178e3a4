#include <glib.h>
#include <math.h>

#include "core/dtype.h"

static void
test_sizes_and_names (void)
{
  g_assert_cmpuint (td_dtype_size (TD_F32), ==, 4);
  g_assert_cmpuint (td_dtype_size (TD_BF16), ==, 2);
  g_assert_cmpuint (td_dtype_size (TD_I64), ==, 8);
  g_assert_cmpstr (td_dtype_safetensors_name (TD_BF16), ==, "BF16");
  g_assert_cmpint (td_dtype_from_safetensors_name ("F16"), ==, TD_F16);
  g_assert_cmpint (td_dtype_from_safetensors_name ("Q4_K"), ==, -1);
  g_assert_cmpint (td_dtype_from_safetensors_name ("F8_E4M3"), ==, TD_F8_E4M3);
  g_assert_cmpint (td_dtype_from_safetensors_name ("F8_E5M2"), ==, TD_F8_E5M2);
}

/* ggml's block sizes (ggml-common.h): values and bytes per block. */
static void
test_block_types (void)
{
  static const struct { td_dtype dtype; int elems; size_t bytes; } blocks[] = {
    { TD_Q4_0, 32, 18 }, { TD_Q4_1, 32, 20 }, { TD_Q5_0, 32, 22 }, { TD_Q5_1, 32, 24 }, { TD_Q8_0, 32, 34 },
    { TD_Q2_K, 256, 84 }, { TD_Q3_K, 256, 110 }, { TD_Q4_K, 256, 144 }, { TD_Q5_K, 256, 176 },
    { TD_Q6_K, 256, 210 }, { TD_F8_E4M3, 1, 1 }, { TD_BF16, 1, 2 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (blocks); i++)
    {
      g_assert_cmpint (td_dtype_block_elems (blocks[i].dtype), ==, blocks[i].elems);
      g_assert_cmpuint (td_dtype_block_bytes (blocks[i].dtype), ==, blocks[i].bytes);
      g_assert_cmpint (td_dtype_is_quantized (blocks[i].dtype), ==, blocks[i].elems > 1);
      size_t n = 0;
      g_assert_true (td_dtype_nbytes (blocks[i].dtype, 3 * blocks[i].elems, &n));
      g_assert_cmpuint (n, ==, 3 * blocks[i].bytes);
      if (blocks[i].elems > 1)
        {
          g_assert_cmpuint (td_dtype_size (blocks[i].dtype), ==, 0);
          g_assert_false (td_dtype_nbytes (blocks[i].dtype, blocks[i].elems + 1, &n));
        }
    }
  size_t n;
  g_assert_false (td_dtype_nbytes (TD_F32, INT64_MAX, &n));
  g_assert_false (td_dtype_nbytes (TD_Q8_0, -32, &n));
}

/* Every fp8 byte against the format's definition, evaluated in double. */
static double
fp8_reference (unsigned v, int exponent_bits, int bias)
{
  int mantissa_bits = 7 - exponent_bits;
  unsigned e = (v >> mantissa_bits) & ((1u << exponent_bits) - 1), m = v & ((1u << mantissa_bits) - 1);
  double sign = (v & 0x80) ? -1 : 1;
  if (e == 0)
    return sign * ldexp ((double) m, 1 - bias - mantissa_bits);
  return sign * ldexp (1.0 + ldexp ((double) m, -mantissa_bits), (int) e - bias);
}

static void
test_fp8_all_values (void)
{
  for (unsigned v = 0; v < 256; v++)
    {
      float e4m3 = td_f8_e4m3_to_f32 ((uint8_t) v);
      if ((v & 0x7f) == 0x7f)
        g_assert_true (isnan (e4m3)); /* E4M3 "fn": no infinities, S.1111.111 is NaN */
      else
        g_assert_cmpfloat ((double) e4m3, ==, fp8_reference (v, 4, 7));
      float e5m2 = td_f8_e5m2_to_f32 ((uint8_t) v);
      if ((v & 0x7c) == 0x7c)
        g_assert_true ((v & 3) != 0 ? isnan (e5m2) : isinf (e5m2));
      else
        g_assert_cmpfloat ((double) e5m2, ==, fp8_reference (v, 5, 15));
    }
  g_assert_cmpfloat (td_f8_e4m3_to_f32 (0x7e), ==, 448.0f);
  g_assert_cmpfloat (td_f8_e4m3_to_f32 (0x01), ==, ldexpf (1.0f, -9));
  g_assert_cmpfloat (td_f8_e5m2_to_f32 (0x7b), ==, 57344.0f);
  uint8_t bytes[2] = { 0x38, 0xc0 }; /* 1.0 and -2.0 in E4M3 */
  float out[2];
  td_convert_to_f32 (out, bytes, TD_F8_E4M3, 2);
  g_assert_cmpfloat (out[0], ==, 1.0f);
  g_assert_cmpfloat (out[1], ==, -2.0f);
}

static void
test_f16_known_values (void)
{
  /* Known encodings: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), inf. */
  g_assert_cmphex (td_f32_to_f16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (td_f32_to_f16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (td_f32_to_f16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (td_f32_to_f16 (ldexpf (1.0f, -24)), ==, 0x0001);
  g_assert_cmphex (td_f32_to_f16 (1e6f), ==, 0x7c00);
  g_assert_cmpfloat (td_f16_to_f32 (0x3555), ==, 0.333251953125f);
  g_assert_cmpfloat (td_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_true (isnan (td_f16_to_f32 (td_f32_to_f16 (NAN))));
}

static void
test_f16_round_trip_all (void)
{
  /* Every finite half converts to f32 and back to itself. */
  for (uint32_t h = 0; h < 0x10000; h++)
    {
      if ((h & 0x7c00) == 0x7c00)
        continue;
      g_assert_cmphex (td_f32_to_f16 (td_f16_to_f32 ((uint16_t) h)), ==, h);
    }
}

static void
test_bf16_rounding (void)
{
  g_assert_cmphex (td_f32_to_bf16 (1.0f), ==, 0x3f80);
  /* 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (1.0). */
  g_assert_cmphex (td_f32_to_bf16 (1.0f + ldexpf (1.0f, -8)), ==, 0x3f80);
  g_assert_cmphex (td_f32_to_bf16 (1.0f + 3 * ldexpf (1.0f, -8)), ==, 0x3f82);
  g_assert_cmpfloat (td_bf16_to_f32 (0xc040), ==, -3.0f);
  g_assert_true (isnan (td_bf16_to_f32 (td_f32_to_bf16 (NAN))));
}

static void
test_convert_arrays (void)
{
  const int32_t ints[3] = { -7, 0, 123456 };
  float out[3];
  td_convert_to_f32 (out, ints, TD_I32, 3);
  g_assert_cmpfloat (out[0], ==, -7.0f);
  g_assert_cmpfloat (out[2], ==, 123456.0f);
  uint16_t halves[3];
  td_convert_from_f32 (halves, TD_F16, out, 2);
  g_assert_cmphex (halves[1], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtype/sizes-and-names", test_sizes_and_names);
  g_test_add_func ("/dtype/f16-known-values", test_f16_known_values);
  g_test_add_func ("/dtype/block-types", test_block_types);
  g_test_add_func ("/dtype/fp8-all-values", test_fp8_all_values);
  g_test_add_func ("/dtype/f16-round-trip-all", test_f16_round_trip_all);
  g_test_add_func ("/dtype/bf16-rounding", test_bf16_rounding);
  g_test_add_func ("/dtype/convert-arrays", test_convert_arrays);
  return g_test_run ();
}
