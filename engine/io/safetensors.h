/* safetensors.h — read and write safetensors checkpoints.
 *
 * Files are mapped read-only and validated strictly before anything is used
 * (https://github.com/huggingface/safetensors, "Format"): an 8-byte
 * little-endian header length (≤ 100 MB), a UTF-8 JSON object of
 *   "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
 * entries plus an optional "__metadata__" string→string map, then the data
 * section, which the tensors must cover exactly: contiguous from 0, no gaps,
 * no overlaps, no trailing bytes.
 *
 * One td_safetensors is one logical checkpoint: a single file, or the shards
 * listed by a `*.safetensors.index.json`. Tensor views are zero-copy: they keep
 * their file mapped after td_safetensors_close until the last one is freed.
 */
#pragma once

#include <stdint.h>

#include "core/tensor.h"

#define TD_SAFETENSORS_MAX_HEADER ((uint64_t) 100 * 1000 * 1000)
/* Tensors of higher rank are rejected (td_tensor itself holds TD_MAX_DIMS). */
#define TD_SAFETENSORS_MAX_DIMS 8

typedef struct td_safetensors td_safetensors;

typedef struct td_safetensors_info {
  const char *name;
  td_dtype dtype;
  int ndim;
  int64_t shape[TD_SAFETENSORS_MAX_DIMS];
  uint64_t nbytes;
  uint64_t offset;  /* from the start of its file's data section */
  const char *file; /* path of the file (shard) that holds it */
} td_safetensors_info;

/* One file. Errors: TD_ERR_IO (cannot open/map), TD_ERR_FORMAT (malformed),
 * TD_ERR_LIMIT (header over 100 MB), TD_ERR_UNSUPPORTED (a valid safetensors
 * dtype the engine has no type for, e.g. F8_E8M0). Messages start "PATH: ". */
td_safetensors *td_safetensors_open (const char *path, td_error *err);
/* Parses a file image in memory; `name` is used in messages. The caller keeps
 * data alive and unchanged until the handle and every tensor from it are freed. */
td_safetensors *td_safetensors_open_memory (const void *data, size_t size, const char *name, td_error *err);
/* A sharded checkpoint: `weight_map` of the index names the shards, which must
 * be plain file names in the index's folder. Shards that are not in the folder
 * are skipped (a component may need only some of them, e.g. BLIP-2's vision
 * tower): their tensors are absent, td_safetensors_absent_shard names the
 * missing shard and td_safetensors_tensor says so. At least one shard must be
 * there; a shard that is there must be valid. */
td_safetensors *td_safetensors_open_index (const char *index_path, td_error *err);
/* A model folder: diffusion_pytorch_model.safetensors, model.safetensors, or
 * the .index.json of either. TD_ERR_NOT_FOUND when there is none. */
td_safetensors *td_safetensors_open_dir (const char *dir, td_error *err);
/* A file, an index (by its ".index.json" suffix) or a folder. */
td_safetensors *td_safetensors_open_any (const char *path, td_error *err);
void td_safetensors_close (td_safetensors *st);

/* The path it was opened with (the index for a sharded checkpoint). */
const char *td_safetensors_path (const td_safetensors *st);
size_t td_safetensors_file_count (const td_safetensors *st);

/* Tensors, sorted by name. */
size_t td_safetensors_count (const td_safetensors *st);
const td_safetensors_info *td_safetensors_at (const td_safetensors *st, size_t index);
/* NULL when there is no such tensor. */
const td_safetensors_info *td_safetensors_find (const td_safetensors *st, const char *name);
/* For a tensor of a shard that is not in the folder: that shard's file name;
 * otherwise NULL. */
const char *td_safetensors_absent_shard (const td_safetensors *st, const char *name);
/* Tensors the index names in absent shards. */
size_t td_safetensors_absent_count (const td_safetensors *st);
/* The tensor's bytes in the mapping (valid while st is open). */
const void *td_safetensors_data (const td_safetensors *st, const td_safetensors_info *info);

/* A contiguous host tensor over the mapped bytes (a copy only when the bytes
 * are not aligned to the element size, which the format allows). The view
 * keeps the mapping alive; free it with td_tensor_free. Fails with
 * TD_ERR_NOT_FOUND for an unknown name, TD_ERR_UNSUPPORTED above TD_MAX_DIMS. */
td_tensor *td_safetensors_tensor (td_safetensors *st, const char *name, td_error *err);
td_tensor *td_safetensors_tensor_of (td_safetensors *st, const td_safetensors_info *info, td_error *err);

/* "__metadata__" (of the first shard, for a sharded checkpoint), sorted by key. */
size_t td_safetensors_metadata_count (const td_safetensors *st);
void td_safetensors_metadata_at (const td_safetensors *st, size_t index, const char **key, const char **value);
/* NULL when the key is absent. */
const char *td_safetensors_metadata (const td_safetensors *st, const char *key);

/* Writing. */
typedef struct td_safetensors_entry {
  const char *name;
  td_dtype dtype;
  int ndim;
  const int64_t *shape;
  const void *data;
  size_t nbytes; /* must equal numel × element size */
} td_safetensors_entry;

/* Writes a new file atomically (a temporary file in the same folder, renamed
 * over `path`). Tensors are laid out by element size (largest first) then
 * name, so with the 8-byte aligned header every tensor is naturally aligned.
 * `metadata` is NULL or a NULL-terminated list key, value, key, value, …, NULL. */
td_status td_safetensors_write (const char *path, const td_safetensors_entry *entries, size_t n_entries,
                                const char *const *metadata, td_error *err);
/* The same, stopping with TD_ERR_CANCELLED (and no file left behind, not even
 * the temporary one) as soon as *cancel becomes non-zero. cancel may be NULL. */
td_status td_safetensors_write_cancellable (const char *path, const td_safetensors_entry *entries, size_t n_entries,
                                            const char *const *metadata, const volatile int *cancel,
                                            td_error *err);
