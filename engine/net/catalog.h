/* catalog.h — the checkpoints ThinkDiff Studio knows how to fetch.
 *
 * A component is a set of files from one hub repository, stored under
 * <models dir>/<component id>/ with the repository's own relative paths.
 * A bundle is what a user asks for ("lvlm", "flux-dev", …): one or more
 * components. Files are chosen by globs over the repository listing, so a
 * component never pulls more than it needs (FLUX's diffusers folders but not
 * the duplicate single-file flux1-dev.safetensors / ae.safetensors; only the
 * BLIP-2 shards that hold vision_model.* tensors). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/hub_listing.h"
#include "thinkdiff.h"

typedef struct td_catalog_component {
  const char *id;             /* folder name under the models dir */
  const char *title;
  const char *repo;           /* "org/name" */
  const char *revision;       /* branch, tag or commit */
  bool gated;                 /* the hub wants a token and an accepted licence */
  /* Every file matching any of these (NULL-terminated); each glob must match
   * at least one file, or the repository layout changed under us. */
  const char *const *globs;
  /* Exactly one file each: "a|b|c" tries alternatives in order; among the
   * matches of the first alternative that matches, the shallowest (then
   * shortest) path wins. */
  const char *const *one_of;
  /* When set: after downloading this index, add the shards that hold
   * tensors named shard_prefix*. */
  const char *shard_index;
  const char *shard_prefix;
  uint64_t approx_bytes;      /* shown before the listing is known */
} td_catalog_component;

typedef struct td_catalog_bundle {
  const char *id;
  const char *summary;
  const td_catalog_component *const *components; /* NULL-terminated */
} td_catalog_bundle;

/* Every built-in component, NULL-terminated. td_catalog_bundles and
 * td_catalog_find_bundle are public: see thinkdiff-models.h. */
const td_catalog_component *const *td_catalog_components (void);
const td_catalog_component *td_catalog_find_component (const char *id);

/* Selects from listing the files component wants by its globs and one_of
 * rules (not the shards; see td_shard_index_select). Appends pointers into
 * listing to `selected`, in listing order, each file once. */
td_status td_catalog_select (const td_catalog_component *component,
                             const td_hub_listing *listing, GPtrArray *selected, td_error *err);
