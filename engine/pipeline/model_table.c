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
extern const td_verify_component td_verify_qwen2vl_f16_cache;
extern const td_verify_component td_verify_thinkdiff_lvlm;
extern const td_verify_component td_verify_thinkdiff_clip;
extern const td_verify_component td_verify_gguf_matmul;

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

#define COMPONENTS(...) (const td_verify_component *const[]) { __VA_ARGS__, NULL }
#define IO_FILES(...) (const char *const[]) { __VA_ARGS__, NULL }

static const td_model_entry flux = {
  "flux", "flux", NULL,
  COMPONENTS (&td_verify_flux_transformer, &td_verify_flux_vae, &td_verify_flux_pipeline),
  td_demo_write_flux,
};
static const td_model_entry t5 = {
  "t5", "t5_encoder", NULL, COMPONENTS (&td_verify_t5_encoder), NULL,
};
static const td_model_entry clip_text = {
  "clip-text", "clip_text", NULL, COMPONENTS (&td_verify_clip_text), NULL,
};
static const td_model_entry blip2_vision = {
  "blip2-vision", "blip2_vision", NULL, COMPONENTS (&td_verify_eva_vision), write_blip2_vision,
};
/* The CLIP-mode conditioning end to end: the aligner on BLIP-2 tokens, then T5. */
static const td_model_entry clip_aligner = {
  "thinkdiff-clip", "thinkdiff_clip", IO_FILES ("io.safetensors", "text.safetensors"),
  COMPONENTS (&td_verify_thinkdiff_clip), write_clip_aligner,
};
static const td_model_entry qwen2vl = {
  "qwen2-vl", "qwen2_vl", NULL, COMPONENTS (&td_verify_qwen2vl, &td_verify_qwen2vl_f16_cache), td_demo_write_qwen2vl,
};
/* The LVLM-mode conditioning end to end: the thought, then the aligner on its states. */
static const td_model_entry lvlm_aligner = {
  "thinkdiff-lvlm", "thinkdiff_lvlm", IO_FILES ("io.safetensors", "single.safetensors"),
  COMPONENTS (&td_verify_thinkdiff_lvlm), write_lvlm_aligner,
};
static const td_model_entry taesd = {
  "taesd", "taef2", NULL, COMPONENTS (&td_verify_taesd), NULL,
};
/* Not a model: the quantised matmuls against ggml's own dequantisation. */
static const td_model_entry gguf = {
  "gguf", "gguf", IO_FILES ("types_ref.safetensors"), COMPONENTS (&td_verify_gguf_matmul), NULL,
};

const td_model_entry *const td_model_table[] = {
  &flux, &t5, &clip_text, &blip2_vision, &clip_aligner, &qwen2vl, &lvlm_aligner, &taesd, &gguf, NULL,
};

const char *const *
td_model_entry_io (const td_model_entry *entry)
{
  static const char *const io_alone[] = { TD_MODEL_GOLDEN_IO, NULL };
  return entry->io != NULL ? entry->io : io_alone;
}
