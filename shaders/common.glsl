/* common.glsl — buffer-address access, dtype loads and workgroup reductions shared
 * by every compute shader. Tensors arrive as 64-bit device addresses in the push
 * constants. 16-bit elements are read through 16-bit storage, or (with
 * TD_W16_PACKED, for devices without storageBuffer16BitAccess) as the 32-bit word
 * that holds them. */
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#ifndef TD_W16_PACKED
#extension GL_EXT_shader_16bit_storage : require
#endif

#include "push_constants.h"

layout(buffer_reference, std430, buffer_reference_align = 4) buffer F32Buf { float d[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Buf { uint d[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer I32Buf { int d[]; };
#ifndef TD_W16_PACKED
layout(buffer_reference, std430, buffer_reference_align = 2) buffer U16Buf { uint16_t d[]; };
#endif

/* Linear index of this workgroup in a 2-D grid (the host splits large counts). */
uint
workgroup_linear ()
{
  return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}

/* Linear index of this invocation in a 2-D grid of 1-D workgroups of 256
 * (gl_WorkGroupSize is not known yet where this file is included). */
uint
invocation_linear ()
{
  return workgroup_linear () * 256u + gl_LocalInvocationID.x;
}

uint
load_u16 (uint64_t addr, uint i)
{
#ifdef TD_W16_PACKED
  uint64_t byte_addr = addr + uint64_t (i) * 2ul;
  uint word = U32Buf (byte_addr & ~uint64_t (3)).d[0];
  return (uint (byte_addr) & 2u) != 0u ? word >> 16 : word & 0xffffu;
#else
  return uint (U16Buf (addr).d[i]);
#endif
}

/* Stores the 16 bits of `bits` as element i. Packed, the word is shared with a
 * neighbouring element that another invocation (or another tensor) owns: clear
 * and set only this half, atomically, so neither write is lost. */
void
store_u16 (uint64_t addr, uint i, uint bits)
{
#ifdef TD_W16_PACKED
  uint64_t byte_addr = addr + uint64_t (i) * 2ul;
  uint shift = (uint (byte_addr) & 2u) != 0u ? 16u : 0u;
  U32Buf word = U32Buf (byte_addr & ~uint64_t (3));
  atomicAnd (word.d[0], ~(0xffffu << shift));
  atomicOr (word.d[0], (bits & 0xffffu) << shift);
#else
  U16Buf (addr).d[i] = uint16_t (bits);
#endif
}

float
half_bits_to_float (uint h, uint dtype)
{
  return dtype == PC_DTYPE_BF16 ? uintBitsToFloat (h << 16) : unpackHalf2x16 (h).x;
}

/* Element i of a float tensor of dtype f32, f16 or bf16, as f32. */
float
load_any (uint64_t addr, uint dtype, uint i)
{
  if (dtype == PC_DTYPE_F32)
    return F32Buf (addr).d[i];
  return half_bits_to_float (load_u16 (addr, i), dtype);
}

float
load_f32 (uint64_t addr, uint i)
{
  return F32Buf (addr).d[i];
}

void
store_f32 (uint64_t addr, uint i, float v)
{
  F32Buf (addr).d[i] = v;
}

/* Round-to-nearest-even f32 → bf16 bits, as td_f32_to_bf16. */
uint
float_to_bf16_bits (float f)
{
  uint u = floatBitsToUint (f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (u >> 16) | 0x40u;
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}

#ifdef TD_WG_REDUCE
/* Reductions over a 1-D workgroup of TD_WG_REDUCE invocations (a power of two). */
shared float reduce_scratch[TD_WG_REDUCE];

float
workgroup_sum (float v)
{
  uint tid = gl_LocalInvocationID.x;
  reduce_scratch[tid] = v;
  barrier ();
  for (uint s = TD_WG_REDUCE / 2; s > 0; s >>= 1)
    {
      if (tid < s)
        reduce_scratch[tid] += reduce_scratch[tid + s];
      barrier ();
    }
  float r = reduce_scratch[0];
  barrier ();
  return r;
}

float
workgroup_max (float v)
{
  uint tid = gl_LocalInvocationID.x;
  reduce_scratch[tid] = v;
  barrier ();
  for (uint s = TD_WG_REDUCE / 2; s > 0; s >>= 1)
    {
      if (tid < s)
        reduce_scratch[tid] = max (reduce_scratch[tid], reduce_scratch[tid + s]);
      barrier ();
    }
  float r = reduce_scratch[0];
  barrier ();
  return r;
}
#endif
