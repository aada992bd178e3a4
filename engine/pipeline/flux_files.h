/* flux_files.h — where each part of FLUX.1 is, in either of the layouts users have:
 *
 *  - diffusers (Hugging Face, `thinkdiff models pull`): a folder with model_index.json,
 *    transformer/, vae/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, scheduler/;
 *  - single files (ComfyUI, stable-diffusion.cpp): BFL's flux1-*.safetensors, ae.safetensors,
 *    clip_l.safetensors and t5xxl_*.safetensors, either in one folder or in ComfyUI's models/
 *    tree (unet/ or diffusion_models/, vae/, clip/ or text_encoders/); the transformer and
 *    T5 may be GGUF files instead (flux1-dev-Q8_0.gguf in BFL naming, llama.cpp's
 *    t5-v1_1-xxl-encoder-Q8_0.gguf), taken when no .safetensors is there unless chosen
 *    (td_flux_files_find_chosen; a diffusers folder also offers a GGUF inside transformer/,
 *    text_encoder/ or text_encoder_2/, read with that folder's config.json). These files hold no
 *    tokenizer: tokenizer/ and tokenizer_2/ next to them are used when present, else the
 *    CLIP-L and T5 tokenizer files installed with ThinkDiff Studio (the ones FLUX.1 ships).
 *    There is no scheduler_config.json: the engine's default flow schedule is used. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "thinkdiff.h"

typedef struct td_flux_files {
  char *transformer;      /* transformer/ folder or BFL single file */
  char *vae;              /* vae/ folder or ae.safetensors */
  char *clip;             /* text_encoder/ folder or clip_l.safetensors */
  char *t5;               /* text_encoder_2/ folder, t5xxl_*.safetensors or a T5 GGUF */
  char *clip_tokenizer;   /* a tokenizer folder */
  char *t5_tokenizer;
  char *scheduler_config; /* scheduler_config.json, or NULL for the defaults */
  bool single_files;      /* the ComfyUI / stable-diffusion.cpp layout */
} td_flux_files;

/* Fills files for the FLUX folder at path. TD_ERR_NOT_FOUND naming what is
 * missing when path is neither layout (or a single-file set lacks a part). */
td_status td_flux_files_find (const char *path, td_flux_files *files, td_error *err);
void td_flux_files_clear (td_flux_files *files);
/* True when path looks like a single-file FLUX set (a transformer file is there). */
bool td_flux_files_is_single_file_set (const char *path);

/* The weight parts that are FLUX's (TD_WEIGHTS_FLUX, _T5, _CLIP: the first ones). */
#define TD_FLUX_WEIGHT_PARTS (TD_WEIGHTS_CLIP + 1)

/* A weight file chosen per part (td_engine_set_weight_file); NULL: the default. */
typedef struct td_weight_files {
  char *file[TD_WEIGHTS_COUNT];
} td_weight_files;

/* The files (or, in the diffusers layout, the subfolder) that can hold `part` (one of
 * FLUX's) of the FLUX folder at path, the default first; an empty array when there are none. */
GPtrArray *td_flux_files_candidates (const char *path, td_weight_part part);
/* TD_OK when file is one of the candidates, else an error naming file and listing them. */
td_status td_flux_files_check_choice (const char *path, td_weight_part part, const char *file, td_error *err);
/* td_flux_files_find, with the FLUX parts chosen (chosen may be NULL) in place of the defaults. */
td_status td_flux_files_find_chosen (const char *path, const td_weight_files *chosen, td_flux_files *files,
                                     td_error *err);
