/* quant_encode.h — f32 rows to ggml blocks (the inverse of core/quant.h's decoders).
 *
 * Q8_0 follows ggml's reference quantizer (d = max|x| / 127, q = round(x / d));
 * Q4_0/Q5_0 map the value of largest magnitude to the lowest level and
 * Q4_1/Q5_1 fit the block's min/max, as ggml's reference quantizers do.
 * The K-quants fit each sub-block by a short search: steps around the
 * min/max (Q2_K/Q4_K/Q5_K) or max|x| (Q3_K/Q6_K) one, each refit by least
 * squares, the smallest squared error kept (ggml searches alike, with
 * importance weights this encoder does not use). The blocks decode with any
 * GGUF reader; errors are bounded in tests/io-gguf/test-quantize.c. */
#pragma once

#include <stddef.h>

#include "core/dtype.h"

/* True for the block types td_quantize_row can write. */
int td_quantize_supported (td_dtype dtype);
/* n values (a whole number of blocks) into n / block_elems blocks at dst. */
void td_quantize_row (void *dst, const float *src, td_dtype dtype, size_t n);
