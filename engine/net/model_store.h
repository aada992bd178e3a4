/* model_store.h — what is on disk under a models folder: per component
 * present / partial / missing, and a re-check of every file's digest.
 * Needs no network; `models list` and `models verify` run on it. */
#pragma once

#include <gio/gio.h>

#include "net/catalog.h"
#include "net/file_hash.h"

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

typedef struct td_verify_result {
  size_t n_ok, n_bad, n_missing;
} td_verify_result;

typedef void (*td_verify_progress_fn) (const char *path, uint64_t done, uint64_t total,
                                       void *user_data);

/* $THINKDIFF_MODELS_DIR, else <XDG data dir>/thinkdiff/models. */
char *td_models_default_dir (void);
char *td_models_component_dir (const char *models_dir, const td_catalog_component *c);
/* <dir>/<path>; path must be td_repo_path_is_safe (checked again here). */
char *td_models_file_path (const char *component_dir, const char *repo_path);
char *td_models_part_path (const char *file_path);

const char *td_presence_name (td_presence presence);

td_status td_models_component_state (const char *models_dir, const td_catalog_component *c,
                                     td_component_state *out, td_error *err);

/* Re-hashes every file of the manifest. A file whose size or digest is wrong
 * is removed (so the next pull fetches it again) and counted as bad; the
 * returned status is TD_ERR_MISMATCH naming the first bad file, TD_ERR_NOT_FOUND
 * when files are missing, TD_OK when all match. */
td_status td_models_verify_component (const char *models_dir, const td_catalog_component *c,
                                      GCancellable *cancellable, td_verify_progress_fn progress,
                                      void *user_data, td_verify_result *out, td_error *err);
