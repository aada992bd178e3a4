#version 450
/* Configure-time probe: does this glslang compile what the bf16 GL_KHR_cooperative_matrix
 * kernel (matmul_coopmat.comp with TD_COOPMAT_KHR and TD_COOPMAT_BF16) uses? The
 * KHR probe's constructs with bf16 (GL_EXT_bfloat16) shared tiles and fragments,
 * filled by converting f32 values. */
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_bfloat16 : require
#define AB_STRIDE 24
#define C_STRIDE 20
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Out { float data[]; };
shared bfloat16_t tile[32 * AB_STRIDE];
shared float result[32 * C_STRIDE];
void
main ()
{
  uint tid = gl_LocalInvocationID.x, row = gl_SubgroupID * 16u;
  for (uint e = tid; e < 32u * AB_STRIDE; e += 64u)
    tile[e] = bfloat16_t (ldexp (float (e % 7u), -2));
  barrier ();
  coopmat<bfloat16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a;
  coopmat<bfloat16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b;
  coopMatLoad (a, tile, row * AB_STRIDE, AB_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
  coopMatLoad (b, tile, 16u * AB_STRIDE, AB_STRIDE, gl_CooperativeMatrixLayoutColumnMajor);
  coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> c =
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> (0.0);
  c = coopMatMulAdd (a, b, c);
  coopMatStore (c, result, row * C_STRIDE, C_STRIDE, gl_CooperativeMatrixLayoutRowMajor);
  barrier ();
  data[tid] = result[tid];
}
