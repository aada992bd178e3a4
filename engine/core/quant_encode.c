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

/* The value of largest magnitude, sign kept: the symmetric types map it to
 * the most negative level, which has one step more room than the positive side. */
static float
signed_amax (const float *x, int n)
{
  float amax = 0.0f, m = 0.0f;
  for (int j = 0; j < n; j++)
    if (fabsf (x[j]) > amax)
      {
        amax = fabsf (x[j]);
        m = x[j];
      }
  return m;
}

static void
range_of (const float *x, int n, float *lo, float *hi)
{
  *lo = x[0];
  *hi = x[0];
  for (int j = 1; j < n; j++)
    {
      *lo = fminf (*lo, x[j]);
      *hi = fmaxf (*hi, x[j]);
    }
}

static int
clamp_level (long v, int lo, int hi)
{
  return v < lo ? lo : v > hi ? hi : (int) v;
}

/* Q4_0/Q5_0: value = d·(q − zero) with zero 8 or 16; value j in the low
 * nibble of qs[j % 16] for j < 16, the high one after; Q5_0's fifth bit of
 * value j is bit j of qh. */
static void
encode_symmetric (uint8_t *block, const float *x, int zero)
{
  float d = signed_amax (x, 32) / (float) -zero, id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half (block, d);
  uint8_t *qs = block + (zero == 8 ? 2 : 6);
  uint32_t qh = 0;
  for (int j = 0; j < 16; j++)
    {
      int q0 = clamp_level (lroundf (x[j] * id) + zero, 0, 2 * zero - 1);
      int q1 = clamp_level (lroundf (x[j + 16] * id) + zero, 0, 2 * zero - 1);
      qs[j] = (uint8_t) ((q0 & 0x0f) | (q1 & 0x0f) << 4);
      qh |= (uint32_t) (q0 >> 4) << j | (uint32_t) (q1 >> 4) << (j + 16);
    }
  if (zero == 16)
    for (int k = 0; k < 4; k++)
      block[2 + k] = (uint8_t) (qh >> (8 * k));
}

/* Q4_1/Q5_1: value = d·q + m over the block's range, q in 0..levels. */
static void
encode_affine (uint8_t *block, const float *x, int levels)
{
  float lo, hi;
  range_of (x, 32, &lo, &hi);
  float d = (hi - lo) / (float) levels, id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half (block, d);
  put_half (block + 2, lo);
  uint8_t *qs = block + (levels == 15 ? 4 : 8);
  uint32_t qh = 0;
  for (int j = 0; j < 16; j++)
    {
      int q0 = clamp_level (lroundf ((x[j] - lo) * id), 0, levels);
      int q1 = clamp_level (lroundf ((x[j + 16] - lo) * id), 0, levels);
      qs[j] = (uint8_t) ((q0 & 0x0f) | (q1 & 0x0f) << 4);
      qh |= (uint32_t) (q0 >> 4) << j | (uint32_t) (q1 >> 4) << (j + 16);
    }
  if (levels == 31)
    for (int k = 0; k < 4; k++)
      block[4 + k] = (uint8_t) (qh >> (8 * k));
}

/* The K-quants' sub-block fit. A min/max (or max|x|) step is rarely the best:
 * steps around it are tried, each rounding is refit by least squares and the
 * one with the smallest squared error is kept (the idea of ggml's search,
 * with plain, unweighted errors). */
#define FIT_CANDIDATES 10 /* steps tried each side of the min/max one, 1/20 of a level apart */

