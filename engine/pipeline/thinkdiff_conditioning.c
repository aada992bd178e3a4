/* thinkdiff_conditioning.c — a prompt board to FLUX's conditioning in both ThinkDiff
 * modes (see the header for the layouts; the README lists the official settings). */
#include "pipeline/thinkdiff_conditioning.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "models/aligner.h"
#include "models/eva_vision.h"
#include "models/layers.h"
#include "models/qwen2vl.h"
#include "models/qwen2vl_image.h"
#include "pipeline/stream_choice.h"
#include "text/tokenizer.h"

/* BLIP-2's Q-Former-free reduction: the patch grid halves per side. */
#define CLIP_MODE_DOWNSAMPLE 2

static void
stage (const td_thinkdiff_callbacks *callbacks, const char *text)
{
  if (callbacks != NULL && callbacks->stage != NULL)
    callbacks->stage (callbacks->user, text);
}

static bool
cancelled (const td_thinkdiff_callbacks *callbacks)
{
  return callbacks != NULL && callbacks->cancel != NULL && *callbacks->cancel;
}

void
td_thinkdiff_conditioning_clear (td_thinkdiff_conditioning *conditioning)
{
  td_tensor_free (conditioning->prompt_embeds);
  td_tensor_free (conditioning->pooled);
  g_free (conditioning->text_ids);
  g_free (conditioning->thought_ids);
  g_free (conditioning->thought);
  memset (conditioning, 0, sizeof *conditioning);
}

static td_status
load_image (const td_board *board, const char *path, td_image *image, td_error *err)
{
  if (board->settings.image_decode == TD_IMAGE_DECODE_OFFICIAL)
    return td_image_load_as_stored (path, NULL, image, err);
  return td_image_load (path, NULL, image, err);
}

/* Concatenates parts [1, n_i, d] along the sequence; frees them. */
static td_tensor *
concat_parts (td_backend *backend, td_tensor **parts, int n, td_error *err)
{
  td_layer_ctx ctx = { .backend = backend, .err = err };
  td_tensor *joined = parts[0];
  parts[0] = NULL;
  for (int i = 1; i < n && joined != NULL; i++)
    {
      td_tensor *next = td_layer_concat (&ctx, joined, parts[i], 1);
      td_tensor_free (joined);
      td_tensor_free (parts[i]);
      parts[i] = NULL;
      joined = next;
    }
  for (int i = 0; i < n; i++)
    td_tensor_free (parts[i]);
  return joined;
}

/* CLIP-L's pooled vector of text (FLUX's pooled_prompt_embeds) into out; with t5, the
 * T5 prompt of ThinkDiff-CLIP first, its ids into out->text_ids. */
static td_status
encode_text (const char *flux_dir, td_model_cache *cache, const char *text, td_tensor **t5,
             td_thinkdiff_conditioning *out, td_error *err)
{
  td_text_encoders *encoders = td_model_cache_text_encoders (cache, flux_dir, err);
  if (encoders == NULL)
    return err->status;
  td_text_encoders_set_resident (encoders, td_model_cache_keeps (cache));
  td_status st = TD_OK;
  if (t5 != NULL)
    {
      out->text_ids = g_new0 (int32_t, TD_THINKDIFF_CLIP_T5_LENGTH);
      out->n_text_ids = TD_THINKDIFF_CLIP_T5_LENGTH;
      *t5 = td_text_encode_t5 (encoders, text, TD_THINKDIFF_CLIP_T5_LENGTH, out->text_ids, err);
      st = *t5 != NULL ? TD_OK : err->status;
      if (!td_model_cache_keeps (cache))
        td_text_encoders_release (encoders); /* T5 goes before CLIP arrives */
    }
  if (st == TD_OK && (out->pooled = td_text_encode_clip_pooled (encoders, text, out->clip_ids, err)) == NULL)
    st = err->status;
  td_model_cache_done (cache, encoders);
  return st;
}

/* ---- ThinkDiff-CLIP: images through BLIP-2's vision tower, the prompt through T5 ---- */

