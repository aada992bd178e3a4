#version 450
/* Configure-time probe: does this glslang compile what the GL_NV_cooperative_matrix2
 * kernel (matmul_coopmat2.comp) uses? Workgroup-scope f16 A and B matrices and
 * an f32 accumulator, 3-dimensional tensor layouts with constant clamping,
 * dimensions and slices, coopMatLoadTensorNV through a decode callback that is
 * handed a buffer reference, coopMatMulAdd, coopMatPerElementNV and
 * coopMatStoreTensorNV. */
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
layout(local_size_x = 128) in;
layout(std430, binding = 0) buffer In { uint words[]; };
layout(std430, binding = 1) buffer Out { float data[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer WordRef { uint v; };

float16_t
decode (const in WordRef word, const in uint32_t coord[3], const in uint32_t in_block[3])
{
  return float16_t (float (word.v & 0xffu) + float (coord[2]));
}

float
finish (const in uint32_t row, const in uint32_t col, const in float acc)
{
  return acc + float (row);
}

void
main ()
{
  tensorLayoutNV<3, gl_CooperativeMatrixClampModeConstantNV> layout_a
    = createTensorLayoutNV (3, gl_CooperativeMatrixClampModeConstantNV);
  layout_a = setTensorLayoutDimensionNV (layout_a, 1u, 37u, 45u);
  coopmat<float16_t, gl_ScopeWorkgroup, 64, 32, gl_MatrixUseA> a;
  coopmat<float16_t, gl_ScopeWorkgroup, 32, 64, gl_MatrixUseB> b;
  coopMatLoadTensorNV (a, words, 0u, sliceTensorLayoutNV (layout_a, 0u, 1u, 0u, 64u, 0u, 32u), decode);
  coopMatLoadTensorNV (b, words, 0u, sliceTensorLayoutNV (layout_a, 0u, 1u, 0u, 32u, 0u, 64u), decode);
  coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> acc
    = coopmat<float, gl_ScopeWorkgroup, 64, 64, gl_MatrixUseAccumulator> (0.0);
  acc = coopMatMulAdd (a, b, acc);
  coopMatPerElementNV (acc, acc, finish);
  coopMatStoreTensorNV (acc, data, 0u, sliceTensorLayoutNV (layout_a, 0u, 1u, 0u, 64u, 0u, 64u));
}
