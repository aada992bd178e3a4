#include "models/block_stream.h"

#include <stdio.h>

/* Prefixes are the models' own patterns with one block index. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void
td_block_stream_init (td_block_stream *stream, td_weights *weights, const td_block_group *groups, int n_groups,
                      void *model, td_block_fetch_fn fetch, td_block_drop_fn drop)
{
  *stream = (td_block_stream) { .weights = weights, .model = model, .fetch = fetch, .drop = drop };
  stream->n_groups = n_groups < TD_BLOCK_STREAM_MAX_GROUPS ? n_groups : TD_BLOCK_STREAM_MAX_GROUPS;
  for (int g = 0; g < stream->n_groups; g++)
    stream->groups[g] = groups[g];
}

int
td_block_stream_total (const td_block_stream *stream)
{
  int total = 0;
  for (int g = 0; g < stream->n_groups; g++)
    total += stream->groups[g].count;
  return total;
}

/* The block's place in residency order: the groups in the order declared. */
static int
rank_of (const td_block_stream *stream, int group, int block)
{
  int rank = block;
  for (int g = 0; g < group; g++)
    rank += stream->groups[g].count;
  return rank;
}

static bool
is_resident (const td_block_stream *stream, int group, int block)
{
  return !stream->limited || rank_of (stream, group, block) < stream->resident;
}

static void
drop_block (td_block_stream *stream, int group, int block)
{
  const td_block_group *g = &stream->groups[group];
  char prefix[128];
  for (int i = 0; i < TD_BLOCK_STREAM_MAX_NAMES && g->prefixes[i] != NULL; i++)
    {
      snprintf (prefix, sizeof prefix, g->prefixes[i], block);
      td_weights_drop_device (stream->weights, prefix);
    }
  if (stream->drop != NULL)
    stream->drop (stream->model, group, block);
}

void
td_block_stream_set_resident (td_block_stream *stream, int resident)
{
  const int total = td_block_stream_total (stream);
  const int before = td_block_stream_resident (stream);
  stream->limited = resident >= 0 && resident < total;
  stream->resident = stream->limited ? resident : total;
  /* Blocks past the new count may still be on the device from earlier runs. */
  for (int g = 0; g < stream->n_groups; g++)
    for (int b = 0; b < stream->groups[g].count; b++)
      {
        const int rank = rank_of (stream, g, b);
        if (rank >= stream->resident && rank < before)
          drop_block (stream, g, b);
      }
}

int
td_block_stream_resident (const td_block_stream *stream)
{
  return stream->limited ? stream->resident : td_block_stream_total (stream);
}

bool
td_block_stream_streams (const td_block_stream *stream)
{
  return stream->limited;
}

static void
fetch_block (td_block_stream *stream, td_layer_ctx *ctx, int group, int block)
{
  if (!td_layer_ok (ctx))
    return;
  if (stream->fetch != NULL)
    {
      stream->fetch (stream->model, ctx, group, block);
      return;
    }
  const td_block_group *g = &stream->groups[group];
  char prefix[128], name[256];
  snprintf (prefix, sizeof prefix, g->prefixes[0], block);
  for (int i = 0; g->weights != NULL && g->weights[i] != NULL; i++)
    {
      snprintf (name, sizeof name, "%s%s", prefix, g->weights[i]);
      /* A failed upload is reported by the compute that needs the weight. */
      td_weights_get_optional (stream->weights, name);
    }
}

void
td_block_stream_before (td_block_stream *stream, td_layer_ctx *ctx, int group, int block)
{
  if (!stream->limited)
    return;
  int next_group = group, next = block + 1;
  if (next >= stream->groups[group].count)
    {
      next_group = stream->groups[group].then;
      next = 0;
    }
  const bool has_next = next_group >= 0 && next_group < stream->n_groups && next < stream->groups[next_group].count;
  const bool streams = !is_resident (stream, group, block);
  const bool next_streams = has_next && !is_resident (stream, next_group, next);
  if (!streams && !next_streams)
    return; /* resident blocks upload on first use */
  fetch_block (stream, ctx, group, block); /* a lookup when the previous call fetched it */
  if (has_next)
    fetch_block (stream, ctx, next_group, next);
}

void
td_block_stream_after (td_block_stream *stream, int group, int block)
{
  if (!is_resident (stream, group, block))
    drop_block (stream, group, block);
}

void
td_block_stream_drop_all (td_block_stream *stream)
{
  for (int g = 0; g < stream->n_groups; g++)
    for (int b = 0; b < stream->groups[g].count; b++)
      drop_block (stream, g, b);
}
