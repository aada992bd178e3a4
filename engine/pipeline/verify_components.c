/* verify_components.c — the components `thinkdiff verify` knows.
 *
 * One line per component; each model area defines its component next to the
 * model code, e.g. in models/t5.c:
 *   const td_verify_component td_verify_t5_encoder = { "t5_encoder", "T5 encoder", 0, run_t5 };
 * and adds here:
 *   extern const td_verify_component td_verify_t5_encoder;   (above the table)
 *   &td_verify_t5_encoder,                                     (in the table)
 */
#include "pipeline/verify.h"

extern const td_verify_component td_verify_t5_encoder;
extern const td_verify_component td_verify_clip_text;
extern const td_verify_component td_verify_flux_transformer;
extern const td_verify_component td_verify_flux_vae;
extern const td_verify_component td_verify_flux_pipeline;
extern const td_verify_component td_verify_eva_vision;
extern const td_verify_component td_verify_taesd;
extern const td_verify_component td_verify_qwen2vl;
extern const td_verify_component td_verify_gguf_matmul;

const td_verify_component *const td_verify_builtin[] = {
  &td_verify_t5_encoder,
  &td_verify_clip_text,
  &td_verify_flux_transformer,
  &td_verify_flux_vae,
  &td_verify_flux_pipeline,
  &td_verify_eva_vision,
  &td_verify_taesd,
  &td_verify_qwen2vl,
  &td_verify_gguf_matmul,
  NULL,
};
