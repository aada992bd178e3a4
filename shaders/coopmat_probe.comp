#version 450
/* Configure-time probe: does this glslang compile GL_NV_cooperative_matrix? */
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Out { float16_t data[]; };
void
main ()
{
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> m = fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> (0.0);
  coopMatStoreNV (m, data, 0, 16, false);
}
