#include "core/dtype.h"
#include "core/quant.h"

#include <math.h>
#include <string.h>

typedef struct {
  const char *name;
  /* The safetensors spelling; for block types the ggml one, which no
   * safetensors file may use (td_dtype_from_safetensors_name skips them). */
  const char *safetensors_name;
  size_t block_bytes;
  int block_elems;
  int is_float;
} dtype_info;

static const dtype_info dtype_table[TD_DTYPE_COUNT] = {
  [TD_F32] = { "f32", "F32", 4, 1, 1 },
  [TD_F16] = { "f16", "F16", 2, 1, 1 },
  [TD_BF16] = { "bf16", "BF16", 2, 1, 1 },
  [TD_F64] = { "f64", "F64", 8, 1, 1 },
  [TD_I64] = { "i64", "I64", 8, 1, 0 },
  [TD_I32] = { "i32", "I32", 4, 1, 0 },
  [TD_I16] = { "i16", "I16", 2, 1, 0 },
  [TD_I8] = { "i8", "I8", 1, 1, 0 },
  [TD_U8] = { "u8", "U8", 1, 1, 0 },
  [TD_BOOL] = { "bool", "BOOL", 1, 1, 0 },
  [TD_F8_E4M3] = { "f8_e4m3", "F8_E4M3", 1, 1, 1 },
  [TD_F8_E5M2] = { "f8_e5m2", "F8_E5M2", 1, 1, 1 },
  [TD_Q4_0] = { "q4_0", "Q4_0", TD_Q4_0_BYTES, TD_QK4_0, 0 },
  [TD_Q4_1] = { "q4_1", "Q4_1", TD_Q4_1_BYTES, TD_QK4_1, 0 },
  [TD_Q5_0] = { "q5_0", "Q5_0", TD_Q5_0_BYTES, TD_QK5_0, 0 },
  [TD_Q5_1] = { "q5_1", "Q5_1", TD_Q5_1_BYTES, TD_QK5_1, 0 },
  [TD_Q8_0] = { "q8_0", "Q8_0", TD_Q8_0_BYTES, TD_QK8_0, 0 },
  [TD_Q2_K] = { "q2_K", "Q2_K", TD_Q2_K_BYTES, TD_QK_K, 0 },
  [TD_Q3_K] = { "q3_K", "Q3_K", TD_Q3_K_BYTES, TD_QK_K, 0 },
  [TD_Q4_K] = { "q4_K", "Q4_K", TD_Q4_K_BYTES, TD_QK_K, 0 },
  [TD_Q5_K] = { "q5_K", "Q5_K", TD_Q5_K_BYTES, TD_QK_K, 0 },
  [TD_Q6_K] = { "q6_K", "Q6_K", TD_Q6_K_BYTES, TD_QK_K, 0 },
};

size_t
td_dtype_size (td_dtype dtype)
{
  if ((unsigned) dtype >= TD_DTYPE_COUNT || dtype_table[dtype].block_elems != 1)
    return 0;
  return dtype_table[dtype].block_bytes;
}

int
td_dtype_block_elems (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT ? dtype_table[dtype].block_elems : 0;
}

size_t
td_dtype_block_bytes (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT ? dtype_table[dtype].block_bytes : 0;
}

int
td_dtype_is_quantized (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT && dtype_table[dtype].block_elems > 1;
}

int
td_dtype_nbytes (td_dtype dtype, int64_t numel, size_t *nbytes)
{
  if ((unsigned) dtype >= TD_DTYPE_COUNT || numel < 0)
    return 0;
  uint64_t block = (uint64_t) dtype_table[dtype].block_elems, bytes = dtype_table[dtype].block_bytes;
  if ((uint64_t) numel % block != 0 || (uint64_t) numel / block > SIZE_MAX / bytes)
    return 0;
  *nbytes = (size_t) ((uint64_t) numel / block * bytes);
  return 1;
}

const char *
td_dtype_name (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT ? dtype_table[dtype].name : "invalid";
}

const char *
td_dtype_safetensors_name (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT ? dtype_table[dtype].safetensors_name : "INVALID";
}

int
td_dtype_from_safetensors_name (const char *name)
{
  for (int i = 0; i < TD_DTYPE_COUNT; i++)
    if (dtype_table[i].block_elems == 1 && strcmp (dtype_table[i].safetensors_name, name) == 0)
      return i;
  return -1;
}

int
td_dtype_is_float (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT && dtype_table[dtype].is_float;
}

float
td_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t u;

  if (exponent == 0)
    {
      if (mantissa == 0)
        u = sign;
      else
        {
          /* Subnormal half: value = mantissa · 2^-24, exact in f32. */
          float f = ldexpf ((float) mantissa, -24);
          memcpy (&u, &f, sizeof u);
          u |= sign;
        }
    }
  else if (exponent == 31)
    u = sign | 0x7f800000u | (mantissa << 13);
  else
    u = sign | ((exponent + 112) << 23) | (mantissa << 13);

  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

