#version 450
/* MATMUL on workgroup-scope cooperative matrices (GL_NV_cooperative_matrix2), for
 * devices with VK_NV_cooperative_matrix2: y[z, M, N] = x[z, M, K] · w[z]ᵀ + bias
 * for weights of any stored format W_DTYPE but f32, with the push constants, grid
 * (N tiles, M tiles, z) and epilogue (epilogue.glsl) of matmul_coopmat.comp, but
 * 128×128 outputs per workgroup of 256 invocations. MATMUL_NORM_ROPE stays on
 * matmul_coopmat.comp.
 *
 * The whole workgroup owns one 128×128 f32 accumulator and multiplies 128×32 f16
 * slices of x by 32×128 f16 slices of wᵀ, loaded straight from memory with
 * coopMatLoadTensorNV: tensor layouts clamp the ragged edges of M, N and K
 * (elements outside read as 0), and decode callbacks turn each element into f16
 * as it is loaded, so that no tile is staged in shared memory. The weight
 * callback reads the element through dequant.glsl's load_weight from its
 * coordinates (one decoder for every format; the block pointer the load passes
 * is not used). The result is finished per element (scales, bias, activation)
 * with coopMatPerElementNV and stored with coopMatStoreTensorNV, whose layout
 * drops the stores outside y.
 *
 * f16 range: as in matmul_coopmat.comp, each row of x (and, with CM_SCALE_W, of
 * w) is scaled by a power of two that brings its largest magnitude just under
 * 2^14 before it becomes f16, and the accumulator is scaled back exactly, so
 * activations above 65504 (T5-XXL's) are safe here too. A first pass over the
 * workgroup's 128 rows of x (and w) finds those maxima.
 *
 * With TD_COOPMAT_EMULATE the matrix operations are plain GLSL over shared memory
 * (at the end of this file) around the same element functions, so that the tests
 * check everything else of the kernel on devices without NV2
 * (tests/vulkan/test-vulkan-coopmat2.c, through the self-test).
 *
 * The host uses this kernel only on devices that report the f16·f16+f32
 * workgroup-scope flexible-dimension configuration for 256 invocations with
 * granularities dividing 128×128×32, and after the device-setup self-test
 * (vulkan_coopmat2.c) agreed with matmul_coopmat.comp for every format. */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_buffer_reference : require
#ifndef TD_COOPMAT_EMULATE
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_KHR_memory_scope_semantics : require
#endif
#include "common.glsl"
#include "dequant.glsl"
#include "epilogue.glsl"

#define CM2_BM 128
#define CM2_BN 128
#define CM2_BK 32
#define CM2_INVOCATIONS 256

layout(local_size_x = CM2_INVOCATIONS) in;
layout(push_constant, std430) uniform Push { td_pc_matmul p; };

/* What the decode callbacks are handed: a pointer to the element's 32-bit word
 * (blocks of 1×1×1). The callbacks locate the element by its coordinates instead. */
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Cm2Word { uint v; };

/* Per-row largest magnitudes (as float bits, which order like the floats for
 * non-negative values), then the power-of-two exponents applied to the rows. */
shared uint cm2_x_max[CM2_BM], cm2_w_max[CM2_BN];
shared int cm2_x_exp[CM2_BM], cm2_w_exp[CM2_BN];

uint m0, n0, z, w_base;

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

/* Fills cm2_x_exp (and cm2_w_exp, or zeros) for rows m0.. of x and n0.. of w. */
void
find_row_scales ()
{
  uint tid = gl_LocalInvocationID.x;
  if (tid < CM2_BM)
    {
      cm2_x_max[tid] = 0u;
      cm2_w_max[tid] = 0u;
    }
  barrier ();
  /* Two invocations per row, each over every other k. */
  uint row = tid / 2u, m = m0 + row, n = n0 + row;
  uint x_row = (z * p.m + m) * p.k, w_row = w_base + n * p.k;
  float x_max = 0.0, w_max = 0.0;
  for (uint k = tid % 2u; k < p.k; k += 2u)
    {
      if (m < p.m)
        x_max = max (x_max, abs (load_f32 (p.x, x_row + k)));
#ifdef CM_SCALE_W
      if (n < p.n)
        w_max = max (w_max, abs (load_weight (p.w, w_row + k)));
#endif
    }
  /* max() drops a NaN operand; any NaN in the row leaves its scale at 1. */
  atomicMax (cm2_x_max[row], floatBitsToUint (x_max));
  atomicMax (cm2_w_max[row], floatBitsToUint (w_max));
  barrier ();
  if (tid < CM2_BM)
    {
      cm2_x_exp[tid] = row_exponent (cm2_x_max[tid]);
      cm2_w_exp[tid] = row_exponent (cm2_w_max[tid]);
    }
  barrier ();
}

/* Element (m, k) of batch entry zz of x, and (n, k) of w, as the scaled f16
 * operands; 0 outside the tensors. */
float16_t
x_element (uint zz, uint m, uint k)
{
  if (m >= p.m || k >= p.k)
    return float16_t (0.0);
  return float16_t (ldexp (load_f32 (p.x, (zz * p.m + m) * p.k + k), cm2_x_exp[m - m0]));
}

float16_t
w_element (uint zz, uint n, uint k)
{
  if (n >= p.n || k >= p.k)
    return float16_t (0.0);
  return float16_t (ldexp (load_weight (p.w, zz * p.w_batch_stride + n * p.k + k), cm2_w_exp[n - n0]));
}