static td_tensor *
encode_image_clip_mode (const td_board *board, td_eva_vision *eva, td_aligner *aligner, td_backend *backend,
                        bool kept, const char *path, td_error *err)
{
  td_image image;
  if (load_image (board, path, &image, err) != TD_OK)
    return NULL;
  int size = td_eva_vision_config (eva)->image_size;
  td_tensor *pixels = td_eva_preprocess (backend, image.rgb, image.width, image.height, size, err);
  td_image_clear (&image);
  if (pixels == NULL)
    td_error_prefix (err, "%s", path);
  /* Under a memory cap, the tower keeps what fits and streams the rest, unless every
   * model stays loaded beside the others. */
  int resident = TD_BLOCKS_ALL;
  if (!kept && td_stream_capped (backend))
    {
      const td_plan_stage plan = td_plan_eva_stage (
        td_eva_vision_config (eva),
        td_stream_weight_format (td_eva_vision_weights (eva), "encoder.layers.0.mlp.fc1.weight"));
      resident = td_stream_choose_resident (backend, &plan);
    }
  td_eva_vision_set_resident_blocks (eva, resident);
  td_tensor *hidden = pixels ? td_eva_vision_forward (eva, pixels, err) : NULL;
  td_tensor *reduced = hidden ? td_eva_downsample_tokens (backend, hidden, CLIP_MODE_DOWNSAMPLE, err) : NULL;
  td_tensor *aligned = reduced ? td_aligner_forward (aligner, reduced, err) : NULL;
  td_tensor_free (pixels);
  td_tensor_free (hidden);
  td_tensor_free (reduced);
  return aligned;
}

static td_status
condition_clip_mode (const td_board *board, const td_model_paths *paths, td_backend *backend, td_model_cache *cache,
                     const td_thinkdiff_callbacks *callbacks, td_thinkdiff_conditioning *out, td_error *err)
{
  int n_images = td_board_count (board, TD_BOARD_IMAGE);
  td_tensor **parts = g_new0 (td_tensor *, n_images + 1);
  td_status st = TD_OK;
  /* The vision tower and aligner, then the text encoders: one model resident at a time. */
  if (n_images > 0)
    {
      stage (callbacks, "reading images");
      td_eva_vision *eva = td_model_cache_eva (cache, paths->path[TD_PART_BLIP2_VISION], err);
      td_aligner *aligner = eva ? td_model_cache_aligner (cache, paths->path[TD_PART_ALIGNER_CLIP], err) : NULL;
      st = aligner ? TD_OK : err->status;
      for (int i = 0, k = 0; st == TD_OK && i < board->n_items; i++)
        if (board->items[i].kind == TD_BOARD_IMAGE)
          {
            if (cancelled (callbacks))
              st = td_error_set (err, TD_ERR_CANCELLED, "cancelled while reading images");
            else if ((parts[k++] = encode_image_clip_mode (board, eva, aligner, backend, td_model_cache_keeps (cache),
                                                                 board->items[i].value, err))
                     == NULL)
              st = err->status;
          }
      td_model_cache_done (cache, aligner);
      td_model_cache_done (cache, eva);
    }
  if (st == TD_OK)
    {
      stage (callbacks, "encoding text");
      g_autofree char *prompt = td_board_joined_text (board);
      st = encode_text (paths->path[TD_PART_FLUX], cache, prompt, &parts[n_images], out, err);
    }
  if (st == TD_OK)
    {
      out->prompt_embeds = concat_parts (backend, parts, n_images + 1, err);
      st = out->prompt_embeds ? TD_OK : err->status;
    }
  else
    for (int i = 0; i <= n_images; i++)
      td_tensor_free (parts[i]);
  g_free (parts);
  return st;
}

/* ---- ThinkDiff-LVLM: Qwen2-VL reads the board as a chat and thinks ---- */

typedef struct {
  const td_thinkdiff_callbacks *callbacks;
  td_tokenizer *tokenizer;
  GArray *tokens;   /* int32 generated so far, those with text */
  size_t emitted;   /* bytes of decoded text already sent */
} thought_stream;

/* Sends the newly decoded text; a trailing incomplete character waits for the next token. */
static bool
on_thought_token (void *user, int index, int32_t token)
{
  thought_stream *stream = user;
  /* The model's vocabulary is padded past the tokenizer's (152064 vs 151665 rows for
   * Qwen2-VL-7B); those ids have no text, so the thought skips them. */
  if (td_tokenizer_id_to_token (stream->tokenizer, token) != NULL)
    g_array_append_val (stream->tokens, token);
  if (stream->callbacks != NULL && stream->callbacks->thought != NULL)
    {
      char *text = NULL;
      if (td_tokenizer_decode (stream->tokenizer, (const int32_t *) stream->tokens->data, stream->tokens->len, true,
                               &text, NULL) == TD_OK)
        {
          size_t length = strlen (text);
          if (length >= 3 && memcmp (text + length - 3, "\xef\xbf\xbd", 3) == 0)
            length -= 3;
          if (length > stream->emitted)
            {
              g_autofree char *piece = g_strndup (text + stream->emitted, length - stream->emitted);
              stream->callbacks->thought (stream->callbacks->user, piece);
              stream->emitted = length;
            }
        }
      g_free (text);
    }
  return !cancelled (stream->callbacks);
}

