#version 450
/* The matmul family: every linear layer y = x · wᵀ + bias is one kernel chosen by
 * (weight format × path).
 *   formats  f32, f16, bf16 (common.glsl), fp8 E4M3/E5M2 and ggml's Q4_0 … Q6_K,
 *            each decoded by its one function in dequant.glsl; the CPU
 *            reference decodes the same fields (engine/core/quant.c);
 *   paths    tiled GEMM (matmul.comp + mm_tile.glsl), this GEMV for inputs of at
 *            most VEC_MAX_M rows (decode steps), and the opt-in
 *            cooperative-matrix GEMM for f16/bf16 (matmul_coopmat.comp);
 * every path reads the weight through load_weight, so a quantised weight is
 * decoded in registers and never expanded in device memory. shaders/meson.build
 * builds each (format, path) pair, engine/backend/vulkan/vulkan_matmul.c picks
 * one, and the op tests run every pair against the CPU. Every path ends in
 * epilogue.glsl (bias, then an optional activation chosen by a specialization
 * constant).
 *
 * GEMV: one workgroup of 256 computes VEC_ROWS outputs (weight rows) for all M
 * ≤ VEC_MAX_M input rows: each invocation sums a strided slice of K, then the
 * workgroup reduces. Grid: ceil (N / VEC_ROWS) workgroups laid out in x and y
 * (workgroup_linear), z batches. With MM_ROPE (MATMUL_NORM_ROPE) one workgroup per
 * head computes that head's outputs, then head_epilogue.glsl. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "dequant.glsl"
#include "epilogue.glsl"

#define VEC_ROWS 2
#define VEC_MAX_M 4

layout(local_size_x = 256) in;
#ifdef MM_ROPE
layout(push_constant, std430) uniform Push { td_pc_matmul_rope p; };
#define HE_WG 256u
#define HE_LANES 64u
#include "head_epilogue.glsl"
#define STORE_Y(i, v) he_store (i, v)
#else
layout(push_constant, std430) uniform Push { td_pc_matmul p; };
#define STORE_Y(i, v) store_f32 (p.y, i, v)
#endif

shared float partial[VEC_MAX_M * VEC_ROWS][256];

/* Outputs n0 .. n0 + VEC_ROWS (those below n_end) of every row. */
void
gemv_rows (uint n0, uint n_end)
{
  uint z = gl_WorkGroupID.z, tid = gl_LocalInvocationID.x;
  uint x_base = z * p.m * p.k, w_base = z * p.w_batch_stride, y_base = z * p.m * p.n;
  float acc[VEC_MAX_M][VEC_ROWS];
  for (uint m = 0; m < VEC_MAX_M; m++)
    for (uint r = 0; r < VEC_ROWS; r++)
      acc[m][r] = 0.0;

  for (uint k = tid; k < p.k; k += 256u)
    for (uint r = 0; r < VEC_ROWS; r++)
      {
        uint n = n0 + r;
        if (n >= n_end)
          break;
        float w = load_weight (p.w, w_base + n * p.k + k);
        for (uint m = 0; m < VEC_MAX_M; m++)
          if (m < p.m)
            acc[m][r] = fma (load_f32 (p.x, x_base + m * p.k + k), w, acc[m][r]);
      }

  /* One tree reduction for all VEC_MAX_M × VEC_ROWS sums (barriers are the cost). */
  for (uint m = 0; m < VEC_MAX_M; m++)
    for (uint r = 0; r < VEC_ROWS; r++)
      partial[m * VEC_ROWS + r][tid] = acc[m][r];
  barrier ();
  for (uint s = 128u; s > 0u; s >>= 1)
    {
      if (tid < s)
        for (uint j = 0; j < VEC_MAX_M * VEC_ROWS; j++)
          partial[j][tid] += partial[j][tid + s];
      barrier ();
    }
  if (tid < VEC_MAX_M * VEC_ROWS)
    {
      uint m = tid / VEC_ROWS, n = n0 + tid % VEC_ROWS;
      if (m < p.m && n < n_end)
        STORE_Y (y_base + m * p.n + n,
                 epilogue (partial[tid][0] + (p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0)));
    }
}

#ifdef MM_ROPE
/* A head's outputs take fewer workgroups than gemv_rows's spread, so each pass here
 * sums more rows at once: ROPE_LANES invocations per output, ROPE_ROWS outputs. */
#define ROPE_LANES 32u
#define ROPE_ROWS (256u / ROPE_LANES)

void
gemv_head_rows (uint n0, uint n_end)
{
  uint tid = gl_LocalInvocationID.x, lane = tid % ROPE_LANES, n = n0 + tid / ROPE_LANES;
  float acc[VEC_MAX_M];
  for (uint m = 0; m < VEC_MAX_M; m++)
    acc[m] = 0.0;
  if (n < n_end)
    for (uint k = lane; k < p.k; k += ROPE_LANES)
      {
        float w = load_weight (p.w, n * p.k + k);
        for (uint m = 0; m < VEC_MAX_M; m++)
          if (m < p.m)
            acc[m] = fma (load_f32 (p.x, m * p.k + k), w, acc[m]);
      }
  for (uint m = 0; m < VEC_MAX_M; m++)
    partial[m][tid] = acc[m];
  barrier ();
  for (uint s = ROPE_LANES / 2u; s > 0u; s >>= 1)
    {
      if (lane < s)
        for (uint m = 0; m < VEC_MAX_M; m++)
          partial[m][tid] += partial[m][tid + s];
      barrier ();
    }
  uint m = lane;
  if (m < p.m && n < n_end)
    he_store (m * p.n + n,
              epilogue (partial[m][tid - lane] + (p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0)));
}
#endif

void
main ()
{
#ifdef MM_ROPE
  /* One head per workgroup (w is shared, one batch): its outputs ROPE_ROWS at a time,
   * then the epilogue. The barrier keeps a pass's reads of partial before the next
   * pass's writes. */
  uint col0 = gl_WorkGroupID.x * p.head_dim;
  for (uint n0 = col0; n0 < col0 + p.head_dim; n0 += ROPE_ROWS)
    {
      barrier ();
      gemv_head_rows (n0, col0 + p.head_dim);
    }
  head_epilogue (0u, p.m, col0);
#else
  uint n0 = workgroup_linear () * VEC_ROWS;
  if (n0 >= p.n) /* the last row of a 2-D grid may overhang; uniform per workgroup */
    return;
  gemv_rows (n0, p.n);
#endif
}
