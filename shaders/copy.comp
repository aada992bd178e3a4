#version 450
/* COPY: a strided view (shape/stride in elements, padded to 5 dims) into a
 * contiguous tensor, converting between f32, f16 and bf16; same-dtype i32 moves
 * bits. f16 outputs saturate at ±65504 (NaN kept) as on the CPU. Without
 * 16-bit storage (TD_W16_PACKED) 16-bit outputs are written as halves of
 * 32-bit words (store_u16). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_copy p; };

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.n)
    return;
  uint rest = i, si = 0;
  for (int d = PC_MAX_DIMS - 1; d >= 0; d--)
    {
      si += (rest % p.shape[d]) * p.stride[d];
      rest /= p.shape[d];
    }
  if (p.x_dtype == PC_DTYPE_I32 || (p.x_dtype == p.y_dtype && p.x_dtype == PC_DTYPE_F32))
    {
      U32Buf (p.y).d[i] = U32Buf (p.x).d[si];
      return;
    }
  if (p.x_dtype == p.y_dtype)
    {
      store_u16 (p.y, i, load_u16 (p.x, si));
      return;
    }
  float v = load_any (p.x, p.x_dtype, si);
  if (p.y_dtype == PC_DTYPE_F32)
    store_f32 (p.y, i, v);
  else if (p.y_dtype == PC_DTYPE_BF16)
    store_u16 (p.y, i, float_to_bf16_bits (v));
  else
    {
      /* clamp of NaN is undefined, so NaN bypasses it. */
      float saturated = isnan (v) ? v : clamp (v, -65504.0, 65504.0);
      store_u16 (p.y, i, packHalf2x16 (vec2 (saturated, 0.0)));
    }
}
