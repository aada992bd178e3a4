/* t5_gguf_keys.h — the T5 encoder as llama.cpp writes it to GGUF
 * (t5-v1_1-xxl-encoder-Q8_0.gguf and the like).
 *
 * Tensors: token_embd, enc.blk.N.attn_q/k/v/o, enc.blk.0.attn_rel_b (the relative
 * bias table, [buckets, heads]), enc.blk.N.attn_norm, enc.blk.N.ffn_gate/up/down
 * (wi_0, wi_1 or wi, wo), enc.blk.N.ffn_norm, enc.output_norm; all ".weight".
 * Hyperparameters under the architecture's name ("t5encoder" or "t5"):
 * embedding_length, feed_forward_length, block_count, attention.head_count,
 * attention.key_length, attention.relative_buckets_count and the RMS epsilon. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "io/gguf.h"
#include "models/t5_encoder.h"

/* The decoder's tensors of a whole T5 ("t5": dec.blk.N.*, dec.output_norm, output),
 * which the encoder leaves alone. NULL-terminated. */
extern const char *const td_t5_gguf_decoder_prefixes[];

/* True when the GGUF holds a T5 encoder in llama.cpp's naming. */
bool td_t5_gguf_is_llama_cpp (const td_gguf *gguf);
/* A td_weights_rename_fn: transformers' name ("encoder.block.3.layer.1.DenseReluDense.wo.weight")
 * to llama.cpp's ("enc.blk.3.ffn_down.weight"); false when it has none. */
bool td_t5_gguf_rename (const char *name, char *stored, size_t size, void *user_data);
/* The config from the metadata and the tensors' shapes. What llama.cpp does not
 * store is fixed as llama.cpp runs it: a maximum distance of 128, and the tanh GELU
 * in a gated feed-forward (ReLU otherwise). */
td_status td_t5_gguf_config (const td_gguf *gguf, td_t5_config *config, td_error *err);
