/* t5_encoder.h — the T5 v1.1 encoder FLUX uses as its text encoder (text_encoder_2/). */
#pragma once

#include "backend/backend.h"
#include "models/block_stream.h"
#include "models/weights.h"

typedef struct td_t5_config {
  int vocab_size;
  int d_model;
  int d_kv;
  int d_ff;
  int num_heads;
  int num_layers;
  int num_buckets;   /* relative_attention_num_buckets */
  int max_distance;  /* relative_attention_max_distance */
  float eps;
  int gated;         /* feed_forward_proj "gated-*" */
  int activation;    /* td_unary_kind of the feed-forward */
} td_t5_config;

typedef struct td_t5_encoder td_t5_encoder;

/* dir holds config.json and the weights (model.safetensors or a sharded index), or
 * is a single file: transformers' names (ComfyUI's t5xxl_fp16.safetensors), or a
 * GGUF in llama.cpp's naming (models/t5_gguf_keys.h), alone or in a folder without
 * config.json, its hyperparameters read from the GGUF's metadata. */
td_t5_encoder *td_t5_encoder_load (const char *dir, td_backend *backend, td_error *err);
/* An encoder over weights in transformers' key layout, without a config.json; takes
 * ownership of weights. */
td_t5_encoder *td_t5_encoder_new_from_config (const td_t5_config *config, td_weights *weights, td_error *err);
void td_t5_encoder_free (td_t5_encoder *encoder);
/* Keeps the first `resident` encoder blocks on the device and streams the others
 * (block_stream.h); TD_BLOCKS_ALL (the default) streams none. */
void td_t5_encoder_set_resident_blocks (td_t5_encoder *encoder, int resident);
int td_t5_encoder_resident_blocks (const td_t5_encoder *encoder);
const td_t5_config *td_t5_encoder_config (const td_t5_encoder *encoder);
/* The weights the encoder reads, as stored. */
td_weights *td_t5_encoder_weights (td_t5_encoder *encoder);

/* ids [n] → last_hidden_state [1, n, d_model] (f32, on the encoder's backend).
 * No attention mask: every position attends to every other, as FluxPipeline encodes. */
td_tensor *td_t5_encoder_forward (td_t5_encoder *encoder, const int32_t *ids, int n, td_error *err);

/* The bucket of a relative position (key − query) in a bidirectional encoder. */
int td_t5_relative_bucket (int relative_position, int num_buckets, int max_distance);
