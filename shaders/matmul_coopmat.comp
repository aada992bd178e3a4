#version 450
/* MATMUL on cooperative matrices (GL_NV_cooperative_matrix), the coopmat path of
 * the matmul family (matmul_vec.comp): y[z, M, N] = x[z, M, K] · w[z]ᵀ + bias for
 * weights of any stored format W_DTYPE but f32 (dequant.glsl decodes them as the
 * tile is staged). Same grid semantics as matmul.comp: (N tiles, M tiles, z), with
 * CM_BM × CM_BN outputs per workgroup (64×64 unless the build picks another shape,
 * see below and vulkan_tile_table.h).
 *
 * f16 range: activations (T5-XXL's exceed 65504) and, with CM_SCALE_W, weights
 * are scaled per row by a power of two that brings the row's largest magnitude
 * just under 2^14 before they become f16; the accumulator is scaled back
 * exactly. A first pass over the workgroup's rows of x (and w) finds those
 * maxima over all of K, so the scales do not depend on the tile shape. Relative
 * precision stays f16's 11 bits; only elements below 2^-24 of their row's
 * maximum are lost.
 *
 * Each K step stages a CM_BM×CM_BK slice of x and a CM_BN×CM_BK slice of w in
 * shared memory as f16 (out-of-range rows and k are zero, which handles ragged M,
 * N and K). CM_SG_M × CM_SG_N subgroups of 32 each own a (16·CM_FRAG_M) ×
 * (16·CM_FRAG_N) part of the output: that many accumulators of 16×16 f32, fed by
 * 16×16×16 f16 multiply-adds. The result leaves through shared memory one
 * accumulator per subgroup at a time, so that the scales, bias and the ragged edge
 * are handled per element and no shape needs its whole f32 tile staged.
 *
 * With MM_ROPE (MATMUL_NORM_ROPE) a workgroup computes all CM_BN-wide tiles of one head,
 * then head_epilogue.glsl: grid (heads, M tiles, 1).
 *
 * The host uses this only on devices that report the f16·f16+f32 16×16×16
 * subgroup configuration and a subgroup size of 32 (gl_NumSubgroups == CM_SG_M · CM_SG_N).
 * With TD_COOPMAT_EMULATE the fragment operations are plain GLSL instead (one
 * virtual subgroup per 32 invocations), so that everything but the cooperative
 * matrix instructions can be tested on devices without them
 * (TD_VULKAN_EMULATE_COOPMAT=1). With TD_COOPMAT_KHR the same fragments are
 * GL_KHR_cooperative_matrix's (built only where glslang knows it), and with
 * TD_COOPMAT_BF16 besides, the staged tiles are bf16 instead of f16
 * (GL_EXT_bfloat16; for devices with bf16 cooperative matrices): the same
 * power-of-two scaling stays, exact and harmless, but bf16 keeps 8 significant
 * bits, not 11. */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#if defined(TD_COOPMAT_BF16)
#extension GL_EXT_bfloat16 : require
#define CM_ELEM bfloat16_t
#else
#define CM_ELEM float16_t
#endif
#if defined(TD_COOPMAT_KHR)
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#elif !defined(TD_COOPMAT_EMULATE)
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#include "common.glsl"
#include "dequant.glsl"
#include "epilogue.glsl"

/* The workgroup's shape (vulkan_tile_table.h's coopmat shapes; 64×64 unless the
 * build says otherwise): CM_SG_M × CM_SG_N subgroups of 32, each owning
 * CM_FRAG_M × CM_FRAG_N accumulators of 16×16, so CM_BM = 16·CM_SG_M·CM_FRAG_M
 * rows and CM_BN = 16·CM_SG_N·CM_FRAG_N columns of output per workgroup. */
