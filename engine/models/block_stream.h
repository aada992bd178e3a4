/* block_stream.h — when a model's repeated blocks are on the device.
 *
 * A model declares its blocks in groups (FLUX's double and single blocks, Qwen2-VL's
 * language model layers and vision blocks) and a number of resident blocks, counted
 * over the groups in the order declared: those stay on the device once uploaded. The
 * others are streamed: uploaded just before their use with the next block fetched
 * beside them (two streamed blocks on the device at a time) and dropped once their
 * compute is recorded. All blocks resident (the default) is no streaming; none
 * resident streams every block.
 */
#pragma once

#include <stdbool.h>

#include "models/layers.h"

#define TD_BLOCK_STREAM_MAX_GROUPS 2
#define TD_BLOCK_STREAM_MAX_NAMES 3

/* Every block resident: no streaming. */
#define TD_BLOCKS_ALL (-1)

typedef struct td_block_group {
  /* The block's weight-name prefixes with one %d for its index, in every naming the
   * files use ("transformer_blocks.%d.", "double_blocks.%d."): dropping matches the
   * stored names, and a prefix also matches after a dot ("model.diffusion_model."). */
  const char *prefixes[TD_BLOCK_STREAM_MAX_NAMES];
  /* The weights fetched ahead, after the first prefix ("attn.to_q.weight"); an absent
   * one is skipped (optional biases). NULL-terminated; NULL when the model fetches. */
  const char *const *weights;
  int count;
  /* The group whose block 0 runs after this group's last block, or -1. */
  int then;
} td_block_group;

/* Uploads a block's weights ahead of its use (for models that derive tensors). */
typedef void (*td_block_fetch_fn) (void *model, td_layer_ctx *ctx, int group, int block);
/* Frees what the model derived from a dropped block's weights. */
typedef void (*td_block_drop_fn) (void *model, int group, int block);

typedef struct td_block_stream {
  td_weights *weights;
  td_block_group groups[TD_BLOCK_STREAM_MAX_GROUPS];
  int n_groups;
  int resident;        /* valid when limited */
  bool limited;        /* false: every block resident */
  void *model;
  td_block_fetch_fn fetch;
  td_block_drop_fn drop;
} td_block_stream;

/* groups[0 .. n_groups) are copied; fetch and drop may be NULL. */
void td_block_stream_init (td_block_stream *stream, td_weights *weights, const td_block_group *groups, int n_groups,
                           void *model, td_block_fetch_fn fetch, td_block_drop_fn drop);
int td_block_stream_total (const td_block_stream *stream);
/* Keeps the first `resident` blocks (TD_BLOCKS_ALL or ≥ the total: all, no
 * streaming); blocks that were resident and no longer are leave the device now. */
void td_block_stream_set_resident (td_block_stream *stream, int resident);
/* The resident count in effect (the total when nothing streams). */
int td_block_stream_resident (const td_block_stream *stream);
bool td_block_stream_streams (const td_block_stream *stream);
/* Before a block's compute: fetches it and the one after it when either streams. */
void td_block_stream_before (td_block_stream *stream, td_layer_ctx *ctx, int group, int block);
/* After a block's compute is recorded: drops its weights when it streams. */
void td_block_stream_after (td_block_stream *stream, int group, int block);
/* Drops every block's device weights (resident ones too). */
void td_block_stream_drop_all (td_block_stream *stream);
