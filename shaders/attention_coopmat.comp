#version 450
/* ATTENTION on cooperative matrices (GL_NV_cooperative_matrix) for D, Dv ≤ 128:
 * the same op as attention.comp (GQA, causal with offset, additive bias), with
 * Q·Kᵀ and P·V as 16×16×16 f16 multiply-adds into f32.
 *
 * A workgroup takes BR = 32 query rows of one (batch, head); each of its two
 * subgroups of 32 owns 16 rows. Cooperative matrices cannot be scaled per row
 * (the element-to-row mapping is the implementation's), so the online softmax's
 * rescaling is replaced by two passes over the keys: the first finds each row's
 * maximum score, the second forms P = exp(S − max) once and for all and
 * accumulates P·V in the fragments without ever rescaling them. That costs a
 * second Q·Kᵀ (1.5× the multiply-adds of one pass).
 *
 * f16 range: Q rows, and K and V as a whole per (batch, kv head), are scaled by
 * powers of two that bring their largest magnitude under 2^14 (as in
 * matmul_coopmat.comp); scores and outputs are scaled back exactly in f32.
 * P lies in [0, 1] and its row sums are taken over the f16 values the product
 * used.
 *
 * Grid: (query blocks, heads, batch). With TD_COOPMAT_EMULATE the fragment
 * operations are plain GLSL on virtual subgroups of 32 invocations; with
 * TD_COOPMAT_KHR they are GL_KHR_cooperative_matrix's. */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
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

#define DMAX 128
#define BR 32
#define BC 32
#define WG 64
/* Row strides in elements; starts and strides of fragment loads and stores must
 * be multiples of 16 bytes. */
#define QKV_STRIDE (DMAX + 8)
#define S_STRIDE (BC + 4)
#define P_STRIDE (BC + 8)
#define OUT_STRIDE 20

layout(local_size_x = WG) in;
layout(push_constant, std430) uniform Push { td_pc_attention p; };

shared float16_t sh_q[BR * QKV_STRIDE];
shared float16_t sh_kv[BC * QKV_STRIDE]; /* the K block, then the V block */
shared float sh_s[BR * S_STRIDE];        /* scores; at the end, the output staging */
shared float16_t sh_p[BR * P_STRIDE];
shared float row_max[BR], row_sum[BR];
shared uint q_max_bits[BR], kv_max_bits[2];
shared int q_exp[BR], k_exp, v_exp;

#if defined(TD_COOPMAT_KHR)
#define FRAG_A coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define FRAG_B coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>
#define FRAG_C coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define FRAG_ZERO() FRAG_C (0.0)
#define SUBGROUP_ID gl_SubgroupID
#define LOAD_Q(frag, element) coopMatLoad (frag, sh_q, element, QKV_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#define LOAD_K(frag, element) coopMatLoad (frag, sh_kv, element, QKV_STRIDE, gl_CooperativeMatrixLayoutColumnMajor)
#define LOAD_P(frag, element) coopMatLoad (frag, sh_p, element, P_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#define LOAD_V(frag, element) coopMatLoad (frag, sh_kv, element, QKV_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#define MMA_QK(a, b, c) coopMatMulAdd (a, b, c)
#define MMA_PV(a, b, c) coopMatMulAdd (a, b, c)
#define STORE_S(frag, element) coopMatStore (frag, sh_s, element, S_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#define STORE_OUT(frag, element) coopMatStore (frag, sh_s, element, OUT_STRIDE, gl_CooperativeMatrixLayoutRowMajor)
#elif !defined(TD_COOPMAT_EMULATE)
#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG_ZERO() FRAG_C (0.0)
#define SUBGROUP_ID gl_SubgroupID
#define LOAD_Q(frag, element) coopMatLoadNV (frag, sh_q, element, QKV_STRIDE, false)
#define LOAD_K(frag, element) coopMatLoadNV (frag, sh_kv, element, QKV_STRIDE, true)
#define LOAD_P(frag, element) coopMatLoadNV (frag, sh_p, element, P_STRIDE, false)
#define LOAD_V(frag, element) coopMatLoadNV (frag, sh_kv, element, QKV_STRIDE, false)
#define MMA_QK(a, b, c) coopMatMulAddNV (a, b, c)
#define MMA_PV(a, b, c) coopMatMulAddNV (a, b, c)
#define STORE_S(frag, element) coopMatStoreNV (frag, sh_s, element, S_STRIDE, false)
#define STORE_OUT(frag, element) coopMatStoreNV (frag, sh_s, element, OUT_STRIDE, false)
#else
/* As GL_NV_cooperative_matrix defines them: a row-major fragment's (row, col) is
 * buf[element + row * stride + col], a column-major one's buf[element + col *
 * stride + row]. A and B fragments remember where they start (the shared tiles
 * stay unchanged until the multiply); an accumulator spreads its 256 elements
 * over the 32 invocations of a virtual subgroup. */
