#version 450
/* LAYER_NORM (mode 0), RMS_NORM (mode 1) and ADA_LAYER_NORM (mode 2: layer norm
 * · (1 + w) + b, w and b being the modulation's scale and shift) over rows; one
 * workgroup per row. Parameters are read in their stored dtype. */
#extension GL_GOOGLE_include_directive : require
#define TD_WG_REDUCE 256
#include "common.glsl"

layout(local_size_x = TD_WG_REDUCE) in;
layout(push_constant, std430) uniform Push { td_pc_norm p; };

void
main ()
{
  uint row = workgroup_linear ();
  if (row >= p.rows)
    return;
  uint tid = gl_LocalInvocationID.x, base = row * p.cols;
  float mean = 0.0;
  if (p.mode != 1u)
    {
      float s = 0.0;
      for (uint c = tid; c < p.cols; c += TD_WG_REDUCE)
        s += load_f32 (p.x, base + c);
      mean = workgroup_sum (s) / float (p.cols);
    }
  float sq = 0.0;
  for (uint c = tid; c < p.cols; c += TD_WG_REDUCE)
    {
      float v = load_f32 (p.x, base + c) - mean;
      sq += v * v;
    }
  float inv = inversesqrt (workgroup_sum (sq) / float (p.cols) + p.eps);
  for (uint c = tid; c < p.cols; c += TD_WG_REDUCE)
    {
      float v = (load_f32 (p.x, base + c) - mean) * inv;
      if (p.has_w != 0u)
        {
          float w = load_any (p.w, p.w_dtype, c);
          v *= p.mode == 2u ? 1.0 + w : w;
        }
      if (p.has_b != 0u)
        v += load_any (p.b, p.b_dtype, c);
      store_f32 (p.y, base + c, v);
    }
}
