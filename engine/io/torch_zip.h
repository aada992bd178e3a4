/* torch_zip.h — a small, strict reader for the zip archives torch.save writes.
 *
 * Only what a checkpoint needs: the end-of-central-directory record (searched
 * in the last 64 KiB + 22 bytes), zip64 records, a bounded central directory,
 * every local header cross-checked against its central entry, entries that do
 * not overlap, names that are plain relative paths and unique. STORED entries
 * are read in place (zero copy); DEFLATED entries only through td_zip_read,
 * which inflates under a caller's size cap. Encrypted entries, multi-disk
 * archives and other methods are rejected. The archive bytes are the caller's.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "thinkdiff.h"

#define TD_ZIP_MAX_ENTRIES 1000000
#define TD_ZIP_MAX_NAME 4096
#define TD_ZIP_STORED 0
#define TD_ZIP_DEFLATED 8

typedef struct td_zip td_zip;

typedef struct td_zip_entry {
  const char *name;
  int method;             /* TD_ZIP_STORED or TD_ZIP_DEFLATED */
  uint32_t crc32;
  uint64_t size;          /* uncompressed */
  uint64_t csize;         /* as stored */
  uint64_t data_offset;   /* of the stored bytes, from the start of the archive */
} td_zip_entry;

/* Parses the archive in data[0, size); `name` (the file path) starts every message.
 * data must stay alive and unchanged while the td_zip is used. */
td_zip *td_zip_open_memory (const void *data, size_t size, const char *name, td_error *err);
void td_zip_free (td_zip *zip);

size_t td_zip_count (const td_zip *zip);
/* Entries in central-directory order. */
const td_zip_entry *td_zip_at (const td_zip *zip, size_t index);
/* NULL when there is no such entry. */
const td_zip_entry *td_zip_find (const td_zip *zip, const char *name);

/* The bytes of a STORED entry in place; NULL and TD_ERR_UNSUPPORTED for a compressed one. */
const void *td_zip_stored_data (const td_zip *zip, const td_zip_entry *entry, td_error *err);
/* A malloc'ed copy of an entry's contents (inflated if DEFLATED), its CRC-32
 * checked. Fails with TD_ERR_LIMIT when the declared size is over max_size,
 * before anything is inflated, and TD_ERR_FORMAT when the data inflates to
 * anything but the declared size. A NUL is appended (not counted in *size). */
void *td_zip_read (const td_zip *zip, const td_zip_entry *entry, size_t max_size, size_t *size, td_error *err);
