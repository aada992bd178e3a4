/* quant_encode.c — block quantizers (see quant_encode.h). */
#include "core/quant_encode.h"
#include "core/quant.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void
put_half (uint8_t *p, float v)
{
  uint16_t h = td_f32_to_f16 (v);
  p[0] = (uint8_t) (h & 0xff);
  p[1] = (uint8_t) (h >> 8);
}

static void
encode_q8_0 (uint8_t *block, const float *x)
{
  float amax = 0.0f;
  for (int j = 0; j < 32; j++)
    amax = fmaxf (amax, fabsf (x[j]));
  float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half (block, d);
  for (int j = 0; j < 32; j++)
    block[2 + j] = (uint8_t) (int8_t) lroundf (x[j] * id);
}

/* Q4_K: each sub-block of 32 is fit as scale·q − min with q in 0..15 and
 * min ≥ 0 (as ggml stores it); scales and mins are 6-bit multiples of the
 * super-block's d and dmin. */
static void
encode_q4_k (uint8_t *block, const float *x)
{
  float scale[8], min[8], max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < 8; s++)
    {
      float lo = 0.0f, hi = 0.0f;
      for (int l = 0; l < 32; l++)
        {
          lo = fminf (lo, x[32 * s + l]);
          hi = fmaxf (hi, x[32 * s + l]);
        }
      scale[s] = (hi - lo) / 15.0f;
      min[s] = -lo;
      max_scale = fmaxf (max_scale, scale[s]);
      max_min = fmaxf (max_min, min[s]);
    }
  float d = td_f16_to_f32 (td_f32_to_f16 (max_scale / 63.0f));
  float dmin = td_f16_to_f32 (td_f32_to_f16 (max_min / 63.0f));
  put_half (block, d);
  put_half (block + 2, dmin);
  uint8_t ls[8], lm[8];
  for (int s = 0; s < 8; s++)
    {
      long a = d > 0.0f ? lroundf (scale[s] / d) : 0, b = dmin > 0.0f ? lroundf (min[s] / dmin) : 0;
      ls[s] = (uint8_t) (a < 0 ? 0 : a > 63 ? 63 : a);
      lm[s] = (uint8_t) (b < 0 ? 0 : b > 63 ? 63 : b);
    }
  uint8_t *packed = block + 4;
  memset (packed, 0, 12);
  for (int j = 0; j < 4; j++)
    {
      packed[j] = ls[j];
      packed[j + 4] = lm[j];
    }
  for (int j = 4; j < 8; j++)
    {
      packed[j + 4] = (uint8_t) ((ls[j] & 0x0f) | ((lm[j] & 0x0f) << 4));
      packed[j - 4] |= (uint8_t) ((ls[j] >> 4) << 6);
      packed[j] |= (uint8_t) ((lm[j] >> 4) << 6);
    }
  uint8_t *qs = block + 16;
  for (int c = 0; c < 4; c++)
    for (int l = 0; l < 32; l++)
      {
        uint8_t q[2];
        for (int h = 0; h < 2; h++)
          {
            int s = 2 * c + h;
            float step = d * (float) ls[s], offset = dmin * (float) lm[s];
            long v = step > 0.0f ? lroundf ((x[32 * s + l] + offset) / step) : 0;
            q[h] = (uint8_t) (v < 0 ? 0 : v > 15 ? 15 : v);
          }
        qs[32 * c + l] = (uint8_t) (q[0] | (q[1] << 4));
      }
}

int
td_quantize_supported (td_dtype dtype)
{
  return dtype == TD_Q8_0 || dtype == TD_Q4_K;
}

void
td_quantize_row (void *dst, const float *src, td_dtype dtype, size_t n)
{
  size_t elems = (size_t) td_dtype_block_elems (dtype), bytes = td_dtype_block_bytes (dtype);
  uint8_t *out = dst;
  for (size_t b = 0; b < n / elems; b++)
    {
      if (dtype == TD_Q8_0)
        encode_q8_0 (out + b * bytes, src + b * elems);
      else if (dtype == TD_Q4_K)
        encode_q4_k (out + b * bytes, src + b * elems);
    }
}
