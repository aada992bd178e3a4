#version 450
/* MATMUL, the tiled GEMM path of the matmul family (see matmul_vec.comp for the
 * family's shape): y[z, M, N] = x[z, M, K] · w[z]ᵀ + bias. W_DTYPE is the weight's
 * stored format (PC_DTYPE_*), decoded by dequant.glsl as the tile is staged and
 * accumulated in f32; epilogue.glsl finishes each output. Grid: (N tiles, M tiles, z).
 * With MM_ROPE (MATMUL_NORM_ROPE) a workgroup computes all 64-wide tiles of one head
 * instead, then head_epilogue.glsl: grid (heads, M tiles, 1). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "dequant.glsl"
#include "epilogue.glsl"

#ifdef MM_ROPE
layout(push_constant, std430) uniform Push { td_pc_matmul_rope p; };
#define HE_WG 256u
#define HE_LANES 4u
#include "head_epilogue.glsl"
#define STORE_Y(i, v) he_store (i, v)
#else
layout(push_constant, std430) uniform Push { td_pc_matmul p; };
#define STORE_Y(i, v) store_f32 (p.y, i, v)
#endif

uint x_base, w_base, y_base, n_end;

#define MM_M p.m
#define MM_N n_end
#define MM_K p.k
#define LOAD_A(m, k) load_f32 (p.x, x_base + (m) * p.k + (k))
#define LOAD_B(n, k) load_weight (p.w, w_base + (n) * p.k + (k))
#define STORE_C(m, n, v) \
  STORE_Y (y_base + (m) * p.n + (n), epilogue ((v) + (p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, (n)) : 0.0)))

#include "mm_tile.glsl"

void
main ()
{
  uint z = gl_WorkGroupID.z;
  x_base = z * p.m * p.k;
  w_base = z * p.w_batch_stride;
  y_base = z * p.m * p.n;
  uint m0 = gl_WorkGroupID.y * MM_BM;
#ifdef MM_ROPE
  uint col0 = gl_WorkGroupID.x * p.head_dim;
  n_end = col0 + p.head_dim;
  for (uint c = 0u; c < p.head_dim; c += MM_BN)
    mm_tile_run (m0, col0 + c);
  head_epilogue (m0, min (uint (MM_BM), p.m - m0), col0);
#else
  n_end = p.n;
  mm_tile_run (m0, gl_WorkGroupID.x * MM_BN);
#endif
}
