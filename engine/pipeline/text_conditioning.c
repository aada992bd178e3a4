#include "pipeline/text_conditioning.h"

#include <glib.h>
#include <string.h>

#include "models/clip_text.h"
#include "models/t5_encoder.h"
#include "pipeline/flux_files.h"
#include "pipeline/stream_choice.h"
#include "text/tokenizer.h"

struct td_text_encoders {
  td_flux_files files;
  td_backend *backend;
  td_tokenizer *t5_tokenizer;
  td_tokenizer *clip_tokenizer;
  td_t5_encoder *t5;
  td_clip_text *clip;
  int loads;
  bool resident;
};

void
td_text_encoders_set_resident (td_text_encoders *encoders, bool resident)
{
  encoders->resident = resident;
}

td_text_encoders *
td_text_encoders_new (const char *flux_dir, const td_weight_files *chosen, td_backend *backend, td_error *err)
{
  td_flux_files files;
  if (td_flux_files_find_chosen (flux_dir, chosen, &files, err) != TD_OK)
    return NULL;
  td_text_encoders *encoders = g_new0 (td_text_encoders, 1);
  encoders->files = files;
  encoders->backend = backend;
  if (td_tokenizer_load (files.t5_tokenizer, &encoders->t5_tokenizer, err) != TD_OK
      || td_tokenizer_load (files.clip_tokenizer, &encoders->clip_tokenizer, err) != TD_OK)
    {
      td_text_encoders_free (encoders);
      return NULL;
    }
  return encoders;
}

void
td_text_encoders_set_cancel (td_text_encoders *encoders, const volatile int *cancel)
{
  td_tokenizer_set_cancel (encoders->t5_tokenizer, cancel);
  td_tokenizer_set_cancel (encoders->clip_tokenizer, cancel);
}

void
td_text_encoders_release (td_text_encoders *encoders)
{
  td_t5_encoder_free (encoders->t5);
  td_clip_text_free (encoders->clip);
  encoders->t5 = NULL;
  encoders->clip = NULL;
}

int
td_text_encoders_loads (const td_text_encoders *encoders)
{
  return encoders->loads;
}

void
td_text_encoders_free (td_text_encoders *encoders)
{
  if (encoders == NULL)
    return;
  td_text_encoders_release (encoders);
  td_tokenizer_free (encoders->t5_tokenizer);
  td_tokenizer_free (encoders->clip_tokenizer);
  td_flux_files_clear (&encoders->files);
  g_free (encoders);
}

td_tensor *
td_text_encode_t5 (td_text_encoders *encoders, const char *text, int max_length, int32_t *ids_out, td_error *err)
{
  if (max_length < 1 || max_length > 4096)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "T5 max length %d is outside 1..4096", max_length);
      return NULL;
    }
  if (encoders->t5 == NULL)
    {
      if ((encoders->t5 = td_t5_encoder_load (encoders->files.t5, encoders->backend, err)) == NULL)
        return NULL;
      encoders->loads++;
    }
  int32_t *ids = g_new (int32_t, max_length);
  td_tensor *out = NULL;
  /* Under a memory cap, the encoder keeps what fits beside CLIP-L and streams the rest. */
  int resident = TD_BLOCKS_ALL;
  if (!encoders->resident && td_stream_capped (encoders->backend))
    {
      td_plan_format format = td_stream_weight_format (td_t5_encoder_weights (encoders->t5),
                                                       "encoder.block.0.layer.1.DenseReluDense.wo.weight");
      td_plan_stage plan = td_plan_t5_stage (td_t5_encoder_config (encoders->t5), max_length, format);
      resident = td_stream_choose_resident (encoders->backend, &plan);
    }
  td_t5_encoder_set_resident_blocks (encoders->t5, resident);
  if (td_tokenizer_encode_padded (encoders->t5_tokenizer, text, true, (size_t) max_length, ids, NULL, err) == TD_OK)
    out = td_t5_encoder_forward (encoders->t5, ids, max_length, err);
  if (out != NULL && ids_out != NULL)
    memcpy (ids_out, ids, (size_t) max_length * sizeof *ids);
  g_free (ids);
  return out;
}

td_tensor *
td_text_encode_clip_pooled (td_text_encoders *encoders, const char *text, int32_t *ids_out, td_error *err)
{
  if (encoders->clip == NULL)
    {
      if ((encoders->clip = td_clip_text_load (encoders->files.clip, encoders->backend, err)) == NULL)
        return NULL;
      encoders->loads++;
    }
  int32_t ids[TD_CLIP_MAX_LENGTH];
  td_tensor *hidden = NULL, *pooled = NULL;
  if (td_tokenizer_encode_padded (encoders->clip_tokenizer, text, true, TD_CLIP_MAX_LENGTH, ids, NULL, err) != TD_OK)
    return NULL;
  if (td_clip_text_forward (encoders->clip, ids, TD_CLIP_MAX_LENGTH, &hidden, &pooled, err) != TD_OK)
    return NULL;
  td_tensor_free (hidden);
  if (ids_out != NULL)
    memcpy (ids_out, ids, sizeof ids);
  return pooled;
}
