/* thinkdiff-models.h — models folders: where each model lives, the bundles
 * `thinkdiff models pull` knows, what is on disk, downloading with progress and
 * cancel, access tokens, and the untrained demo models. Include thinkdiff.h,
 * not this file.
 *
 * The layout of a models folder (what td_models_pull writes and
 * td_demo_models_write imitates):
 *   flux-dev/ or flux-schnell/   diffusers FLUX
 *   qwen2-vl-7b-instruct/        Qwen2-VL
 *   blip2-vision/                BLIP-2's vision tower
 *   thinkdiff-lvlm/, thinkdiff-clip/   the aligners
 *   taef1/                       the tiny preview decoder
 * A folder that itself holds model_index.json is taken as the FLUX folder, and so
 * is one holding FLUX as single files (ComfyUI's models/ tree, or one folder of
 * flux1-*.safetensors, ae.safetensors, clip_l.safetensors, t5xxl_*.safetensors);
 * the other parts are then looked for in the same folder.
 *
 * Functions here may be called from any thread; td_models_pull and
 * td_models_check take long and belong on a worker thread. */
#pragma once

#ifndef TD_INSIDE_THINKDIFF_H
#error "Only <thinkdiff.h> can be included directly."
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Model folders ------------------------------------------------------------ */

typedef enum td_model_part {
  TD_PART_FLUX,
  TD_PART_QWEN2VL,
  TD_PART_BLIP2_VISION,
  TD_PART_ALIGNER_LVLM,
  TD_PART_ALIGNER_CLIP,
  TD_PART_TAEF1,
  TD_PART_COUNT
} td_model_part;

/* Filled by td_model_paths_find, emptied by td_model_paths_clear. */
typedef struct td_model_paths {
  char *path[TD_PART_COUNT];    /* folder or file; NULL when missing */
  char *missing[TD_PART_COUNT]; /* why it is missing ("no flux-dev/ or flux-schnell/ folder") */
} td_model_paths;

/* $THINKDIFF_MODELS_DIR, else <XDG data dir>/thinkdiff/models (td_free it). */
TD_API char *td_models_default_dir (void);
/* Looks under root; never fails for missing parts (see missing[]), only for an unreadable root. */
TD_API td_status td_model_paths_find (const char *root, td_model_paths *paths, td_error *err);
/* Frees the strings of paths and zeroes it. */
TD_API void td_model_paths_clear (td_model_paths *paths);
/* A part's name for people ("FLUX", "Qwen2-VL", …). */
TD_API const char *td_model_part_title (td_model_part part);
/* The bundle (see below) that provides a part. */
TD_API const char *td_model_part_bundle (td_model_part part);
/* Checks that the parts a mode needs are present (LVLM: FLUX, Qwen2-VL, LVLM aligner;
 * CLIP: FLUX, BLIP-2 vision, CLIP aligner); the error says what to download. */
TD_API td_status td_model_paths_require (const td_model_paths *paths, bool lvlm, td_error *err);

/* Weight files ------------------------------------------------------------ */

/* The parts of a model whose weights may sit in more than one file of a models
 * folder (flux1-dev.safetensors and flux1-dev-Q8_0.gguf; a diffusers transformer/
 * folder and a GGUF; t5xxl_fp16.safetensors and t5-v1_1-xxl-encoder-Q8_0.gguf;
 * Qwen2-VL's safetensors checkpoint and llama.cpp's GGUF pair).
 *
 * Qwen2-VL's choices are its folder's checkpoint (model.safetensors or
 * model.safetensors.index.json), a GGUF of the whole model in Hugging Face's names (as `thinkdiff
 * quantize` writes it) and each llama.cpp language-model GGUF that has its mmproj beside
 * it: the mmproj*.gguf whose name, after "mmproj" and a separator and without its last
 * "-TYPE" or ".TYPE", is the language model's name without its own
 * (mmproj-Qwen2-VL-7B-Instruct-f16.gguf for Qwen2-VL-7B-Instruct-Q4_K_M.gguf), else
 * the folder's only mmproj*.gguf. A choice names the language model's file.
 * BLIP-2's vision tower's choices are its folder's checkpoint and each GGUF there. */
