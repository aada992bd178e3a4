/* gguf.h — read GGUF files (ggml's single-file model format), versions 2 and 3.
 *
 * Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv; n_kv
 * key/value pairs (string key, u32 value type, value); n_tensors tensor infos
 * (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset); zero
 * padding to general.alignment (32 by default); the data section. A string is
 * u64 length + bytes (no terminator); an array is u32 element type + u64 count
 * + elements. ne[0] is the fastest-varying dimension, so a row-major shape is
 * ne reversed.
 *
 * The file is mapped read-only and every count, length, dimension, type id,
 * offset and the alignment is checked before use: nothing is trusted, sizes
 * are overflow-checked, tensors must lie aligned inside the data section
 * without overlapping. Messages start "PATH: ".
 */
#pragma once

#include <stdint.h>

#include "core/tensor.h"

#define TD_GGUF_MAX_DIMS 4
#define TD_GGUF_MAX_NAME 256              /* bytes of a tensor name */
#define TD_GGUF_MAX_KEY 65535             /* bytes of a metadata key */
#define TD_GGUF_MAX_ALIGNMENT 65536
#define TD_GGUF_DEFAULT_ALIGNMENT 32

typedef enum td_gguf_type {
  TD_GGUF_UINT8 = 0,
  TD_GGUF_INT8 = 1,
  TD_GGUF_UINT16 = 2,
  TD_GGUF_INT16 = 3,
  TD_GGUF_UINT32 = 4,
  TD_GGUF_INT32 = 5,
  TD_GGUF_FLOAT32 = 6,
  TD_GGUF_BOOL = 7,
  TD_GGUF_STRING = 8,
  TD_GGUF_ARRAY = 9,
  TD_GGUF_UINT64 = 10,
  TD_GGUF_INT64 = 11,
  TD_GGUF_FLOAT64 = 12,
  TD_GGUF_TYPE_COUNT
} td_gguf_type;

typedef struct td_gguf td_gguf;

/* One metadata pair. Values point into the mapping (valid while open). */
typedef struct td_gguf_kv {
  const char *key;          /* a NUL-terminated copy */
  td_gguf_type type;
  td_gguf_type array_type;  /* element type when type is TD_GGUF_ARRAY */
  uint64_t count;           /* array length; 1 for a scalar */
  const uint8_t *data;      /* scalar or array elements; a string's bytes */
  uint64_t length;          /* a string's byte length */
} td_gguf_kv;

typedef struct td_gguf_tensor_info {
  const char *name;         /* a NUL-terminated copy */
  uint32_t ggml_type;       /* the file's type id */
  td_dtype dtype;
  int ndim;
  int64_t ne[TD_GGUF_MAX_DIMS];    /* ggml order: ne[0] fastest */
  int64_t shape[TD_GGUF_MAX_DIMS]; /* row-major: ne reversed */
  uint64_t offset;          /* from the start of the data section */
  uint64_t nbytes;
} td_gguf_tensor_info;

/* Errors: TD_ERR_IO / TD_ERR_NOT_FOUND (cannot open or map), TD_ERR_FORMAT
 * (malformed), TD_ERR_UNSUPPORTED (valid but unusable: version 1, big-endian,
 * a ggml type the engine has no decoder for). */
td_gguf *td_gguf_open (const char *path, td_error *err);
/* Parses an image in memory; the caller keeps it alive and unchanged until the
 * handle and every tensor from it are freed. `name` is used in messages. */
td_gguf *td_gguf_open_memory (const void *data, size_t size, const char *name, td_error *err);
void td_gguf_close (td_gguf *gguf);

/* True when the file starts with the GGUF magic (reads 4 bytes). */
int td_gguf_file_is_gguf (const char *path);

const char *td_gguf_path (const td_gguf *gguf);
uint32_t td_gguf_version (const td_gguf *gguf);
uint32_t td_gguf_alignment (const td_gguf *gguf);
/* Byte offset of the data section in the file. */
uint64_t td_gguf_data_offset (const td_gguf *gguf);

/* Metadata in file order. */
size_t td_gguf_kv_count (const td_gguf *gguf);
const td_gguf_kv *td_gguf_kv_at (const td_gguf *gguf, size_t index);
const td_gguf_kv *td_gguf_find_kv (const td_gguf *gguf, const char *key);
/* Element i of an array of strings (bytes and length, not terminated). */
const uint8_t *td_gguf_kv_array_string (const td_gguf *gguf, const td_gguf_kv *kv, uint64_t i, uint64_t *length);
/* A numeric scalar or element i of a numeric array, read as double / int64
 * (bool as 0/1). Returns 0 when the pair is not numeric or i is out of range. */
int td_gguf_kv_number (const td_gguf_kv *kv, uint64_t i, double *value);
int td_gguf_kv_integer (const td_gguf_kv *kv, uint64_t i, int64_t *value);
/* "uint8", "string", "array", … */
const char *td_gguf_type_name (td_gguf_type type);

/* Tensors in file order. */
size_t td_gguf_tensor_count (const td_gguf *gguf);
const td_gguf_tensor_info *td_gguf_tensor_at (const td_gguf *gguf, size_t index);
const td_gguf_tensor_info *td_gguf_find_tensor (const td_gguf *gguf, const char *name);
/* The tensor's bytes in the mapping (valid while open). */
const void *td_gguf_tensor_data (const td_gguf *gguf, const td_gguf_tensor_info *info);
/* A host tensor of the row-major shape over the mapped bytes (copied when the
 * mapping is not aligned for the element type). It keeps the mapping alive;
 * free it with td_tensor_free. TD_ERR_NOT_FOUND for an unknown name. */
td_tensor *td_gguf_tensor (td_gguf *gguf, const char *name, td_error *err);
td_tensor *td_gguf_tensor_of (td_gguf *gguf, const td_gguf_tensor_info *info, td_error *err);

/* The td_dtype of a ggml type id; -1 for an id ggml does not define, -2 for
 * one it defines that the engine cannot decode. `name` (may be NULL) gets
 * ggml's name of the type ("q4_K") or NULL. */
int td_gguf_dtype_of_ggml (uint32_t ggml_type, const char **name);

/* ---- writing (io/gguf_write.c) ---- */

/* A GGUF v3 file written in order: metadata and tensor declarations, then
 * each tensor's bytes in declaration order. It goes to a temporary file in
 * the same folder and replaces `path` only at td_gguf_writer_finish. */
typedef struct td_gguf_writer td_gguf_writer;

td_gguf_writer *td_gguf_writer_new (const char *path, td_error *err);
void td_gguf_writer_add_string (td_gguf_writer *w, const char *key, const char *value);
void td_gguf_writer_add_u32 (td_gguf_writer *w, const char *key, uint32_t value);
/* shape is row-major (written reversed as ne). TD_ERR_INVALID_ARG for a dtype
 * GGUF has no type for or rows that are not whole blocks. */
td_status td_gguf_writer_add_tensor (td_gguf_writer *w, const char *name, td_dtype dtype, int ndim, const int64_t *shape,
                                     td_error *err);
/* The next declared tensor's bytes (exactly its size). */
td_status td_gguf_writer_write_data (td_gguf_writer *w, const void *data, size_t nbytes, td_error *err);
/* After the last tensor: flushes and renames into place. */
td_status td_gguf_writer_finish (td_gguf_writer *w, td_error *err);
/* Frees; removes the temporary file when not finished. */
void td_gguf_writer_free (td_gguf_writer *w);
/* The ggml type id of a dtype; -1 when GGUF has none. */
int td_gguf_ggml_type_of (td_dtype dtype);