struct frag_acc {
  float v[8];
};
#define FRAG_A uint
#define FRAG_B uint
#define FRAG_C frag_acc
#define SUBGROUP_ID (gl_LocalInvocationID.x / 32u)
#define LOAD_Q(frag, element) frag = (element)
#define LOAD_K(frag, element) frag = (element)
#define LOAD_P(frag, element) frag = (element)
#define LOAD_V(frag, element) frag = (element)
#define FRAG_ZERO frag_zero
#define MMA_QK mma_qk
#define MMA_PV mma_pv
#define STORE_S(frag, element) frag_store_s (frag, element, S_STRIDE)
#define STORE_OUT(frag, element) frag_store_s (frag, element, OUT_STRIDE)

frag_acc
frag_zero ()
{
  frag_acc c;
  for (uint s = 0; s < 8u; s++)
    c.v[s] = 0.0;
  return c;
}

/* c + Q · Kᵀ: Q row-major in sh_q, K column-major (one key per row) in sh_kv. */
frag_acc
mma_qk (uint a, uint b, frag_acc c)
{
  uint lane = gl_LocalInvocationID.x % 32u;
  for (uint s = 0; s < 8u; s++)
    {
      uint e = lane + 32u * s, row = e / 16u, col = e % 16u;
      float sum = c.v[s];
      for (uint k = 0; k < 16u; k++)
        sum = fma (float (sh_q[a + row * QKV_STRIDE + k]), float (sh_kv[b + col * QKV_STRIDE + k]), sum);
      c.v[s] = sum;
    }
  return c;
}

/* c + P · V: both row-major, P in sh_p, V in sh_kv. */
frag_acc
mma_pv (uint a, uint b, frag_acc c)
{
  uint lane = gl_LocalInvocationID.x % 32u;
  for (uint s = 0; s < 8u; s++)
    {
      uint e = lane + 32u * s, row = e / 16u, col = e % 16u;
      float sum = c.v[s];
      for (uint k = 0; k < 16u; k++)
        sum = fma (float (sh_p[a + row * P_STRIDE + k]), float (sh_kv[b + k * QKV_STRIDE + col]), sum);
      c.v[s] = sum;
    }
  return c;
}

void
frag_store_s (frag_acc c, uint element, uint stride)
{
  uint lane = gl_LocalInvocationID.x % 32u;
  for (uint s = 0; s < 8u; s++)
    {
      uint e = lane + 32u * s;
      sh_s[element + (e / 16u) * stride + e % 16u] = c.v[s];
    }
}
#endif

uint batch, head, kv_head, q0;

/* The exponent that brings largest magnitude `bits` just under 2^14; 0 for zero,
 * Inf or NaN. */
int
range_exponent (uint bits)
{
  float largest = uintBitsToFloat (bits);
  if (bits == 0u || isinf (largest) || isnan (largest))
    return 0;
  int e;
  frexp (largest, e);
  return clamp (14 - e, -100, 100);
}

uint
k_index (uint key, uint c)
{
  return ((batch * p.tk + key) * p.kv_heads + kv_head) * p.d + c;
}

uint
v_index (uint key, uint c)
{
  return ((batch * p.tk + key) * p.kv_heads + kv_head) * p.dv + c;
}

/* Largest magnitudes of this workgroup's Q rows and of all of K and V for its
 * kv head, turned into the exponents that keep them in f16's range. */
