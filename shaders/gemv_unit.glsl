/* gemv_unit.glsl — the GEMV's weight loads (matmul_vec.comp): a row of K elements
 * is cut in units of GEMV_UNIT, each decoded at once into registers.
 *
 * gemv_load_unit (addr, row, u, w) fills w with elements u · GEMV_UNIT … of the
 * row starting at element `row`, for a unit wholly inside the row. Plain formats
 * read it with one 16-byte load (vec4 f32, uvec4 holding 8 f16/bf16), which needs
 * the row's start 16-byte aligned: gemv_row_aligned says so per row, and the
 * caller decodes element by element (load_weight) where it is not and for the
 * tail of K. Block formats have whole blocks per row: a unit is 8 elements, a
 * quarter of a 32-element block (Q8_0, Q4_0) or sub-block (Q4_K, Q5_K, Q6_K), read
 * as the 32-bit words that hold it with its scale read once, so that a row of a
 * few blocks still spreads over many invocations; the other formats (fp8, Q4_1,
 * Q5_0, Q5_1, Q2_K, Q3_K) decode the unit element by element (load_weight). Values equal dequant.glsl's (same fields, same
 * float evaluation). Needs common.glsl and dequant.glsl. */

layout(buffer_reference, std430, buffer_reference_align = 16) buffer GemvVec4 { vec4 d[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer GemvUvec4 { uvec4 d[]; };

#if W_DTYPE == PC_DTYPE_F32
#define GEMV_UNIT 4u
#define GEMV_ELEM_BYTES 4u
#elif W_DTYPE == PC_DTYPE_F16 || W_DTYPE == PC_DTYPE_BF16
#define GEMV_UNIT 8u
#define GEMV_ELEM_BYTES 2u
#else
#define GEMV_UNIT 8u /* a quarter of a 32-element block or sub-block: more units per row */
#endif

bool
gemv_row_aligned (uint64_t addr, uint row)
{
#ifdef GEMV_ELEM_BYTES
  return ((addr + uint64_t (row) * GEMV_ELEM_BYTES) & 15ul) == 0ul;
#else
  return true; /* block formats read 32-bit words, always aligned */
#endif
}

/* Byte j of the words w[], counted from byte `first` of w[0]. */
#define GEMV_BYTE(w, first, j) ((w[((first) + (j)) >> 2] >> ((((first) + (j)) & 3u) * 8u)) & 0xffu)

/* The words from the one holding byte `start` on (words.length () of them). */
#define gemv_words(addr, start, words)                                                             \
  for (uint gemv_i = 0; gemv_i < words.length (); gemv_i++)                                        \
    words[gemv_i] = U32Buf (addr).d[((start) >> 2) + gemv_i]

void
gemv_load_unit (uint64_t addr, uint row, uint u, out float w[GEMV_UNIT])
{
#if W_DTYPE == PC_DTYPE_F32
  vec4 v = GemvVec4 (addr + uint64_t (row + u * 4u) * 4ul).d[0];
  for (uint i = 0; i < 4u; i++)
    w[i] = v[i];
#elif W_DTYPE == PC_DTYPE_F16 || W_DTYPE == PC_DTYPE_BF16
  uvec4 v = GemvUvec4 (addr + uint64_t (row + u * 8u) * 2ul).d[0];
  for (uint i = 0; i < 4u; i++)
    {
      w[2u * i] = half_bits_to_float (v[i] & 0xffffu, W_DTYPE);
      w[2u * i + 1u] = half_bits_to_float (v[i] >> 16, W_DTYPE);
    }
#elif W_DTYPE == PC_DTYPE_Q8_0
  /* 34-byte blocks: f16 d, then int8 values; this unit's 8 from byte 2 + part · 8. */
  uint base = (row / 32u + u / 4u) * 34u, start = base + 2u + (u % 4u) * 8u;
  uint words[3];
  gemv_words (addr, start, words);
  float d = w_half (addr, base);
  for (uint i = 0; i < 8u; i++)
    w[i] = float (int (GEMV_BYTE (words, start & 3u, i) << 24) >> 24) * d;
#elif W_DTYPE == PC_DTYPE_Q4_0
  /* 18-byte blocks: f16 d, then 16 bytes holding elements i (low nibble) and i + 16. */
  uint base = (row / 32u + u / 4u) * 18u, part = u % 4u, start = base + 2u + (part % 2u) * 8u;
  uint words[3];
  gemv_words (addr, start, words);
  float d = w_half (addr, base);
  uint shift = part < 2u ? 0u : 4u;
  for (uint i = 0; i < 8u; i++)
    w[i] = float (int ((GEMV_BYTE (words, start & 3u, i) >> shift) & 0xfu) - 8) * d;
#elif W_DTYPE == PC_DTYPE_Q4_K || W_DTYPE == PC_DTYPE_Q5_K
  /* A quarter of sub-block s of a 144-byte (Q5_K: 176) block, 4-byte aligned: d, dmin,
   * 12 scale bytes, (Q5_K: 32 bytes of fifth bits, bit s for sub-block s,) then 32
   * bytes of nibbles shared by sub-blocks 2c (low) and 2c + 1 (high). */
#if W_DTYPE == PC_DTYPE_Q4_K
  uint block_words = 36u, qs_word = 4u;
#else
  uint block_words = 44u, qs_word = 12u;
#endif
  uint block = row / 256u + u / 32u, s = (u / 4u) % 8u, part = u % 4u, word0 = block * block_words;
  uint head[4];
  for (uint i = 0; i < 4u; i++)
    head[i] = U32Buf (addr).d[word0 + i];
  uint sc, mn;
  if (s < 4u)
    {
      sc = GEMV_BYTE (head, 4u, s) & 63u;
      mn = GEMV_BYTE (head, 4u, s + 4u) & 63u;
    }
  else
    {
      sc = (GEMV_BYTE (head, 4u, s + 4u) & 0xfu) | ((GEMV_BYTE (head, 4u, s - 4u) >> 6) << 4);
      mn = (GEMV_BYTE (head, 4u, s + 4u) >> 4) | ((GEMV_BYTE (head, 4u, s) >> 6) << 4);
    }
  float d1 = half_exact (head[0] & 0xffffu) * float (sc);
  float m1 = half_exact (head[0] >> 16) * float (mn);
  uint shift = (s & 1u) * 4u, qs = word0 + qs_word + (s / 2u) * 8u + part * 2u;
  for (uint i = 0; i < 2u; i++)
    {
      uint word = U32Buf (addr).d[qs + i];
#if W_DTYPE == PC_DTYPE_Q5_K
      uint fifth = U32Buf (addr).d[word0 + 4u + part * 2u + i];
#endif
      for (uint b = 0; b < 4u; b++)
        {
          uint q = (word >> (b * 8u + shift)) & 0xfu;
#if W_DTYPE == PC_DTYPE_Q5_K
          q += ((fifth >> (b * 8u)) & (1u << s)) != 0u ? 16u : 0u;
#endif
          precise float y = d1 * float (q) - m1;
          w[4u * i + b] = y;
        }
    }
#elif W_DTYPE == PC_DTYPE_Q6_K
  /* A quarter of sub-block s = (half, quarter) of a 210-byte block: low nibbles from
   * ql, two high bits from qh, an int8 scale per 16 elements, f16 d at byte 208. */
  uint base = (row / 256u + u / 32u) * 210u, s = (u / 4u) % 8u, part = u % 4u;
  uint half_ = s / 4u, quarter = s % 4u;
  uint ql_start = base + half_ * 64u + (quarter & 1u) * 32u + part * 8u;
  uint qh_start = base + 128u + half_ * 32u + part * 8u;
  uint ql[3], qh[3];
  gemv_words (addr, ql_start, ql);
  gemv_words (addr, qh_start, qh);
  float ds = w_half (addr, base + 208u)
             * float (int (w_byte (addr, base + 192u + half_ * 8u + part / 2u + 2u * quarter) << 24) >> 24);
  uint low_shift = quarter < 2u ? 0u : 4u;
  for (uint l = 0; l < 8u; l++)
    {
      uint low = (GEMV_BYTE (ql, ql_start & 3u, l) >> low_shift) & 0xfu;
      uint high = (GEMV_BYTE (qh, qh_start & 3u, l) >> (2u * quarter)) & 3u;
      w[l] = ds * float (int (low | (high << 4)) - 32);
    }
#else
  for (uint i = 0; i < GEMV_UNIT; i++)
    w[i] = load_weight (addr, row + u * GEMV_UNIT + i);
#endif
}
