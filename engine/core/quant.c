/* quant.c — the CPU reference decoders of ggml's block formats (see quant.h).
 *
 * Built with -ffp-contract=off (core/meson.build): a fused multiply-add in
 * dl·q − ml or q·d + m would round once instead of twice and stop matching ggml.
 */
#include "core/quant.h"

#include <string.h>

static float
half_at (const uint8_t *p)
{
  return td_f16_to_f32 ((uint16_t) (p[0] | (p[1] << 8)));
}

static void
decode_q4_0 (float *y, const uint8_t *b)
{
  float d = half_at (b);
  const uint8_t *qs = b + 2;
  for (int j = 0; j < 16; j++)
    {
      int x0 = (qs[j] & 0x0f) - 8, x1 = (qs[j] >> 4) - 8;
      y[j] = (float) x0 * d;
      y[j + 16] = (float) x1 * d;
    }
}

static void
decode_q4_1 (float *y, const uint8_t *b)
{
  float d = half_at (b), m = half_at (b + 2);
  const uint8_t *qs = b + 4;
  for (int j = 0; j < 16; j++)
    {
      int x0 = qs[j] & 0x0f, x1 = qs[j] >> 4;
      y[j] = (float) x0 * d + m;
      y[j + 16] = (float) x1 * d + m;
    }
}

/* Q5: the fifth bit of value j is bit j of the 32-bit qh (values 0..15 low
 * nibbles, 16..31 high nibbles). */
static void
decode_q5_0 (float *y, const uint8_t *b)
{
  float d = half_at (b);
  uint32_t qh = (uint32_t) b[2] | (uint32_t) b[3] << 8 | (uint32_t) b[4] << 16 | (uint32_t) b[5] << 24;
  const uint8_t *qs = b + 6;
  for (int j = 0; j < 16; j++)
    {
      int h0 = (int) ((qh >> j) & 1) << 4, h1 = (int) ((qh >> (j + 16)) & 1) << 4;
      int x0 = ((qs[j] & 0x0f) | h0) - 16, x1 = ((qs[j] >> 4) | h1) - 16;
      y[j] = (float) x0 * d;
      y[j + 16] = (float) x1 * d;
    }
}

static void
decode_q5_1 (float *y, const uint8_t *b)
{
  float d = half_at (b), m = half_at (b + 2);
  uint32_t qh = (uint32_t) b[4] | (uint32_t) b[5] << 8 | (uint32_t) b[6] << 16 | (uint32_t) b[7] << 24;
  const uint8_t *qs = b + 8;
  for (int j = 0; j < 16; j++)
    {
      int h0 = (int) ((qh >> j) & 1) << 4, h1 = (int) ((qh >> (j + 16)) & 1) << 4;
      int x0 = (qs[j] & 0x0f) | h0, x1 = (qs[j] >> 4) | h1;
      y[j] = (float) x0 * d + m;
      y[j + 16] = (float) x1 * d + m;
    }
}

static void
decode_q8_0 (float *y, const uint8_t *b)
{
  float d = half_at (b);
  for (int j = 0; j < 32; j++)
    y[j] = (float) (int8_t) b[2 + j] * d;
}

/* Q2_K: 16 sub-blocks of 16 values; scales[i] holds a 4-bit scale (low) and a
 * 4-bit min (high); value = d·sc·q − dmin·min with q the 2-bit field. */
static void
decode_q2_k (float *y, const uint8_t *b)
{
  const uint8_t *scales = b, *q = b + 16;
  float d = half_at (b + 80), dmin = half_at (b + 82);
  int is = 0;
  for (int n = 0; n < TD_QK_K; n += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2)
      for (int half = 0; half < 2; half++)
        {
          uint8_t sc = scales[is++];
          float dl = d * (float) (sc & 0x0f), ml = dmin * (float) (sc >> 4);
          for (int l = 0; l < 16; l++)
            *y++ = dl * (float) ((q[l + 16 * half] >> shift) & 3) - ml;
        }
}

/* The 16 6-bit Q3_K scales packed in 12 bytes: low 4 bits in bytes 0..7
 * (two per byte), high 2 bits in bytes 8..11 (four per byte). */
static void
unpack_q3_k_scales (const uint8_t *packed, int scales[16])
{
  for (int i = 0; i < 16; i++)
    {
      int low = (i < 8 ? packed[i] : packed[i - 8] >> 4) & 0x0f;
      int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
      scales[i] = (low | high << 4) - 32;
    }
}

