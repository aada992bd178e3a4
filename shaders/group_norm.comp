#version 450
/* GROUP_NORM: one workgroup per (batch, group) reduces C/groups × spatial values
 * (mean first, then the centred variance), then normalises with the per-channel
 * affine parameters in their stored dtype. */
#extension GL_GOOGLE_include_directive : require
#define TD_WG_REDUCE 256
#include "common.glsl"

layout(local_size_x = TD_WG_REDUCE) in;
layout(push_constant, std430) uniform Push { td_pc_group_norm p; };

void
main ()
{
  uint index = workgroup_linear ();
  if (index >= p.batch * p.groups)
    return;
  uint b = index / p.groups, g = index % p.groups;
  uint per_group = p.channels / p.groups;
  uint count = per_group * p.spatial;
  uint base = (b * p.channels + g * per_group) * p.spatial;
  uint tid = gl_LocalInvocationID.x;

  float s = 0.0;
  for (uint i = tid; i < count; i += TD_WG_REDUCE)
    s += load_f32 (p.x, base + i);
  float mean = workgroup_sum (s) / float (count);
  float sq = 0.0;
  for (uint i = tid; i < count; i += TD_WG_REDUCE)
    {
      float v = load_f32 (p.x, base + i) - mean;
      sq += v * v;
    }
  float inv = inversesqrt (workgroup_sum (sq) / float (count) + p.eps);
  for (uint i = tid; i < count; i += TD_WG_REDUCE)
    {
      uint c = g * per_group + i / p.spatial;
      float v = (load_f32 (p.x, base + i) - mean) * inv;
      if (p.has_w != 0u)
        v *= load_any (p.w, p.w_dtype, c);
      if (p.has_b != 0u)
        v += load_any (p.b, p.b_dtype, c);
      store_f32 (p.y, base + i, v);
    }
}
