/* shard_index.h — picks the shards of a sharded safetensors checkpoint that
 * hold the tensors a component needs, from its model.safetensors.index.json
 * ({"metadata": {...}, "weight_map": {"tensor.name": "model-0000N-of-0000M.safetensors"}}).
 * BLIP-2 flan-t5-xxl ships its vision tower in one or two of six shards; the
 * rest (the T5-XXL language model) is not needed by ThinkDiff-CLIP. */
#pragma once

#include <glib.h>

#include "thinkdiff.h"

#define TD_SHARD_INDEX_MAX_BYTES (32u << 20)
#define TD_SHARD_INDEX_MAX_TENSORS 1000000

/* Adds to `shards` (a GPtrArray of newly allocated strings, sorted, unique)
 * every shard file that holds a tensor whose name starts with tensor_prefix.
 * Shard names must be plain file names (no '/') ending in ".safetensors".
 * Finding no tensor with the prefix is TD_ERR_NOT_FOUND. */
td_status td_shard_index_select (const char *json, size_t len, const char *tensor_prefix,
                                 const char *what, GPtrArray *shards, td_error *err);
