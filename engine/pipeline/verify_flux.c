/* verify_flux.c — `thinkdiff verify` components for FLUX: transformer, VAE, pipeline.
 * The model folder is the one holding model_index.json. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "models/flux_dit.h"
#include "models/flux_vae.h"
#include "pipeline/flow_scheduler.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/verify.h"

static td_status
run_transformer (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                 td_error *err)
{
  g_autofree char *dir = g_build_filename (model_dir, "transformer", NULL);
  td_flux_dit *model = td_flux_dit_load (dir, backend, err);
  if (model == NULL)
    return err->status;
  int64_t n_img = 0, n_txt = 0;
  td_tensor *latents = td_verify_io_tensor (io, "noise_packed", backend, err);
  td_tensor *txt = latents ? td_verify_io_tensor (io, "prompt_embeds", backend, err) : NULL;
  td_tensor *pooled = txt ? td_verify_io_tensor (io, "pooled_prompt_embeds", backend, err) : NULL;
  float *img_ids = pooled ? td_verify_io_floats (io, "img_ids", &n_img, err) : NULL;
  float *txt_ids = img_ids ? td_verify_io_floats (io, "txt_ids", &n_txt, err) : NULL;
  td_tensor *cos = NULL, *sin = NULL, *out = NULL;
  td_status st = txt_ids ? td_flux_dit_rope (model, txt_ids, (int) (n_txt / 3), img_ids, (int) (n_img / 3), &cos,
                                             &sin, err)
                         : err->status;
  if (st == TD_OK)
    {
      out = td_flux_dit_forward (model, latents, txt, pooled, 0.73f, 3.5f, cos, sin, err);
      st = out ? td_backend_sync (backend, err) : err->status;
    }
  if (out != NULL)
    td_verify_outputs_add (outputs, "transformer_out_t0.73_g3.5", out);
  td_tensor_free (cos);
  td_tensor_free (sin);
  free (img_ids);
  free (txt_ids);
  td_tensor_free (latents);
  td_tensor_free (txt);
  td_tensor_free (pooled);
  td_flux_dit_free (model);
  return st;
}

static td_status
run_vae (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs, td_error *err)
{
  g_autofree char *dir = g_build_filename (model_dir, "vae", NULL);
  td_flux_vae *vae = td_flux_vae_load (dir, backend, err);
  if (vae == NULL)
    return err->status;
  td_tensor *z = td_verify_io_tensor (io, "vae_decode_in", backend, err);
  td_tensor *decoded = z ? td_flux_vae_decode (vae, z, err) : NULL;
  td_status st = decoded ? TD_OK : err->status;
  /* The reference encodes the decoded image clamped to [-1, 1]. */
  td_tensor *mean = NULL;
  if (st == TD_OK)
    {
      float *pixels = NULL;
      if ((st = td_backend_sync (backend, err)) == TD_OK && (pixels = td_tensor_to_f32 (decoded, err)) != NULL)
        {
          for (int64_t i = 0; i < td_tensor_numel (decoded); i++)
            pixels[i] = pixels[i] < -1.0f ? -1.0f : pixels[i] > 1.0f ? 1.0f : pixels[i];
          td_tensor *clamped = td_tensor_new (backend, TD_F32, decoded->ndim, decoded->shape, err);
          if (clamped != NULL && td_tensor_upload (clamped, pixels, td_tensor_nbytes (clamped), err) == TD_OK)
            mean = td_flux_vae_encode_mean (vae, clamped, err);
          td_tensor_free (clamped);
          free (pixels);
        }
      st = mean ? td_backend_sync (backend, err) : err->status;
    }
  if (decoded != NULL)
    td_verify_outputs_add (outputs, "vae_decode_out", decoded);
  if (mean != NULL)
    td_verify_outputs_add (outputs, "vae_encode_mean", mean);
  td_tensor_free (z);
  td_flux_vae_free (vae);
  return st;
}

typedef struct {
  td_verify_outputs *outputs;
  td_error *err;
  td_status status;
} pipeline_capture;

static void
capture_step (void *user, int step, int steps, const td_tensor *latents)
{
  pipeline_capture *capture = user;
  char name[64];
  snprintf (name, sizeof name, "latents_after_step_%d", step - 1);
  float *values = td_tensor_to_f32 (latents, capture->err);
  if (values == NULL)
    {
      capture->status = capture->err->status;
      return;
    }
  td_verify_outputs_add_f32 (capture->outputs, name, latents->ndim, latents->shape, values, capture->err);
  free (values);
}

/* The schedule the pipeline steps through for this image size, from the same
 * scheduler_config.json and the same functions flux_pipeline.c calls. */
static td_status
add_schedule (const char *model_dir, int steps, int image_seq_len, td_verify_outputs *outputs, td_error *err)
{
  g_autofree char *path = g_build_filename (model_dir, "scheduler", "scheduler_config.json", NULL);
  td_flow_schedule_config config = td_flow_schedule_config_default ();
  if (g_file_test (path, G_FILE_TEST_EXISTS) && td_flow_schedule_config_load (path, &config, err) != TD_OK)
    return err->status;
  td_flow_schedule schedule = { 0 };
  td_status st = td_flow_schedule_new (&config, steps, image_seq_len, &schedule, err);
  const int64_t n_sigmas = steps + 1, n_timesteps = steps;
  if (st == TD_OK)
    st = td_verify_outputs_add_f32 (outputs, "sigmas", 1, &n_sigmas, schedule.sigmas, err);
  if (st == TD_OK)
    st = td_verify_outputs_add_f32 (outputs, "timesteps", 1, &n_timesteps, schedule.timesteps, err);
  td_flow_schedule_clear (&schedule);
  return st;
}

