/* download.h — one file from the hub onto disk, resumable and verified.
 *
 * Bytes go to "<dest>.part"; the strong ETag of the response is kept in
 * "<dest>.part.etag" for If-Range. A later call resumes with a Range request
 * (a 200 instead of 206 means the file changed: the part restarts from zero).
 * Dropped connections and 5xx answers are retried with exponential backoff.
 * The SHA-256 (LFS) or git blob SHA-1 is computed while writing (the part's
 * existing bytes are hashed first) and checked at the end: on a match the
 * part is renamed to dest, on a mismatch it is deleted and TD_ERR_MISMATCH
 * says so. Cancelling leaves the part for the next call. */
#pragma once

#include "net/hub_client.h"

typedef void (*td_download_progress_fn) (uint64_t file_done, void *user_data);

typedef struct td_download_options {
  unsigned max_retries;     /* consecutive failed attempts; 0: 5 */
  td_download_progress_fn progress;
  void *user_data;
} td_download_options;

char *td_download_etag_path (const char *part_path);

td_status td_hub_download (td_hub_client *client, const char *repo_id, const char *revision,
                           const td_hub_file *file, const char *dest_path,
                           const td_download_options *options, GCancellable *cancellable,
                           td_error *err);
