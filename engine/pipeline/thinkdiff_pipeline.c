#include "pipeline/thinkdiff_pipeline.h"
#include "core/error_optional.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "models/aligner.h"
#include "models/eva_vision.h"
#include "models/layers.h"
#include "models/qwen2vl.h"
#include "models/qwen2vl_image.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/text_conditioning.h"
#include "text/tokenizer.h"

/* FLUX.1 reads T5 prompts of up to 512 tokens. */
#define FLUX_T5_LENGTH 512

void
td_thinkdiff_result_clear (td_thinkdiff_result *result)
{
  free (result->pixels);
  g_free (result->thought);
  memset (result, 0, sizeof *result);
}

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

typedef struct {
  const td_thinkdiff_callbacks *outer;
} flux_relay;

static void
relay_step (void *user, int step, int steps, const td_tensor *latents)
{
  const flux_relay *relay = user;
  if (relay->outer != NULL && relay->outer->progress != NULL)
    relay->outer->progress (relay->outer->user, step, steps);
}

static void
relay_preview (void *user, int step, int steps, const uint8_t *rgb, int width, int height)
{
  const flux_relay *relay = user;
  if (relay->outer != NULL && relay->outer->preview != NULL)
    relay->outer->preview (relay->outer->user, step, steps, rgb, width, height);
}

static void
relay_stage (void *user, const char *text)
{
  const flux_relay *relay = user;
  stage (relay->outer, text);
}

/* FLUX from ready embeddings; fills result->pixels. taesd_dir (may be NULL) serves previews. */
static td_status
paint (const char *flux_dir, const char *taesd_dir, td_backend *backend, const td_tensor *prompt_embeds,
       const td_tensor *pooled, const td_board_settings *settings, const td_thinkdiff_callbacks *callbacks,
       td_thinkdiff_result *result, td_error *err)
{
  td_flux_pipeline *pipeline = td_flux_pipeline_new (flux_dir, backend, err);
  if (pipeline == NULL)
    return err->status;
  td_error preview_err = { 0 };
  if (settings->tiny_preview && taesd_dir != NULL
      && td_flux_pipeline_set_preview_decoder (pipeline, taesd_dir, &preview_err) != TD_OK)
    g_message ("previews use the linear map: %s", preview_err.message);
  flux_relay relay = { callbacks };
  td_flux_callbacks flux_callbacks = {
    .step = relay_step,
    .preview = relay_preview,
    .stage = relay_stage,
    .cancel = callbacks != NULL ? callbacks->cancel : NULL,
    .user = &relay,
  };
  td_flux_params params = {
    .width = settings->width,
    .height = settings->height,
    .steps = settings->steps,
    .guidance = settings->guidance,
    .seed = settings->seed,
  };
  td_tensor *image = NULL;
  td_status st = td_flux_pipeline_generate (pipeline, prompt_embeds, pooled, &params, NULL, &flux_callbacks, &image,
                                            err);
  if (st == TD_OK)
    {
      result->height = (int) image->shape[2];
      result->width = (int) image->shape[3];
      result->pixels = td_tensor_to_f32 (image, err);
      if (result->pixels == NULL)
        st = err->status;
    }
  td_tensor_free (image);
  td_flux_pipeline_free (pipeline);
  return st;
}

td_status
td_thinkdiff_text_to_image (const char *prompt, const td_board_settings *settings, const char *flux_dir,
                            td_backend *backend, const td_thinkdiff_callbacks *callbacks,
                            td_thinkdiff_result *result, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (result, 0, sizeof *result);
  stage (callbacks, "encoding text");
  td_text_encoders *encoders = td_text_encoders_new (flux_dir, backend, err);
  if (encoders == NULL)
    return err->status;
  td_tensor *embeds = td_text_encode_t5 (encoders, prompt, FLUX_T5_LENGTH, err);
  td_tensor *pooled = embeds ? td_text_encode_clip_pooled (encoders, prompt, err) : NULL;
  td_text_encoders_free (encoders);
  td_status st = pooled != NULL ? TD_OK : err->status;
  if (st == TD_OK && cancelled (callbacks))
    st = td_error_set (err, TD_ERR_CANCELLED, "cancelled after encoding the prompt");
  if (st == TD_OK)
    st = paint (flux_dir, NULL, backend, embeds, pooled, settings, callbacks, result, err);
  td_tensor_free (embeds);
  td_tensor_free (pooled);
  return st;
}

