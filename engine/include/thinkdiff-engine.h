/* thinkdiff-engine.h — compute devices, the engine (a backend on one device),
 * generating an image from a board, and the result. Include thinkdiff.h, not
 * this file.
 *
 * A td_engine holds device memory and compiled pipelines; make one and reuse
 * it for many generations. It is used by one thread at a time (the worker);
 * after TD_ERR_DEVICE_LOST it must be freed and made again. */
#pragma once

#ifndef TD_INSIDE_THINKDIFF_H
#error "Only <thinkdiff.h> can be included directly."
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Devices ---------------------------------------------------------------------- */

typedef struct td_device_info {
  int index;                  /* as TD_VULKAN_DEVICE and td_engine_options.device take it */
  char name[256];
  const char *type;           /* "discrete", "integrated", "virtual", "cpu", "other" */
  bool usable;                /* has what the engine needs */
  const char *unusable_reason;
  uint64_t device_local_bytes;
} td_device_info;

/* The Vulkan devices (an empty list without Vulkan, a loader or a driver).
 * *out is an array of *count entries (td_free it). */
TD_API td_status td_devices_list (td_device_info **out, int *count, td_error *err);
/* A human report of the CPU backend and every Vulkan device, one paragraph
 * each, as `thinkdiff devices` prints it: *text is td_free'd. */
TD_API td_status td_devices_report (char **text, td_error *err);

/* The engine ------------------------------------------------------------------- */

typedef struct td_engine td_engine;

typedef struct td_engine_options {
  /* "auto" or NULL: a real GPU when there is one (the device below, or the best
   * one), else the CPU; "cpu": the CPU reference backend; "vulkan": Vulkan on
   * the device below (a software one, lavapipe, too). */
  const char *backend;
  int device;                 /* a td_device_info index; -1: choose */
  uint64_t device_budget;     /* bytes of device memory the engine may hold; 0: the device's */
} td_engine_options;

/* backend "auto", device -1. */
TD_API td_engine_options td_engine_options_default (void);
/* Starts the backend: options NULL = defaults. Returns NULL with err set on
 * failure (TD_ERR_NOT_FOUND: no such device; TD_ERR_DEVICE: the driver failed).
 * Free with td_engine_free (NULL is ignored); a generation must not be running. */
TD_API td_engine *td_engine_new (const td_engine_options *options, td_error *err);
TD_API void td_engine_free (td_engine *engine);
/* The backend it runs on: "cpu" or "vulkan". */
TD_API const char *td_engine_name (const td_engine *engine);
/* Bytes the engine's allocator holds now and its high-water mark since the last
 * reset (per stage, for a front end's memory report). */
TD_API void td_engine_memory_use (const td_engine *engine, uint64_t *live, uint64_t *peak);
TD_API void td_engine_reset_memory_peak (td_engine *engine);
/* Changes the device memory the engine may hold (0: the device's); the models it
 * kept for the old budget are freed. Not while a generation runs. */
TD_API void td_engine_set_device_budget (td_engine *engine, uint64_t bytes);

/* Loads part from file (one of td_models_weight_choices) in place of the default,
 * in every later run and plan; NULL goes back to the default. Models kept with
 * the previous choice are freed. TD_ERR_INVALID_ARG for an unknown part; a file
 * that is not a weight file of the part is refused when a run or plan finds the
 * models folder. Not while a generation runs. */
TD_API td_status td_engine_set_weight_file (td_engine *engine, td_weight_part part, const char *file,
                                            td_error *err);
/* The file chosen for part, or NULL for the default (owned by the engine). */
TD_API const char *td_engine_get_weight_file (const td_engine *engine, td_weight_part part);

/* Models between generations: when the memory plan (thinkdiff-plan.h) says that
 * every model of a run fits the budget together, td_engine_generate keeps them
 * loaded for the next run with the same model folders; otherwise each is freed
 * after its stage. A failed run, another folder or td_engine_set_device_budget
 * frees what was kept. */
/* Frees the models kept (to give the memory back while idle). Not while a generation runs. */
TD_API void td_engine_release_models (td_engine *engine);
/* How many models (or model parts: T5, CLIP, the transformer, the VAE, …) the
 * engine has loaded since it was made. */
TD_API int td_engine_model_loads (const td_engine *engine);

/* Generating ------------------------------------------------------------------- */

typedef struct td_memory_report {
  uint64_t device_used;       /* bytes the engine holds in device memory; 0 on the CPU */
  uint64_t device_budget;     /* the device-local budget; 0 when unknown */
} td_memory_report;

/* Every callback may be NULL; all run on the thread that called generate. */
typedef struct td_generate_callbacks {
  /* A short stage name: "loading …", "reading images", "thinking", "encoding text",
   * "denoising", "decoding". */
  void (*stage) (void *user, const char *stage);
  /* Denoising step k of n (1-based), after the step. */
  void (*step) (void *user, int step, int steps);
  /* The current estimate as an image (owned by the engine, valid during the call). */
  void (*preview) (void *user, int step, int steps, const td_image *preview);
  /* LVLM mode: each new piece of the thought text as it is sampled. */
  void (*thought) (void *user, const char *piece);
  /* Device memory, reported at each stage. */
  void (*memory) (void *user, const td_memory_report *report);
  /* Set to non-zero from any thread to cancel; checked between steps and stages
   * (generate then returns TD_ERR_CANCELLED). */
  const volatile int *cancel;
  void *user;
} td_generate_callbacks;

/* A finished generation: the image and what made it. */
typedef struct td_output td_output;

/* Runs the board with the models of paths (td_model_paths_find); every part its
 * mode needs must be there (td_model_paths_require says what is missing).
 * *out (td_output_free it) is set only on TD_OK. */
TD_API td_status td_engine_generate (td_engine *engine, const td_board *board, const td_model_paths *paths,
                                     const td_generate_callbacks *callbacks, td_output **out, td_error *err);
/* Plain FLUX text-to-image: the board's settings, its texts joined as the
 * prompt, and the FLUX folder flux_dir; for boards whose other models are
 * missing. The output's mode is "text-to-image". */
TD_API td_status td_engine_text_to_image (td_engine *engine, const td_board *board, const char *flux_dir,
                                          const td_generate_callbacks *callbacks, td_output **out,
                                          td_error *err);

/* Frees the output and everything it owns (NULL is ignored). An output is plain
 * data: it may be handed to and read from any thread. */
TD_API void td_output_free (td_output *output);
/* The image (owned by the output). */
TD_API const td_image *td_output_image (const td_output *output);
/* LVLM mode: the generated thought; NULL otherwise. */
TD_API const char *td_output_thought (const td_output *output);
/* Whether that thought was the board's edited one (td_board_set_thought) rather than sampled. */
TD_API bool td_output_thought_edited (const td_output *output);
/* "lvlm", "clip" or "text-to-image". */
TD_API const char *td_output_mode (const td_output *output);
/* The board that made it, as JSON (td_board_load_json_data reads it back). */
TD_API const char *td_output_board_json (const td_output *output);
/* The PNG text chunks that record it: Software, thinkdiff:mode, thinkdiff:board,
 * thinkdiff:thought (when there is one) and thinkdiff:thought-edited ("true", when
 * it was edited). The array belongs to the output. */
TD_API const td_image_text *td_output_metadata (const td_output *output, size_t *n_text);
/* Writes the image as a PNG with that metadata, atomically. */
TD_API td_status td_output_save_png (const td_output *output, const char *path, td_error *err);

#ifdef __cplusplus
}
#endif
