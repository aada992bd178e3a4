/* qwen2vl_private.h — what the Qwen2-VL files share (not part of the engine API). */
#pragma once

#include "models/block_stream.h"
#include "models/layers.h"
#include "models/qwen2vl.h"

struct td_qwen2vl {
  td_qwen2vl_config config;
  td_backend *backend;
  td_weights *weights;
  td_block_stream stream; /* group 0: the language model's layers, group 1: the vision blocks */
};

enum { TD_QWEN2VL_LAYERS, TD_QWEN2VL_VISION_BLOCKS };

struct td_qwen2vl_session {
  td_qwen2vl *model;
  int max_tokens;
  td_dtype cache_dtype; /* of k_cache and v_cache */
  int layers;          /* entries in the cache arrays */
  int length;          /* positions filled in the caches */
  int64_t rope_delta;  /* M-RoPE position of token i is i + rope_delta after the prompt */
  td_tensor **k_cache; /* per layer [1, max_tokens, kv_heads, head_dim], rotated keys */
  td_tensor **v_cache; /* per layer [1, max_tokens, kv_heads, head_dim] */
};

/* Runs n new tokens whose embeddings are x [1, n, hidden] (the residual stream, updated
 * in place) at M-RoPE positions[3 · n] through the decoder, appending to the caches;
 * returns the final-norm hidden states. */
td_tensor *td_qwen2vl_decode (td_qwen2vl_session *session, td_layer_ctx *ctx, td_tensor *x,
                              const int64_t *positions);
