#version 450
/* The matmul family: every linear layer y = x · wᵀ + bias is one kernel chosen by
 * (weight format × path).
 *   formats  f32, f16, bf16 (common.glsl), fp8 E4M3/E5M2 and ggml's Q4_0 … Q6_K,
 *            each decoded by its one function in dequant.glsl; the CPU
 *            reference decodes the same fields (engine/core/quant.c);
 *   paths    tiled GEMM (matmul.comp + mm_tile.glsl), this GEMV for inputs of at
 *            most VEC_MAX_M rows (decode steps), and the cooperative-matrix GEMM
 *            (matmul_coopmat.comp), the default for every format but f32 where the
 *            device has cooperative matrices;
 * every path reads the weight through dequant.glsl, so a quantised weight is
 * decoded in registers and never expanded in device memory. shaders/meson.build
 * builds each (format, path) pair, engine/backend/vulkan/vulkan_matmul.c picks
 * one, and the op tests run every pair against the CPU. Every path ends in
 * epilogue.glsl (bias, then an optional activation chosen by a specialization
 * constant).
 *
 * GEMV: one workgroup of VEC_WG computes VEC_ROWS outputs (weight rows) for all
 * M ≤ VEC_MAX_M input rows. K is cut in units (gemv_unit.glsl: 4 f32, 8 f16/bf16
 * read as one 16-byte load, 8 elements of a block format decoded at once with
 * their block's scale); each invocation sums a strided slice of units, then the
 * workgroup reduces with subgroupAdd (VEC_SUBGROUP, the '_sg' variants) or a
 * shared-memory tree. Grid: ceil (N / VEC_ROWS) workgroups laid out in x and y
 * (workgroup_linear), z = batches × p.k_splits. With split-K (k_splits > 1) each
 * z slice sums its share of the units and stores raw sums, slice by slice, in the
 * scratch p.y points at; matmul_vec_reduce.comp adds them, the bias and the
 * epilogue. With MM_ROPE (MATMUL_NORM_ROPE) one workgroup of 256 per head computes
 * that head's outputs, then head_epilogue.glsl. */
#extension GL_GOOGLE_include_directive : require
#ifdef VEC_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "common.glsl"
#include "dequant.glsl"
#include "epilogue.glsl"

#define VEC_ROWS 4
#define VEC_MAX_M 4

#ifdef MM_ROPE
layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_matmul_rope p; };
#define HE_WG 256u
#define HE_LANES 64u
#include "head_epilogue.glsl"
shared float partial[VEC_MAX_M][256];
#else
#define VEC_WG 128u
layout(local_size_x = 128) in;
layout(push_constant, std430) uniform Push { td_pc_matmul p; };
#include "gemv_unit.glsl"
/* Per (input row, weight row) sum: one slot per subgroup, or per invocation for the tree. */
shared float partial[VEC_MAX_M * VEC_ROWS][VEC_WG];

/* acc[j] summed over the workgroup, left in partial[j][0] for every j. */
void
reduce_rows (float acc[VEC_MAX_M * VEC_ROWS])
{
  uint tid = gl_LocalInvocationID.x;
#ifdef VEC_SUBGROUP
  for (uint j = 0; j < VEC_MAX_M * VEC_ROWS; j++)
    {
      float s = subgroupAdd (acc[j]);
      if (subgroupElect ())
        partial[j][gl_SubgroupID] = s;
    }
  barrier ();
  if (tid < VEC_MAX_M * VEC_ROWS)
    {
      float s = partial[tid][0];
      for (uint g = 1u; g < gl_NumSubgroups; g++)
        s += partial[tid][g];
      partial[tid][0] = s;
    }
#else
  for (uint j = 0; j < VEC_MAX_M * VEC_ROWS; j++)
    partial[j][tid] = acc[j];
  barrier ();
  for (uint s = VEC_WG / 2u; s > 0u; s >>= 1)
    {
      if (tid < s)
        for (uint j = 0; j < VEC_MAX_M * VEC_ROWS; j++)
          partial[j][tid] += partial[j][tid + s];
      barrier ();
    }
#endif
  barrier ();
}

/* Outputs n0 .. n0 + VEC_ROWS (those below p.n) of every row, over this z slice's units. */
void
gemv_rows (uint n0)
{
  uint splits = max (p.k_splits, 1u), z = gl_WorkGroupID.z, batch = z / splits, split = z % splits;
  uint tid = gl_LocalInvocationID.x;
  uint x_base = batch * p.m * p.k, w_base = batch * p.w_batch_stride;
  uint units = (p.k + GEMV_UNIT - 1u) / GEMV_UNIT, per_split = (units + splits - 1u) / splits;
  uint u_begin = split * per_split, u_end = min (units, u_begin + per_split);
  float acc[VEC_MAX_M * VEC_ROWS];
  for (uint j = 0; j < VEC_MAX_M * VEC_ROWS; j++)
    acc[j] = 0.0;

  for (uint r = 0; r < VEC_ROWS; r++)
    {
      uint n = n0 + r;
      if (n >= p.n)
        break;
      uint row = w_base + n * p.k;
      bool wide = gemv_row_aligned (p.w, row); /* uniform: the whole row takes one path */
      for (uint u = u_begin + tid; u < u_end; u += VEC_WG)
        {
          uint k0 = u * GEMV_UNIT;
          float wv[GEMV_UNIT];
          if (wide && k0 + GEMV_UNIT <= p.k)
            gemv_load_unit (p.w, row, u, wv);
          else
            for (uint i = 0; i < GEMV_UNIT; i++)
              wv[i] = k0 + i < p.k ? load_weight (p.w, row + k0 + i) : 0.0;
          uint count = min (GEMV_UNIT, p.k - k0);
          for (uint m = 0; m < VEC_MAX_M; m++)
            if (m < p.m)
              {
                float s = acc[m * VEC_ROWS + r];
                for (uint i = 0; i < GEMV_UNIT; i++)
                  if (i < count)
                    s = fma (load_f32 (p.x, x_base + m * p.k + k0 + i), wv[i], s);
                acc[m * VEC_ROWS + r] = s;
              }
        }
    }

  reduce_rows (acc);
  if (tid < VEC_MAX_M * VEC_ROWS)
    {
      uint m = tid / VEC_ROWS, n = n0 + tid % VEC_ROWS;
      if (m < p.m && n < p.n)
        {
          float sum = partial[tid][0];
          if (splits == 1u)
            store_f32 (p.y, (batch * p.m + m) * p.n + n,
                       epilogue (sum + (p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0)));
          else /* slice `split` of the scratch; matmul_vec_reduce.comp finishes */
            store_f32 (p.y, ((split * p.batch + batch) * p.m + m) * p.n + n, sum);
        }
    }
}
#endif

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
  gemv_rows (n0);
#endif
}