/* The chat as Qwen2-VL's template writes it (add_vision_id numbering the pictures),
 * with one image pad per image. */
char *
td_thinkdiff_chat_prompt (const td_board *board)
{
  GString *chat = g_string_new ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n");
  g_string_append (chat, td_board_instruction (board));
  bool picture_ids = td_board_uses_picture_ids (board);
  int picture = 0;
  for (int i = 0; i < board->n_items; i++)
    {
      if (board->items[i].kind == TD_BOARD_IMAGE)
        {
          if (picture_ids)
            g_string_append_printf (chat, "Picture %d: ", ++picture);
          g_string_append (chat, "<|vision_start|><|image_pad|><|vision_end|>");
        }
      else
        g_string_append (chat, board->items[i].value);
    }
  g_string_append (chat, "<|im_end|>\n<|im_start|>assistant\n");
  return g_string_free (chat, FALSE);
}

/* The image processor settings of the model folder; they must fit its vision tower. */
static td_status
lvlm_image_params (const char *dir, const td_qwen2vl_config *config, td_qwen2vl_image_params *params, td_error *err)
{
  if (td_qwen2vl_image_params_read (dir, params, err) != TD_OK)
    return err->status;
  const td_qwen2vl_vision_config *vc = &config->vision;
  if (params->patch_size != vc->patch_size || params->temporal_patch_size != vc->temporal_patch_size
      || params->merge_size != vc->merge_size)
    return td_error_set (err, TD_ERR_FORMAT,
                         "%s/preprocessor_config.json: patches %d/%d/%d do not match the model's %d/%d/%d", dir,
                         params->patch_size, params->temporal_patch_size, params->merge_size, vc->patch_size,
                         vc->temporal_patch_size, vc->merge_size);
  return TD_OK;
}

/* Loads and preprocesses the board's images: pixel_values for all of them, one grid each. */
static td_status
lvlm_images (const td_board *board, const char *dir, const td_qwen2vl_config *config, td_backend *backend,
             td_tensor **pixel_values, int (**grids)[3], int *n_images, td_error *err)
{
  td_qwen2vl_image_params params;
  int count = td_board_count (board, TD_BOARD_IMAGE);
  *grids = g_malloc0 (sizeof (int[3]) * (size_t) (count > 0 ? count : 1));
  *n_images = 0;
  *pixel_values = NULL;
  if (count == 0)
    return TD_OK;
  td_status st = lvlm_image_params (dir, config, &params, err);
  GArray *all = g_array_new (FALSE, FALSE, sizeof (float));
  const int64_t row_width = 3LL * params.temporal_patch_size * params.patch_size * params.patch_size;
  for (int i = 0; st == TD_OK && i < board->n_items; i++)
    {
      if (board->items[i].kind != TD_BOARD_IMAGE)
        continue;
      td_image image;
      float *values = NULL;
      if ((st = load_image (board, board->items[i].value, &image, err)) != TD_OK)
        break;
      st = td_qwen2vl_image_preprocess (image.rgb, image.height, image.width, &params, &values, (*grids)[*n_images],
                                        err);
      td_image_clear (&image);
      if (st != TD_OK)
        {
          td_error_prefix (err, "%s", board->items[i].value);
          break;
        }
      const int *g = (*grids)[*n_images];
      g_array_append_vals (all, values, (guint) ((int64_t) g[0] * g[1] * g[2] * row_width));
      free (values);
      (*n_images)++;
    }
  if (st == TD_OK)
    {
      const int64_t shape[2] = { (int64_t) all->len / row_width, row_width };
      *pixel_values = td_tensor_new (backend, TD_F32, 2, shape, err);
      if (*pixel_values == NULL || td_tensor_upload (*pixel_values, all->data, all->len * sizeof (float), err) != TD_OK)
        st = err->status;
    }
  g_array_unref (all);
  return st;
}

