#version 450
/* MATMUL, the tiled GEMM path of the matmul family (see matmul_vec.comp for the
 * family's shape): y[z, M, N] = x[z, M, K] · w[z]ᵀ + bias. W_DTYPE is the weight's
 * stored format (PC_DTYPE_*), decoded by dequant.glsl as the tile is staged and
 * accumulated in f32; epilogue.glsl finishes each output. Grid: (N tiles, M tiles, z). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "dequant.glsl"
#include "epilogue.glsl"

layout(push_constant, std430) uniform Push { td_pc_matmul p; };

uint x_base, w_base, y_base;

#define MM_M p.m
#define MM_N p.n
#define MM_K p.k
#define LOAD_A(m, k) load_f32 (p.x, x_base + (m) * p.k + (k))
#define LOAD_B(n, k) load_weight (p.w, w_base + (n) * p.k + (k))
#define STORE_C(m, n, v) \
  store_f32 (p.y, y_base + (m) * p.n + (n),                                                          \
             epilogue ((v) + (p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, (n)) : 0.0)))

#include "mm_tile.glsl"

void
main ()
{
  uint z = gl_WorkGroupID.z;
  x_base = z * p.m * p.k;
  w_base = z * p.w_batch_stride;
  y_base = z * p.m * p.n;
  mm_tile_run (gl_WorkGroupID.y * MM_BM, gl_WorkGroupID.x * MM_BN);
}
