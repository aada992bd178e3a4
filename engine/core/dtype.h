/* dtype.h — element types of tensors, and scalar conversions. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum td_dtype {
  TD_F32 = 0,
  TD_F16,
  TD_BF16,
  TD_F64,
  TD_I64,
  TD_I32,
  TD_I16,
  TD_I8,
  TD_U8,
  TD_BOOL,
  /* 8-bit floats as safetensors stores them: E4M3 "fn" (no infinities, NaN
   * only at S.1111.111) and E5M2 (IEEE-like, the top byte of an f16). */
  TD_F8_E4M3,
  TD_F8_E5M2,
  /* ggml's block-quantised weight types (ggml-common.h layouts, bit for bit):
   * a row is a sequence of blocks of td_dtype_block_elems() values stored in
   * td_dtype_block_bytes() bytes; core/quant.c decodes them. */
  TD_Q4_0,
  TD_Q4_1,
  TD_Q5_0,
  TD_Q5_1,
  TD_Q8_0,
  TD_Q2_K,
  TD_Q3_K,
  TD_Q4_K,
  TD_Q5_K,
  TD_Q6_K,
  TD_DTYPE_COUNT
} td_dtype;

/* Bytes per element; 0 for the block-quantised types, whose size only exists
 * per block (use td_dtype_nbytes). */
size_t td_dtype_size (td_dtype dtype);
/* Values per block and bytes per block: 1 and td_dtype_size for plain types. */
int td_dtype_block_elems (td_dtype dtype);
size_t td_dtype_block_bytes (td_dtype dtype);
/* True for the ggml block types (Q4_0 … Q6_K). */
int td_dtype_is_quantized (td_dtype dtype);
/* Bytes of `numel` values; returns 0 when numel is negative, not a whole
 * number of blocks, or the size overflows SIZE_MAX. */
int td_dtype_nbytes (td_dtype dtype, int64_t numel, size_t *nbytes);
/* Lower-case name ("f32", "bf16", …). */
const char *td_dtype_name (td_dtype dtype);
/* The safetensors spelling ("F32", "BF16", …) and its inverse; returns -1 if unknown. */
const char *td_dtype_safetensors_name (td_dtype dtype);
int td_dtype_from_safetensors_name (const char *name);
/* True for f32/f16/bf16/f64 and the fp8 types. */
int td_dtype_is_float (td_dtype dtype);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float td_f16_to_f32 (uint16_t h);
uint16_t td_f32_to_f16 (float f);
/* As td_f32_to_f16, but beyond ±65504 (infinities included) gives ±65504; NaN stays NaN. */
uint16_t td_f32_to_f16_saturate (float f);

static inline float
td_bf16_to_f32 (uint16_t b)
{
  uint32_t u = (uint32_t) b << 16;
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

static inline uint16_t
td_f32_to_bf16 (float f)
{
  uint32_t u;
  memcpy (&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a quiet NaN */
    return (uint16_t) ((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t) (u >> 16);
}

/* 8-bit floats (exact: every fp8 value is an f32). */
float td_f8_e4m3_to_f32 (uint8_t v);
float td_f8_e5m2_to_f32 (uint8_t v);

/* Converts n elements of any numeric dtype to f32; for a block type n must be
 * a whole number of blocks starting at a block boundary. */
void td_convert_to_f32 (float *dst, const void *src, td_dtype src_dtype, size_t n);
/* f32 to a plain dtype. The fp8 and block types are not written here (fp8
 * encoding and quantisation have their own code): returns 0 for them, 1 when done. */
int td_convert_from_f32 (void *dst, td_dtype dst_dtype, const float *src, size_t n);
