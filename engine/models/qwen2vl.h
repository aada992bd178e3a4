/* qwen2vl.h — Qwen2-VL (Qwen/Qwen2-VL-7B-Instruct): the vision tower (2-D rotary ViT and
 * 2×2 patch merger), the Qwen2 language model with multimodal rotary positions (M-RoPE),
 * a key/value cache on the backend, and greedy or sampled decoding that keeps the
 * final-norm hidden state each token was picked from (what ThinkDiff-LVLM aligns to T5).
 */
#pragma once

#include <stdbool.h>

#include "backend/backend.h"
#include "models/block_stream.h"
#include "models/weights.h"

#define TD_QWEN2VL_MAX_EOS 16

typedef struct td_qwen2vl_vision_config {
  int depth;               /* 32 */
  int embed_dim;           /* 1280 */
  int num_heads;           /* 16 */
  int mlp_dim;             /* embed_dim · mlp_ratio */
  int out_dim;             /* merger output = LLM width ("hidden_size" in vision_config) */
  int in_channels;         /* 3 */
  int patch_size;          /* 14 */
  int temporal_patch_size; /* 2 */
  int merge_size;          /* 2 */
  int activation;          /* td_unary_kind, quick_gelu */
  double rope_theta;       /* 10000 */
} td_qwen2vl_vision_config;

typedef struct td_qwen2vl_config {
  int vocab_size;
  int hidden_size;
  int intermediate_size;
  int num_layers;
  int num_heads;
  int num_kv_heads;
  int head_dim;
  int max_positions;
  int activation;          /* td_unary_kind of the MLP gate, silu */
  float rms_eps;
  double rope_theta;
  int mrope_section[3];    /* temporal, height, width frequencies; sum = head_dim / 2 */
  bool tie_embeddings;
  int image_token_id;
  int video_token_id;
  int vision_start_token_id;
  int vision_end_token_id;
  int eos_token_id;        /* the first of eos_token_ids, −1 when the config names none */
  int eos_token_ids[TD_QWEN2VL_MAX_EOS]; /* config.json's, then generation_config.json's */
  int n_eos_token_ids;
  td_qwen2vl_vision_config vision;
} td_qwen2vl_config;

typedef struct td_qwen2vl td_qwen2vl;

/* Reads a config.json in the published flat form (rope_scaling: {type: mrope}) or the
 * nested form (text_config, rope_parameters); errors name the file and key. */
td_status td_qwen2vl_config_read (const char *path, td_qwen2vl_config *config, td_error *err);
/* Adds the eos_token_id (an integer or a list) of a generation_config.json to
 * config->eos_token_ids; td_qwen2vl_load does this when the file is there. */
td_status td_qwen2vl_generation_config_read (const char *path, td_qwen2vl_config *config, td_error *err);

/* dir holds config.json and the weights (legacy `model.layers.*` / `visual.*` names or
 * the `model.language_model.*` / `model.visual.*` ones). Weights stay in their stored dtype. */
td_qwen2vl *td_qwen2vl_load (const char *dir, td_backend *backend, td_error *err);
/* The same with the weights of file, one of dir's choices (qwen2vl_files.h); NULL: the default. */
td_qwen2vl *td_qwen2vl_load_chosen (const char *dir, const char *file, td_backend *backend, td_error *err);
/* A model on weights already open (random_models.c declares them for benchmarks),
 * checked against the config; takes the weights, freed on failure too. */
td_qwen2vl *td_qwen2vl_new_from_config (const td_qwen2vl_config *config, td_weights *weights, td_error *err);
void td_qwen2vl_free (td_qwen2vl *model);
/* Keeps the first `resident` blocks on the device, the language model's layers before
 * the vision tower's, and streams the others in both the tower and every decoding
 * pass (block_stream.h); TD_BLOCKS_ALL (the default) streams none. */
void td_qwen2vl_set_resident_blocks (td_qwen2vl *model, int resident);
int td_qwen2vl_resident_blocks (const td_qwen2vl *model);
const td_qwen2vl_config *td_qwen2vl_config_of (const td_qwen2vl *model);
td_backend *td_qwen2vl_backend (const td_qwen2vl *model);
/* The weights the model reads (language model chained to the vision tower), as stored. */
td_weights *td_qwen2vl_weights (td_qwen2vl *model);

/* The vision tower: pixel_values [Σ t·h·w, C·T·P·P] (f32 on the model's backend, images
 * one after another as the processor emits them) and grids[n_images][3] (t, h, w)
 * → features [Σ t·h·w / merge², hidden_size]. Images do not attend to each other. */