/* ---- conditioning shared by both modes ---- */

/* ThinkDiff-CLIP encodes each text segment like FLUX's T5 prompt, at 128 tokens. */
#define CLIP_MODE_T5_LENGTH 128
/* BLIP-2's Q-Former-free reduction: the patch grid halves per side. */
#define CLIP_MODE_DOWNSAMPLE 2

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

static td_tensor *
pooled_text (const char *flux_dir, td_backend *backend, const td_board *board, td_error *err)
{
  td_text_encoders *encoders = td_text_encoders_new (flux_dir, backend, err);
  if (encoders == NULL)
    return NULL;
  g_autofree char *text = td_board_joined_text (board);
  td_tensor *pooled = td_text_encode_clip_pooled (encoders, text, err);
  td_text_encoders_free (encoders);
  return pooled;
}

/* ---- ThinkDiff-CLIP: images through BLIP-2's vision tower, texts through T5 ---- */

static td_tensor *
encode_image_clip_mode (td_eva_vision *eva, td_aligner *aligner, td_backend *backend, const char *path, td_error *err)
{
  td_image image;
  if (td_image_load (path, NULL, &image, err) != TD_OK)
    return NULL;
  int size = td_eva_vision_config (eva)->image_size;
  td_tensor *pixels = td_eva_preprocess (backend, image.rgb, image.width, image.height, size, err);
  td_image_clear (&image);
  if (pixels == NULL)
    td_error_prefix (err, "%s", path);
  td_tensor *hidden = pixels ? td_eva_vision_forward (eva, pixels, err) : NULL;
  td_tensor *reduced = hidden ? td_eva_downsample_tokens (backend, hidden, CLIP_MODE_DOWNSAMPLE, err) : NULL;
  td_tensor *aligned = reduced ? td_aligner_forward (aligner, reduced, err) : NULL;
  td_tensor_free (pixels);
  td_tensor_free (hidden);
  td_tensor_free (reduced);
  return aligned;
}

