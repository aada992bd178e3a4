/* demo_models.h — tiny, randomly initialised models in the real layouts, so a
 * newcomer can watch the whole pipeline run before downloading 40 GB. They are
 * untrained: their images are noise, and every folder says so in a README. */
#pragma once

#include "thinkdiff.h"

/* Writes a models folder (the layout of model_paths.h) under dir:
 * flux-dev/ (transformer, vae, scheduler, CLIP and T5 text encoders with the real
 * tokenizers copied from tokenizers_dir/{clip,t5}), blip2-vision/, thinkdiff-clip/,
 * qwen2-vl-7b-instruct/ (with tokenizers_dir/qwen2/tokenizer.json) and thinkdiff-lvlm/,
 * each with a README saying it is untrained. Existing files are replaced. */
td_status td_demo_models_write (const char *dir, const char *tokenizers_dir, td_error *err);

/* Where the real tokenizer files are: the installed data folder, or the source
 * tree's copy when running from a build folder. NULL when neither exists. */
const char *td_demo_tokenizers_dir (void);