typedef enum td_weight_part {
  TD_WEIGHTS_FLUX,    /* the FLUX transformer */
  TD_WEIGHTS_T5,      /* the T5-XXL encoder */
  TD_WEIGHTS_CLIP,    /* the CLIP-L text encoder */
  TD_WEIGHTS_QWEN2VL, /* Qwen2-VL, language model and vision tower */
  TD_WEIGHTS_EVA,     /* BLIP-2's vision tower */
  TD_WEIGHTS_COUNT
} td_weight_part;

/* "flux", "t5", "clip", "lvlm", "eva"; NULL out of range. */
TD_API const char *td_weight_part_name (td_weight_part part);
/* The part of a name td_weight_part_name gives; false when unknown. */
TD_API bool td_weight_part_parse (const char *name, td_weight_part *part);
/* The weight files (a diffusers subfolder counts as one) that can hold part under
 * the models folder models_dir, the one loaded by default first: a NULL-terminated
 * array to free with td_strv_free, empty when the part is not there. NULL with err
 * set only for an unreadable models_dir. */
TD_API char **td_models_weight_choices (const char *models_dir, td_weight_part part, td_error *err);
/* TD_OK when file is one of td_models_weight_choices (models_dir, part); else
 * TD_ERR_INVALID_ARG (TD_ERR_NOT_FOUND when file does not exist) naming the file. */
TD_API td_status td_models_check_weight_file (const char *models_dir, td_weight_part part, const char *file,
                                              td_error *err);
TD_API void td_strv_free (char **strv);

/* Bundles and components ---------------------------------------------------- */

/* A bundle is what a user asks for ("lvlm", "flux-dev", …): one or more
 * components, each a set of files from one hub repository stored under
 * <models dir>/<component id>/. Both are static: they are never freed. */
typedef struct td_catalog_bundle td_catalog_bundle;
typedef struct td_catalog_component td_catalog_component;

/* NULL-terminated arrays of the built-in entries. */
TD_API const td_catalog_bundle *const *td_catalog_bundles (void);
/* NULL when there is no bundle of that id. */
TD_API const td_catalog_bundle *td_catalog_find_bundle (const char *id);
/* A bundle's id ("lvlm") and one-line summary. */
TD_API const char *td_bundle_id (const td_catalog_bundle *bundle);
TD_API const char *td_bundle_summary (const td_catalog_bundle *bundle);
/* NULL-terminated. */
TD_API const td_catalog_component *const *td_bundle_components (const td_catalog_bundle *bundle);
/* Whether any component needs an access token and an accepted licence. */
TD_API bool td_bundle_gated (const td_catalog_bundle *bundle);
/* A component's id (its folder under the models folder) and title. */
TD_API const char *td_component_id (const td_catalog_component *component);
TD_API const char *td_component_title (const td_catalog_component *component);
/* "org/name" on the hub. */
TD_API const char *td_component_repo (const td_catalog_component *component);
/* Whether the hub wants a token and an accepted licence for it. */
TD_API bool td_component_gated (const td_catalog_component *component);

/* What is on disk ----------------------------------------------------------- */

typedef enum td_presence {
  TD_PRESENCE_MISSING,
  TD_PRESENCE_PARTIAL,    /* some files, .part files, or wrong sizes */
  TD_PRESENCE_PRESENT,    /* every manifest file there with its size */
} td_presence;

typedef struct td_component_state {
  td_presence presence;
  bool has_manifest;
  size_t n_files, n_present, n_partial;
  uint64_t bytes_expected;  /* from the manifest, else the catalogue's estimate */
  uint64_t bytes_present;   /* complete files plus .part bytes */
} td_component_state;

/* "missing", "partial", "present". */
TD_API const char *td_presence_name (td_presence presence);
/* What of a component is on disk under models_dir (no network, no hashing). */
TD_API td_status td_models_component_state (const char *models_dir, const td_catalog_component *component,
                                            td_component_state *out, td_error *err);

typedef struct td_check_counts {
  size_t n_ok, n_bad, n_missing;
} td_check_counts;

typedef void (*td_check_progress_fn) (const char *path, uint64_t done, uint64_t total, void *user);

