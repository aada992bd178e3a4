#version 450
/* CONV2D on cooperative matrices: the implicit GEMM of conv2d.comp (same push
 * constants, same semantics) with y[b, cout, pixel] = Σ_k im2col[(b, pixel), k] ·
 * w[cout, k] + bias, k = (ci, ky, kx), the im2col operand gathered on the fly and
 * zero outside the padded input. M = output pixels of every image, N = output
 * channels, K = cin · kh · kw. W_DTYPE is the weight's stored dtype (f16 or
 * bf16; the host keeps f32 weights on the exact conv2d.comp); grid (pixel tiles, channel tiles, 1), 64×64 outputs per workgroup.
 *
 * f16 range: activations exceed 65504 (VAE decoders grow them), so each
 * output pixel's K window and each weight row are scaled by the power of two
 * that brings its largest magnitude just under 2^14 before they become f16; the
 * f32 accumulator is scaled back exactly. A first pass over the workgroup's 64
 * windows and 64 weight rows finds those maxima. Relative precision stays f16's
 * 11 bits; only elements below 2^-24 of their row's maximum are lost.
 *
 * Each K step stages a 64×32 slice of the im2col rows and of the weight rows in
 * shared memory as f16 (rows and k out of range are zero, so ragged M, N and K
 * need no other care). The 4 subgroups of 32 each own a 32×32 quarter of the
 * output: 2×2 accumulators of 16×16 f32 fed by 16×16×16 f16 multiply-adds. The
 * result goes through shared memory so that the scales, the bias and the ragged
 * edge are handled per element.
 *
 * Fragments: GL_NV_cooperative_matrix by default, GL_KHR_cooperative_matrix with
 * TD_COOPMAT_KHR, plain GLSL with TD_COOPMAT_EMULATE (coopmat_emulate.glsl; one
 * virtual subgroup per 32 invocations) for devices without either. The host
 * uses the real ones only where the matmul family's coopmat path is enabled. */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require /* coopmat_emulate.glsl's loops */
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

layout(local_size_x = 128) in;
layout(push_constant, std430) uniform Push { td_pc_conv2d p; };

#define CM_BM 64 /* output pixels per workgroup */
#define CM_BN 64 /* output channels per workgroup */
#define CM_BK 32
/* Row strides of the shared tiles in elements: cooperative-matrix loads and
 * stores need 16-byte aligned starts and strides (40 f16 = 80 bytes, 68 f32 =
 * 272 bytes); the extra columns also spread rows over memory banks. */
#define CM_AB_STRIDE 40
#define CM_C_STRIDE 68

shared float16_t cm_a[CM_BM * CM_AB_STRIDE]; /* im2col rows (pixels) × k */
shared float16_t cm_b[CM_BN * CM_AB_STRIDE]; /* weight rows (channels) × k */
shared float cm_c[CM_BM * CM_C_STRIDE];      /* the finished tile, pixels × channels */
/* Per-row largest magnitudes as float bits (which order like the floats for
 * non-negative values), then the power-of-two exponents applied to the rows. */
shared uint cm_x_max[CM_BM], cm_w_max[CM_BN];
shared int cm_x_exp[CM_BM], cm_w_exp[CM_BN];
/* Where each staged pixel row starts in x: the image's base and the top-left
 * input position of its window (may be negative: padding); `valid` false past M. */
shared uint px_base[CM_BM];
shared int px_ih[CM_BM], px_iw[CM_BM];
shared bool px_valid[CM_BM];

#if defined(TD_COOPMAT_KHR)
#define FRAG_A coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define FRAG_B coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>
#define FRAG_C coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define FRAG_ZERO() FRAG_C (0.0)
#define SUBGROUP_ID gl_SubgroupID
/* A (16 pixels × 16 k) row-major in cm_a; B (16 k × 16 channels) column-major in cm_b. */
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
#define FRAG_LOAD_A(frag, element) coopMatLoadNV (frag, cm_a, element, CM_AB_STRIDE, false)
#define FRAG_LOAD_B(frag, element) coopMatLoadNV (frag, cm_b, element, CM_AB_STRIDE, true)
#define FRAG_MMA(a, b, c) coopMatMulAddNV (a, b, c)
#define FRAG_STORE(frag, element) coopMatStoreNV (frag, cm_c, element, CM_C_STRIDE, false)
#else
#include "coopmat_emulate.glsl"
#endif

