#version 450
/* Configure-time probe: does this glslang compile bf16 cooperative matrices
 * (GL_EXT_bfloat16 with GL_KHR_cooperative_matrix)? */
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_bfloat16 : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Out { float data[]; };
shared bfloat16_t tile[256];
void
main ()
{
  coopmat<bfloat16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a;
  coopmat<bfloat16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b;
  coopMatLoad (a, tile, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatLoad (b, tile, 0, 16, gl_CooperativeMatrixLayoutColumnMajor);
  coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> c =
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> (0.0);
  c = coopMatMulAdd (a, b, c);
  coopMatStore (c, data, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
}