static td_status
condition_clip_mode (const td_board *board, const td_model_paths *paths, td_backend *backend,
                     const td_thinkdiff_callbacks *callbacks, td_tensor **prompt_embeds, td_error *err)
{
  td_tensor **parts = g_new0 (td_tensor *, board->n_items);
  td_status st = TD_OK;
  /* Images first (vision tower and aligner resident), then texts (T5 resident), so only
   * one encoder is loaded at a time; the parts keep board order. */
  if (td_board_count (board, TD_BOARD_IMAGE) > 0)
    {
      stage (callbacks, "reading images");
      td_eva_vision *eva = td_eva_vision_load (paths->path[TD_PART_BLIP2_VISION], backend, err);
      td_aligner *aligner = eva ? td_aligner_load (paths->path[TD_PART_ALIGNER_CLIP], backend, err) : NULL;
      st = aligner ? TD_OK : err->status;
      for (int i = 0; st == TD_OK && i < board->n_items; i++)
        if (board->items[i].kind == TD_BOARD_IMAGE)
          {
            if (cancelled (callbacks))
              st = td_error_set (err, TD_ERR_CANCELLED, "cancelled while reading images");
            else if ((parts[i] = encode_image_clip_mode (eva, aligner, backend, board->items[i].value, err)) == NULL)
              st = err->status;
          }
      td_aligner_free (aligner);
      td_eva_vision_free (eva);
    }
  if (st == TD_OK && td_board_count (board, TD_BOARD_TEXT) > 0)
    {
      stage (callbacks, "encoding text");
      td_text_encoders *encoders = td_text_encoders_new (paths->path[TD_PART_FLUX], backend, err);
      st = encoders ? TD_OK : err->status;
      for (int i = 0; st == TD_OK && i < board->n_items; i++)
        if (board->items[i].kind == TD_BOARD_TEXT
            && (parts[i] = td_text_encode_t5 (encoders, board->items[i].value, CLIP_MODE_T5_LENGTH, err)) == NULL)
          st = err->status;
      td_text_encoders_free (encoders);
    }
  if (st == TD_OK)
    {
      *prompt_embeds = concat_parts (backend, parts, board->n_items, err);
      st = *prompt_embeds ? TD_OK : err->status;
    }
  else
    for (int i = 0; i < board->n_items; i++)
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

/* The chat as Qwen2-VL's template writes it, with one image pad per image. */
static char *
chat_prompt (const td_board *board)
{
  GString *chat = g_string_new ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n");
  int picture = 0;
  for (int i = 0; i < board->n_items; i++)
    {
      if (board->items[i].kind == TD_BOARD_IMAGE)
        {
          if (board->settings.picture_ids)
            g_string_append_printf (chat, "Picture %d: ", ++picture);
          g_string_append (chat, "<|vision_start|><|image_pad|><|vision_end|>");
        }
      else
        g_string_append (chat, board->items[i].value);
    }
  g_string_append (chat, "<|im_end|>\n<|im_start|>assistant\n");
  return g_string_free (chat, FALSE);
}

/* Loads and preprocesses the board's images: pixel_values for all of them, one grid each. */
static td_status
lvlm_images (const td_board *board, td_backend *backend, td_tensor **pixel_values, int (**grids)[3], int *n_images,
             td_error *err)
{
  td_qwen2vl_image_params params;
  td_qwen2vl_image_params_default (&params);
  int count = td_board_count (board, TD_BOARD_IMAGE);
  GArray *all = g_array_new (FALSE, FALSE, sizeof (float));
  *grids = g_malloc0 (sizeof (int[3]) * (size_t) (count > 0 ? count : 1));
  *n_images = 0;
  *pixel_values = NULL;
  td_status st = TD_OK;
  int64_t row_width = 0;
  for (int i = 0; st == TD_OK && i < board->n_items; i++)
    {
      if (board->items[i].kind != TD_BOARD_IMAGE)
        continue;
      td_image image;
      float *values = NULL;
      if ((st = td_image_load (board->items[i].value, NULL, &image, err)) != TD_OK)
        break;
      st = td_qwen2vl_image_preprocess (image.rgb, image.height, image.width, &params, &values, (*grids)[*n_images],
                                        err);
      td_image_clear (&image);
      if (st != TD_OK)
        {
          td_error_prefix (err, "%s", board->items[i].value); /* which of the board's images */
          break;
        }
      const int *g = (*grids)[*n_images];
      row_width = 3LL * params.temporal_patch_size * params.patch_size * params.patch_size;
      g_array_append_vals (all, values, (guint) ((int64_t) g[0] * g[1] * g[2] * row_width));
      free (values);
      (*n_images)++;
    }
  if (st == TD_OK && *n_images > 0)
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
  g_autofree char *chat = chat_prompt (board);
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

static td_status
condition_lvlm_mode (const td_board *board, const td_model_paths *paths, td_backend *backend,
                     const td_thinkdiff_callbacks *callbacks, td_tensor **prompt_embeds, char **thought,
                     td_error *err)
{
  stage (callbacks, "reading images");
  const char *dir = paths->path[TD_PART_QWEN2VL];
  td_tokenizer *tokenizer = NULL;
  if (td_tokenizer_load (dir, &tokenizer, err) != TD_OK)
    return err->status;
  td_qwen2vl *model = td_qwen2vl_load (dir, backend, err);
  td_tensor *pixel_values = NULL, *features = NULL, *prefill = NULL, *hidden = NULL;
  int (*grids)[3] = NULL;
  int n_images = 0, n_ids = 0, n_generated = 0;
  int32_t *ids = NULL;
  td_qwen2vl_session *session = NULL;
  const td_board_settings *s = &board->settings;
  int32_t *tokens = g_new0 (int32_t, s->max_new_tokens);
  thought_stream stream = { callbacks, tokenizer, g_array_new (FALSE, FALSE, sizeof (int32_t)), 0 };
  td_status st = model ? lvlm_images (board, backend, &pixel_values, &grids, &n_images, err) : err->status;
  if (st == TD_OK && n_images > 0 && (features = td_qwen2vl_encode_images (model, pixel_values, grids, n_images, err)) == NULL)
    st = err->status;
  if (st == TD_OK && (ids = lvlm_prompt_ids (board, tokenizer, td_qwen2vl_config_of (model), grids, n_images,
                                             &n_ids, err)) == NULL)
    st = err->status;
  if (st == TD_OK && (session = td_qwen2vl_session_new (model, n_ids + s->max_new_tokens, err)) == NULL)
    st = err->status;
  if (st == TD_OK)
    {
      stage (callbacks, "thinking");
      prefill = td_qwen2vl_session_prefill (session, ids, n_ids, features, (const int (*)[3]) grids, n_images, err);
      st = prefill ? TD_OK : err->status;
    }
  if (st == TD_OK)
    {
      /* ThinkDiff samples a fixed number of tokens, EOS or not: the aligner was trained on 128. */
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
      st = td_qwen2vl_generate (session, prefill, &params, tokens, &n_generated, &hidden, err);
    }
  if (st == TD_OK)
    td_tokenizer_decode (tokenizer, (const int32_t *) stream.tokens->data, stream.tokens->len, true, thought, NULL);
  /* The language model goes before the aligner and FLUX arrive. */
  td_qwen2vl_session_free (session);
  td_qwen2vl_free (model);
  if (st == TD_OK)
    {
      td_aligner *aligner = td_aligner_load (paths->path[TD_PART_ALIGNER_LVLM], backend, err);
      *prompt_embeds = aligner ? td_aligner_forward (aligner, hidden, err) : NULL;
      st = *prompt_embeds ? TD_OK : err->status;
      td_aligner_free (aligner);
    }
  td_tensor_free (hidden);
  td_tensor_free (prefill);
  td_tensor_free (features);
  td_tensor_free (pixel_values);
  g_free (grids);
  g_free (ids);
  g_free (tokens);
  g_array_unref (stream.tokens);
  td_tokenizer_free (tokenizer);
  return st;
}

td_status
td_thinkdiff_generate (const td_board *board, const td_model_paths *paths, td_backend *backend,
                       const td_thinkdiff_callbacks *callbacks, td_thinkdiff_result *result, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (result, 0, sizeof *result);
  td_status st = td_board_validate (board, err);
  if (st == TD_OK)
    st = td_model_paths_require (paths, board->mode == TD_BOARD_LVLM, err);
  if (st != TD_OK)
    return st;
  td_tensor *prompt_embeds = NULL;
  if (board->mode == TD_BOARD_LVLM)
    st = condition_lvlm_mode (board, paths, backend, callbacks, &prompt_embeds, &result->thought, err);
  else
    st = condition_clip_mode (board, paths, backend, callbacks, &prompt_embeds, err);
  td_tensor *pooled = NULL;
  if (st == TD_OK && cancelled (callbacks))
    st = td_error_set (err, TD_ERR_CANCELLED, "cancelled before painting");
  if (st == TD_OK && (pooled = pooled_text (paths->path[TD_PART_FLUX], backend, board, err)) == NULL)
    st = err->status;
  if (st == TD_OK)
    st = paint (paths->path[TD_PART_FLUX], paths->path[TD_PART_TAEF1], backend, prompt_embeds, pooled,
                &board->settings, callbacks, result, err);
  td_tensor_free (prompt_embeds);
  td_tensor_free (pooled);
  if (st != TD_OK)
    {
      char *thought = result->thought;
      result->thought = NULL;
      td_thinkdiff_result_clear (result);
      result->thought = thought; /* what was thought is still worth showing */
    }
  return st;
}