/* The prompt's ids with each image pad repeated for its merged patches. */
static int32_t *
lvlm_prompt_ids (const td_board *board, td_tokenizer *tokenizer, const td_qwen2vl_config *config, int (*grids)[3],
                 int n_images, int *n, td_error *err)
{
  g_autofree char *chat = td_thinkdiff_chat_prompt (board);
  int32_t *ids = NULL;
  size_t count = 0;
  if (td_tokenizer_encode (tokenizer, chat, -1, false, &ids, &count, err) != TD_OK)
    return NULL;
  int merge = config->vision.merge_size;
  GArray *expanded = g_array_new (FALSE, FALSE, sizeof (int32_t));
  int image = 0;
  for (size_t i = 0; i < count; i++)
    {
      if (ids[i] == config->image_token_id && image < n_images)
        {
          int run = grids[image][0] * grids[image][1] * grids[image][2] / (merge * merge);
          for (int k = 0; k < run; k++)
            g_array_append_val (expanded, config->image_token_id);
          image++;
        }
      else
        g_array_append_val (expanded, ids[i]);
    }
  g_free (ids);
  *n = (int) expanded->len;
  return (int32_t *) g_array_free (expanded, FALSE);
}

/* The edited thought's ids, without special tokens. Its own length is kept (the
 * aligner maps each row alone and FLUX takes any number): 1 … max_new_tokens. */
static int32_t *
edited_thought_ids (const td_board *board, td_tokenizer *tokenizer, int *n, td_error *err)
{
  int32_t *ids = NULL;
  size_t count = 0;
  if (td_tokenizer_encode (tokenizer, board->thought, -1, false, &ids, &count, err) != TD_OK)
    return NULL;
  if (count < 1 || count > (size_t) board->settings.max_new_tokens)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "the edited thought is %zu tokens long; it must be 1 to %d tokens",
                    count, board->settings.max_new_tokens);
      g_free (ids);
      return NULL;
    }
  *n = (int) count;
  return ids;
}