static td_status
run_pipeline (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
              td_error *err)
{
  td_flux_pipeline *pipeline = td_flux_pipeline_new (model_dir, NULL, backend, err);
  if (pipeline == NULL)
    return err->status;
  td_tensor *txt = td_verify_io_tensor (io, "prompt_embeds", backend, err);
  td_tensor *pooled = txt ? td_verify_io_tensor (io, "pooled_prompt_embeds", backend, err) : NULL;
  float *noise = pooled ? td_verify_io_floats (io, "noise_packed", NULL, err) : NULL;
  /* The image size and step count are the references' shapes; their values are compared. */
  const td_safetensors_info *image_info = td_safetensors_find (io, "image");
  const td_safetensors_info *timesteps_info = td_safetensors_find (io, "timesteps");
  const td_safetensors_info *noise_info = td_safetensors_find (io, "noise_packed");
  td_status st = noise ? TD_OK : err->status;
  if (st == TD_OK && (noise_info->ndim != 3 || image_info == NULL || image_info->ndim != 4 || timesteps_info == NULL
                      || timesteps_info->ndim != 1 || timesteps_info->shape[0] < 1))
    st = td_error_set (err, TD_ERR_FORMAT,
                       "the io file needs noise_packed [1, N, C], image [1, 3, H, W] and timesteps [steps]");
  if (st == TD_OK)
    {
      td_flux_params params = {
        .width = (int) image_info->shape[3],
        .height = (int) image_info->shape[2],
        .steps = (int) timesteps_info->shape[0],
        .guidance = 3.5f,
        .seed = 0,
      };
      pipeline_capture capture = { outputs, err, TD_OK };
      td_flux_callbacks callbacks = { .step = capture_step, .user = &capture };
      td_tensor *image = NULL;
      st = td_flux_pipeline_generate (pipeline, txt, pooled, &params, noise, &callbacks, &image, err);
      if (st == TD_OK)
        st = capture.status;
      if (image != NULL)
        td_verify_outputs_add (outputs, "image", image);
      if (st == TD_OK)
        st = add_schedule (model_dir, params.steps, (int) noise_info->shape[1], outputs, err);
    }
  free (noise);
  td_tensor_free (txt);
  td_tensor_free (pooled);
  td_flux_pipeline_free (pipeline);
  return st;
}

/* The three components share the golden's io file. */
static const char *const transformer_inputs[] = {
  "noise_packed", "prompt_embeds", "pooled_prompt_embeds", "img_ids", "txt_ids", NULL,
};
static const char *const vae_inputs[] = { "vae_decode_in", NULL };
static const char *const pipeline_inputs[] = { "noise_packed", "prompt_embeds", "pooled_prompt_embeds", NULL };

static const td_verify_elsewhere not_transformer[] = {
  { "image", "flux-pipeline" },          { "latents_after_step_*", "flux-pipeline" },
  { "sigmas", "flux-pipeline" },         { "timesteps", "flux-pipeline" },
  { "vae_decode_in", "flux-vae" },       { "vae_decode_out", "flux-vae" },
  { "vae_encode_mean", "flux-vae" },     { NULL, NULL },
};
static const td_verify_elsewhere not_vae[] = {
  { "noise_packed", "flux-transformer" },    { "prompt_embeds", "flux-transformer" },
  { "pooled_prompt_embeds", "flux-transformer" }, { "img_ids", "flux-transformer" },
  { "txt_ids", "flux-transformer" },         { "transformer_out_*", "flux-transformer" },
  { "image", "flux-pipeline" },              { "latents_after_step_*", "flux-pipeline" },
  { "sigmas", "flux-pipeline" },             { "timesteps", "flux-pipeline" },
  { NULL, NULL },
};
static const td_verify_elsewhere not_pipeline[] = {
  { "img_ids", "flux-transformer" },   { "txt_ids", "flux-transformer" },
  { "transformer_out_*", "flux-transformer" }, { "vae_decode_in", "flux-vae" },
  { "vae_decode_out", "flux-vae" },    { "vae_encode_mean", "flux-vae" },
  { NULL, NULL },
};

const td_verify_component td_verify_flux_transformer = {
  .name = "flux-transformer",
  .summary = "FLUX transformer, one call at t = 0.73, guidance 3.5",
  .run = run_transformer,
  .weights_dir = "transformer",
  .inputs = transformer_inputs,
  .f16_tolerance = 1e-4,
  .elsewhere = not_transformer,
};

const td_verify_component td_verify_flux_vae = {
  .name = "flux-vae",
  .summary = "FLUX VAE decode, and encode (mean) of the clamped decoded image",
  .run = run_vae,
  .weights_dir = "vae",
  .inputs = vae_inputs,
  .f16_tolerance = 2e-4,
  .elsewhere = not_vae,
};

const td_verify_component td_verify_flux_pipeline = {
  .name = "flux-pipeline",
  .summary = "FLUX text-to-image from given noise and embeddings: schedule, per-step latents and the image",
  .run = run_pipeline,
  .inputs = pipeline_inputs,
  .f16_tolerance = 5e-5,
  .elsewhere = not_pipeline,
};
