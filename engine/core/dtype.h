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
  /* Quantised block types go here later; their element size is per block. */
  TD_DTYPE_COUNT
} td_dtype;

/* Bytes per element. */
size_t td_dtype_size (td_dtype dtype);
/* Lower-case name ("f32", "bf16", …). */
const char *td_dtype_name (td_dtype dtype);
/* The safetensors spelling ("F32", "BF16", …) and its inverse; returns -1 if unknown. */
const char *td_dtype_safetensors_name (td_dtype dtype);
int td_dtype_from_safetensors_name (const char *name);
/* True for f32/f16/bf16/f64. */
int td_dtype_is_float (td_dtype dtype);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float td_f16_to_f32 (uint16_t h);
uint16_t td_f32_to_f16 (float f);

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

/* Converts n elements of any numeric dtype to f32 (and back). */
void td_convert_to_f32 (float *dst, const void *src, td_dtype src_dtype, size_t n);
void td_convert_from_f32 (void *dst, td_dtype dst_dtype, const float *src, size_t n);
