/* quant_encode.h — f32 rows to ggml blocks (the inverse of core/quant.h's decoders).
 *
 * Q8_0 follows ggml's reference quantizer (d = max|x| / 127, q = round(x / d)).
 * Q4_K/Q5_K use a plain per-sub-block min/max fit and Q6_K a per-sub-block
 * max|x| scale, not ggml's iterative searches: the blocks are valid and decode
 * with any GGUF reader, the error is a little larger than llama.cpp's (bounded
 * in tests/io-gguf/test-quantize.c). */
#pragma once

#include <stddef.h>

#include "core/dtype.h"

/* True for the block types td_quantize_row can write. */
int td_quantize_supported (td_dtype dtype);
/* n values (a whole number of blocks) into n / block_elems blocks at dst. */
void td_quantize_row (void *dst, const float *src, td_dtype dtype, size_t n);
