/* quant_encode.h — f32 rows to ggml blocks (the inverse of core/quant.h's decoders).
 *
 * Q8_0 follows ggml's reference quantizer (d = max|x| / 127, q = round(x / d));
 * Q4_0/Q5_0 map the value of largest magnitude to the lowest level and
 * Q4_1/Q5_1 fit the block's min/max, as ggml's reference quantizers do.
 * The K-quants use a plain per-sub-block fit (min/max for Q2_K/Q4_K/Q5_K,
 * max|x| for Q3_K/Q6_K), not ggml's iterative searches: the blocks are valid
 * and decode with any GGUF reader, the error is a little larger than
 * llama.cpp's (bounded in tests/io-gguf/test-quantize.c). */
#pragma once

#include <stddef.h>

#include "core/dtype.h"

/* True for the block types td_quantize_row can write. */
int td_quantize_supported (td_dtype dtype);
/* n values (a whole number of blocks) into n / block_elems blocks at dst. */
void td_quantize_row (void *dst, const float *src, td_dtype dtype, size_t n);
