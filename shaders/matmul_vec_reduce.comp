#version 450
/* The second pass of the split-K GEMV (matmul_vec.comp): y[b, m, n] = epilogue (the
 * p.k_splits partial sums the first pass left in scratch p.x, slice by slice, + bias).
 * One invocation per output over a 2-D grid. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "epilogue.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_matmul p; };

void
main ()
{
  uint i = invocation_linear (), outputs = p.batch * p.m * p.n;
  if (i >= outputs)
    return;
  float sum = 0.0;
  for (uint s = 0; s < p.k_splits; s++)
    sum += load_f32 (p.x, s * outputs + i);
  uint n = i % p.n;
  store_f32 (p.y, i, epilogue (sum + (p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0)));
}