/* x ≈ scale·q − min, q in 0..levels, min ≥ 0. */
static void
fit_with_min (const float *x, int n, int levels, float *scale, float *min)
{
  float lo, hi;
  range_of (x, n, &lo, &hi);
  lo = fminf (lo, 0.0f);
  *scale = (hi - lo) / (float) levels;
  *min = -lo;
  if (hi <= lo)
    return;
  double best = INFINITY;
  for (int k = -FIT_CANDIDATES; k <= FIT_CANDIDATES; k++)
    {
      float inverse = ((float) levels + 0.05f * (float) k) / (hi - lo);
      double sl = 0, sl2 = 0, sx = 0, slx = 0;
      for (int i = 0; i < n; i++)
        {
          int q = clamp_level (lroundf ((x[i] - lo) * inverse), 0, levels);
          sl += q;
          sl2 += (double) q * q;
          sx += x[i];
          slx += (double) q * x[i];
        }
      double det = n * sl2 - sl * sl;
      if (det <= 0)
        continue;
      double a = (n * slx - sl * sx) / det, b = (sl2 * sx - sl * slx) / det;
      if (b > 0) /* the offset is stored as a non-negative min */
        {
          b = 0;
          a = slx / sl2;
        }
      if (a <= 0)
        continue;
      double err = 0;
      for (int i = 0; i < n; i++)
        {
          int q = clamp_level (lroundf ((float) ((x[i] - b) / a)), 0, levels);
          double e = a * q + b - x[i];
          err += e * e;
        }
      if (err < best)
        {
          best = err;
          *scale = (float) a;
          *min = (float) -b;
        }
    }
}

/* x ≈ scale·q, q in lo_level..hi_level (−4..3, −32..31); scale may be negative. */
static float
fit_symmetric (const float *x, int n, int lo_level, int hi_level)
{
  float m = signed_amax (x, n);
  float fallback = m / (float) lo_level;
  if (m == 0.0f)
    return 0.0f;
  double best = INFINITY;
  float scale = fallback;
  for (int k = -FIT_CANDIDATES; k <= FIT_CANDIDATES; k++)
    {
      float inverse = ((float) lo_level + 0.05f * (float) k) / m;
      double slx = 0, sl2 = 0;
      for (int i = 0; i < n; i++)
        {
          int q = clamp_level (lroundf (x[i] * inverse), lo_level, hi_level);
          slx += (double) q * x[i];
          sl2 += (double) q * q;
        }
      if (sl2 <= 0)
        continue;
      double a = slx / sl2, err = 0;
      for (int i = 0; i < n; i++)
        {
          int q = clamp_level (lroundf ((float) (x[i] / a)), lo_level, hi_level);
          double e = a * q - x[i];
          err += e * e;
        }
      if (err < best)
        {
          best = err;
          scale = (float) a;
        }
    }
  return scale;
}

/* Where value i of a Q2_K/Q3_K super-block keeps its 2-bit field: byte
 * 32·(i / 128) + i % 32 of qs, at bit 2·((i % 128) / 32). Its sub-block of 16 is i / 16. */
static void
put_2bit (uint8_t *qs, int i, int q)
{
  qs[32 * (i / 128) + i % 32] |= (uint8_t) ((q & 3) << (2 * ((i % 128) / 32)));
}

/* Q2_K: value = d·sc·q − dmin·m per sub-block of 16, sc and m 4-bit, q 0..3. */
static void
encode_q2_k (uint8_t *block, const float *x)
{
  float scale[16], min[16], max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < 16; s++)
    {
      fit_with_min (x + 16 * s, 16, 3, &scale[s], &min[s]);
      max_scale = fmaxf (max_scale, scale[s]);
      max_min = fmaxf (max_min, min[s]);
    }
  memset (block, 0, TD_Q2_K_BYTES);
  float d = td_f16_to_f32 (td_f32_to_f16 (max_scale / 15.0f));
  float dmin = td_f16_to_f32 (td_f32_to_f16 (max_min / 15.0f));
  put_half (block + 80, d);
  put_half (block + 82, dmin);
  for (int s = 0; s < 16; s++)
    {
      int sc = d > 0.0f ? clamp_level (lroundf (scale[s] / d), 0, 15) : 0;
      int m = dmin > 0.0f ? clamp_level (lroundf (min[s] / dmin), 0, 15) : 0;
      block[s] = (uint8_t) (sc | m << 4);
      float step = d * (float) sc, offset = dmin * (float) m;
      for (int l = 0; l < 16; l++)
        {
          int i = 16 * s + l;
          put_2bit (block + 16, i, step > 0.0f ? clamp_level (lroundf ((x[i] + offset) / step), 0, 3) : 0);
        }
    }
}