uint16_t
td_f32_to_f16 (float f)
{
  uint32_t u;
  memcpy (&u, &f, sizeof u);
  uint16_t sign = (uint16_t) ((u >> 16) & 0x8000);
  uint32_t abs_bits = u & 0x7fffffffu;

  if (abs_bits > 0x7f800000u) /* NaN */
    return sign | 0x7e00;
  if (abs_bits >= 0x477ff000u) /* rounds to ≥ 65520: infinity */
    return sign | 0x7c00;
  if (abs_bits < 0x38800000u)
    {
      /* Result is subnormal or zero: round abs(f) · 2^24 to nearest even. */
      float a;
      memcpy (&a, &abs_bits, sizeof a);
      float scaled = a * 16777216.0f;
      return sign | (uint16_t) lrintf (scaled);
    }
  uint32_t rounded = abs_bits + 0xfffu + ((abs_bits >> 13) & 1u);
  return sign | (uint16_t) ((rounded - (112u << 23)) >> 13);
}

uint16_t
td_f32_to_f16_saturate (float f)
{
  if (f > 65504.0f)
    return 0x7bff;
  if (f < -65504.0f)
    return 0xfbff;
  return td_f32_to_f16 (f);
}

float
td_f8_e4m3_to_f32 (uint8_t v)
{
  float sign = (v & 0x80) ? -1.0f : 1.0f;
  int exponent = (v >> 3) & 0xf, mantissa = v & 0x7;
  if (exponent == 0xf && mantissa == 0x7)
    return NAN;
  if (exponent == 0) /* subnormal: mantissa · 2^-9 */
    return sign * ldexpf ((float) mantissa, -9);
  return sign * ldexpf ((float) (8 + mantissa), exponent - 10);
}

float
td_f8_e5m2_to_f32 (uint8_t v)
{
  return td_f16_to_f32 ((uint16_t) ((uint16_t) v << 8));
}

void
td_convert_to_f32 (float *dst, const void *src, td_dtype src_dtype, size_t n)
{
  switch (src_dtype)
    {
    case TD_F32: memcpy (dst, src, n * sizeof (float)); break;
    case TD_F16: for (size_t i = 0; i < n; i++) dst[i] = td_f16_to_f32 (((const uint16_t *) src)[i]); break;
    case TD_BF16: for (size_t i = 0; i < n; i++) dst[i] = td_bf16_to_f32 (((const uint16_t *) src)[i]); break;
    case TD_F64: for (size_t i = 0; i < n; i++) dst[i] = (float) ((const double *) src)[i]; break;
    case TD_I64: for (size_t i = 0; i < n; i++) dst[i] = (float) ((const int64_t *) src)[i]; break;
    case TD_I32: for (size_t i = 0; i < n; i++) dst[i] = (float) ((const int32_t *) src)[i]; break;
    case TD_I16: for (size_t i = 0; i < n; i++) dst[i] = (float) ((const int16_t *) src)[i]; break;
    case TD_I8: for (size_t i = 0; i < n; i++) dst[i] = (float) ((const int8_t *) src)[i]; break;
    case TD_U8:
    case TD_BOOL: for (size_t i = 0; i < n; i++) dst[i] = (float) ((const uint8_t *) src)[i]; break;
    case TD_F8_E4M3: for (size_t i = 0; i < n; i++) dst[i] = td_f8_e4m3_to_f32 (((const uint8_t *) src)[i]); break;
    case TD_F8_E5M2: for (size_t i = 0; i < n; i++) dst[i] = td_f8_e5m2_to_f32 (((const uint8_t *) src)[i]); break;
    case TD_Q4_0: case TD_Q4_1: case TD_Q5_0: case TD_Q5_1: case TD_Q8_0:
    case TD_Q2_K: case TD_Q3_K: case TD_Q4_K: case TD_Q5_K: case TD_Q6_K:
      td_dequantize (dst, src, src_dtype, n / (size_t) td_dtype_block_elems (src_dtype));
      break;
    case TD_DTYPE_COUNT: default: memset (dst, 0, n * sizeof (float)); break;
    }
}

int
td_convert_from_f32 (void *dst, td_dtype dst_dtype, const float *src, size_t n)
{
  switch (dst_dtype)
    {
    case TD_F32: memcpy (dst, src, n * sizeof (float)); break;
    case TD_F16: for (size_t i = 0; i < n; i++) ((uint16_t *) dst)[i] = td_f32_to_f16 (src[i]); break;
    case TD_BF16: for (size_t i = 0; i < n; i++) ((uint16_t *) dst)[i] = td_f32_to_bf16 (src[i]); break;
    case TD_F64: for (size_t i = 0; i < n; i++) ((double *) dst)[i] = src[i]; break;
    case TD_I64: for (size_t i = 0; i < n; i++) ((int64_t *) dst)[i] = (int64_t) src[i]; break;
    case TD_I32: for (size_t i = 0; i < n; i++) ((int32_t *) dst)[i] = (int32_t) src[i]; break;
    case TD_I16: for (size_t i = 0; i < n; i++) ((int16_t *) dst)[i] = (int16_t) src[i]; break;
    case TD_I8: for (size_t i = 0; i < n; i++) ((int8_t *) dst)[i] = (int8_t) src[i]; break;
    case TD_U8:
    case TD_BOOL: for (size_t i = 0; i < n; i++) ((uint8_t *) dst)[i] = (uint8_t) src[i]; break;
    default: return 0;
    }
  return 1;
}
