#version 450
/* EMBEDDING: y[i, :] = table[ids[i], :] in f32; ids outside [0, vocab) read row 0.
 * Built once per storage kind for f32/f16/bf16 tables (load_any on p.table_dtype)
 * and once per ggml block type (W_DTYPE set): those rows are decoded in registers
 * by dequant.glsl, so a quantised table stays in its stored format on the device. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#ifdef W_DTYPE
#include "dequant.glsl"
#endif

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_embedding p; };

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.n_ids * p.dim)
    return;
  uint row = i / p.dim, c = i % p.dim;
  int id = I32Buf (p.ids).d[row];
  uint token = (id < 0 || uint (id) >= p.vocab) ? 0u : uint (id);
#ifdef W_DTYPE
  store_f32 (p.y, i, load_weight (p.table, token * p.dim + c));
#else
  store_f32 (p.y, i, load_any (p.table, p.table_dtype, token * p.dim + c));
#endif
}
