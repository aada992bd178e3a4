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

/* Q4_K and Q5_K: each sub-block of 32 is fit as scale·q − min with q in
 * 0..levels and min ≥ 0 (as ggml stores it); scales and mins are 6-bit
 * multiples of the super-block's d and dmin. Q5_K keeps the fifth bit of
 * value l of sub-block s as bit s of qh[l]. */
static void
encode_k_min (uint8_t *block, const float *x, int levels)
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
      scale[s] = (hi - lo) / (float) levels;
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
  uint8_t *qh = block + 16, *qs = block + (levels == 15 ? 16 : 48);
  if (levels == 31)
    memset (qh, 0, 32);
  for (int c = 0; c < 4; c++)
    for (int l = 0; l < 32; l++)
      {
        uint8_t q[2];
        for (int h = 0; h < 2; h++)
          {
            int s = 2 * c + h;
            float step = d * (float) ls[s], offset = dmin * (float) lm[s];
            long v = step > 0.0f ? lroundf ((x[32 * s + l] + offset) / step) : 0;
            q[h] = (uint8_t) (v < 0 ? 0 : v > levels ? levels : v);
            if (q[h] > 15)
              qh[l] |= (uint8_t) (1u << s);
          }
        qs[32 * c + l] = (uint8_t) ((q[0] & 0x0f) | ((q[1] & 0x0f) << 4));
      }
}

/* Q6_K: sixteen sub-blocks of 16 with signed 8-bit scales (multiples of d)
 * and 6-bit values q − 32; value i's low 4 bits sit in ql, its top 2 in qh
 * (decode_q6_k in quant.c has the layout). */
static void
encode_q6_k (uint8_t *block, const float *x)
{
  float scale[16], max_scale = 0.0f;
  for (int s = 0; s < 16; s++)
    {
      float amax = 0.0f;
      for (int l = 0; l < 16; l++)
        amax = fmaxf (amax, fabsf (x[16 * s + l]));
      scale[s] = amax / 31.0f;
      max_scale = fmaxf (max_scale, scale[s]);
    }
  float d = td_f16_to_f32 (td_f32_to_f16 (max_scale / 127.0f));
  memset (block, 0, TD_Q6_K_BYTES);
  int8_t *sc = (int8_t *) (block + 192);
  for (int s = 0; s < 16; s++)
    {
      long v = d > 0.0f ? lroundf (scale[s] / d) : 0;
      sc[s] = (int8_t) (v > 127 ? 127 : v);
    }
  put_half (block + 208, d);
  for (int i = 0; i < TD_QK_K; i++)
    {
      float step = d * (float) sc[i / 16];
      long v = step > 0.0f ? lroundf (x[i] / step) : 0;
      int q = (int) (v < -32 ? -32 : v > 31 ? 31 : v) + 32;
      int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
      uint8_t *ql = block + half * 64 + l + (quarter & 1) * 32;
      *ql |= (uint8_t) (quarter < 2 ? (q & 0x0f) : (q & 0x0f) << 4);
      block[128 + half * 32 + l] |= (uint8_t) ((q >> 4) << (2 * quarter));
    }
}

int
td_quantize_supported (td_dtype dtype)
{
  return dtype == TD_Q8_0 || dtype == TD_Q4_K || dtype == TD_Q5_K || dtype == TD_Q6_K;
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
        encode_k_min (out + b * bytes, src + b * elems, 15);
      else if (dtype == TD_Q5_K)
        encode_k_min (out + b * bytes, src + b * elems, 31);
      else if (dtype == TD_Q6_K)
        encode_q6_k (out + b * bytes, src + b * elems);
    }
}
