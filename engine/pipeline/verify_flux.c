/* verify_flux.c — `thinkdiff verify` components for FLUX: transformer, VAE, pipeline.
 * The model folder is the one holding model_index.json. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "models/flux_dit.h"
#include "models/flux_vae.h"
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

static td_status
run_pipeline (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
              td_error *err)
{
  td_flux_pipeline *pipeline = td_flux_pipeline_new (model_dir, backend, err);
  if (pipeline == NULL)
    return err->status;
  int64_t n_noise = 0;
  td_tensor *txt = td_verify_io_tensor (io, "prompt_embeds", backend, err);
  td_tensor *pooled = txt ? td_verify_io_tensor (io, "pooled_prompt_embeds", backend, err) : NULL;
  float *noise = pooled ? td_verify_io_floats (io, "noise_packed", &n_noise, err) : NULL;
  td_tensor *reference_image = noise ? td_safetensors_tensor (io, "image", err) : NULL;
  td_tensor *sigmas = reference_image ? td_safetensors_tensor (io, "sigmas", err) : NULL;
  td_status st = sigmas ? TD_OK : err->status;
  if (st == TD_OK)
    {
      td_flux_params params = {
        .width = (int) reference_image->shape[3],
        .height = (int) reference_image->shape[2],
        .steps = (int) sigmas->shape[0] - 1,
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
    }
  td_tensor_free (sigmas);
  td_tensor_free (reference_image);
  free (noise);
  td_tensor_free (txt);
  td_tensor_free (pooled);
  td_flux_pipeline_free (pipeline);
  return st;
}

const td_verify_component td_verify_flux_transformer = {
  "flux-transformer", "FLUX transformer, one call at t = 0.73, guidance 3.5", 0, run_transformer,
};

const td_verify_component td_verify_flux_vae = {
  "flux-vae", "FLUX VAE decode, and encode (mean) of the clamped decoded image", 0, run_vae,
};

const td_verify_component td_verify_flux_pipeline = {
  "flux-pipeline", "FLUX text-to-image from given noise and embeddings: per-step latents and the image", 0,
  run_pipeline,
};
