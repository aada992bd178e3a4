/* thinkdiff-plan.h — the memory plan: each stage's device memory (weights +
 * activations + workspace) for a mode and an image size, computed without
 * running, and the strategy that fits a memory budget. Include thinkdiff.h,
 * not this file.
 *
 * A plan is made from a models folder (the configurations and the weight files
 * found there, in the dtypes they are stored in) or from the real model
 * configurations alone (FLUX.1-dev, T5-XXL, CLIP-L, Qwen2-VL-7B, BLIP-2 ViT-g),
 * in a chosen weight format. A td_plan is plain data: it may be made on any
 * thread and handed to another. */
#pragma once

#ifndef TD_INSIDE_THINKDIFF_H
#error "Only <thinkdiff.h> can be included directly."
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum td_plan_mode {
  TD_PLAN_LVLM,  /* Qwen2-VL thinks, its aligner, CLIP-L pooled, FLUX, VAE */
  TD_PLAN_CLIP,  /* BLIP-2's vision tower, its aligner, T5 + CLIP-L, FLUX, VAE */
  TD_PLAN_T2I,   /* T5 + CLIP-L, FLUX, VAE */
} td_plan_mode;

/* How the stages share the device, from the most to the least memory used. */
typedef enum td_plan_strategy {
  TD_PLAN_ALL_RESIDENT,   /* every model stays on the device, between runs too */
  TD_PLAN_STAGE_BY_STAGE, /* one model on the device at a time, loaded for each run */
  TD_PLAN_STREAMED,       /* a model's blocks uploaded one by one, the next beside the current */
  TD_PLAN_VAE_TILED,      /* the VAE decodes tile by tile */
  TD_PLAN_DOES_NOT_FIT,   /* no strategy fits the budget */
} td_plan_strategy;

typedef struct td_plan_options {
  td_plan_mode mode;
  int width, height;      /* output pixels, multiples of 16 up to 8192 (1024) */
  uint64_t budget;        /* device bytes to fit in; 0: no cap */
  /* The matrices of FLUX, T5 and the LVLM in this format ("bf16", "f16", "fp8",
   * "q8_0", "q6_k", "q5_k", "q4_k", "q4_0"); NULL: as a models folder stores
   * them, bf16 for the built-in configurations. */
  const char *weights;
  /* A weight file per part in place of the default (see td_models_weight_choices);
   * NULL: the default, or the engine's choice for td_engine_plan_options. */
  const char *weight_file[TD_WEIGHTS_COUNT];
} td_plan_options;

typedef struct td_plan_stage_info {
  const char *name;       /* "qwen2-vl", "text encoders", "flux transformer", … (static) */
  uint64_t weights;       /* bytes of the stage's weights on the device */
  uint64_t activations;   /* the busiest point's intermediate tensors */
  uint64_t workspace;     /* what lives through the stage (latents, KV cache, tables) */
  uint64_t peak;          /* weights + activations + workspace */
  uint64_t planned;       /* the device bytes under the stage's strategy */
  td_plan_strategy strategy;
  /* The weight files the stage was sized from, "; "-separated (owned by the
   * plan); NULL for the built-in configurations. */
  const char *files;
  /* The model's repeated blocks (0 for a stage that streams none) and how many of
   * them stay on the device under the strategy: all of them unless streamed. */
  int blocks;
  int resident_blocks;
} td_plan_stage_info;

typedef struct td_plan td_plan;

/* 1024×1024, no cap, weights as stored. */
TD_API td_plan_options td_plan_options_default (td_plan_mode mode);
/* "lvlm", "clip" or "t2i"; false when unknown. */
TD_API bool td_plan_mode_parse (const char *name, td_plan_mode *mode);
TD_API const char *td_plan_mode_name (td_plan_mode mode);
/* "all resident", "stage by stage", "weights streamed by block", "VAE tiled", "does not fit". */
TD_API const char *td_plan_strategy_name (td_plan_strategy strategy);

/* Plans options->mode with the models under models_dir (the layout
 * td_model_paths_find reads), sizing every stage from its config.json and its
 * weight files' headers (safetensors, sharded safetensors, GGUF, .pth) without
 * reading the tensors; models_dir NULL plans the built-in real configurations.
 * Returns NULL with err set (TD_ERR_NOT_FOUND naming the missing model,
 * TD_ERR_INVALID_ARG for bad options, a file's error for a bad file). Free with
 * td_plan_free (NULL is ignored). */
TD_API td_plan *td_plan_new (const char *models_dir, const td_plan_options *options, td_error *err);
/* The same for models already found (td_model_paths_find). */
TD_API td_plan *td_plan_new_for_paths (const td_model_paths *paths, const td_plan_options *options, td_error *err);
TD_API void td_plan_free (td_plan *plan);

/* The overall strategy: ALL_RESIDENT when every model fits the budget together;
 * else the strongest measure any stage needs. */
TD_API td_plan_strategy td_plan_get_strategy (const td_plan *plan);
/* Whether every stage fits the budget (the strategy is not DOES_NOT_FIT). */
TD_API bool td_plan_fits (const td_plan *plan);
/* The device bytes the run needs at most under the strategy: all weights plus the
 * largest stage's activations when all resident, else the largest planned stage. */
TD_API uint64_t td_plan_peak (const td_plan *plan);
/* All weights resident plus the largest stage's activations and workspace. */
TD_API uint64_t td_plan_resident_peak (const td_plan *plan);
TD_API uint64_t td_plan_budget (const td_plan *plan);
TD_API int td_plan_stage_count (const td_plan *plan);
/* Fills *out for stage index (0-based, in run order); false when out of range. */
TD_API bool td_plan_stage_at (const td_plan *plan, int index, td_plan_stage_info *out);

/* One line for people: "Needs about 12.4 GiB of 16.0 GiB — one stage at a time"
 * (td_free it). Sizes in GiB of 2^30 bytes, the unit of the table and of the cap, in
 * MiB under one GiB. */
TD_API char *td_plan_summary (const td_plan *plan);
/* The per-stage table `thinkdiff plan` prints, in GiB (td_free it). */
TD_API char *td_plan_table (const td_plan *plan);

/* The plan for running board on this engine with the models of paths: the board's
 * mode and size, and the engine's memory budget (its device_budget option, else
 * the device's reported budget; none on the CPU backend). */
TD_API td_plan *td_engine_plan (td_engine *engine, const td_board *board, const td_model_paths *paths,
                                td_error *err);
/* The same for any mode (TD_PLAN_T2I for td_engine_text_to_image): options as given,
 * with options->budget 0 replaced by the engine's budget. */
TD_API td_plan *td_engine_plan_options (td_engine *engine, const td_plan_options *options,
                                        const td_model_paths *paths, td_error *err);

#ifdef __cplusplus
}
#endif
