#include "pipeline/thinkdiff_pipeline.h"
#include "core/error_optional.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/flux_pipeline.h"
#include "pipeline/text_conditioning.h"
#include "pipeline/thinkdiff_conditioning.h"

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
paint (const char *flux_dir, const char *taesd_dir, td_model_cache *cache, const td_tensor *prompt_embeds,
       const td_tensor *pooled, const td_board_settings *settings, const td_thinkdiff_callbacks *callbacks,
       td_thinkdiff_result *result, td_error *err)
{
  td_flux_pipeline *pipeline = td_model_cache_flux (cache, flux_dir, err);
  if (pipeline == NULL)
    return err->status;
  /* diffusers decodes whole; tiles above 1024 px keep the memory bounded unless turned off. */
  td_vae_tiling tiling = td_vae_tiling_default ();
  if (!settings->vae_tiling)
    tiling.threshold = 1 << 20;
  if (td_flux_pipeline_set_vae_tiling (pipeline, &tiling, err) != TD_OK)
    {
      td_model_cache_done (cache, pipeline);
      return err->status;
    }
  td_error preview_err = { 0 };
  if (settings->tiny_preview && taesd_dir != NULL
      && td_flux_pipeline_set_preview_decoder (pipeline, taesd_dir, &preview_err) != TD_OK)
    g_message ("previews use the linear map: %s", preview_err.message);
  else if (!settings->tiny_preview || taesd_dir == NULL)
    td_flux_pipeline_set_preview_decoder (pipeline, NULL, NULL);
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
  td_model_cache_done (cache, pipeline);
  return st;
}

td_status
td_thinkdiff_text_to_image (const char *prompt, const td_board_settings *settings, const char *flux_dir,
                            td_backend *backend, const td_thinkdiff_callbacks *callbacks,
                            td_thinkdiff_result *result, td_error *err)
{
  td_model_cache *cache = td_model_cache_new (backend);
  td_status st = td_thinkdiff_text_to_image_cached (prompt, settings, flux_dir, cache, callbacks, result, err);
  td_model_cache_free (cache);
  return st;
}

td_status
td_thinkdiff_text_to_image_cached (const char *prompt, const td_board_settings *settings, const char *flux_dir,
                                   td_model_cache *cache, const td_thinkdiff_callbacks *callbacks,
                                   td_thinkdiff_result *result, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (result, 0, sizeof *result);
  stage (callbacks, "encoding text");
  td_text_encoders *encoders = td_model_cache_text_encoders (cache, flux_dir, err);
  if (encoders == NULL)
    return err->status;
  td_text_encoders_set_resident (encoders, td_model_cache_keeps (cache));
  td_text_encoders_set_cancel (encoders, callbacks != NULL ? callbacks->cancel : NULL);
  td_tensor *embeds = td_text_encode_t5 (encoders, prompt, FLUX_T5_LENGTH, NULL, err);
  td_tensor *pooled = embeds ? td_text_encode_clip_pooled (encoders, prompt, NULL, err) : NULL;
  td_text_encoders_set_cancel (encoders, NULL);
  td_model_cache_done (cache, encoders);
  td_status st = pooled != NULL ? TD_OK : err->status;
  if (st == TD_OK && cancelled (callbacks))
    st = td_error_set (err, TD_ERR_CANCELLED, "cancelled after encoding the prompt");
  if (st == TD_OK)
    st = paint (flux_dir, NULL, cache, embeds, pooled, settings, callbacks, result, err);
  td_tensor_free (embeds);
  td_tensor_free (pooled);
  return st;
}

td_status
td_thinkdiff_generate (const td_board *board, const td_model_paths *paths, td_backend *backend,
                       const td_thinkdiff_callbacks *callbacks, td_thinkdiff_result *result, td_error *err)
{
  td_model_cache *cache = td_model_cache_new (backend);
  td_status st = td_thinkdiff_generate_cached (board, paths, cache, callbacks, result, err);
  td_model_cache_free (cache);
  return st;
}

td_status
td_thinkdiff_generate_cached (const td_board *board, const td_model_paths *paths, td_model_cache *cache,
                              const td_thinkdiff_callbacks *callbacks, td_thinkdiff_result *result, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (result, 0, sizeof *result);
  td_thinkdiff_conditioning conditioning;
  td_status st = td_thinkdiff_condition_cached (board, paths, cache, callbacks, &conditioning, err);
  result->thought = conditioning.thought; /* kept on failure too: what was thought is worth showing */
  conditioning.thought = NULL;
  if (st == TD_OK && cancelled (callbacks))
    st = td_error_set (err, TD_ERR_CANCELLED, "cancelled before painting");
  if (st == TD_OK)
    st = paint (paths->path[TD_PART_FLUX], paths->path[TD_PART_TAEF1], cache, conditioning.prompt_embeds,
                conditioning.pooled, &board->settings, callbacks, result, err);
  td_thinkdiff_conditioning_clear (&conditioning);
  if (st != TD_OK)
    {
      char *thought = result->thought;
      result->thought = NULL;
      td_thinkdiff_result_clear (result);
      result->thought = thought;
    }
  return st;
}