#ifndef CM_SG_M
#define CM_SG_M 2
#define CM_SG_N 2
#define CM_FRAG_M 2
#define CM_FRAG_N 2
#endif
#ifndef CM_BK
#define CM_BK 32
#endif
#define CM_SUBGROUPS (CM_SG_M * CM_SG_N)
#define CM_WG (32 * CM_SUBGROUPS)
#define CM_BM (16 * CM_SG_M * CM_FRAG_M)
#define CM_BN (16 * CM_SG_N * CM_FRAG_N)
#if CM_BM > CM_WG || CM_BN > CM_WG || CM_WG % CM_BM != 0 || CM_WG % CM_BN != 0 || CM_BK % 16 != 0
#error "the row scales want a whole number of invocations per row of x and of w"
#endif

layout(local_size_x = CM_WG) in;
#ifdef MM_ROPE
layout(push_constant, std430) uniform Push { td_pc_matmul_rope p; };
#define HE_WG CM_WG
#define HE_LANES 2u
#include "head_epilogue.glsl"
#define STORE_Y(i, v) he_store (i, v)
#else
layout(push_constant, std430) uniform Push { td_pc_matmul p; };
#define STORE_Y(i, v) store_f32 (p.y, i, v)
#endif

/* Row strides of the shared tiles, in elements. Cooperative-matrix loads and
 * stores need the start and the stride aligned to 16 bytes: BK + 8 f16 (80 bytes
 * for BK 32), 20 f32 (80 bytes); the extra columns also spread rows over memory
 * banks. */
#define CM_AB_STRIDE (CM_BK + 8)
#define CM_C_STRIDE 20
/* Each subgroup's staging area for one 16×16 accumulator. */
#define CM_C_AREA (16 * CM_C_STRIDE)

shared CM_ELEM cm_a[CM_BM * CM_AB_STRIDE]; /* x rows × k */
shared CM_ELEM cm_b[CM_BN * CM_AB_STRIDE]; /* w rows (outputs) × k */
/* The output leaves one accumulator of each subgroup at a time, so that no shape
 * needs its whole f32 tile in shared memory (128×128 would take 66 KiB; this way
 * it takes 32 KiB in all, lavapipe's limit, and 64×64 16 KiB, Vulkan's minimum). */
shared float cm_c[CM_SUBGROUPS * CM_C_AREA];
/* Per-row largest magnitudes (as float bits, which order like the floats for
 * non-negative values, as ints too), then in their place the power-of-two
 * exponents applied to the rows. */
shared int cm_x_exp[CM_BM], cm_w_exp[CM_BN];

#if defined(TD_COOPMAT_KHR)
#define FRAG_A coopmat<CM_ELEM, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define FRAG_B coopmat<CM_ELEM, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>
#define FRAG_C coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define FRAG_ZERO() FRAG_C (0.0)
#define SUBGROUP_ID gl_SubgroupID
#define SUBGROUP_LANE gl_SubgroupInvocationID
/* As the NV block below: A row-major in cm_a, B column-major in cm_b. */
#define FRAG_LOAD_A(frag, element) coopMatLoad (frag, cm_a, element, CM_AB_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#define FRAG_LOAD_B(frag, element) coopMatLoad (frag, cm_b, element, CM_AB_STRIDE, gl_CooperativeMatrixLayoutColumnMajor)
#define FRAG_MMA(a, b, c) coopMatMulAdd (a, b, c)
#define FRAG_STORE(frag, element) coopMatStore (frag, cm_c, element, CM_C_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#elif !defined(TD_COOPMAT_EMULATE)
#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG_ZERO() FRAG_C (0.0)
#define SUBGROUP_ID gl_SubgroupID
#define SUBGROUP_LANE gl_SubgroupInvocationID
/* A (16 m × 16 k) is row-major in cm_a; B (16 k × 16 n) is column-major in cm_b,
 * whose rows are output columns with k contiguous. */
#define FRAG_LOAD_A(frag, element) coopMatLoadNV (frag, cm_a, element, CM_AB_STRIDE, false)
#define FRAG_LOAD_B(frag, element) coopMatLoadNV (frag, cm_b, element, CM_AB_STRIDE, true)
#define FRAG_MMA(a, b, c) coopMatMulAddNV (a, b, c)
#define FRAG_STORE(frag, element) coopMatStoreNV (frag, cm_c, element, CM_C_STRIDE, false)
#else
#include "coopmat_emulate.glsl"
#endif
/* Fragment loops unrolled so that the accumulator arrays stay in registers; the
 * emulation leaves them as loops, which lavapipe compiles many times faster. */
