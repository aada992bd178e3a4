/* quant.h — ggml's block-quantised formats, decoded on the CPU.
 *
 * Block layouts follow ggml's ggml-common.h exactly (all fields little-endian,
 * halves are IEEE f16, no padding):
 *   Q4_0  { f16 d; u8 qs[16]; }                                 32 values, 18 bytes
 *   Q4_1  { f16 d, m; u8 qs[16]; }                               32 values, 20 bytes
 *   Q5_0  { f16 d; u8 qh[4]; u8 qs[16]; }                        32 values, 22 bytes
 *   Q5_1  { f16 d, m; u8 qh[4]; u8 qs[16]; }                     32 values, 24 bytes
 *   Q8_0  { f16 d; i8 qs[32]; }                                  32 values, 34 bytes
 *   Q2_K  { u8 scales[16]; u8 qs[64]; f16 d, dmin; }            256 values, 84 bytes
 *   Q3_K  { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d; }    256 values, 110 bytes
 *   Q4_K  { f16 d, dmin; u8 scales[12]; u8 qs[128]; }           256 values, 144 bytes
 *   Q5_K  { f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; } 256 values, 176 bytes
 *   Q6_K  { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; }      256 values, 210 bytes
 *
 * The decoders evaluate in float32 in the same order as ggml's reference
 * (q·d, q·d + m, dl·q − ml, (d·sc)·q) and quant.c is compiled without
 * floating-point contraction, so the results equal ggml's bit for bit. The
 * shaders' dequantisers (shaders/dequant.glsl) decode the same fields.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

#define TD_QK4_0 32
#define TD_QK4_1 32
#define TD_QK5_0 32
#define TD_QK5_1 32
#define TD_QK8_0 32
#define TD_QK_K 256

#define TD_Q4_0_BYTES 18
#define TD_Q4_1_BYTES 20
#define TD_Q5_0_BYTES 22
#define TD_Q5_1_BYTES 24
#define TD_Q8_0_BYTES 34
#define TD_Q2_K_BYTES 84
#define TD_Q3_K_BYTES 110
#define TD_Q4_K_BYTES 144
#define TD_Q5_K_BYTES 176
#define TD_Q6_K_BYTES 210

/* Decodes n_blocks consecutive blocks of a block type into
 * n_blocks · td_dtype_block_elems (dtype) floats. Does nothing for other types. */
void td_dequantize (float *dst, const void *src, td_dtype dtype, size_t n_blocks);
