#version 450
/* MATMUL on cooperative matrices (GL_NV_cooperative_matrix): y[z, M, N] =
 * x[z, M, K] · w[z]ᵀ + bias for f16 or bf16 weights (W_DTYPE). Same grid and
 * semantics as matmul.comp: (N tiles, M tiles, z), 64×64 outputs per workgroup.
 *
 * Each K step stages a 64×32 slice of x and of w in shared memory as f16 (f32
 * activations and bf16 weights are converted on the way; out-of-range rows and
 * k are zero, which handles ragged M, N and K). The 4 subgroups of 32 each own a
 * 32×32 quarter of the output: 2×2 accumulators of 16×16 f32, fed by 16×16×16
 * f16 multiply-adds. The result goes through shared memory so that bias and the
 * ragged edge are handled per element.
 *
 * The host uses this only on devices that report the f16·f16+f32 16×16×16
 * subgroup configuration and a subgroup size of 32 (gl_NumSubgroups == 4).
 * With TD_COOPMAT_EMULATE the fragment operations are plain GLSL instead (one
 * virtual subgroup per 32 invocations), so that everything but the cooperative
 * matrix instructions can be tested on devices without them. */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#ifndef TD_COOPMAT_EMULATE
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#include "common.glsl"

layout(push_constant, std430) uniform Push { td_pc_matmul p; };
layout(local_size_x = 128) in;

#define CM_BM 64
#define CM_BN 64
#define CM_BK 32
/* Row strides of the shared tiles, in elements. Cooperative-matrix loads and
 * stores need the start and the stride aligned to 16 bytes: 40 f16 = 80 bytes,
 * 68 f32 = 272 bytes; the extra columns also spread rows over memory banks. */
#define CM_AB_STRIDE 40
#define CM_C_STRIDE 68

shared float16_t cm_a[CM_BM * CM_AB_STRIDE]; /* x rows × k */
shared float16_t cm_b[CM_BN * CM_AB_STRIDE]; /* w rows (outputs) × k */
shared float cm_c[CM_BM * CM_C_STRIDE];      /* the finished 64×64 tile */

#ifndef TD_COOPMAT_EMULATE
#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG_ZERO() FRAG_C (0.0)
#define SUBGROUP_ID gl_SubgroupID
/* A (16 m × 16 k) is row-major in cm_a; B (16 k × 16 n) is column-major in cm_b,
 * whose rows are output columns with k contiguous. */
#define FRAG_LOAD_A(frag, element) coopMatLoadNV (frag, cm_a, element, CM_AB_STRIDE, false)
#define FRAG_LOAD_B(frag, element) coopMatLoadNV (frag, cm_b, element, CM_AB_STRIDE, true)
#define FRAG_MMA(a, b, c) coopMatMulAddNV (a, b, c)
#define FRAG_STORE(frag, element) coopMatStoreNV (frag, cm_c, element, CM_C_STRIDE, false)
#else
#include "coopmat_emulate.glsl"
#endif

uint x_base, w_base, y_base;

/* Stages k0 .. k0 + CM_BK of x rows m0.. and w rows n0.. as f16, zero outside. */
void
stage_tiles (uint m0, uint n0, uint k0)
{
  uint tid = gl_LocalInvocationID.x;
  for (uint e = tid; e < CM_BM * CM_BK; e += 128u)
    {
      uint row = e / CM_BK, kk = e % CM_BK, k = k0 + kk;
      uint m = m0 + row, n = n0 + row;
      float a = (m < p.m && k < p.k) ? load_f32 (p.x, x_base + m * p.k + k) : 0.0;
      float b = (n < p.n && k < p.k) ? load_any (p.w, W_DTYPE, w_base + n * p.k + k) : 0.0;
      cm_a[row * CM_AB_STRIDE + kk] = float16_t (a);
      cm_b[row * CM_AB_STRIDE + kk] = float16_t (b);
    }
}

void
main ()
{
  uint z = gl_WorkGroupID.z;
  x_base = z * p.m * p.k;
  w_base = z * p.w_batch_stride;
  y_base = z * p.m * p.n;
  uint m0 = gl_WorkGroupID.y * CM_BM, n0 = gl_WorkGroupID.x * CM_BN;
  /* This subgroup's 32×32 quarter of the tile. */
  uint sub_m = (SUBGROUP_ID / 2u) * 32u, sub_n = (SUBGROUP_ID % 2u) * 32u;

  FRAG_C acc00 = FRAG_ZERO (), acc01 = FRAG_ZERO (), acc10 = FRAG_ZERO (), acc11 = FRAG_ZERO ();
  for (uint k0 = 0; k0 < p.k; k0 += CM_BK)
    {
      stage_tiles (m0, n0, k0);
      barrier ();
      for (uint kk = 0; kk < CM_BK; kk += 16u)
        {
          FRAG_A a0, a1;
          FRAG_B b0, b1;
          FRAG_LOAD_A (a0, (sub_m + 0u) * CM_AB_STRIDE + kk);
          FRAG_LOAD_A (a1, (sub_m + 16u) * CM_AB_STRIDE + kk);
          FRAG_LOAD_B (b0, (sub_n + 0u) * CM_AB_STRIDE + kk);
          FRAG_LOAD_B (b1, (sub_n + 16u) * CM_AB_STRIDE + kk);
          acc00 = FRAG_MMA (a0, b0, acc00);
          acc01 = FRAG_MMA (a0, b1, acc01);
          acc10 = FRAG_MMA (a1, b0, acc10);
          acc11 = FRAG_MMA (a1, b1, acc11);
        }
      barrier ();
    }

  FRAG_STORE (acc00, (sub_m + 0u) * CM_C_STRIDE + sub_n + 0u);
  FRAG_STORE (acc01, (sub_m + 0u) * CM_C_STRIDE + sub_n + 16u);
  FRAG_STORE (acc10, (sub_m + 16u) * CM_C_STRIDE + sub_n + 0u);
  FRAG_STORE (acc11, (sub_m + 16u) * CM_C_STRIDE + sub_n + 16u);
  barrier ();

  /* Consecutive invocations write consecutive columns of a row. */
  for (uint e = gl_LocalInvocationID.x; e < CM_BM * CM_BN; e += 128u)
    {
      uint row = e / CM_BN, col = e % CM_BN, m = m0 + row, n = n0 + col;
      if (m < p.m && n < p.n)
        {
          float bias = p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0;
          store_f32 (p.y, y_base + m * p.n + n, cm_c[row * CM_C_STRIDE + col] + bias);
        }
    }
}
