/* model_table.c — the models the engine knows, one entry each (see model_table.h).
 * Adding a model: define its verify component next to its verify code
 * (verify_<model>.c), its demo writer in demo_models_<area>.c, and add one
 * entry here; the README's "Adding a model" section has the whole path. */
#include "pipeline/model_table.h"

#include "pipeline/demo_models_private.h"

extern const td_verify_component td_verify_t5_encoder;
extern const td_verify_component td_verify_clip_text;
extern const td_verify_component td_verify_flux_transformer;
extern const td_verify_component td_verify_flux_vae;
extern const td_verify_component td_verify_flux_pipeline;
extern const td_verify_component td_verify_eva_vision;
extern const td_verify_component td_verify_taesd;
extern const td_verify_component td_verify_qwen2vl;

/* The demo writers that need no tokenizers, with the table's signature. */
static td_status
write_blip2_vision (const char *models_dir, const char *tokenizers_dir, td_error *err)
{
  return td_demo_write_blip2_vision (models_dir, err);
}

static td_status
write_clip_aligner (const char *models_dir, const char *tokenizers_dir, td_error *err)
{
  return td_demo_write_clip_aligner (models_dir, err);
}

static td_status
write_lvlm_aligner (const char *models_dir, const char *tokenizers_dir, td_error *err)
{
  return td_demo_write_lvlm_aligner (models_dir, err);
}

static const td_model_entry flux = {
  "flux", "flux",
  (const td_verify_component *const[]) { &td_verify_flux_transformer, &td_verify_flux_vae,
                                         &td_verify_flux_pipeline, NULL },
  td_demo_write_flux,
};
static const td_model_entry t5 = {
  "t5", "t5_encoder", (const td_verify_component *const[]) { &td_verify_t5_encoder, NULL }, NULL,
};
static const td_model_entry clip_text = {
  "clip-text", "clip_text", (const td_verify_component *const[]) { &td_verify_clip_text, NULL }, NULL,
};
static const td_model_entry blip2_vision = {
  "blip2-vision", "blip2_vision", (const td_verify_component *const[]) { &td_verify_eva_vision, NULL },
  write_blip2_vision,
};
/* Checked with the vision tower's golden (eva-vision runs the aligner too). */
static const td_model_entry clip_aligner = {
  "thinkdiff-clip", NULL, (const td_verify_component *const[]) { NULL }, write_clip_aligner,
};
static const td_model_entry qwen2vl = {
  "qwen2-vl", "qwen2_vl", (const td_verify_component *const[]) { &td_verify_qwen2vl, NULL },
  td_demo_write_qwen2vl,
};
/* Checked with Qwen2-VL's golden (qwen2-vl runs the aligner too). */
static const td_model_entry lvlm_aligner = {
  "thinkdiff-lvlm", NULL, (const td_verify_component *const[]) { NULL }, write_lvlm_aligner,
};
static const td_model_entry taesd = {
  "taesd", "taef2", (const td_verify_component *const[]) { &td_verify_taesd, NULL }, NULL,
};

const td_model_entry *const td_model_table[] = {
  &flux, &t5, &clip_text, &blip2_vision, &clip_aligner, &qwen2vl, &lvlm_aligner, &taesd, NULL,
};
