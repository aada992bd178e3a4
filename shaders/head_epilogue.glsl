/* head_epilogue.glsl — MATMUL_NORM_ROPE's epilogue for every path of the matmul family
 * (variants built with -DMM_ROPE). The including shader defines HE_WG (its workgroup
 * size) and HE_LANES (invocations per head row, a power of two dividing HE_WG), stores
 * every output through he_store, then calls head_epilogue once its workgroup has stored
 * all D outputs of one head for its rows. Each such head row is then RMS-normalised
 * over D (when p.normalise; · the norm weight when there is one) and rotated in place
 * exactly as norm_rope.comp and rope.comp do: pairs (i, i + R/2) in mode 0, (2i, 2i + 1)
 * in mode 1, dims ≥ R only normalised.
 *
 * A head (128 outputs for FLUX and Qwen2-VL) is wider than what one invocation or one
 * 64-wide tile holds, so the finished outputs go to y and the same workgroup reads them
 * back: y is declared coherent for that, and only this workgroup touches these rows of
 * this head. */
layout(buffer_reference, std430, buffer_reference_align = 4) coherent buffer HeadBuf { float d[]; };

shared float he_squares[HE_WG];

void
he_store (uint i, float v)
{
  HeadBuf (p.y).d[i] = v;
}

float
he_normalised (uint i, uint d, float inv)
{
  float v = HeadBuf (p.y).d[i] * inv;
  return p.has_norm_w != 0u ? v * load_any (p.norm_w, p.norm_w_dtype, d) : v;
}

/* Rows m0 .. m0 + rows of y, columns col0 .. col0 + head_dim. */
void
head_epilogue (uint m0, uint rows, uint col0)
{
  memoryBarrierBuffer ();
  barrier ();
  uint tid = gl_LocalInvocationID.x, lane = tid % HE_LANES, head_dim = p.head_dim, half_r = p.rotary / 2u;
  for (uint r0 = 0u; r0 < rows; r0 += HE_WG / HE_LANES)
    {
      uint r = r0 + tid / HE_LANES, m = m0 + r, base = m * p.n + col0;
      bool in_range = r < rows;
      float squares = 0.0;
      if (in_range && p.normalise != 0u)
        for (uint d = lane; d < head_dim; d += HE_LANES)
          {
            float v = HeadBuf (p.y).d[base + d];
            squares += v * v;
          }
      he_squares[tid] = squares;
      barrier ();
      if (in_range)
        {
          float inv = 1.0;
          if (p.normalise != 0u)
            {
              float total = 0.0;
              for (uint l = 0u; l < HE_LANES; l++)
                total += he_squares[tid - lane + l];
              inv = inversesqrt (total / float (head_dim) + p.eps);
            }
          /* Each lane owns its pairs: both are read before either is written. */
          uint t = m % p.t;
          for (uint i = lane; i < half_r; i += HE_LANES)
            {
              uint a = p.mode == 0u ? i : 2u * i, b = p.mode == 0u ? i + half_r : 2u * i + 1u;
              float va = he_normalised (base + a, a, inv), vb = he_normalised (base + b, b, inv);
              float c = load_f32 (p.cos_table, t * half_r + i), s = load_f32 (p.sin_table, t * half_r + i);
              he_store (base + a, va * c - vb * s);
              he_store (base + b, vb * c + va * s);
            }
          if (p.normalise != 0u)
            for (uint d = p.rotary + lane; d < head_dim; d += HE_LANES)
              he_store (base + d, he_normalised (base + d, d, inv));
        }
      barrier ();
    }
}
