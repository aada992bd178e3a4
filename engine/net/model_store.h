/* model_store.h — what is on disk under a models folder: per component
 * present / partial / missing, and a re-check of every file's digest.
 * Needs no network; `models list` and `models verify` run on it. */
#pragma once

#include <gio/gio.h>

#include "net/catalog.h"
#include "net/file_hash.h"

/* td_presence and td_component_state are public: see thinkdiff-models.h. */

typedef struct td_verify_result {
  size_t n_ok, n_bad, n_missing;
} td_verify_result;

typedef void (*td_verify_progress_fn) (const char *path, uint64_t done, uint64_t total,
                                       void *user_data);

char *td_models_component_dir (const char *models_dir, const td_catalog_component *c);
/* <dir>/<path>; path must be td_repo_path_is_safe (checked again here). */
char *td_models_file_path (const char *component_dir, const char *repo_path);
char *td_models_part_path (const char *file_path);



/* Re-hashes every file of the manifest. A file whose size or digest is wrong
 * is removed (so the next pull fetches it again) and counted as bad; the
 * returned status is TD_ERR_MISMATCH naming the first bad file, TD_ERR_NOT_FOUND
 * when files are missing, TD_OK when all match. */
td_status td_models_verify_component (const char *models_dir, const td_catalog_component *c,
                                      GCancellable *cancellable, td_verify_progress_fn progress,
                                      void *user_data, td_verify_result *out, td_error *err);
