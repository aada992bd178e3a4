/* The block streamer's schedule: which blocks it fetches ahead and which it drops,
 * for every resident count over two groups (3 blocks, then 4, the second running after
 * the first), recorded through the model's fetch and drop callbacks. */
#include <glib.h>

#include "models/block_stream.h"

enum { FIRST = 3, SECOND = 4, TOTAL = FIRST + SECOND };

typedef struct {
  GString *log;
} recorder;

static void
on_fetch (void *user, td_layer_ctx *ctx, int group, int block)
{
  recorder *r = user;
  g_string_append_printf (r->log, "f%d.%d ", group, block);
}

static void
on_drop (void *user, int group, int block)
{
  recorder *r = user;
  g_string_append_printf (r->log, "d%d.%d ", group, block);
}

static const td_block_group groups[2] = {
  { .prefixes = { "double.%d." }, .count = FIRST, .then = 1 },
  { .prefixes = { "single.%d." }, .count = SECOND, .then = -1 },
};

/* One pass over every block, as a forward runs them: "|" marks each block's compute. */
static char *
one_pass (td_block_stream *stream, recorder *r)
{
  td_error err = { 0 };
  td_layer_ctx ctx = { .err = &err };
  g_string_truncate (r->log, 0);
  for (int g = 0; g < 2; g++)
    for (int b = 0; b < groups[g].count; b++)
      {
        td_block_stream_before (stream, &ctx, g, b);
        g_string_append (r->log, "| ");
        td_block_stream_after (stream, g, b);
      }
  return g_strdup (r->log->str);
}

static void
test_schedule (void)
{
  td_weights *weights = td_weights_new_random (NULL, 0);
  recorder r = { g_string_new (NULL) };
  td_block_stream stream;
  td_block_stream_init (&stream, weights, groups, 2, &r, on_fetch, on_drop);
  g_assert_cmpint (td_block_stream_total (&stream), ==, TOTAL);

  /* All resident (the default): nothing fetched ahead, nothing dropped. */
  g_assert_false (td_block_stream_streams (&stream));
  g_assert_cmpint (td_block_stream_resident (&stream), ==, TOTAL);
  g_autofree char *all = one_pass (&stream, &r);
  g_assert_cmpstr (all, ==, "| | | | | | | ");

  /* None resident: each block with the next one beside it, across the groups. */
  td_block_stream_set_resident (&stream, 0);
  g_assert_true (td_block_stream_streams (&stream));
  g_autofree char *none = one_pass (&stream, &r);
  g_assert_cmpstr (none, ==, "f0.0 f0.1 | d0.0 f0.1 f0.2 | d0.1 f0.2 f1.0 | d0.2 f1.0 f1.1 | d1.0 "
                             "f1.1 f1.2 | d1.1 f1.2 f1.3 | d1.2 f1.3 | d1.3 ");

  /* Four resident (the first group and one of the second): the kept blocks are
   * neither fetched ahead nor dropped unless the next one streams. */
  td_block_stream_set_resident (&stream, 4);
  g_assert_cmpint (td_block_stream_resident (&stream), ==, 4);
  g_autofree char *some = one_pass (&stream, &r);
  g_assert_cmpstr (some, ==, "| | | f1.0 f1.1 | f1.1 f1.2 | d1.1 f1.2 f1.3 | d1.2 f1.3 | d1.3 ");

  /* Keeping fewer drops the blocks that were kept and now stream, at once. */
  g_string_truncate (r.log, 0);
  td_block_stream_set_resident (&stream, 2);
  g_assert_cmpstr (r.log->str, ==, "d0.2 d1.0 ");

  /* A count at or past the total, or TD_BLOCKS_ALL, is all resident. */
  td_block_stream_set_resident (&stream, TOTAL);
  g_assert_false (td_block_stream_streams (&stream));
  td_block_stream_set_resident (&stream, 100);
  g_assert_false (td_block_stream_streams (&stream));
  td_block_stream_set_resident (&stream, TD_BLOCKS_ALL);
  g_assert_cmpint (td_block_stream_resident (&stream), ==, TOTAL);

  /* A failed context fetches nothing. */
  td_block_stream_set_resident (&stream, 0);
  td_error err = { 0 };
  td_layer_ctx failed = { .err = &err, .status = TD_ERR_NO_MEMORY };
  g_string_truncate (r.log, 0);
  td_block_stream_before (&stream, &failed, 0, 0);
  g_assert_cmpstr (r.log->str, ==, "");

  g_string_free (r.log, TRUE);
  td_weights_free (weights);
}

/* A stream never set up (a model built without one) streams nothing. */
static void
test_unset (void)
{
  td_block_stream stream = { 0 };
  td_error err = { 0 };
  td_layer_ctx ctx = { .err = &err };
  td_block_stream_set_resident (&stream, 0);
  g_assert_false (td_block_stream_streams (&stream));
  td_block_stream_before (&stream, &ctx, 0, 0);
  td_block_stream_after (&stream, 0, 0);
  g_assert_cmpint (td_block_stream_resident (&stream), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/block-stream/schedule", test_schedule);
  g_test_add_func ("/block-stream/unset", test_unset);
  return g_test_run ();
}
