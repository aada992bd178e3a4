/* verify_text.c — `thinkdiff verify` components for the text encoders. */
#include <stdlib.h>

#include "models/clip_text.h"
#include "models/t5_encoder.h"
#include "pipeline/verify.h"

/* The io tensor "input_ids" [1, n] as int32 host values (free()). */
static int32_t *
read_ids (td_safetensors *io, int *n, td_error *err)
{
  int64_t count = 0;
  int32_t *ids = td_verify_io_ints (io, "input_ids", &count, err);
  *n = (int) count;
  return ids;
}

static td_status
run_t5 (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs, td_error *err)
{
  int n = 0;
  int32_t *ids = read_ids (io, &n, err);
  if (ids == NULL)
    return err->status;
  td_t5_encoder *encoder = td_t5_encoder_load (model_dir, backend, err);
  td_tensor *hidden = encoder ? td_t5_encoder_forward (encoder, ids, n, err) : NULL;
  free (ids);
  td_status st = hidden != NULL ? td_backend_sync (backend, err) : err->status;
  if (hidden != NULL)
    td_verify_outputs_add (outputs, "last_hidden_state", hidden);
  td_t5_encoder_free (encoder);
  return st;
}

static td_status
run_clip (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
          td_error *err)
{
  int n = 0;
  int32_t *ids = read_ids (io, &n, err);
  if (ids == NULL)
    return err->status;
  td_clip_text *model = td_clip_text_load (model_dir, backend, err);
  td_tensor *hidden = NULL, *pooled = NULL;
  td_status st = model ? td_clip_text_forward (model, ids, n, &hidden, &pooled, err) : err->status;
  free (ids);
  if (st == TD_OK)
    st = td_backend_sync (backend, err);
  if (hidden != NULL)
    td_verify_outputs_add (outputs, "last_hidden_state", hidden);
  if (pooled != NULL)
    td_verify_outputs_add (outputs, "pooler_output", pooled);
  td_clip_text_free (model);
  return st;
}

static const char *const text_inputs[] = { "input_ids", NULL };

const td_verify_component td_verify_t5_encoder = {
  .name = "t5-encoder",
  .summary = "T5 v1.1 encoder (FLUX text_encoder_2): input_ids → last_hidden_state",
  .run = run_t5,
  .weights_dir = "",
  .inputs = text_inputs,
  .f16_tolerance = 2e-3,
};

const td_verify_component td_verify_clip_text = {
  .name = "clip-text",
  .summary = "CLIP text encoder (FLUX text_encoder): input_ids → last_hidden_state, pooler_output",
  .run = run_clip,
  .weights_dir = "",
  .inputs = text_inputs,
  .f16_tolerance = 2e-3,
};
