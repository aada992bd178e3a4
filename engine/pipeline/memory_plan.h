/* memory_plan.h — each stage's device memory (weights + activations + workspace),
 * computed from the model configurations alone, and the strategy that fits a budget. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "thinkdiff.h"
#include "models/eva_vision.h"
#include "models/flux_dit.h"
#include "models/flux_vae.h"
#include "models/qwen2vl.h"
#include "models/t5_encoder.h"
#include "models/clip_text.h"
#include "pipeline/flux_files.h"

/* td_plan_mode and td_plan_strategy are public: see thinkdiff-plan.h. */

/* How the matrices of the big models are stored; norms, biases, embeddings and
 * convolutions stay bf16, as ggml's converters keep them. */
typedef enum td_plan_format {
  TD_PLAN_F32,
  TD_PLAN_BF16,
  TD_PLAN_F16,
  TD_PLAN_FP8,
  TD_PLAN_Q8_0,
  TD_PLAN_Q6_K,
  TD_PLAN_Q5_K,
  TD_PLAN_Q4_K,
  TD_PLAN_Q4_0,
  TD_PLAN_FORMAT_COUNT,
} td_plan_format;

/* The models a plan sizes, one per stage that runs a model. */
typedef enum td_plan_part {
  TD_PLAN_PART_FLUX,
  TD_PLAN_PART_VAE,
  TD_PLAN_PART_T5,
  TD_PLAN_PART_CLIP,
  TD_PLAN_PART_QWEN2VL,
  TD_PLAN_PART_EVA,
  TD_PLAN_PART_ALIGNER_LVLM,
  TD_PLAN_PART_ALIGNER_CLIP,
  TD_PLAN_PART_COUNT,
} td_plan_part;

/* A model's weights as its files store them (see memory_plan_folder.c): every byte
 * the model loads, and for streaming the largest repeated block's and the rest. */
typedef struct td_plan_stored {
  uint64_t total;                /* 0: not measured, the formulas size the weights */
  uint64_t params;               /* values stored (for checking against the formulas) */
  uint64_t fixed;                /* outside the repeated blocks */
  uint64_t block;                /* the largest repeated block */
  int blocks;
  char *files;                   /* the file or folder measured (g_free) */
} td_plan_stored;

/* The configurations planned: the real ones (FLUX.1-dev, its VAE, T5-XXL, CLIP-L,
 * Qwen2-VL-7B, BLIP-2 ViT-g and ThinkDiff's aligners) or a models folder's. */
typedef struct td_plan_models {
  td_flux_config flux;
  td_vae_config vae;
  td_t5_config t5;
  td_clip_text_config clip;
  td_qwen2vl_config qwen2vl;
  td_eva_config eva;
  int aligner_lvlm_in, aligner_clip_in, aligner_out;
  td_plan_stored stored[TD_PLAN_PART_COUNT]; /* all zero for the real configurations */
} td_plan_models;

typedef struct td_plan_request {
  td_plan_mode mode;
  int width, height;             /* output pixels; an LVLM/CLIP input image is taken at this size */
  int text_tokens;               /* T5 prompt length (512) */
  int thought_tokens;            /* LVLM tokens generated (128) */
  td_plan_format format[4];      /* per model family, see td_plan_family */
  uint64_t budget;               /* bytes; 0 = unlimited */
  int vae_tile;                  /* latents per VAE tile when tiled (64) */
  bool use_stored;               /* size weights from models->stored, not from format[] */
} td_plan_request;

typedef enum td_plan_family {
  TD_PLAN_FAMILY_FLUX,
  TD_PLAN_FAMILY_T5,
  TD_PLAN_FAMILY_LVLM,           /* Qwen2-VL or BLIP-2 */
  TD_PLAN_FAMILY_OTHER,          /* CLIP-L, aligners, VAE */
} td_plan_family;

#define TD_PLAN_MAX_STAGES 8

