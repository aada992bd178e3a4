#version 450
/* ROPE: x [..., T, H, D], one invocation per element. Pairs are (i, i + R/2)
 * (mode 0, half split) or (2i, 2i + 1) (mode 1, interleaved); dims ≥ R pass through. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_rope p; };

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.n)
    return;
  uint d = i % p.d, row = i / p.d;
  uint t = (row / p.h) % p.t;
  uint half_r = p.rotary / 2u;
  float x = load_f32 (p.x, i);
  if (d >= p.rotary)
    {
      store_f32 (p.y, i, x);
      return;
    }
  uint pair, partner;
  bool first;
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
  float other = load_f32 (p.x, row * p.d + partner);
  store_f32 (p.y, i, first ? x * c - other * s : x * c + other * s);
}
