#version 450
/* CONCAT of same-dtype tensors seen as [outer, a_inner] ++ [outer, b_inner]. ELEM16
 * moves 16-bit elements (as word halves with TD_W16_PACKED), otherwise 32-bit ones. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_concat p; };

void
main ()
{
  uint i = invocation_linear ();
  uint row_len = p.a_inner + p.b_inner;
  if (i >= p.outer * row_len)
    return;
  uint o = i / row_len, c = i % row_len;
  bool from_a = c < p.a_inner;
  uint64_t src = from_a ? p.a : p.b;
  uint si = from_a ? o * p.a_inner + c : o * p.b_inner + (c - p.a_inner);
#ifdef ELEM16
  store_u16 (p.y, i, load_u16 (src, si));
#else
  U32Buf (p.y).d[i] = U32Buf (src).d[si];
#endif
}
