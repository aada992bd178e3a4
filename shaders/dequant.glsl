/* dequant.glsl — one decoder per weight format, shared by every matmul path.
 *
 * load_weight (addr, e) returns element e of a weight stored in format
 * W_DTYPE (a PC_DTYPE_* value fixed per variant), counting elements
 * row-major from the tensor's start. Plain formats (f32/f16/bf16) go through
 * common.glsl's load_any; fp8 bytes and ggml blocks are read as the 32-bit
 * words that hold them (no 16- or 8-bit storage needed) and decoded in
 * registers with the field layout and the float32 evaluation order of
 * engine/core/quant.c (ggml's reference), `precise` so that q·d + m and
 * dl·q − ml are not fused. Rows hold whole blocks, so element e lies in block
 * e / QK at byte (e / QK) · BLOCK_BYTES. */

uint
w_byte (uint64_t addr, uint offset)
{
  uint word = U32Buf (addr).d[offset >> 2];
  return (word >> ((offset & 3u) * 8u)) & 0xffu;
}

/* IEEE half → float, subnormals included (unpackHalf2x16 may flush them). */
float
half_exact (uint h)
{
  uint exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, sign = (h & 0x8000u) << 16;
  if (exponent == 0u)
    return uintBitsToFloat (sign | floatBitsToUint (float (mantissa) * 5.9604644775390625e-8)); /* m · 2^-24 */
  if (exponent == 31u)
    return uintBitsToFloat (sign | 0x7f800000u | (mantissa << 13));
  return uintBitsToFloat (sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

float
w_half (uint64_t addr, uint offset)
{
  return half_exact (w_byte (addr, offset) | (w_byte (addr, offset + 1u) << 8));
}

#if W_DTYPE == PC_DTYPE_F8_E4M3
float
load_weight (uint64_t addr, uint e)
{
  uint v = w_byte (addr, e);
  uint exponent = (v >> 3) & 0xfu, mantissa = v & 7u;
  float sign = (v & 0x80u) != 0u ? -1.0 : 1.0;
  if (exponent == 0xfu && mantissa == 7u)
    return uintBitsToFloat (0x7fc00000u);
  if (exponent == 0u)
    return sign * ldexp (float (mantissa), -9);
  return sign * ldexp (float (8u + mantissa), int (exponent) - 10);
}
#elif W_DTYPE == PC_DTYPE_F8_E5M2
float
load_weight (uint64_t addr, uint e)
{
  return half_exact (w_byte (addr, e) << 8);
}
#elif W_DTYPE == PC_DTYPE_Q8_0
float
load_weight (uint64_t addr, uint e)
{
  uint base = (e / 32u) * 34u, i = e % 32u;
  int q = int (w_byte (addr, base + 2u + i) << 24) >> 24;
  return float (q) * w_half (addr, base);
}
#elif W_DTYPE == PC_DTYPE_Q4_0 || W_DTYPE == PC_DTYPE_Q4_1
float
load_weight (uint64_t addr, uint e)
{
#if W_DTYPE == PC_DTYPE_Q4_0
  uint base = (e / 32u) * 18u, qs = base + 2u;
#else
  uint base = (e / 32u) * 20u, qs = base + 4u;
#endif
  uint i = e % 32u;
  uint byte_ = w_byte (addr, qs + i % 16u);
  uint q = i < 16u ? byte_ & 0xfu : byte_ >> 4;
#if W_DTYPE == PC_DTYPE_Q4_0
  return float (int (q) - 8) * w_half (addr, base);
#else
  precise float y = float (q) * w_half (addr, base) + w_half (addr, base + 2u);
  return y;
#endif
}
#elif W_DTYPE == PC_DTYPE_Q5_0 || W_DTYPE == PC_DTYPE_Q5_1
float
load_weight (uint64_t addr, uint e)
{
#if W_DTYPE == PC_DTYPE_Q5_0
  uint base = (e / 32u) * 22u, qh = base + 2u, qs = base + 6u;
#else
  uint base = (e / 32u) * 24u, qh = base + 4u, qs = base + 8u;
#endif
  uint i = e % 32u;
  uint byte_ = w_byte (addr, qs + i % 16u);
  uint high = (w_byte (addr, qh + i / 8u) >> (i % 8u)) & 1u; /* bit i of the 32-bit qh */
  uint q = (i < 16u ? byte_ & 0xfu : byte_ >> 4) | (high << 4);
#if W_DTYPE == PC_DTYPE_Q5_0
  return float (int (q) - 16) * w_half (addr, base);
#else
  precise float y = float (q) * w_half (addr, base) + w_half (addr, base + 2u);
  return y;
#endif
}
#elif W_DTYPE == PC_DTYPE_Q2_K || W_DTYPE == PC_DTYPE_Q3_K
/* 2-bit fields: in each half of 128 values, four shifts × two groups of 16. */
float
load_weight (uint64_t addr, uint e)
{
  uint i = e % 256u, half_ = i / 128u, r = i % 128u, j = r / 32u, within = r % 32u;
  uint is = half_ * 8u + j * 2u + within / 16u;
#if W_DTYPE == PC_DTYPE_Q2_K
  uint base = (e / 256u) * 84u;
  uint q = (w_byte (addr, base + 16u + half_ * 32u + within) >> (2u * j)) & 3u;
  uint sc = w_byte (addr, base + is);
  float dl = w_half (addr, base + 80u) * float (sc & 0xfu);
  float ml = w_half (addr, base + 82u) * float (sc >> 4);
  precise float y = dl * float (q) - ml;
  return y;
#else
  uint base = (e / 256u) * 110u, packed = base + 96u;
  uint q = (w_byte (addr, base + 32u + half_ * 32u + within) >> (2u * j)) & 3u;
  bool high = (w_byte (addr, base + within) & (1u << (half_ * 4u + j))) != 0u;
  uint low = (is < 8u ? w_byte (addr, packed + is) : w_byte (addr, packed + is - 8u) >> 4) & 0xfu;
  uint top = (w_byte (addr, packed + 8u + is % 4u) >> (2u * (is / 4u))) & 3u;
  float dl = w_half (addr, base + 108u) * float (int (low | (top << 4)) - 32);
  return dl * float (int (q) - (high ? 0 : 4));
#endif
}
#elif W_DTYPE == PC_DTYPE_Q4_K || W_DTYPE == PC_DTYPE_Q5_K
/* Eight sub-blocks of 32 with 6-bit (scale, min) pairs packed in 12 bytes. */
float
load_weight (uint64_t addr, uint e)
{
#if W_DTYPE == PC_DTYPE_Q4_K
  uint base = (e / 256u) * 144u, qs = base + 16u;
#else
  uint base = (e / 256u) * 176u, qs = base + 48u;
#endif
  uint i = e % 256u, chunk = i / 64u, second = (i % 64u) / 32u, l = i % 32u, is = chunk * 2u + second;
  uint sc, mn, scales = base + 4u;
  if (is < 4u)
    {
      sc = w_byte (addr, scales + is) & 63u;
      mn = w_byte (addr, scales + is + 4u) & 63u;
    }
  else
    {
      sc = (w_byte (addr, scales + is + 4u) & 0xfu) | ((w_byte (addr, scales + is - 4u) >> 6) << 4);
      mn = (w_byte (addr, scales + is + 4u) >> 4) | ((w_byte (addr, scales + is) >> 6) << 4);
    }
  uint byte_ = w_byte (addr, qs + chunk * 32u + l);
  uint q = second == 0u ? byte_ & 0xfu : byte_ >> 4;
#if W_DTYPE == PC_DTYPE_Q5_K
  q += (w_byte (addr, base + 16u + l) & (1u << is)) != 0u ? 16u : 0u;
#endif
  float d1 = w_half (addr, base) * float (sc);
  float m1 = w_half (addr, base + 2u) * float (mn);
  precise float y = d1 * float (q) - m1;
  return y;
}
#elif W_DTYPE == PC_DTYPE_Q6_K
float
load_weight (uint64_t addr, uint e)
{
  uint base = (e / 256u) * 210u;
  uint i = e % 256u, half_ = i / 128u, quarter = (i % 128u) / 32u, l = i % 32u;
  uint ql = w_byte (addr, base + half_ * 64u + l + (quarter & 1u) * 32u);
  uint low = quarter < 2u ? ql & 0xfu : ql >> 4;
  uint high = (w_byte (addr, base + 128u + half_ * 32u + l) >> (2u * quarter)) & 3u;
  int sc = int (w_byte (addr, base + 192u + half_ * 8u + l / 16u + 2u * quarter) << 24) >> 24;
  float ds = w_half (addr, base + 208u) * float (sc);
  return ds * float (int (low | (high << 4)) - 32);
}
#else
float
load_weight (uint64_t addr, uint e)
{
  return load_any (addr, W_DTYPE, e);
}
#endif
