#version 450
/* UNARY activations (kinds as td_unary_kind) and SCALE (x · scale + bias). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "activation.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_unary p; };

float
apply (float x)
{
  return p.kind == PC_UNARY_SCALE ? x * p.scale + p.bias : activation (p.kind, x);
}

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.n)
    return;
  store_f32 (p.y, i, apply (load_f32 (p.x, i)));
}