typedef struct td_plan_stage {
  const char *name;
  const char *files[2];          /* the measured weights' files (the models'); NULL when computed */
  uint64_t weights, activations, workspace;
  uint64_t peak;                 /* weights + activations + workspace */
  /* Streaming: the weights outside the repeated blocks, and the largest block's. */
  uint64_t fixed_weights, block_weights;
  int blocks;
  uint64_t streamed_peak;        /* the peak with every block streamed, two on the device at a time */
  bool streamable;               /* the engine streams this model's blocks */
  /* The blocks in the order they are kept resident (FLUX: double, then single; Qwen2-VL:
   * the language model's layers, then the vision tower's), each group with its block
   * size and the activations while one of its blocks runs. */
  int n_groups;
  struct {
    int count;
    uint64_t bytes, activations;
  } group[2];
  uint64_t other_activations;    /* while no block runs (CLIP-L in the text stage) */
  int resident_blocks;           /* blocks kept on the device under the strategy */
  td_plan_strategy strategy;
  uint64_t planned;              /* the device bytes under the chosen strategy */
} td_plan_stage;

typedef struct td_memory_plan {
  td_plan_stage stage[TD_PLAN_MAX_STAGES];
  int n_stages;
  uint64_t all_weights;          /* every stage's weights together */
  uint64_t resident_peak;        /* all weights + the largest stage's activations and workspace */
  td_plan_strategy strategy;     /* the overall choice */
} td_memory_plan;

td_plan_models td_plan_models_real (void);
/* A request with the defaults: bf16 everywhere, 512 text tokens, 128 thought tokens, no budget. */
td_plan_request td_plan_request_default (td_plan_mode mode, int width, int height);

td_status td_memory_plan_make (const td_plan_models *models, const td_plan_request *request, td_memory_plan *plan,
                               td_error *err);

const char *td_plan_format_name (td_plan_format format);
/* Parses "bf16", "q8_0", "q4_k", …; false when unknown. */
bool td_plan_format_parse (const char *name, td_plan_format *format);
/* The format whose matrices are stored in dtype; false when none is. */
bool td_plan_format_of_dtype (td_dtype dtype, td_plan_format *format);
/* Bytes of n weights in a row of `row` weights (falls back to bf16 when row is not whole blocks). */
uint64_t td_plan_format_bytes (td_plan_format format, uint64_t n, uint64_t row);
/* The FLUX transformer's stage alone at this size, for the pipeline's streaming choice. */
td_plan_stage td_plan_flux_stage (const td_flux_config *config, int width, int height, int text_tokens,
                                  td_plan_format format);
/* The VAE decoder's activations and workspace for an image (or a tile) of this size. */
uint64_t td_plan_vae_run_bytes (const td_vae_config *config, int width, int height);
/* A stage's device bytes with its blocks streamed: two blocks and the rest. */
uint64_t td_plan_streamed_peak (const td_plan_stage *stage);
/* A stage's device bytes with its first `resident` blocks kept and the others
 * streamed (two streamed blocks on the device at a time); `resident` ≥ the stage's
 * blocks is its whole peak. */
uint64_t td_plan_stage_peak_with (const td_plan_stage *stage, int resident);
/* The most blocks that can stay resident with the stage under budget (its blocks
 * when the whole stage fits, budget 0 included); -1 when even streaming every block
 * does not fit. */
int td_plan_resident_blocks (const td_plan_stage *stage, uint64_t budget);
/* The streaming models' stages alone, sized like the plan's, for the pipeline's
 * choice of resident blocks. T5's leaves CLIP-L out. */
td_plan_stage td_plan_t5_stage (const td_t5_config *config, int text_tokens, td_plan_format format);
td_plan_stage td_plan_qwen2vl_stage (const td_qwen2vl_config *config, int image_width, int image_height,
                                     int thought_tokens, td_plan_format format);
td_plan_stage td_plan_eva_stage (const td_eva_config *config, td_plan_format format);

/* The configurations and stored weights of the models under paths that mode needs
 * (memory_plan_folder.c); td_plan_models_clear frees the file names. */
td_status td_plan_models_from_paths (const td_model_paths *paths, td_plan_mode mode, const td_weight_files *chosen,
                                     td_plan_models *models,
                                     td_error *err);
void td_plan_models_clear (td_plan_models *models);

/* Parameter counts at bf16 of the analytic models, for checking against the declared weights. */
uint64_t td_plan_flux_params (const td_flux_config *config);
uint64_t td_plan_t5_params (const td_t5_config *config);
