#include "pipeline/flux_pipeline.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ops.h"
#include "models/flux_dit.h"
#include "models/flux_vae.h"
#include "models/flux_vae_tiles.h"
#include "pipeline/memory_plan.h"
#include "pipeline/stream_choice.h"
#include "models/layers.h"
#include "pipeline/flow_scheduler.h"
#include "pipeline/flux_files.h"
#include "models/taesd.h"
#include "pipeline/latent_preview.h"

struct td_flux_pipeline {
  td_flux_files files;
  td_backend *backend;
  td_flow_schedule_config schedule_config;
  td_flux_dit *transformer; /* loaded for denoising, freed before decoding */
  td_flux_vae *vae;
  td_vae_tiling vae_tiling;
  td_taesd *preview_decoder; /* TAEF1 for sharper previews; NULL: the linear map */
  char *preview_dir;         /* where it was loaded from */
  bool resident;             /* the transformer stays loaded between images */
  int loads;
};

td_flux_pipeline *
td_flux_pipeline_new (const char *dir, const td_weight_files *chosen, td_backend *backend, td_error *err)
{
  td_flux_files files;
  if (td_flux_files_find_chosen (dir, chosen, &files, err) != TD_OK)
    return NULL;
  td_flux_pipeline *pipeline = g_new0 (td_flux_pipeline, 1);
  pipeline->files = files;
  pipeline->backend = backend;
  pipeline->vae_tiling = td_vae_tiling_default ();
  pipeline->schedule_config = td_flow_schedule_config_default ();
  if (files.scheduler_config != NULL
      && td_flow_schedule_config_load (files.scheduler_config, &pipeline->schedule_config, err) != TD_OK)
    {
      td_flux_pipeline_free (pipeline);
      return NULL;
    }
  return pipeline;
}

void
td_flux_pipeline_free (td_flux_pipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  td_flux_dit_free (pipeline->transformer);
  td_flux_vae_free (pipeline->vae);
  td_taesd_free (pipeline->preview_decoder);
  g_free (pipeline->preview_dir);
  td_flux_files_clear (&pipeline->files);
  g_free (pipeline);
}

void
td_flux_pipeline_set_resident (td_flux_pipeline *pipeline, bool resident)
{
  pipeline->resident = resident;
}

int
td_flux_pipeline_loads (const td_flux_pipeline *pipeline)
{
  return pipeline->loads;
}

td_status
td_flux_pipeline_set_preview_decoder (td_flux_pipeline *pipeline, const char *taesd_dir, td_error *err)
{
  if (taesd_dir != NULL && pipeline->preview_decoder != NULL && g_strcmp0 (taesd_dir, pipeline->preview_dir) == 0)
    return TD_OK;
  td_taesd_free (pipeline->preview_decoder);
  pipeline->preview_decoder = NULL;
  g_clear_pointer (&pipeline->preview_dir, g_free);
  if (taesd_dir == NULL)
    return TD_OK;
  td_taesd *taesd = td_taesd_load_dir (taesd_dir, pipeline->backend, err);
  if (taesd == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  pipeline->loads++;
  if (td_taesd_latent_channels (taesd) != TD_FLUX_LATENT_CHANNELS)
    {
      td_taesd_free (taesd);
      return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: a FLUX.1 preview decoder needs %d latent channels (TAEF1)",
                           taesd_dir, TD_FLUX_LATENT_CHANNELS);
    }
  pipeline->preview_decoder = taesd;
  pipeline->preview_dir = g_strdup (taesd_dir);
  return TD_OK;
}

td_status
td_flux_pipeline_set_vae_tiling (td_flux_pipeline *pipeline, const td_vae_tiling *tiling, td_error *err)
{
  td_status st = td_vae_tiling_check (tiling, err);
  if (st == TD_OK)
    pipeline->vae_tiling = *tiling;
  return st;
}

void
td_flux_pack_latents (const float *latents, int h, int w, float *packed)
{
  /* packed[(i·w/2 + j), c·4 + dy·2 + dx] = latents[c, 2i + dy, 2j + dx] */
  for (int i = 0; i < h / 2; i++)
    for (int j = 0; j < w / 2; j++)
      for (int c = 0; c < TD_FLUX_LATENT_CHANNELS; c++)
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            packed[((size_t) i * (w / 2) + j) * 64 + c * 4 + dy * 2 + dx]
              = latents[((size_t) c * h + 2 * i + dy) * w + 2 * j + dx];
}

