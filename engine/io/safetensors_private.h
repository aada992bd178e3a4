/* safetensors_private.h — shared by the single-file reader and the index reader. */
#pragma once

#include <glib.h>

#include "io/safetensors.h"

typedef struct st_tensor {
  td_safetensors_info info; /* first, so a td_safetensors_info* is an st_tensor* */
  unsigned file_index;
} st_tensor;

typedef struct st_file {
  char *path;
  td_buffer *data; /* the data section; its release unmaps the file */
} st_file;

struct td_safetensors {
  char *path;
  GPtrArray *files;     /* st_file* */
  GArray *tensors;      /* st_tensor, sorted by name once finished */
  GHashTable *by_name;  /* name → index + 1 */
  GStringChunk *strings;
  GPtrArray *metadata;  /* key, value, key, value … (strings in `strings`), sorted by key */
  /* Sharded checkpoints: tensor name → the shard the index puts it in, for
   * shards that are not in the folder (strings in `strings`). */
  GHashTable *absent;
};

td_safetensors *st_new (const char *path);
/* Maps and parses one file, appending its tensors (and, for the first file, its metadata). */
td_status st_add_file (td_safetensors *st, const char *path, td_error *err);
/* Sorts the tensors and indexes them by name; rejects a name held by two shards. */
td_status st_finish (td_safetensors *st, td_error *err);