static td_status
condition_lvlm_mode (const td_board *board, const td_model_paths *paths, td_backend *backend, td_model_cache *cache,
                     const td_thinkdiff_callbacks *callbacks, td_thinkdiff_conditioning *out, td_error *err)
{
  stage (callbacks, "reading images");
  const char *dir = paths->path[TD_PART_QWEN2VL];
  td_tokenizer *tokenizer = NULL;
  if (td_tokenizer_load (dir, &tokenizer, err) != TD_OK)
    return err->status;
  td_tokenizer_set_cancel (tokenizer, callbacks != NULL ? callbacks->cancel : NULL);
  td_qwen2vl *model = td_model_cache_qwen2vl (cache, dir, err);
  td_tensor *pixel_values = NULL, *features = NULL, *prefill = NULL, *hidden = NULL;
  int (*grids)[3] = NULL;
  int n_images = 0;
  td_qwen2vl_session *session = NULL;
  const td_board_settings *s = &board->settings;
  int n_answer = s->max_new_tokens;
  if (board->thought == NULL)
    out->thought_ids = g_new0 (int32_t, s->max_new_tokens);
  else if ((out->thought_ids = edited_thought_ids (board, tokenizer, &n_answer, err)) == NULL)
    {
      td_model_cache_done (cache, model);
      td_tokenizer_free (tokenizer);
      return err->status;
    }
  thought_stream stream = { callbacks, tokenizer, g_array_new (FALSE, FALSE, sizeof (int32_t)), 0 };
  td_status st = model ? lvlm_images (board, dir, td_qwen2vl_config_of (model), backend, &pixel_values, &grids,
                                      &n_images, err)
                       : err->status;
  if (st == TD_OK)
    {
      /* Under a memory cap, the language model's layers stay before the tower's;
       * nothing streams when every model stays loaded beside the others. */
      int resident = TD_BLOCKS_ALL;
      if (!td_model_cache_keeps (cache) && td_stream_capped (backend))
        {
          const td_plan_stage plan = td_plan_qwen2vl_stage (
            td_qwen2vl_config_of (model), s->width, s->height, n_answer,
            td_stream_weight_format (td_qwen2vl_weights (model), "layers.0.mlp.down_proj.weight"));
          resident = td_stream_choose_resident (backend, &plan);
        }
      td_qwen2vl_set_resident_blocks (model, resident);
    }
  if (st == TD_OK && n_images > 0 && (features = td_qwen2vl_encode_images (model, pixel_values, grids, n_images, err)) == NULL)
    st = err->status;
  if (st == TD_OK && (out->text_ids = lvlm_prompt_ids (board, tokenizer, td_qwen2vl_config_of (model), grids, n_images,
                                                       &out->n_text_ids, err)) == NULL)
    st = err->status;
  if (st == TD_OK && (session = td_qwen2vl_session_new (model, out->n_text_ids + n_answer, err)) == NULL)
    st = err->status;
  if (st == TD_OK)
    {
      stage (callbacks, "thinking");
      prefill = td_qwen2vl_session_prefill (session, out->text_ids, out->n_text_ids, features,
                                            (const int (*)[3]) grids, n_images, err);
      st = prefill ? TD_OK : err->status;
    }
  if (st == TD_OK && board->thought != NULL)
    {
      /* The edited thought is the answer: its hidden states, taken as sampling takes them. */
      stage (callbacks, "reading the edited thought");
      st = td_qwen2vl_teacher_force (session, prefill, out->thought_ids, n_answer, &hidden, err);
      out->n_thought_ids = n_answer;
      out->thought = g_strdup (board->thought);
      if (st == TD_OK && callbacks != NULL && callbacks->thought != NULL)
        callbacks->thought (callbacks->user, board->thought);
    }
  else if (st == TD_OK)
    {
      /* Officially (vLLM: max_tokens = min_tokens = 128, ignore_eos) a fixed number of
       * tokens with no EOS among them: the aligner was trained on 128. */
      td_qwen2vl_generate_params params = {
        .max_new_tokens = s->max_new_tokens,
        .min_new_tokens = s->max_new_tokens,
        .temperature = s->temperature,
        .top_p = s->top_p,
        .seed = s->seed,
        .ignore_eos = true,
        .on_token = on_thought_token,
        .user = &stream,
      };
      st = td_qwen2vl_generate (session, prefill, &params, out->thought_ids, &out->n_thought_ids, &hidden, err);
    }
  if (st == TD_OK && board->thought == NULL)
    td_tokenizer_decode (tokenizer, (const int32_t *) stream.tokens->data, stream.tokens->len, true, &out->thought,
                         NULL);
  /* The language model goes before the aligner and the text encoders arrive. */
  td_qwen2vl_session_free (session);
  td_model_cache_done (cache, model);
  if (st == TD_OK)
    {
      td_aligner *aligner = td_model_cache_aligner (cache, paths->path[TD_PART_ALIGNER_LVLM], err);
      out->prompt_embeds = aligner ? td_aligner_forward (aligner, hidden, err) : NULL;
      st = out->prompt_embeds ? TD_OK : err->status;
      td_model_cache_done (cache, aligner);
    }
  td_tensor_free (hidden);
  td_tensor_free (prefill);
  td_tensor_free (features);
  td_tensor_free (pixel_values);
  g_free (grids);
  g_array_unref (stream.tokens);
  td_tokenizer_free (tokenizer);
  if (st == TD_OK && cancelled (callbacks))
    st = td_error_set (err, TD_ERR_CANCELLED, "cancelled after thinking");
  /* Officially FLUX's pooled vector is CLIP-L of the empty prompt in this mode. */
  if (st == TD_OK)
    st = encode_text (paths->path[TD_PART_FLUX], cache, "", NULL, out, err);
  return st;
}

td_status
td_thinkdiff_condition (const td_board *board, const td_model_paths *paths, td_backend *backend,
                        const td_thinkdiff_callbacks *callbacks, td_thinkdiff_conditioning *out, td_error *err)
{
  td_model_cache *cache = td_model_cache_new (backend);
  td_status st = td_thinkdiff_condition_cached (board, paths, cache, callbacks, out, err);
  td_model_cache_free (cache);
  return st;
}

td_status
td_thinkdiff_condition_cached (const td_board *board, const td_model_paths *paths, td_model_cache *cache,
                               const td_thinkdiff_callbacks *callbacks, td_thinkdiff_conditioning *out,
                               td_error *err)
{
  td_backend *backend = td_model_cache_backend (cache);
  memset (out, 0, sizeof *out);
  td_status st = td_board_validate (board, err);
  if (st == TD_OK)
    st = td_model_paths_require (paths, board->mode == TD_BOARD_LVLM, err);
  if (st != TD_OK)
    return st;
  if (board->mode == TD_BOARD_LVLM)
    st = condition_lvlm_mode (board, paths, backend, cache, callbacks, out, err);
  else
    st = condition_clip_mode (board, paths, backend, cache, callbacks, out, err);
  if (st != TD_OK)
    {
      char *thought = out->thought; /* what was thought is still worth showing */
      out->thought = NULL;
      td_thinkdiff_conditioning_clear (out);
      out->thought = thought;
    }
  return st;
}
