/* pull.h — fetches a bundle's components into a models folder.
 *
 * For each component: list the repository, select files by the catalogue,
 * resolve BLIP-2-style shard indexes, write the manifest, check free space,
 * then link files that huggingface_hub already cached and download the rest
 * (resumable, verified). Everything is written under
 * <models dir>/<component id>/; nothing anywhere else. */
#pragma once

#include <gio/gio.h>

#include "net/catalog.h"

/* td_pull_stage, td_pull_progress and td_pull_progress_fn are public: see thinkdiff-models.h. */
/* Free bytes at dir, or UINT64_MAX when unknown. */
typedef uint64_t (*td_free_space_fn) (const char *dir, void *user_data);

typedef struct td_pull_options {
  const char *models_dir;       /* required */
  const char *endpoint;         /* NULL: $HF_ENDPOINT, else huggingface.co */
  const char *token;            /* NULL: anonymous */
  const char *hf_cache_dir;     /* NULL: td_hf_cache_dir (); "": do not look */
  unsigned timeout_s;           /* 0: 60 */
  unsigned max_retries;         /* 0: 5 */
  unsigned retry_base_ms;       /* 0: 1000 */
  bool no_proxy;
  td_pull_progress_fn progress;
  void *progress_data;
  td_free_space_fn free_space;  /* NULL: the file system's figure */
  void *free_space_data;
  GCancellable *cancellable;
} td_pull_options;

/* Free space kept in reserve beyond what the download needs. */
#define TD_PULL_SPACE_MARGIN (UINT64_C (64) << 20)

uint64_t td_free_space_of (const char *dir, void *user_data);

td_status td_models_pull_component (const td_catalog_component *component,
                                    const td_pull_options *options, td_error *err);
td_status td_models_pull_bundle (const char *bundle_id, const td_pull_options *options,
                                 td_error *err);
