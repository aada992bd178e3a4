#version 450
/* SOFTMAX over rows of p.cols of x · p.scale; one workgroup per row. */
#extension GL_GOOGLE_include_directive : require
#define TD_WG_REDUCE 256
#include "common.glsl"

layout(local_size_x = TD_WG_REDUCE) in;
layout(push_constant, std430) uniform Push { td_pc_softmax p; };

void
main ()
{
  uint row = workgroup_linear ();
  if (row >= p.rows)
    return;
  uint tid = gl_LocalInvocationID.x, base = row * p.cols;
  float m = -1.0 / 0.0;
  for (uint c = tid; c < p.cols; c += TD_WG_REDUCE)
    m = max (m, load_f32 (p.x, base + c) * p.scale);
  m = workgroup_max (m);
  float s = 0.0;
  for (uint c = tid; c < p.cols; c += TD_WG_REDUCE)
    s += exp (load_f32 (p.x, base + c) * p.scale - m);
  s = workgroup_sum (s);
  float inv = 1.0 / s;
  for (uint c = tid; c < p.cols; c += TD_WG_REDUCE)
    store_f32 (p.y, base + c, exp (load_f32 (p.x, base + c) * p.scale - m) * inv);
}
