/* manifest.h — what a pull expects to find in a component folder.
 *
 * Written to <models dir>/<component>/.thinkdiff-manifest.json before the
 * first byte is downloaded (so an interrupted pull is seen as "partial"),
 * and read by `models list` and `models verify`:
 *   {"format": "thinkdiff-models/1", "component": "...", "repo": "...",
 *    "revision": "...", "commit": "..." | null,
 *    "files": [{"path": "...", "size": N, "sha256": "..." | "oid": "..."}]} */
#pragma once

#include "net/hub_listing.h"

#define TD_MANIFEST_NAME ".thinkdiff-manifest.json"
#define TD_MANIFEST_MAX_BYTES (16u << 20)

typedef struct td_manifest {
  char *component;
  char *repo;
  char *revision;
  char *commit;            /* may be NULL */
  td_hub_listing files;
} td_manifest;

td_status td_manifest_parse (td_manifest *manifest, const char *json, size_t len,
                             const char *what, td_error *err);
/* TD_ERR_NOT_FOUND when the file does not exist. */
td_status td_manifest_load (td_manifest *manifest, const char *path, td_error *err);
/* Atomic: a temporary file in the same folder, then a rename. */
td_status td_manifest_save (const td_manifest *manifest, const char *path, td_error *err);
void td_manifest_clear (td_manifest *manifest);