/* Decode callbacks: x's layout is (z, m, k), w's is (z, k, n) — wᵀ, the B operand. */
float16_t
decode_x (const in Cm2Word unused, const in uint coord[3], const in uint in_block[3])
{
  return x_element (coord[0], coord[1], coord[2]);
}

float16_t
decode_w (const in Cm2Word unused, const in uint coord[3], const in uint in_block[3])
{
  return w_element (coord[0], coord[2], coord[1]);
}

/* The finished output at (row, col) of the tile: scales undone, bias, activation. */
float
finish (const in uint row, const in uint col, const in float acc)
{
  uint n = n0 + col;
  float bias = p.has_bias != 0u && n < p.n ? load_any (p.bias, p.bias_dtype, n) : 0.0;
  /* Two steps: each exponent is within ±100, their sum might not be. */
  float product = ldexp (ldexp (acc, -cm2_x_exp[row]), -cm2_w_exp[col]);
  return epilogue (product + bias);
}

#ifndef TD_COOPMAT_EMULATE
void
main ()
{
  z = gl_WorkGroupID.z;
  m0 = gl_WorkGroupID.y * CM2_BM;
  n0 = gl_WorkGroupID.x * CM2_BN;
  w_base = z * p.w_batch_stride;
  uint batches = gl_NumWorkGroups.z;
  find_row_scales ();

  tensorLayoutNV<3, gl_CooperativeMatrixClampModeConstantNV> x_layout
    = createTensorLayoutNV (3, gl_CooperativeMatrixClampModeConstantNV);
  x_layout = setTensorLayoutDimensionNV (x_layout, batches, p.m, p.k);
  tensorLayoutNV<3, gl_CooperativeMatrixClampModeConstantNV> w_layout
    = createTensorLayoutNV (3, gl_CooperativeMatrixClampModeConstantNV);
  w_layout = setTensorLayoutDimensionNV (w_layout, batches, p.k, p.n);
  tensorLayoutNV<3, gl_CooperativeMatrixClampModeConstantNV> y_layout
    = createTensorLayoutNV (3, gl_CooperativeMatrixClampModeConstantNV);
  y_layout = setTensorLayoutDimensionNV (y_layout, batches, p.m, p.n);

  coopmat<float, gl_ScopeWorkgroup, CM2_BM, CM2_BN, gl_MatrixUseAccumulator> acc
    = coopmat<float, gl_ScopeWorkgroup, CM2_BM, CM2_BN, gl_MatrixUseAccumulator> (0.0);
  for (uint k0 = 0u; k0 < p.k; k0 += CM2_BK)
    {
      coopmat<float16_t, gl_ScopeWorkgroup, CM2_BM, CM2_BK, gl_MatrixUseA> a;
      coopmat<float16_t, gl_ScopeWorkgroup, CM2_BK, CM2_BN, gl_MatrixUseB> b;
      coopMatLoadTensorNV (a, U32Buf (p.x).d, 0u, sliceTensorLayoutNV (x_layout, z, 1u, m0, CM2_BM, k0, CM2_BK),
                           decode_x);
      coopMatLoadTensorNV (b, U32Buf (p.w).d, 0u, sliceTensorLayoutNV (w_layout, z, 1u, k0, CM2_BK, n0, CM2_BN),
                           decode_w);
      acc = coopMatMulAdd (a, b, acc);
    }

  coopMatPerElementNV (acc, acc, finish);
  coopMatStoreTensorNV (acc, F32Buf (p.y).d, 0u, sliceTensorLayoutNV (y_layout, z, 1u, m0, CM2_BM, n0, CM2_BN));
}
#else
/* The same kernel with the cooperative-matrix operations written out (TD_COOPMAT_EMULATE),
 * so that devices without them run everything else of it — the row scales, the
 * element decoding, the edges, the per-element finish, the grid — through the same
 * functions: the loads stage x_element / w_element into shared memory, each
 * invocation owns 64 outputs of one row. */
shared float16_t em_a[CM2_BM * CM2_BK], em_b[CM2_BK * CM2_BN];

void
main ()
{
  z = gl_WorkGroupID.z;
  m0 = gl_WorkGroupID.y * CM2_BM;
  n0 = gl_WorkGroupID.x * CM2_BN;
  w_base = z * p.w_batch_stride;
  find_row_scales ();

  uint tid = gl_LocalInvocationID.x, row = tid / 2u, col0 = (tid % 2u) * 64u;
  float acc[64];
  for (uint j = 0u; j < 64u; j++)
    acc[j] = 0.0;
  for (uint k0 = 0u; k0 < p.k; k0 += CM2_BK)
    {
      for (uint e = tid; e < CM2_BM * CM2_BK; e += CM2_INVOCATIONS)
        {
          uint r = e / CM2_BK, kk = e % CM2_BK;
          em_a[e] = x_element (z, m0 + r, k0 + kk);
          em_b[kk * CM2_BN + r] = w_element (z, n0 + r, k0 + kk);
        }
      barrier ();
      for (uint kk = 0u; kk < CM2_BK; kk++)
        {
          float a = float (em_a[row * CM2_BK + kk]);
          for (uint j = 0u; j < 64u; j++)
            acc[j] += a * float (em_b[kk * CM2_BN + col0 + j]);
        }
      barrier ();
    }
  uint m = m0 + row;
  for (uint j = 0u; j < 64u; j++)
    if (m < p.m && n0 + col0 + j < p.n)
      store_f32 (p.y, (z * p.m + m) * p.n + n0 + col0 + j, finish (row, col0 + j, acc[j]));
}
#endif
