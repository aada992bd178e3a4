/* clip_text.h — the CLIP-L text encoder FLUX uses for its pooled embedding (text_encoder/). */
#pragma once

#include "backend/backend.h"

typedef struct td_clip_text_config {
  int vocab_size;
  int hidden_size;
  int intermediate_size;
  int num_heads;
  int num_layers;
  int max_positions;
  int eos_token_id;
  float eps;
  int activation; /* td_unary_kind */
} td_clip_text_config;

typedef struct td_clip_text td_clip_text;

td_clip_text *td_clip_text_load (const char *dir, td_backend *backend, td_error *err);
void td_clip_text_free (td_clip_text *model);
const td_clip_text_config *td_clip_text_config_of (const td_clip_text *model);

/* ids [n] (n ≤ max_positions) → last_hidden_state [1, n, hidden] and pooled [1, hidden]
 * (the final-norm hidden state at the end-of-text position, as transformers picks it). */
td_status td_clip_text_forward (td_clip_text *model, const int32_t *ids, int n, td_tensor **last_hidden_state,
                                td_tensor **pooled, td_error *err);

/* The position transformers pools: argmax of the ids when eos_token_id == 2 (configs
 * from before the fix), else the first id equal to eos_token_id (or the last position). */
int td_clip_text_pool_position (const int32_t *ids, int n, int eos_token_id);
