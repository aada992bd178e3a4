/* verify_qwen2vl.c — `thinkdiff verify` component for Qwen2-VL: image preprocessing,
 * a forward pass with one image, and greedy decoding with the key/value cache.
 * `thought_hidden` holds the states the tokens were picked from (the last prompt
 * position, then generated tokens 1 … n−1), `generated_hidden` those of the generated
 * tokens 1 … n; the ThinkDiff-LVLM aligner (bf16 weights beside the model) maps
 * thought_hidden to `aligned`. */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "models/aligner.h"
#include "models/layers.h"
#include "models/qwen2vl.h"
#include "models/qwen2vl_image.h"
#include "pipeline/verify.h"

/* The processor settings the golden was made with, when its folder has no preprocessor_config.json. */
#define GOLDEN_MIN_PIXELS (56 * 56)
#define GOLDEN_MAX_PIXELS (28 * 28 * 64)

/* image_uint8_hwc → pixel_values (uploaded to the backend) and the grid; both are outputs. */
static td_tensor *
preprocess (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs, int grid[3],
            td_error *err)
{
  g_autofree char *preprocessor = g_build_filename (model_dir, "preprocessor_config.json", NULL);
  const bool has_preprocessor_config = g_file_test (preprocessor, G_FILE_TEST_EXISTS);
  td_tensor *image = td_safetensors_tensor (io, "image_uint8_hwc", err);
  if (image == NULL)
    return NULL;
  td_tensor *pixels = NULL;
  float *values = NULL;
  if (image->dtype != TD_U8 || image->ndim != 3 || image->shape[2] != 3 || !td_tensor_is_contiguous (image))
    {
      td_error_set (err, TD_ERR_FORMAT, "image_uint8_hwc should be u8 [H, W, 3]");
      goto out;
    }
  td_qwen2vl_image_params params;
  if (has_preprocessor_config)
    {
      if (td_qwen2vl_image_params_read (model_dir, &params, err) != TD_OK)
        goto out;
    }
  else
    {
      td_qwen2vl_image_params_default (&params);
      params.min_pixels = GOLDEN_MIN_PIXELS;
      params.max_pixels = GOLDEN_MAX_PIXELS;
    }
  if (td_qwen2vl_image_preprocess (td_tensor_host_data (image), (int) image->shape[0], (int) image->shape[1],
                                   &params, &values, grid, err) != TD_OK)
    goto out;
  const int64_t shape[2] = { (int64_t) grid[0] * grid[1] * grid[2],
                             (int64_t) 3 * params.temporal_patch_size * params.patch_size * params.patch_size };
  const int64_t grid_shape[2] = { 1, 3 };
  const float grid_values[3] = { (float) grid[0], (float) grid[1], (float) grid[2] };
  if (td_verify_outputs_add_f32 (outputs, "pixel_values", 2, shape, values, err) != TD_OK
      || td_verify_outputs_add_f32 (outputs, "image_grid_thw", 2, grid_shape, grid_values, err) != TD_OK)
    goto out;
  pixels = td_tensor_new (backend, TD_F32, 2, shape, err);
  if (pixels != NULL && td_tensor_upload (pixels, values, td_tensor_nbytes (pixels), err) != TD_OK)
    {
      td_tensor_free (pixels);
      pixels = NULL;
    }
out:
  free (values);
  td_tensor_free (image);
  return pixels;
}

/* generated_hidden: rows 1 … n−1 of thought_hidden, then the last token fed back. */
static td_tensor *
generated_hidden (td_qwen2vl_session *session, const td_tensor *thought_hidden, int32_t last_token, td_error *err)
{
  td_backend *backend = td_tensor_backend (thought_hidden);
  td_layer_ctx ctx = { .backend = backend, .err = err };
  int64_t n = thought_hidden->shape[1];
  td_tensor *tail = td_qwen2vl_session_append (session, &last_token, NULL, 1, err);
  if (tail == NULL || n == 1)
    return tail;
  td_tensor *head = td_tensor_slice (thought_hidden, 1, 1, n - 1, err);
  td_tensor *joined = head ? td_layer_concat (&ctx, head, tail, 1) : NULL;
  td_tensor_free (head);
  td_tensor_free (tail);
  return joined;
}

