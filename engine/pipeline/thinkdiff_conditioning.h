/* thinkdiff_conditioning.h — what FLUX is conditioned on for a prompt board, built as
 * the official ThinkDiff code builds it:
 *   LVLM: Qwen2-VL reads the board as one chat (images in order, "Picture N: " and an
 *         instruction first when asked), samples max_new_tokens with every EOS id
 *         forbidden, and the states the tokens were picked from go through the aligner;
 *         pooled = CLIP-L of "".
 *   CLIP: each image through BLIP-2's vision tower and the aligner (65 tokens each, in
 *         board order), then T5 of the one prompt (the text items joined) padded to
 *         128 tokens, present even when the prompt is empty; pooled = CLIP-L of it. */
#pragma once

#include "pipeline/model_cache.h"
#include "pipeline/thinkdiff_pipeline.h"
#include "pipeline/text_conditioning.h"

/* The T5 prompt length of ThinkDiff-CLIP (the official flux_max_sequence_length). */
#define TD_THINKDIFF_CLIP_T5_LENGTH 128

typedef struct td_thinkdiff_conditioning {
  td_tensor *prompt_embeds;  /* [1, L, T5 width] on the backend */
  td_tensor *pooled;         /* [1, CLIP width] */
  int32_t *text_ids;         /* LVLM: the chat, image pads expanded; CLIP: the T5 prompt's 128 ids */
  int n_text_ids;
  int32_t clip_ids[TD_CLIP_MAX_LENGTH]; /* the CLIP ids the pooled vector was read from */
  int32_t *thought_ids;      /* LVLM: every sampled id, in order */
  int n_thought_ids;
  char *thought;             /* LVLM: the thought as text (ids without text skipped) */
} td_thinkdiff_conditioning;

td_status td_thinkdiff_condition (const td_board *board, const td_model_paths *paths, td_backend *backend,
                                  const td_thinkdiff_callbacks *callbacks, td_thinkdiff_conditioning *out,
                                  td_error *err);
/* The same with the models taken from cache (on its backend), kept there if it keeps them. */
td_status td_thinkdiff_condition_cached (const td_board *board, const td_model_paths *paths, td_model_cache *cache,
                                         const td_thinkdiff_callbacks *callbacks, td_thinkdiff_conditioning *out,
                                         td_error *err);
void td_thinkdiff_conditioning_clear (td_thinkdiff_conditioning *conditioning);

/* The chat text Qwen2-VL's template writes for an LVLM board (g_free). */
char *td_thinkdiff_chat_prompt (const td_board *board);