void
td_flux_unpack_latents (const float *packed, int h, int w, float *latents)
{
  for (int i = 0; i < h / 2; i++)
    for (int j = 0; j < w / 2; j++)
      for (int c = 0; c < TD_FLUX_LATENT_CHANNELS; c++)
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            latents[((size_t) c * h + 2 * i + dy) * w + 2 * j + dx]
              = packed[((size_t) i * (w / 2) + j) * 64 + c * 4 + dy * 2 + dx];
}

void
td_gaussian_noise (uint64_t seed, float *out, int64_t n)
{
  /* Box–Muller on pairs of uniforms; u1 is kept away from 0. */
  for (int64_t i = 0; i < n; i += 2)
    {
      float u1 = td_rng_uniform (seed, (uint64_t) i) + 1.0f / 33554432.0f;
      float u2 = td_rng_uniform (seed, (uint64_t) i + 1);
      float r = sqrtf (-2.0f * logf (u1));
      out[i] = r * cosf (6.28318530718f * u2);
      if (i + 1 < n)
        out[i + 1] = r * sinf (6.28318530718f * u2);
    }
}

static bool
cancelled (const td_flux_callbacks *callbacks)
{
  return callbacks != NULL && callbacks->cancel != NULL && *callbacks->cancel;
}

static void
stage (const td_flux_callbacks *callbacks, const char *text)
{
  if (callbacks != NULL && callbacks->stage != NULL)
    callbacks->stage (callbacks->user, text);
}

/* x0 = latents − σ·v, read back, unpacked and mapped to RGB: by the tiny decoder
 * when one is set (full size), else by the linear map (latent size). */
static void
send_preview (td_flux_pipeline *pipeline, td_layer_ctx *ctx, const td_flux_callbacks *callbacks,
              const td_tensor *latents, const td_tensor *v, float sigma, int lh, int lw, int step, int steps)
{
  if (callbacks == NULL || callbacks->preview == NULL)
    return;
  td_tensor *x0 = td_layer_new (ctx, TD_F32, v->ndim, v->shape);
  td_status st;
  if (x0 != NULL && (st = td_scale (ctx->backend, x0, v, -sigma, 0.0f, ctx->err)) != TD_OK)
    td_layer_fail (ctx, st);
  td_layer_add_ (ctx, x0, latents);
  float *packed = td_layer_read_f32 (ctx, x0);
  td_tensor_free (x0);
  if (packed == NULL)
    return;
  float *planar = malloc ((size_t) TD_FLUX_LATENT_CHANNELS * lh * lw * sizeof *planar);
  uint8_t *rgb = malloc ((size_t) lh * lw * 3 * 64);
  if (planar != NULL && rgb != NULL)
    {
      td_flux_unpack_latents (packed, lh, lw, planar);
      const td_vae_config *vae = td_flux_vae_config (pipeline->vae);
      td_error preview_err = { 0 };
      if (pipeline->preview_decoder != NULL
          && td_taesd_preview_rgb (pipeline->preview_decoder, planar, lh, lw, vae->scaling_factor, vae->shift_factor,
                                   rgb, &preview_err) == TD_OK)
        callbacks->preview (callbacks->user, step, steps, rgb, lw * 8, lh * 8);
      else
        {
          /* A failing tiny decoder falls back to the linear map rather than stopping the run. */
          td_latent_preview_rgb (planar, lh, lw, rgb);
          callbacks->preview (callbacks->user, step, steps, rgb, lw, lh);
        }
    }
  free (planar);
  free (rgb);
  free (packed);
}

/* One transformer step. A resident transformer's step is recorded once per shape and
 * replayed on the later steps where the backend can (td_backend_capture_begin); a
 * transformer with streamed blocks uploads weights inside the step, which rules
 * replay out. */