#ifdef TD_COOPMAT_EMULATE
#define CM_UNROLL [[dont_unroll]]
#else
#define CM_UNROLL [[unroll]]
#endif

uint x_base, w_base, y_base;
/* Columns at or past n_end are outside the output (p.n, or the end of the head). */
uint n_end;

/* The exponent that brings a row whose largest magnitude has bits `max_bits` just
 * under 2^14; 0 for a zero row or one holding Inf/NaN (those stay as they are). */
int
row_exponent (uint max_bits)
{
  float largest = uintBitsToFloat (max_bits);
  if (max_bits == 0u || isinf (largest) || isnan (largest))
    return 0;
  int e;
  frexp (largest, e); /* largest < 2^e */
  return clamp (14 - e, -100, 100);
}

/* Fills cm_x_exp (and cm_w_exp, or zeros) for rows m0.. of x and n0.. of w:
 * CM_WG / CM_BM invocations per row of x, each over every so many k, and
 * likewise for w. */
void
find_row_scales (uint m0, uint n0)
{
  const uint x_lanes = CM_WG / CM_BM, w_lanes = CM_WG / CM_BN;
  uint tid = gl_LocalInvocationID.x;
  if (tid < CM_BM)
    cm_x_exp[tid] = 0;
  if (tid < CM_BN)
    cm_w_exp[tid] = 0;
  barrier ();
  uint x_row = tid / x_lanes, m = m0 + x_row;
  float x_max = 0.0;
  if (m < p.m)
    for (uint k = tid % x_lanes; k < p.k; k += x_lanes)
      x_max = max (x_max, abs (load_f32 (p.x, x_base + m * p.k + k)));
  /* max() drops a NaN operand; any NaN in the row leaves its scale at 1. */
  atomicMax (cm_x_exp[x_row], floatBitsToInt (x_max));
#ifdef CM_SCALE_W
  uint w_row = tid / w_lanes, n = n0 + w_row;
  float w_max = 0.0;
  if (n < n_end)
    for (uint k = tid % w_lanes; k < p.k; k += w_lanes)
      w_max = max (w_max, abs (load_weight (p.w, w_base + n * p.k + k)));
  atomicMax (cm_w_exp[w_row], floatBitsToInt (w_max));
#endif
  barrier ();
  if (tid < CM_BM)
    cm_x_exp[tid] = row_exponent (uint (cm_x_exp[tid]));
  if (tid < CM_BN)
    cm_w_exp[tid] = row_exponent (uint (cm_w_exp[tid]));
  barrier ();
}

/* Stages k0 .. k0 + CM_BK of x rows m0.. and w rows n0.. as scaled f16, zero outside. */
void
stage_tiles (uint m0, uint n0, uint k0)
{
  uint tid = gl_LocalInvocationID.x;
  for (uint e = tid; e < CM_BM * CM_BK; e += CM_WG)
    {
      uint row = e / CM_BK, kk = e % CM_BK, k = k0 + kk, m = m0 + row;
      float a = (m < p.m && k < p.k) ? load_f32 (p.x, x_base + m * p.k + k) : 0.0;
      cm_a[row * CM_AB_STRIDE + kk] = CM_ELEM (ldexp (a, cm_x_exp[row]));
    }
  for (uint e = tid; e < CM_BN * CM_BK; e += CM_WG)
    {
      uint row = e / CM_BK, kk = e % CM_BK, k = k0 + kk, n = n0 + row;
      float b = (n < n_end && k < p.k) ? load_weight (p.w, w_base + n * p.k + k) : 0.0;
      cm_b[row * CM_AB_STRIDE + kk] = CM_ELEM (ldexp (b, cm_w_exp[row]));
    }
}