/* Q3_K: value = d·sc·(q − 4·!h), q the 2-bit field and h its bit in hmask. */
static void
decode_q3_k (float *y, const uint8_t *b)
{
  const uint8_t *hmask = b, *q = b + 32;
  float d = half_at (b + 108);
  int scales[16];
  unpack_q3_k_scales (b + 96, scales);
  int is = 0;
  uint8_t bit = 1;
  for (int n = 0; n < TD_QK_K; n += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2, bit = (uint8_t) (bit << 1))
      for (int half = 0; half < 2; half++)
        {
          float dl = d * (float) scales[is++];
          for (int l = 0; l < 16; l++)
            {
              int i = l + 16 * half;
              int v = ((q[i] >> shift) & 3) - ((hmask[i] & bit) ? 0 : 4);
              *y++ = dl * (float) v;
            }
        }
}

/* The 8 (scale, min) pairs of Q4_K/Q5_K, 6 bits each, packed in 12 bytes:
 * pairs 0..3 in the low 6 bits of bytes 0..3 / 4..7; pairs 4..7 take their
 * low 4 bits from bytes 8..11 and their top 2 from the spare bits above. */
static void
scale_min_k4 (int j, const uint8_t *q, int *scale, int *min)
{
  if (j < 4)
    {
      *scale = q[j] & 63;
      *min = q[j + 4] & 63;
    }
  else
    {
      *scale = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
      *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void
decode_q4_k (float *y, const uint8_t *b)
{
  float d = half_at (b), dmin = half_at (b + 2);
  const uint8_t *scales = b + 4, *q = b + 16;
  for (int is = 0; is < 8; is += 2, q += 32)
    {
      int sc, m;
      scale_min_k4 (is, scales, &sc, &m);
      float d1 = d * (float) sc, m1 = dmin * (float) m;
      scale_min_k4 (is + 1, scales, &sc, &m);
      float d2 = d * (float) sc, m2 = dmin * (float) m;
      for (int l = 0; l < 32; l++)
        *y++ = d1 * (float) (q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; l++)
        *y++ = d2 * (float) (q[l] >> 4) - m2;
    }
}

static void
decode_q5_k (float *y, const uint8_t *b)
{
  float d = half_at (b), dmin = half_at (b + 2);
  const uint8_t *scales = b + 4, *qh = b + 16, *ql = b + 48;
  uint8_t u1 = 1, u2 = 2;
  for (int is = 0; is < 8; is += 2, ql += 32, u1 = (uint8_t) (u1 << 2), u2 = (uint8_t) (u2 << 2))
    {
      int sc, m;
      scale_min_k4 (is, scales, &sc, &m);
      float d1 = d * (float) sc, m1 = dmin * (float) m;
      scale_min_k4 (is + 1, scales, &sc, &m);
      float d2 = d * (float) sc, m2 = dmin * (float) m;
      for (int l = 0; l < 32; l++)
        *y++ = d1 * (float) ((ql[l] & 0x0f) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; l++)
        *y++ = d2 * (float) ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    }
}

/* Q6_K: 6-bit values (4 low bits in ql, 2 high bits in qh) minus 32, 16
 * sub-blocks of 16 with signed 8-bit scales: value = (d·sc)·q. */
static void
decode_q6_k (float *y, const uint8_t *b)
{
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = (const int8_t *) (b + 192);
  float d = half_at (b + 208);
  for (int n = 0; n < TD_QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
    for (int l = 0; l < 32; l++)
      {
        int is = l / 16;
        int q1 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
        int q2 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
        int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        y[l] = d * (float) sc[is] * (float) q1;
        y[l + 32] = d * (float) sc[is + 2] * (float) q2;
        y[l + 64] = d * (float) sc[is + 4] * (float) q3;
        y[l + 96] = d * (float) sc[is + 6] * (float) q4;
      }
}

void
td_dequantize (float *dst, const void *src, td_dtype dtype, size_t n_blocks)
{
  void (*decode) (float *, const uint8_t *);
  switch (dtype)
    {
    case TD_Q4_0: decode = decode_q4_0; break;
    case TD_Q4_1: decode = decode_q4_1; break;
    case TD_Q5_0: decode = decode_q5_0; break;
    case TD_Q5_1: decode = decode_q5_1; break;
    case TD_Q8_0: decode = decode_q8_0; break;
    case TD_Q2_K: decode = decode_q2_k; break;
    case TD_Q3_K: decode = decode_q3_k; break;
    case TD_Q4_K: decode = decode_q4_k; break;
    case TD_Q5_K: decode = decode_q5_k; break;
    case TD_Q6_K: decode = decode_q6_k; break;
    default: return;
    }
  size_t elems = (size_t) td_dtype_block_elems (dtype), bytes = td_dtype_block_bytes (dtype);
  const uint8_t *blocks = src;
  for (size_t i = 0; i < n_blocks; i++)
    decode (dst + i * elems, blocks + i * bytes);
}