static td_tensor *
transformer_step (td_flux_pipeline *pipeline, td_layer_ctx *ctx, const td_tensor *latents,
                  const td_tensor *prompt_embeds, const td_tensor *pooled, float t, float guidance,
                  const td_tensor *cos, const td_tensor *sin, bool streamed)
{
  const uint64_t shape_key = ((uint64_t) latents->shape[1] << 32) ^ (uint64_t) prompt_embeds->shape[1];
  if (!streamed && td_backend_capture_begin (pipeline->backend, shape_key, ctx->err) != TD_OK)
    return NULL;
  td_tensor *v = td_flux_dit_forward (pipeline->transformer, latents, prompt_embeds, pooled, t, guidance, cos, sin,
                                      ctx->err);
  if (!streamed && td_backend_capture_end (pipeline->backend, v != NULL ? ctx->err : NULL) != TD_OK)
    {
      td_tensor_free (v);
      return NULL;
    }
  return v;
}

static td_status
denoise (td_flux_pipeline *pipeline, td_layer_ctx *ctx, td_tensor *latents, const td_tensor *prompt_embeds,
         const td_tensor *pooled, const td_flux_params *params, int lh, int lw, bool streamed,
         const td_flux_callbacks *callbacks)
{
  const int n_img = (lh / 2) * (lw / 2);
  const int n_txt = (int) prompt_embeds->shape[1];
  td_flow_schedule schedule = { 0 };
  td_status st = td_flow_schedule_new (&pipeline->schedule_config, params->steps, n_img, &schedule, ctx->err);
  if (st != TD_OK)
    return st;

  float *img_ids = g_new0 (float, (gsize) n_img * 3);
  float *txt_ids = g_new0 (float, (gsize) n_txt * 3);
  for (int i = 0; i < lh / 2; i++)
    for (int j = 0; j < lw / 2; j++)
      {
        img_ids[(i * (lw / 2) + j) * 3 + 1] = (float) i;
        img_ids[(i * (lw / 2) + j) * 3 + 2] = (float) j;
      }
  td_tensor *cos = NULL, *sin = NULL;
  st = td_flux_dit_rope (pipeline->transformer, txt_ids, n_txt, img_ids, n_img, &cos, &sin, ctx->err);
  g_free (img_ids);
  g_free (txt_ids);

  stage (callbacks, "denoising");
  for (int i = 0; st == TD_OK && i < params->steps; i++)
    {
      if (cancelled (callbacks))
        {
          st = td_error_set (ctx->err, TD_ERR_CANCELLED, "cancelled at step %d of %d", i + 1, params->steps);
          break;
        }
      /* The pipeline hands the model t / 1000; the model scales back by 1000. */
      float t = schedule.timesteps[i] / 1000.0f;
      td_tensor *v = transformer_step (pipeline, ctx, latents, prompt_embeds, pooled, t, params->guidance, cos, sin,
                                       streamed);
      if (v == NULL)
        {
          st = ctx->err ? ctx->err->status : TD_ERR_DEVICE;
          break;
        }
      send_preview (pipeline, ctx, callbacks, latents, v, schedule.sigmas[i], lh, lw, i + 1, params->steps);
      /* Euler: latents += (σ_next − σ) · v */
      td_layer_scale_ (ctx, v, schedule.sigmas[i + 1] - schedule.sigmas[i], 0.0f);
      td_layer_add_ (ctx, latents, v);
      td_tensor_free (v);
      st = ctx->status;
      if (st == TD_OK)
        st = td_backend_sync (pipeline->backend, ctx->err);
      if (st == TD_OK && callbacks != NULL && callbacks->step != NULL)
        callbacks->step (callbacks->user, i + 1, params->steps, latents);
    }
  td_tensor_free (cos);
  td_tensor_free (sin);
  td_flow_schedule_clear (&schedule);
  /* The recorded step and its arena would only sit beside the decoder. */
  td_backend_capture_drop (pipeline->backend);
  return st;
}

/* Packed latents [1, N, 64] → VAE input [1, 16, h, w] / scaling + shift, on the device. */
static td_tensor *
latents_for_vae (td_layer_ctx *ctx, const td_tensor *packed, int lh, int lw, const td_vae_config *vae)
{
  const int64_t blocks[5] = { lh / 2, lw / 2, TD_FLUX_LATENT_CHANNELS, 2, 2 };
  static const int to_planar[5] = { 2, 0, 3, 1, 4 }; /* → [16, h/2, 2, w/2, 2] */
  td_tensor *view = td_layer_reshape (ctx, packed, 5, blocks);
  td_tensor *permuted = view ? td_tensor_permute (view, to_planar, ctx->err) : NULL;
  td_tensor *planar = td_layer_contiguous (ctx, permuted);
  td_tensor_free (permuted);
  td_tensor_free (view);
  const int64_t image_shape[4] = { 1, TD_FLUX_LATENT_CHANNELS, lh, lw };
  td_tensor *z = td_layer_reshape (ctx, planar, 4, image_shape);
  td_tensor_free (planar);
  return td_layer_scale_ (ctx, z, 1.0f / vae->scaling_factor, vae->shift_factor);
}

