/* hub_listing.h — the files of a model repository as the hub lists them.
 *
 * The parser reads one page of GET /api/models/{repo}/tree/{rev}?recursive=true,
 * a JSON array of {"type":"file"|"directory", "path", "size", "oid",
 * "lfs": {"oid": sha256, "size", "pointerSize"}}. Large files live in LFS and
 * carry their SHA-256; small files are plain git blobs whose "oid" is the git
 * blob SHA-1 (sha1 of "blob <size>\0" + content). Both are checked after a
 * download. The same entry shape is used by the download manifest. */
#pragma once

#include <stdint.h>

#include "thinkdiff.h"

#define TD_HUB_LISTING_MAX_FILES 100000
#define TD_HUB_FILE_MAX_SIZE (UINT64_C (1) << 42) /* 4 TiB: larger claims are lies */

typedef struct td_hub_file {
  char *path;            /* safe relative path (td_repo_path_is_safe) */
  uint64_t size;         /* bytes of the real content (the LFS object for LFS files) */
  char sha256[65];       /* lowercase hex, "" when the file is not in LFS */
  char git_sha1[41];     /* lowercase hex git blob id, "" when unknown */
} td_hub_file;

typedef struct td_hub_listing {
  td_hub_file *files;
  size_t n_files;
  size_t capacity;
  void *path_index;      /* GHashTable: path → position + 1 */
} td_hub_listing;

/* Appends the files of one page. `what` names the source in messages.
 * Directories are skipped; an unsafe path, a duplicate, a missing or
 * mistyped field, or an LFS size that differs from the file size is an error. */
td_status td_hub_listing_parse_page (td_hub_listing *listing, const char *json, size_t len,
                                     const char *what, td_error *err);

/* Parses {"oid": ..., "size": ..., "path": ..., "lfs": {...}} entries from an
 * already-parsed JSON array node (a JsonNode *, kept opaque here). */
td_status td_hub_listing_add_entries (td_hub_listing *listing, const void *json_array,
                                      const char *what, td_error *err);

/* Adds a copy of file; fails with TD_ERR_FORMAT on a duplicate path. */
td_status td_hub_listing_add (td_hub_listing *listing, const td_hub_file *file,
                              const char *what, td_error *err);

const td_hub_file *td_hub_listing_find (const td_hub_listing *listing, const char *path);

void td_hub_listing_clear (td_hub_listing *listing);

/* True when JSON text holds a NUL byte or a \u0000 escape: json-glib hands
 * strings out NUL-terminated, so "a\u0000b" would silently read as "a". */
bool td_json_has_nul (const char *json, size_t len);

/* True when s is exactly n lowercase or uppercase hex digits. */
bool td_is_hex_digest (const char *s, size_t n);
