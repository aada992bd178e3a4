#version 450
/* Configure-time probe: does this glslang compile GL_KHR_cooperative_matrix? */
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Out { float data[]; };
void
main ()
{
  coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> m =
    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> (0.0);
  coopMatStore (m, data, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
}