/* Element k of staged pixel row `row`'s window; 0 in the padding. */
float
load_window (uint row, uint k)
{
  uint kx = k % p.kw, krest = k / p.kw;
  uint ky = krest % p.kh, ci = krest / p.kh;
  int ih = px_ih[row] + int (ky), iw = px_iw[row] + int (kx);
  if (ih < 0 || iw < 0 || ih >= int (p.h) || iw >= int (p.w_in))
    return 0.0;
  return load_f32 (p.x, px_base[row] + (ci * p.h + uint (ih)) * p.w_in + uint (iw));
}

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

/* Fills the pixel rows' window positions and the row scales of pixels m0.. and
 * channels n0... */
void
prepare_rows (uint m0, uint n0, uint k_total)
{
  uint tid = gl_LocalInvocationID.x;
  if (tid < CM_BM)
    {
      uint m = m0 + tid, plane = p.ho * p.wo;
      bool valid = m < p.batch * plane;
      uint b = valid ? m / plane : 0u, pixel = m % plane;
      px_valid[tid] = valid;
      px_base[tid] = b * p.cin * p.h * p.w_in;
      px_ih[tid] = int ((pixel / p.wo) * p.stride_h) - int (p.pad_h);
      px_iw[tid] = int ((pixel % p.wo) * p.stride_w) - int (p.pad_w);
      cm_x_max[tid] = 0u;
      cm_w_max[tid] = 0u;
    }
  barrier ();
  /* Two invocations per row, each over every other k. */
  uint row = tid / 2u, n = n0 + row;
  float x_max = 0.0, w_max = 0.0;
  for (uint k = tid % 2u; k < k_total; k += 2u)
    {
      if (px_valid[row])
        x_max = max (x_max, abs (load_window (row, k)));
      if (n < p.cout)
        w_max = max (w_max, abs (load_any (p.w, W_DTYPE, n * k_total + k)));
    }
  /* max() drops a NaN operand; any NaN in the row leaves its scale at 1. */
  atomicMax (cm_x_max[row], floatBitsToUint (x_max));
  atomicMax (cm_w_max[row], floatBitsToUint (w_max));
  barrier ();
  if (tid < CM_BM)
    {
      cm_x_exp[tid] = row_exponent (cm_x_max[tid]);
      cm_w_exp[tid] = row_exponent (cm_w_max[tid]);
    }
  barrier ();
}

/* Stages k0 .. k0 + CM_BK of the windows and weight rows as scaled f16, zero outside. */
void
stage_tiles (uint n0, uint k0, uint k_total)
{
  for (uint e = gl_LocalInvocationID.x; e < CM_BM * CM_BK; e += 128u)
    {
      uint row = e / CM_BK, kk = e % CM_BK, k = k0 + kk, n = n0 + row;
      float a = (px_valid[row] && k < k_total) ? load_window (row, k) : 0.0;
      float b = (n < p.cout && k < k_total) ? load_any (p.w, W_DTYPE, n * k_total + k) : 0.0;
      cm_a[row * CM_AB_STRIDE + kk] = float16_t (ldexp (a, cm_x_exp[row]));
      cm_b[row * CM_AB_STRIDE + kk] = float16_t (ldexp (b, cm_w_exp[row]));
    }
}

void
main ()
{
  uint m0 = gl_WorkGroupID.x * CM_BM, n0 = gl_WorkGroupID.y * CM_BN;
  uint k_total = p.cin * p.kh * p.kw;
  /* This subgroup's 32×32 quarter of the tile. */
  uint sub_m = (SUBGROUP_ID / 2u) * 32u, sub_n = (SUBGROUP_ID % 2u) * 32u;

  prepare_rows (m0, n0, k_total);
  FRAG_C acc00 = FRAG_ZERO (), acc01 = FRAG_ZERO (), acc10 = FRAG_ZERO (), acc11 = FRAG_ZERO ();
  for (uint k0 = 0; k0 < k_total; k0 += CM_BK)
    {
      stage_tiles (n0, k0, k_total);
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

  /* Consecutive invocations write consecutive pixels of one channel plane. */
  uint plane = p.ho * p.wo;
  for (uint e = gl_LocalInvocationID.x; e < CM_BM * CM_BN; e += 128u)
    {
      uint row = e % CM_BM, col = e / CM_BM, m = m0 + row, n = n0 + col;
      if (px_valid[row] && n < p.cout)
        {
          float bias = p.has_bias != 0u ? load_any (p.bias, p.bias_dtype, n) : 0.0;
          /* Two steps: each exponent is within ±100, their sum might not be. */
          float v = ldexp (ldexp (cm_c[row * CM_C_STRIDE + col], -cm_x_exp[row]), -cm_w_exp[col]);
          uint b = m / plane, pixel = m % plane;
          store_f32 (p.y, (b * p.cout + n) * plane + pixel, v + bias);
        }
    }
}