/* The CM_BM × CM_BN output tile at (m0, n0). */
void
cm_tile_run (uint m0, uint n0)
{
  /* This subgroup's (16·CM_FRAG_M) × (16·CM_FRAG_N) part of the tile. */
  const uint warp_m = 16u * CM_FRAG_M, warp_n = 16u * CM_FRAG_N;
  uint sub_m = (SUBGROUP_ID / CM_SG_N) * warp_m, sub_n = (SUBGROUP_ID % CM_SG_N) * warp_n;

  find_row_scales (m0, n0);
  FRAG_C acc[CM_FRAG_M * CM_FRAG_N];
  CM_UNROLL for (uint f = 0u; f < CM_FRAG_M * CM_FRAG_N; f++)
    acc[f] = FRAG_ZERO ();
  for (uint k0 = 0; k0 < p.k; k0 += CM_BK)
    {
      stage_tiles (m0, n0, k0);
      barrier ();
      CM_UNROLL for (uint kk = 0; kk < CM_BK; kk += 16u)
        {
          FRAG_A a[CM_FRAG_M];
          FRAG_B b[CM_FRAG_N];
          CM_UNROLL for (uint i = 0u; i < CM_FRAG_M; i++)
            FRAG_LOAD_A (a[i], (sub_m + 16u * i) * CM_AB_STRIDE + kk);
          CM_UNROLL for (uint j = 0u; j < CM_FRAG_N; j++)
            FRAG_LOAD_B (b[j], (sub_n + 16u * j) * CM_AB_STRIDE + kk);
          CM_UNROLL for (uint i = 0u; i < CM_FRAG_M; i++)
            CM_UNROLL for (uint j = 0u; j < CM_FRAG_N; j++)
              acc[i * CM_FRAG_N + j] = FRAG_MMA (a[i], b[j], acc[i * CM_FRAG_N + j]);
        }
      barrier ();
    }

  /* One accumulator per subgroup at a time: into its staging area, then out with
   * the scales, bias and ragged edge handled per element, consecutive lanes on
   * consecutive columns. Every subgroup takes the same number of steps, so the
   * workgroup barriers are in uniform control flow. */
  uint area = SUBGROUP_ID * CM_C_AREA;
  CM_UNROLL for (uint f = 0u; f < CM_FRAG_M * CM_FRAG_N; f++)
    {
      FRAG_STORE (acc[f], area);
      barrier ();
      uint frag_m = sub_m + 16u * (f / CM_FRAG_N), frag_n = sub_n + 16u * (f % CM_FRAG_N);
      for (uint e = SUBGROUP_LANE; e < 256u; e += 32u)
        {
          uint row = frag_m + e / 16u, col = frag_n + e % 16u, m = m0 + row, n = n0 + col;
          if (m < p.m && n < n_end)
            {
              float bias = p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0;
              /* Two steps: each exponent is within ±100, their sum might not be. */
              float product = ldexp (ldexp (cm_c[area + (e / 16u) * CM_C_STRIDE + e % 16u], -cm_x_exp[row]),
                                     -cm_w_exp[col]);
              STORE_Y (y_base + m * p.n + n, epilogue (product + bias));
            }
        }
      barrier ();
    }
  /* The barrier above also keeps the row scales until every output has read them. */
}

void
main ()
{
  uint z = gl_WorkGroupID.z;
  x_base = z * p.m * p.k;
  w_base = z * p.w_batch_stride;
  y_base = z * p.m * p.n;
  uint m0 = gl_WorkGroupID.y * CM_BM;
#ifdef MM_ROPE
  /* All CM_BN-wide tiles of one head, then head_epilogue.glsl. */
  uint col0 = gl_WorkGroupID.x * p.head_dim;
  n_end = col0 + p.head_dim;
  for (uint c = 0u; c < p.head_dim; c += CM_BN)
    cm_tile_run (m0, col0 + c);
  head_epilogue (m0, min (uint (CM_BM), p.m - m0), col0);
#else
  n_end = p.n;
  cm_tile_run (m0, gl_WorkGroupID.x * CM_BN);
#endif
}