/* Greedy decoding of as many tokens as the golden holds, from the prefill's hidden states. */
static td_status
decode (const char *model_dir, td_qwen2vl_session *session, const td_tensor *hidden, const int32_t *prompt,
        int n_prompt, int n_total, td_verify_outputs *outputs, td_error *err)
{
  const int n_gen = n_total - n_prompt;
  if (n_gen < 1)
    return td_error_set (err, TD_ERR_FORMAT, "generated_ids holds no generated tokens");
  int32_t *ids = malloc ((size_t) n_total * sizeof *ids);
  float *as_float = malloc ((size_t) n_total * sizeof *as_float);
  td_status st = ids && as_float ? TD_OK : td_error_set (err, TD_ERR_NO_MEMORY, "out of memory");
  td_tensor *thought_hidden = NULL, *generated = NULL;
  int count = 0;
  if (st == TD_OK)
    {
      memcpy (ids, prompt, (size_t) n_prompt * sizeof *ids);
      td_qwen2vl_generate_params params = {
        .max_new_tokens = n_gen, .temperature = 0.0f, .top_p = 1.0f, .ignore_eos = true,
      };
      st = td_qwen2vl_generate (session, hidden, &params, ids + n_prompt, &count, &thought_hidden, err);
    }
  if (st == TD_OK)
    {
      for (int i = 0; i < n_total; i++)
        as_float[i] = (float) ids[i];
      const int64_t shape[2] = { 1, n_total };
      st = td_verify_outputs_add_f32 (outputs, "generated_ids", 2, shape, as_float, err);
    }
  if (st == TD_OK && (generated = generated_hidden (session, thought_hidden, ids[n_total - 1], err)) == NULL)
    st = err->status;
  if (thought_hidden != NULL)
    {
      /* The aligner's bf16 weights, in f32 as the reference applies them. */
      g_autofree char *path = g_build_filename (model_dir, "thinkdiff_lvlm_aligner.pth", NULL);
      td_aligner *aligner = st == TD_OK ? td_aligner_load (path, td_tensor_backend (thought_hidden), err) : NULL;
      td_tensor *aligned = aligner ? td_aligner_forward (aligner, thought_hidden, err) : NULL;
      if (st == TD_OK && aligned == NULL)
        st = err->status;
      td_aligner_free (aligner);
      td_verify_outputs_add (outputs, "thought_hidden", thought_hidden);
      if (aligned != NULL)
        td_verify_outputs_add (outputs, "aligned", aligned);
    }
  if (generated != NULL)
    td_verify_outputs_add (outputs, "generated_hidden", generated);
  free (ids);
  free (as_float);
  return st;
}

static td_status
run_with_cache (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                td_dtype cache_dtype, td_error *err)
{
  int64_t n_prompt = 0, n_total = 0;
  int32_t *prompt = td_verify_io_ints (io, "input_ids", &n_prompt, err);
  int32_t *reference_ids = prompt ? td_verify_io_ints (io, "generated_ids", &n_total, err) : NULL;
  if (reference_ids == NULL)
    {
      free (prompt);
      return err->status;
    }
  free (reference_ids); /* only its length is used: the tokens are what we compare */

  int grid[3] = { 0, 0, 0 };
  td_qwen2vl *model = td_qwen2vl_load (model_dir, backend, err);
  td_tensor *pixels = model ? preprocess (model_dir, io, backend, outputs, grid, err) : NULL;
  const int grids[1][3] = { { grid[0], grid[1], grid[2] } };
  td_tensor *features = pixels ? td_qwen2vl_encode_images (model, pixels, grids, 1, err) : NULL;
  td_qwen2vl_session *session = features ? td_qwen2vl_session_new_cache (model, (int) n_total + 1, cache_dtype, err)
                                         : NULL;
  td_tensor *hidden = session ? td_qwen2vl_session_prefill (session, prompt, (int) n_prompt, features, grids, 1, err)
                              : NULL;
  td_tensor *logits = hidden ? td_qwen2vl_logits (model, hidden, err) : NULL;
  td_status st = logits ? td_backend_sync (backend, err) : err->status;
  if (st == TD_OK)
    st = decode (model_dir, session, hidden, prompt, (int) n_prompt, (int) n_total, outputs, err);
  if (st == TD_OK)
    st = td_backend_sync (backend, err);
  if (hidden != NULL)
    td_verify_outputs_add (outputs, "last_hidden_state", hidden);
  if (logits != NULL)
    td_verify_outputs_add (outputs, "logits", logits);
  td_qwen2vl_session_free (session);
  td_tensor_free (features);
  td_tensor_free (pixels);
  td_qwen2vl_free (model);
  free (prompt);
  return st;
}

static td_status
run_qwen2vl (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
             td_error *err)
{
  return run_with_cache (model_dir, io, backend, outputs, TD_F32, err);
}

static td_status
run_qwen2vl_f16_cache (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                       td_error *err)
{
  return run_with_cache (model_dir, io, backend, outputs, TD_F16, err);
}

/* generated_ids is also an output: only its length is read, the tokens are compared. */
static const char *const qwen2vl_inputs[] = { "input_ids", "image_uint8_hwc", "generated_ids", NULL };

const td_verify_component td_verify_qwen2vl = {
  .name = "qwen2-vl",
  .summary = "Qwen2-VL: image preprocessing, forward logits and hidden states, greedy decoding with the "
             "key/value cache, the thought's hidden states through the ThinkDiff-LVLM aligner",
  .run = run_qwen2vl,
  .weights_dir = "",
  .inputs = qwen2vl_inputs,
  .f16_tolerance = 2e-3,
};

/* The same with the key/value cache in f16, as generation keeps it: keys and values
 * rounded to 11 bits put every later output within 2.3e-4 of the golden on the CPU
 * and on lavapipe (the greedy tokens unchanged), within 3.5e-4 with the fast paths
 * emulated; the tolerances are about four times those (docs/precision.md). */
const td_verify_component td_verify_qwen2vl_f16_cache = {
  .name = "qwen2-vl-f16-cache",
  .summary = "Qwen2-VL as qwen2-vl, with the key/value cache in f16 as generation keeps it",
  .tolerance = 1e-3,
  .run = run_qwen2vl_f16_cache,
  .inputs = qwen2vl_inputs,
  .f16_tolerance = 2e-3,
};
