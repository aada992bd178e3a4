#version 450
/* ADD / MUL with numpy broadcasting: a and y are contiguous with shape p.shape
 * (padded to 5 dims); b is read through p.b_stride, 0 on broadcast dims. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_binary p; };

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.n)
    return;
  uint rest = i, bi = 0;
  for (int d = PC_MAX_DIMS - 1; d >= 0; d--)
    {
      uint coord = rest % p.shape[d];
      rest /= p.shape[d];
      bi += coord * p.b_stride[d];
    }
  float a = load_f32 (p.a, i), b = load_f32 (p.b, bi);
  store_f32 (p.y, i, p.op == 0u ? a + b : a * b);
}