void
find_scales ()
{
  uint tid = gl_LocalInvocationID.x;
  if (tid < BR)
    q_max_bits[tid] = 0u;
  if (tid < 2u)
    kv_max_bits[tid] = 0u;
  barrier ();
  /* Two invocations per query row. */
  uint r = tid / 2u, qi = q0 + r;
  float q_max = 0.0;
  if (qi < p.tq)
    for (uint c = tid % 2u; c < p.d; c += 2u)
      q_max = max (q_max, abs (load_f32 (p.q, ((batch * p.tq + qi) * p.heads + head) * p.d + c)));
  atomicMax (q_max_bits[r], floatBitsToUint (q_max));
  float k_max = 0.0, v_max = 0.0;
  for (uint e = tid; e < p.tk * p.d; e += WG)
    k_max = max (k_max, abs (load_any (p.k, p.kv_dtype, k_index (e / p.d, e % p.d))));
  for (uint e = tid; e < p.tk * p.dv; e += WG)
    v_max = max (v_max, abs (load_any (p.v, p.kv_dtype, v_index (e / p.dv, e % p.dv))));
  atomicMax (kv_max_bits[0], floatBitsToUint (k_max));
  atomicMax (kv_max_bits[1], floatBitsToUint (v_max));
  barrier ();
  if (tid < BR)
    q_exp[tid] = range_exponent (q_max_bits[tid]);
  if (tid == 0u)
    {
      k_exp = range_exponent (kv_max_bits[0]);
      v_exp = range_exponent (kv_max_bits[1]);
    }
  barrier ();
}

void
stage_q ()
{
  for (uint e = gl_LocalInvocationID.x; e < BR * DMAX; e += WG)
    {
      uint r = e / DMAX, c = e % DMAX, qi = q0 + r;
      float value = qi < p.tq && c < p.d ? load_f32 (p.q, ((batch * p.tq + qi) * p.heads + head) * p.d + c) : 0.0;
      sh_q[r * QKV_STRIDE + c] = float16_t (ldexp (value, q_exp[r]));
    }
}

void
stage_k (uint k0)
{
  for (uint e = gl_LocalInvocationID.x; e < BC * DMAX; e += WG)
    {
      uint j = e / DMAX, c = e % DMAX, key = k0 + j;
      float value = key < p.tk && c < p.d ? load_any (p.k, p.kv_dtype, k_index (key, c)) : 0.0;
      sh_kv[j * QKV_STRIDE + c] = float16_t (ldexp (value, k_exp));
    }
}

void
stage_v (uint k0)
{
  for (uint e = gl_LocalInvocationID.x; e < BC * DMAX; e += WG)
    {
      uint j = e / DMAX, c = e % DMAX, key = k0 + j;
      float value = key < p.tk && c < p.dv ? load_any (p.v, p.kv_dtype, v_index (key, c)) : 0.0;
      sh_kv[j * QKV_STRIDE + c] = float16_t (ldexp (value, v_exp));
    }
}

/* sh_s = (Q · Kᵀ) for this block, still scaled; each subgroup its 16 rows. */
void
scores_block (uint sub_row, uint d_steps)
{
  FRAG_C s0 = FRAG_ZERO (), s1 = FRAG_ZERO ();
  for (uint step = 0; step < d_steps; step++)
    {
      uint kk = step * 16u;
      FRAG_A a;
      FRAG_B b0, b1;
      LOAD_Q (a, sub_row * QKV_STRIDE + kk);
      LOAD_K (b0, 0u * QKV_STRIDE + kk);
      LOAD_K (b1, 16u * QKV_STRIDE + kk);
      s0 = MMA_QK (a, b0, s0);
      s1 = MMA_QK (a, b1, s1);
    }
  STORE_S (s0, sub_row * S_STRIDE + 0u);
  STORE_S (s1, sub_row * S_STRIDE + 16u);
}