td_tensor *td_qwen2vl_encode_images (td_qwen2vl *model, const td_tensor *pixel_values, const int (*grids)[3],
                                     int n_images, td_error *err);

/* transformers' get_rope_index for one sequence: positions[3 · n] (temporal, height,
 * width streams) for ids that hold each image as a run of image_token_id of length
 * t·h·w / merge² (grids in the order the images appear); *delta = max position + 1 − n,
 * the offset later tokens add to their index. Errors when the runs and grids disagree. */
td_status td_qwen2vl_rope_index (const td_qwen2vl_config *config, const int32_t *ids, int n, const int (*grids)[3],
                                 int n_images, int64_t *positions, int64_t *delta, td_error *err);

/* A decoding session: the key/value cache of every layer, preallocated on the backend
 * for max_tokens positions. New keys and values are computed in f32 and rounded into
 * a cache of cache_dtype (f32, f16 or bf16), which prefill and decode attention read.
 * td_qwen2vl_session_new keeps it in f16: half the memory and the bandwidth of each
 * decode step; f16 rather than bf16 for its 3 more mantissa bits (keys and values of
 * Qwen2-VL stay far below f16's 65504). */
typedef struct td_qwen2vl_session td_qwen2vl_session;

td_qwen2vl_session *td_qwen2vl_session_new (td_qwen2vl *model, int max_tokens, td_error *err);
td_qwen2vl_session *td_qwen2vl_session_new_cache (td_qwen2vl *model, int max_tokens, td_dtype cache_dtype,
                                                  td_error *err);
void td_qwen2vl_session_free (td_qwen2vl_session *session);
/* Tokens held in the cache so far. */
int td_qwen2vl_session_length (const td_qwen2vl_session *session);
/* Forgets the cache (the memory stays allocated). */
void td_qwen2vl_session_reset (td_qwen2vl_session *session);

/* Runs a prompt through an empty session: ids [n] with image_features (from
 * td_qwen2vl_encode_images, or NULL without images) spliced in at the image-token
 * runs. Returns the final-norm hidden states [1, n, hidden_size]. */
td_tensor *td_qwen2vl_session_prefill (td_qwen2vl_session *session, const int32_t *ids, int n,
                                       const td_tensor *image_features, const int (*grids)[3], int n_images,
                                       td_error *err);
/* Appends tokens to the cache and returns their final-norm hidden states [1, n, hidden];
 * ids is a host array, or NULL with ids_tensor an i32 [1, n] tensor on the backend. */
td_tensor *td_qwen2vl_session_append (td_qwen2vl_session *session, const int32_t *ids, const td_tensor *ids_tensor,
                                      int n, td_error *err);

/* lm_head over hidden [1, n, hidden] → logits [1, n, vocab]. */
td_tensor *td_qwen2vl_logits (td_qwen2vl *model, const td_tensor *hidden, td_error *err);

typedef struct td_qwen2vl_generate_params {
  int max_new_tokens;
  int min_new_tokens;  /* every EOS id (config and generation config) is −∞ before this many tokens */
  float temperature;   /* <= 0: greedy */
  float top_p;
  uint64_t seed;
  bool ignore_eos;     /* keep going after EOS (ThinkDiff-LVLM) */
  /* Called after each token; return false to cancel (generate returns TD_ERR_CANCELLED). */
  bool (*on_token) (void *user, int index, int32_t token);
  void *user;
} td_qwen2vl_generate_params;

/* Decodes after a prefill. tokens (max_new_tokens entries) receives the generated
 * ids, *n_generated their count; *hidden (may be NULL) gets, as the official vLLM
 * path returns them, the final-norm hidden state each token was picked from
 * [1, n_generated, hidden]: the last prompt position, then generated tokens
 * 1 … n_generated − 1. The last token is never fed back. */
td_status td_qwen2vl_generate (td_qwen2vl_session *session, const td_tensor *prefill_hidden,
                               const td_qwen2vl_generate_params *params, int32_t *tokens, int *n_generated,
                               td_tensor **hidden, td_error *err);

/* Teacher forcing after a prefill: *hidden gets [1, n, hidden], the states td_qwen2vl_generate
 * would have returned had it picked TOKENS (the last prompt position, then tokens
 * 0 … n−2 fed in one pass; the last token is not fed). No sampling, no EOS check. */
td_status td_qwen2vl_teacher_force (td_qwen2vl_session *session, const td_tensor *prefill_hidden,
                                    const int32_t *tokens, int n, td_tensor **hidden, td_error *err);
