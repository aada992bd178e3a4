/* file_hash.h — checks a file against what the hub says it holds: the
 * SHA-256 of LFS files, or the git blob SHA-1 (sha1("blob <size>\0" + data))
 * of small files stored in git directly. */
#pragma once

#include <gio/gio.h>

#include "net/hub_listing.h"

typedef struct td_hasher {
  GChecksum *checksum;      /* NULL when the expected file names no digest */
  bool is_sha256;
  uint64_t fed;
} td_hasher;

typedef void (*td_hash_progress_fn) (uint64_t done, void *user_data);

void td_hasher_init (td_hasher *h, const td_hub_file *expect);
void td_hasher_update (td_hasher *h, const void *data, size_t n);
/* Feeds the first `limit` bytes of a file (all of it when limit is UINT64_MAX). */
td_status td_hasher_feed_file (td_hasher *h, const char *path, uint64_t limit,
                               GCancellable *cancellable, td_hash_progress_fn progress,
                               void *user_data, td_error *err);
/* Compares with expect; the message names `what` and both digests. Frees h. */
td_status td_hasher_finish (td_hasher *h, const td_hub_file *expect, const char *what,
                            td_error *err);
void td_hasher_clear (td_hasher *h);

/* Size and digest check of a whole file. */
td_status td_file_verify (const char *path, const td_hub_file *expect, GCancellable *cancellable,
                          td_hash_progress_fn progress, void *user_data, td_error *err);
