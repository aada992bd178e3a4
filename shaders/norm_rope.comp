#version 450
/* RMS_NORM_ROPE: each head row of x [..., T, H, D] is RMS-normalised over D (· w,
 * read in its stored dtype), then rotated as rope.comp does: pairs (i, i + R/2) in
 * mode 0, (2i, 2i + 1) in mode 1; dims ≥ R are only normalised. One workgroup per
 * row; an element's partner is normalised again from x rather than exchanged
 * through shared memory, which is why y may not alias x. */
#extension GL_GOOGLE_include_directive : require
#define TD_WG_REDUCE 64
#include "common.glsl"

layout(local_size_x = TD_WG_REDUCE) in;
layout(push_constant, std430) uniform Push { td_pc_norm_rope p; };

float
normalised (uint base, uint d, float inv)
{
  float v = load_f32 (p.x, base + d) * inv;
  return p.has_w != 0u ? v * load_any (p.w, p.w_dtype, d) : v;
}

void
main ()
{
  uint row = workgroup_linear ();
  if (row >= p.rows)
    return;
  uint tid = gl_LocalInvocationID.x, base = row * p.d;
  float sq = 0.0;
  for (uint c = tid; c < p.d; c += TD_WG_REDUCE)
    {
      float v = load_f32 (p.x, base + c);
      sq += v * v;
    }
  float inv = inversesqrt (workgroup_sum (sq) / float (p.d) + p.eps);
  uint t = (row / p.h) % p.t, half_r = p.rotary / 2u;
  for (uint d = tid; d < p.d; d += TD_WG_REDUCE)
    {
      float v = normalised (base, d, inv);
      if (d < p.rotary)
        {
          bool first;
          uint pair, partner;
          if (p.mode == 0u)
            {
              first = d < half_r;
              pair = first ? d : d - half_r;
              partner = first ? d + half_r : d - half_r;
            }
          else
            {
              first = (d & 1u) == 0u;
              pair = d / 2u;
              partner = first ? d + 1u : d - 1u;
            }
          float c = load_f32 (p.cos_table, t * half_r + pair);
          float s = load_f32 (p.sin_table, t * half_r + pair);
          float other = normalised (base, partner, inv);
          v = first ? v * c - other * s : v * c + other * s;
        }
      store_f32 (p.y, base + d, v);
    }
}