/* Q3_K: value = d·sc·v per sub-block of 16, sc a signed 6-bit scale and v in
 * −4..3, stored as v + 4: its low 2 bits in qs, its top bit in hmask[i % 32]
 * at bit i / 32. The scales are packed as unpack_q3_k_scales (quant.c) reads them. */
static void
encode_q3_k (uint8_t *block, const float *x)
{
  float scale[16], max_scale = 0.0f;
  for (int s = 0; s < 16; s++)
    {
      scale[s] = fit_symmetric (x + 16 * s, 16, -4, 3);
      max_scale = fmaxf (max_scale, fabsf (scale[s]));
    }
  memset (block, 0, TD_Q3_K_BYTES);
  float d = td_f16_to_f32 (td_f32_to_f16 (max_scale / 31.0f));
  put_half (block + 108, d);
  uint8_t *packed = block + 96;
  for (int s = 0; s < 16; s++)
    {
      int sc = d > 0.0f ? clamp_level (lroundf (scale[s] / d), -32, 31) : 0;
      int stored = sc + 32;
      packed[s % 8] |= (uint8_t) ((stored & 0x0f) << (s < 8 ? 0 : 4));
      packed[8 + s % 4] |= (uint8_t) ((stored >> 4) << (2 * (s / 4)));
      float step = d * (float) sc;
      for (int l = 0; l < 16; l++)
        {
          int i = 16 * s + l;
          int v = step != 0.0f ? clamp_level (lroundf (x[i] / step), -4, 3) : 0;
          put_2bit (block + 32, i, v + 4);
          if (v >= 0)
            block[i % 32] |= (uint8_t) (1u << (i / 32));
        }
    }
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
      fit_with_min (x + 32 * s, 32, levels, &scale[s], &min[s]);
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
      scale[s] = fit_symmetric (x + 16 * s, 16, -32, 31);
      max_scale = fmaxf (max_scale, fabsf (scale[s]));
    }
  float d = td_f16_to_f32 (td_f32_to_f16 (max_scale / 127.0f));
  memset (block, 0, TD_Q6_K_BYTES);
  int8_t *sc = (int8_t *) (block + 192);
  for (int s = 0; s < 16; s++)
    {
      long v = d > 0.0f ? lroundf (scale[s] / d) : 0;
      sc[s] = (int8_t) clamp_level (v, -127, 127);
    }
  put_half (block + 208, d);
  for (int i = 0; i < TD_QK_K; i++)
    {
      float step = d * (float) sc[i / 16];
      long v = step != 0.0f ? lroundf (x[i] / step) : 0;
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
  switch (dtype)
    {
    case TD_Q4_0: case TD_Q4_1: case TD_Q5_0: case TD_Q5_1: case TD_Q8_0:
    case TD_Q2_K: case TD_Q3_K: case TD_Q4_K: case TD_Q5_K: case TD_Q6_K: return 1;
    default: return 0;
    }
}

void
td_quantize_row (void *dst, const float *src, td_dtype dtype, size_t n)
{
  size_t elems = (size_t) td_dtype_block_elems (dtype), bytes = td_dtype_block_bytes (dtype);
  uint8_t *out = dst;
  for (size_t b = 0; b < n / elems; b++)
    {
      uint8_t *block = out + b * bytes;
      const float *x = src + b * elems;
      if (dtype == TD_Q8_0)
        encode_q8_0 (block, x);
      else if (dtype == TD_Q4_0 || dtype == TD_Q5_0)
        encode_symmetric (block, x, dtype == TD_Q4_0 ? 8 : 16);
      else if (dtype == TD_Q4_1 || dtype == TD_Q5_1)
        encode_affine (block, x, dtype == TD_Q4_1 ? 15 : 31);
      else if (dtype == TD_Q2_K)
        encode_q2_k (block, x);
      else if (dtype == TD_Q3_K)
        encode_q3_k (block, x);
      else if (dtype == TD_Q4_K)
        encode_k_min (block, x, 15);
      else if (dtype == TD_Q5_K)
        encode_k_min (block, x, 31);
      else if (dtype == TD_Q6_K)
        encode_q6_k (block, x);
    }
}