/* Under a memory cap, tiles small enough for the plan to fit next to what is held
 * (the largest power-of-two fraction of the configured tile, 8 latents at least). */
static td_vae_tiling
tiling_under_cap (td_flux_pipeline *pipeline, int lh, int lw)
{
  td_vae_tiling tiling = pipeline->vae_tiling;
  size_t budget = td_backend_budget (pipeline->backend), held = 0;
  const int scale = td_flux_vae_scale_factor (pipeline->vae);
  const td_vae_config *config = td_flux_vae_config (pipeline->vae);
  td_backend_memory (pipeline->backend, &held, NULL);
  if (budget == 0 || held + td_plan_vae_run_bytes (config, lw * scale, lh * scale) <= budget)
    return tiling;
  int tile = tiling.tile;
  while (tile > 8 && held + td_plan_vae_run_bytes (config, tile * scale, tile * scale) > budget)
    tile /= 2;
  tiling.tile = tile;
  tiling.overlap = tile / 4;
  tiling.threshold = 0;
  return tiling;
}

static td_tensor *
decode (td_flux_pipeline *pipeline, td_layer_ctx *ctx, const td_tensor *latents, int lh, int lw)
{
  td_tensor *z = latents_for_vae (ctx, latents, lh, lw, td_flux_vae_config (pipeline->vae));
  td_tensor *decoded = NULL;
  const td_vae_tiling tiling = tiling_under_cap (pipeline, lh, lw);
  /* Large latents in tiles, so the decoder's activations stay tile-sized (a host tensor comes back). */
  if (td_layer_ok (ctx) && td_vae_tiling_needed (&tiling, lh, lw))
    decoded = td_flux_vae_decode_tiled (pipeline->vae, z, &tiling, NULL, ctx->err);
  else if (td_layer_ok (ctx))
    decoded = td_flux_vae_decode (pipeline->vae, z, ctx->err);
  td_tensor_free (z);
  if (decoded == NULL)
    {
      td_layer_fail (ctx, ctx->err ? ctx->err->status : TD_ERR_DEVICE);
      return NULL;
    }
  float *pixels = td_layer_read_f32 (ctx, decoded);
  td_tensor *image = pixels ? td_tensor_new (NULL, TD_F32, 4, decoded->shape, ctx->err) : NULL;
  td_tensor_free (decoded);
  if (image == NULL)
    {
      free (pixels);
      td_layer_fail (ctx, TD_ERR_NO_MEMORY);
      return NULL;
    }
  /* [-1, 1] → [0, 1], clamped, as the reference post-processing. */
  float *out = td_tensor_host_data (image);
  for (int64_t i = 0; i < td_tensor_numel (image); i++)
    {
      float v = pixels[i] / 2.0f + 0.5f;
      out[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
  free (pixels);
  return image;
}

static td_status
check_params (td_flux_pipeline *pipeline, const td_flux_params *params, int factor, td_error *err)
{
  int multiple = factor * 2;
  if (params->width < multiple || params->height < multiple || params->width % multiple || params->height % multiple
      || params->width > 4096 || params->height > 4096)
    return td_error_set (err, TD_ERR_INVALID_ARG, "the image size %d×%d must be multiples of %d up to 4096",
                         params->width, params->height, multiple);
  if (params->steps < 1 || params->steps > 1000)
    return td_error_set (err, TD_ERR_INVALID_ARG, "steps must be 1..1000, not %d", params->steps);
  return TD_OK;
}

/* Under a memory cap, the transformer keeps as many blocks resident as fit beside
 * what is already held and streams the others; returns the resident count. */
static int
choose_streaming (td_flux_pipeline *pipeline, const td_flux_params *params, int64_t text_tokens)
{
  if (!td_stream_capped (pipeline->backend))
    {
      td_flux_dit_set_resident_blocks (pipeline->transformer, TD_BLOCKS_ALL);
      return TD_BLOCKS_ALL;
    }
  td_dtype dtype = td_flux_dit_stored_dtype (pipeline->transformer);
  td_plan_format format = TD_PLAN_BF16;
  if (!td_plan_format_of_dtype (dtype, &format))
    format = TD_PLAN_BF16;
  td_plan_stage plan = td_plan_flux_stage (td_flux_dit_config (pipeline->transformer), params->width, params->height,
                                           (int) text_tokens, format);
  int resident = td_stream_choose_resident (pipeline->backend, &plan);
  td_flux_dit_set_resident_blocks (pipeline->transformer, resident);
  return resident;
}

td_status
td_flux_pipeline_generate (td_flux_pipeline *pipeline, const td_tensor *prompt_embeds, const td_tensor *pooled,
                           const td_flux_params *params, const float *noise_packed,
                           const td_flux_callbacks *callbacks, td_tensor **image, td_error *err)
{
  *image = NULL;
  const char *transformer_dir = pipeline->files.transformer, *vae_dir = pipeline->files.vae;
  if (pipeline->vae == NULL)
    {
      stage (callbacks, "loading the VAE");
      if ((pipeline->vae = td_flux_vae_load (vae_dir, pipeline->backend, err)) == NULL)
        return err ? err->status : TD_ERR_IO;
      pipeline->loads++;
    }
  int factor = td_flux_vae_scale_factor (pipeline->vae);
  td_status st = check_params (pipeline, params, factor, err);
  if (st != TD_OK)
    return st;
  if (pipeline->transformer == NULL)
    {
      stage (callbacks, "loading the transformer");
      if ((pipeline->transformer = td_flux_dit_load (transformer_dir, pipeline->backend, err)) == NULL)
        return err ? err->status : TD_ERR_IO;
      pipeline->loads++;
    }
  /* Resident, every model fits beside the others (the engine's plan): no streaming. */
  int resident = TD_BLOCKS_ALL;
  if (!pipeline->resident)
    resident = choose_streaming (pipeline, params, prompt_embeds->shape[1]);
  else
    td_flux_dit_set_resident_blocks (pipeline->transformer, TD_BLOCKS_ALL);
  const bool streamed = resident != TD_BLOCKS_ALL;
  if (streamed)
    {
      const td_flux_config *c = td_flux_dit_config (pipeline->transformer);
      g_autofree char *text = g_strdup_printf ("denoising with %d of %d transformer blocks resident, the rest "
                                               "streamed", resident, c->num_layers + c->num_single_layers);
      stage (callbacks, text);
    }

  const int lh = 2 * (params->height / (factor * 2)), lw = 2 * (params->width / (factor * 2));
  const int n_img = (lh / 2) * (lw / 2);
  float *packed = g_new (float, (gsize) n_img * 64);
  if (noise_packed != NULL)
    memcpy (packed, noise_packed, (size_t) n_img * 64 * sizeof *packed);
  else
    {
      float *planar = g_new (float, (gsize) n_img * 64);
      td_gaussian_noise (params->seed, planar, (int64_t) n_img * 64);
      td_flux_pack_latents (planar, lh, lw, packed);
      g_free (planar);
    }
  td_layer_ctx ctx = { .backend = pipeline->backend, .weights = NULL, .err = err };
  const int64_t latent_shape[3] = { 1, n_img, 64 };
  td_tensor *latents = td_layer_from_host (&ctx, TD_F32, 3, latent_shape, packed);
  g_free (packed);
  st = ctx.status;
  if (st == TD_OK)
    st = denoise (pipeline, &ctx, latents, prompt_embeds, pooled, params, lh, lw, streamed, callbacks);

  /* Unless every model fits together, the transformer goes before decoding so only
   * one large model is on the device; a failed run frees it either way. */
  if (!pipeline->resident || st != TD_OK)
    {
      td_flux_dit_free (pipeline->transformer);
      pipeline->transformer = NULL;
    }

  if (st == TD_OK && cancelled (callbacks))
    st = td_error_set (err, TD_ERR_CANCELLED, "cancelled before decoding");
  if (st == TD_OK)
    {
      stage (callbacks, "decoding");
      td_flux_vae_set_cancel (pipeline->vae, callbacks != NULL ? callbacks->cancel : NULL);
      *image = decode (pipeline, &ctx, latents, lh, lw);
      td_flux_vae_set_cancel (pipeline->vae, NULL);
      st = ctx.status;
    }
  td_tensor_free (latents);
  return st;
}