/* The final score of row r, key k0 + j; -Inf when masked or outside. */
float
score (uint r, uint k0, uint j)
{
  uint qi = q0 + r, key = k0 + j;
  bool visible = qi < p.tq && key < p.tk && (p.causal == 0u || int (key) <= int (qi) + int (p.tk) - int (p.tq));
  if (!visible)
    return -1.0 / 0.0;
  float s = ldexp (ldexp (sh_s[r * S_STRIDE + j], -q_exp[r]), -k_exp) * p.scale;
  if (p.has_bias != 0u)
    s += load_f32 (p.bias, batch * p.bias_stride_b + head * p.bias_stride_h + qi * p.tk + key);
  return s;
}

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  q0 = gl_WorkGroupID.x * BR;
  head = gl_WorkGroupID.y;
  batch = gl_WorkGroupID.z;
  kv_head = head / (p.heads / p.kv_heads);
  uint sub_row = SUBGROUP_ID * 16u;
  uint d_steps = (p.d + 15u) / 16u;
  float neg_inf = -1.0 / 0.0;

  /* Causal: row i sees keys j <= i + (tk - tq); the block's last row bounds the loop. */
  uint key_end = p.tk;
  if (p.causal != 0u)
    {
      int last = int (min (q0 + BR, p.tq)) - 1 + int (p.tk) - int (p.tq);
      key_end = uint (clamp (last + 1, 0, int (p.tk)));
    }

  find_scales ();
  stage_q ();
  if (tid < BR)
    {
      row_max[tid] = neg_inf;
      row_sum[tid] = 0.0;
    }

  /* Pass 1: each row's largest score. */
  for (uint k0 = 0; k0 < key_end; k0 += BC)
    {
      barrier ();
      stage_k (k0);
      barrier ();
      scores_block (sub_row, d_steps);
      barrier ();
      if (tid < BR)
        {
          float m = row_max[tid];
          for (uint j = 0; j < BC; j++)
            m = max (m, score (tid, k0, j));
          row_max[tid] = m;
        }
    }

  /* Pass 2: P = exp(S − max) in f16, its row sums, and P · V. */
  FRAG_C out_acc[DMAX / 16];
  for (uint i = 0; i < DMAX / 16u; i++)
    out_acc[i] = FRAG_ZERO ();
  uint dv_steps = (p.dv + 15u) / 16u;
  for (uint k0 = 0; k0 < key_end; k0 += BC)
    {
      barrier ();
      stage_k (k0);
      barrier ();
      scores_block (sub_row, d_steps);
      barrier ();
      if (tid < BR)
        {
          float m = row_max[tid], sum = row_sum[tid];
          for (uint j = 0; j < BC; j++)
            {
              float s = score (tid, k0, j);
              float16_t pj = float16_t (s == neg_inf ? 0.0 : exp (s - m));
              sh_p[tid * P_STRIDE + j] = pj;
              sum += float (pj);
            }
          row_sum[tid] = sum;
        }
      stage_v (k0);
      barrier ();
      for (uint kk = 0; kk < BC; kk += 16u)
        {
          FRAG_A a;
          LOAD_P (a, sub_row * P_STRIDE + kk);
          for (uint i = 0; i < DMAX / 16u; i++)
            if (i < dv_steps)
              {
                FRAG_B b;
                LOAD_V (b, kk * QKV_STRIDE + i * 16u);
                out_acc[i] = MMA_PV (a, b, out_acc[i]);
              }
        }
    }

  /* Out through sh_s, one 16×16 fragment per subgroup at a time. */
  for (uint i = 0; i < DMAX / 16u; i++)
    {
      if (i >= dv_steps)
        break;
      barrier ();
      STORE_OUT (out_acc[i], SUBGROUP_ID * 16u * OUT_STRIDE);
      barrier ();
      for (uint e = tid % 32u; e < 256u; e += 32u)
        {
          uint r = sub_row + e / 16u, c = i * 16u + e % 16u, qi = q0 + r;
          if (qi < p.tq && c < p.dv)
            {
              float sum = row_sum[r];
              float value = sum > 0.0 ? ldexp (sh_s[SUBGROUP_ID * 16u * OUT_STRIDE + (e / 16u) * OUT_STRIDE + e % 16u],
                                               -v_exp) / sum
                                      : 0.0;
              store_f32 (p.y, ((batch * p.tq + qi) * p.heads + head) * p.dv + c, value);
            }
        }
    }
}
