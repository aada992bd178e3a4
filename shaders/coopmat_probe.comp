#version 450
/* Configure-time probe: does this glslang compile what the GL_NV_cooperative_matrix
 * kernels (matmul_coopmat.comp, attention_coopmat.comp) use? f16 A and B
 * fragments loaded from shared memory row- and column-major at an offset and a
 * padded stride, an f32 accumulator built from a scalar, coopMatMulAddNV, a store
 * to shared memory, and gl_SubgroupID. */
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define AB_STRIDE 24
#define C_STRIDE 20
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Out { float data[]; };
shared float16_t tile[32 * AB_STRIDE];
shared float result[32 * C_STRIDE];
void
main ()
{
  uint tid = gl_LocalInvocationID.x, row = gl_SubgroupID * 16u;
  for (uint e = tid; e < 32u * AB_STRIDE; e += 64u)
    tile[e] = float16_t (ldexp (float (e % 7u), -2));
  barrier ();
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a, b;
  coopMatLoadNV (a, tile, row * AB_STRIDE, AB_STRIDE, false);
  coopMatLoadNV (b, tile, 16u * AB_STRIDE, AB_STRIDE, true);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);
  c = coopMatMulAddNV (a, b, c);
  coopMatStoreNV (c, result, row * C_STRIDE, C_STRIDE, false);
  barrier ();
  data[tid] = result[tid];
}
