/* hf_cache.h — finds files that huggingface_hub already downloaded, so a pull
 * links to them instead of fetching gigabytes again.
 *
 * Layout: <cache>/models--<org>--<name>/refs/<revision> holds a commit id,
 * snapshots/<commit>/<path> is a (relative) symlink to blobs/<etag>, and the
 * etag of an LFS file is its SHA-256 (of a git file, its blob SHA-1). */
#pragma once

#include <stdbool.h>

#include "net/hub_listing.h"

/* $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub (~/.cache/huggingface/hub). Inside the Flatpak
 * ($FLATPAK_ID set) the host's: $HOST_XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub, which the manifest grants read-only. */
char *td_hf_cache_dir (void);

/* Looks file up in the cache. Returns TD_OK with *real_path set (the blob,
 * symlinks resolved, inside the repository's cache folder) when a regular
 * file of the expected size is there; *digest_in_name tells whether the blob
 * is named by the expected digest (then its content was checked when
 * huggingface_hub stored it). TD_ERR_NOT_FOUND otherwise. */
td_status td_hf_cache_find (const char *cache_dir, const char *repo_id, const char *revision,
                            const td_hub_file *file, char **real_path, bool *digest_in_name,
                            td_error *err);