/* Re-hashes every file of a downloaded component. A file whose size or digest
 * is wrong is removed (the next pull fetches it again) and counted as bad; the
 * status is TD_ERR_MISMATCH naming the first bad file, TD_ERR_NOT_FOUND when
 * files are missing, TD_ERR_CANCELLED when *cancel was set, TD_OK when all
 * match. progress and cancel may be NULL. */
TD_API td_status td_models_check (const char *models_dir, const td_catalog_component *component,
                                  td_check_progress_fn progress, void *user, const volatile int *cancel,
                                  td_check_counts *out, td_error *err);

/* Downloads ----------------------------------------------------------------- */

typedef enum td_pull_stage {
  TD_PULL_LISTING,
  TD_PULL_DOWNLOADING,
  TD_PULL_LINKED,        /* a file was taken from the Hugging Face cache */
  TD_PULL_DONE,          /* a component is complete */
} td_pull_stage;

typedef struct td_pull_progress {
  td_pull_stage stage;
  const char *component;
  const char *repo;         /* "org/name" */
  const char *path;         /* the current file, or NULL */
  uint64_t file_done, file_total;
  uint64_t done, total;     /* bytes to download in this component */
  double rate;              /* bytes per second, smoothed; 0 when unknown */
  double eta_s;             /* seconds left; < 0 when unknown */
} td_pull_progress;

typedef void (*td_pull_progress_fn) (const td_pull_progress *progress, void *user_data);

typedef struct td_pull_settings {
  const char *models_dir;       /* required */
  const char *endpoint;         /* NULL: $HF_ENDPOINT, else huggingface.co */
  const char *token;            /* NULL: anonymous */
  const char *hf_cache_dir;     /* NULL: the Hugging Face cache; "": do not look */
  td_pull_progress_fn progress; /* may be NULL; runs on the calling thread */
  void *user;
  const volatile int *cancel;   /* may be NULL; set it from any thread to stop */
} td_pull_settings;

/* Whether this build can download (it has an HTTP client). */
TD_API bool td_models_can_pull (void);
/* Fetches a bundle's components into settings->models_dir: lists each repository,
 * picks the files, links what the Hugging Face cache holds and downloads the rest
 * (resumable, verified). Partial files are kept when cancelled (TD_ERR_CANCELLED). */
TD_API td_status td_models_pull (const char *bundle_id, const td_pull_settings *settings, td_error *err);

/* Access tokens --------------------------------------------------------------- */

/* Tokens are kept per endpoint host ("huggingface.co") in the desktop keyring,
 * never in files. A store is used by one thread at a time; the keyring calls
 * block, so the app makes them off the main thread or accepts a short wait. */
typedef struct td_token_store td_token_store;

#define TD_TOKEN_MAX_LEN 1024

/* A token is 1..TD_TOKEN_MAX_LEN printable ASCII characters without spaces. */
TD_API bool td_token_is_valid (const char *token);
/* A store that forgets at exit (tests, headless machines). */
TD_API td_token_store *td_token_store_new_memory (void);
/* NULL (with TD_ERR_UNSUPPORTED) when built without libsecret. */
TD_API td_token_store *td_token_store_new_keyring (td_error *err);
/* *token_out (td_free it) is NULL, with TD_OK, when nothing is stored for host. */
TD_API td_status td_token_store_lookup (td_token_store *store, const char *host, char **token_out,
                                        td_error *err);
/* Stores (replacing) or forgets the token for host. */
TD_API td_status td_token_store_save (td_token_store *store, const char *host, const char *token,
                                      td_error *err);
TD_API td_status td_token_store_clear (td_token_store *store, const char *host, td_error *err);
/* NULL is ignored. */
TD_API void td_token_store_free (td_token_store *store);

/* Demo models ----------------------------------------------------------------- */

/* Writes tiny, randomly initialised models in the real layouts under dir, with
 * the real tokenizers copied from tokenizers_dir/{clip,t5,qwen2}; each folder
 * has a README saying it is untrained (its images are noise). Existing files
 * are replaced. */
TD_API td_status td_demo_models_write (const char *dir, const char *tokenizers_dir, td_error *err);
/* Where the real tokenizer files are: the installed data folder, or the source
 * tree's copy when running from a build folder. NULL when neither exists. */
TD_API const char *td_demo_tokenizers_dir (void);

#ifdef __cplusplus
}
#endif
