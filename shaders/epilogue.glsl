/* epilogue.glsl — what the matmul family does to an output after the bias, fixed
 * when the pipeline is made (specialization constant 0, see vulkan_ops.c): 0 stores
 * it as is, 1 + k applies activation k (td_unary_kind), so an activation after a
 * linear layer costs no pass of its own and no shader variant per combination. */
#include "activation.glsl"

layout(constant_id = 0) const uint MM_EPILOGUE = 0u;

float
epilogue (float v)
{
  return MM_EPILOGUE == 0u ? v : activation (MM_EPILOGUE - 1u, v);
}
