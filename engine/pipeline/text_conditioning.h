/* text_conditioning.h — FLUX's prompt encoders: T5-XXL (tokenizer_2/, text_encoder_2/)
 * for the sequence embeddings and CLIP-L (tokenizer/, text_encoder/) for the pooled
 * vector, as FluxPipeline.encode_prompt computes them. Models load on first use and
 * can be released between stages. */
#pragma once

#include <stdint.h>

#include "backend/backend.h"
#include "pipeline/flux_files.h"

typedef struct td_text_encoders td_text_encoders;

/* flux_dir holds model_index.json and the four text folders. */
td_text_encoders *td_text_encoders_new (const char *flux_dir, const td_weight_files *chosen, td_backend *backend,
                                        td_error *err);
void td_text_encoders_free (td_text_encoders *encoders);
/* A cancel flag both tokenizers check between words (see td_tokenizer_set_cancel). */
void td_text_encoders_set_cancel (td_text_encoders *encoders, const volatile int *cancel);
/* Frees the encoder weights (the tokenizers stay); the next call reloads them. */
void td_text_encoders_release (td_text_encoders *encoders);
/* Resident: the encoders stay loaded between runs (every model fits beside the others),
 * so T5 never streams its blocks. Off by default: under a memory cap, T5 keeps what
 * fits beside CLIP-L and streams the rest. */
void td_text_encoders_set_resident (td_text_encoders *encoders, bool resident);
/* How many times T5 or CLIP was loaded. */
int td_text_encoders_loads (const td_text_encoders *encoders);

#define TD_CLIP_MAX_LENGTH 77

/* T5 embeddings [1, max_length, d_model] of text padded/truncated to max_length
 * tokens (FLUX: 512; the ThinkDiff-CLIP prompt: 128). ids (may be NULL) receives the
 * max_length token ids. */
td_tensor *td_text_encode_t5 (td_text_encoders *encoders, const char *text, int max_length, int32_t *ids,
                              td_error *err);
/* CLIP pooled embedding [1, hidden] of text padded/truncated to 77 tokens; ids (may be
 * NULL) receives the TD_CLIP_MAX_LENGTH token ids. */
td_tensor *td_text_encode_clip_pooled (td_text_encoders *encoders, const char *text, int32_t *ids, td_error *err);
