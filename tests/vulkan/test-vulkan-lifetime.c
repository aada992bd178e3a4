/* Memory lifetime in the Vulkan backend under the validation layer: tensors of
 * 64 MiB and more (dedicated allocations) created, used and freed between two
 * syncs by the dozen, a sync followed by a barrier after a buffer was destroyed,
 * device memory running out while freed memory waits, uploads larger than the
 * staging ring, the ring reused within one stream, pipelines first created while
 * other submissions run, and a device lost in the middle of a stream with frees
 * still waiting. Every result is checked against the same arithmetic on the host. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ops.h"
#include "backend/vulkan/vulkan_internal.h"
#include "vk-test-util.h"

/* 64 MiB plus an odd number of floats: a dedicated allocation. */
#define BIG_N ((int64_t) (64 << 20) / 4 + 1021)
#define SMALL_N 777
#define LARGE_FREES 80

static void
run_ok (td_backend *b, td_op op)
{
  td_error err;
  td_status status = vk_run (b, &op, &err);
  if (status != TD_OK)
    g_error ("%s: %s", td_op_name (op.type), err.message);
}

/* The last `n` floats of a big tensor's buffer, as a view. */
static td_tensor *
tail_view (td_tensor *big, int64_t n)
{
  td_error err;
  int64_t shape[1] = { n };
  td_tensor *t = td_tensor_new_in (big->buffer, (size_t) (BIG_N - n) * 4, TD_F32, 1, shape, &err);
  g_assert_nonnull (t);
  return t;
}

static td_tensor *
zeros (td_backend *b, int64_t n)
{
  float *values = g_new0 (float, n);
  int64_t shape[1] = { n };
  td_tensor *t = vk_tensor_from (b, TD_F32, 1, shape, values);
  g_free (values);
  return t;
}

static void
assert_equals_host (const td_tensor *t, const float *want, int64_t n, const char *what)
{
  double *ref = g_new (double, n);
  for (int64_t i = 0; i < n; i++)
    ref[i] = want[i];
  vk_assert_close (t, ref, 0, what);
  g_free (ref);
}

static void
test_validation_active (void)
{
  vk_test_backend ();
  if (!td_vulkan_validation_active ())
    {
      g_test_skip ("the Vulkan validation layer is not running here (install vulkan-validationlayers; "
                   "TD_REQUIRE_VALIDATION=1 makes this a failure)");
      return;
    }
  g_assert_cmpint (td_vulkan_validation_message_count (), ==, 0);
}

/* LARGE_FREES big tensors, each written, read and freed before the one sync, with
 * small tensors created and freed in between (some living over several rounds). */
static void
test_many_large_frees_between_syncs (void)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  int64_t small_shape[1] = { SMALL_N };
  td_tensor *acc = zeros (b, SMALL_N);
  float *host_acc = g_new0 (float, SMALL_N), *values = g_new (float, SMALL_N);
  td_tensor *older[3] = { NULL, NULL, NULL };
  for (int round = 0; round < LARGE_FREES; round++)
    {
      int64_t big_shape[1] = { BIG_N };
      td_tensor *big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
      g_assert_nonnull (big);
      td_tensor *tail = tail_view (big, SMALL_N);
      for (int64_t j = 0; j < SMALL_N; j++)
        values[j] = (float) round + (float) j * 0.001f;
      td_tensor *small = vk_tensor_from (b, TD_F32, 1, small_shape, values);

      /* tail = 2 small + 1; every 8th round the whole tensor is rewritten too. */
      run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = tail, .src = { small }, .p.scale = { 2, 1 } });
      if (round % 8 == 0)
        run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = big, .src = { big }, .p.scale = { 1, 0 } });
      /* acc += tail, and += the small tensor of three rounds ago. */
      run_ok (b, (td_op) { .type = TD_OP_ADD, .dst = acc, .src = { acc, tail } });
      for (int64_t j = 0; j < SMALL_N; j++)
        host_acc[j] += 2 * values[j] + 1;
      if (older[2] != NULL)
        {
          run_ok (b, (td_op) { .type = TD_OP_ADD, .dst = acc, .src = { acc, older[2] } });
          for (int64_t j = 0; j < SMALL_N; j++)
            host_acc[j] += (float) (round - 3) + (float) j * 0.001f;
          td_tensor_free (older[2]);
        }
      older[2] = older[1];
      older[1] = older[0];
      older[0] = small;
      td_tensor_free (tail);
      td_tensor_free (big);
    }
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  assert_equals_host (acc, host_acc, SMALL_N, "sum through freed large tensors");
  for (int i = 0; i < 3; i++)
    td_tensor_free (older[i]);
  td_tensor_free (acc);
  g_free (host_acc);
  g_free (values);
  vk_test_assert_no_validation_messages ();
}

/* A buffer written, then the sync, then the buffer freed: the next barrier must
 * not name it. Then the same with the free before the sync. */
static void
test_no_stale_barrier (void)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  int64_t big_shape[1] = { BIG_N }, shape[1] = { SMALL_N };
  float *values = g_new (float, SMALL_N), *want = g_new (float, SMALL_N);
  for (int64_t j = 0; j < SMALL_N; j++)
    values[j] = (float) j - 300;
  td_tensor *x = vk_tensor_from (b, TD_F32, 1, shape, values);
  for (int free_before_sync = 0; free_before_sync < 2; free_before_sync++)
    {
      td_tensor *big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
      g_assert_nonnull (big);
      td_tensor *tail = tail_view (big, SMALL_N);
      run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = tail, .src = { x }, .p.scale = { 1, 0 } });
      uint64_t used_before, used_after, budget;
      td_vulkan_memory_usage (b, &used_before, &budget);
      if (free_before_sync)
        {
          /* Its write is recorded, not even submitted: the memory must stay until
           * that submission completes, and the free must not wait for it. */
          td_tensor_free (tail);
          td_tensor_free (big);
          td_vulkan_memory_usage (b, &used_after, &budget);
          g_assert_cmpuint (used_after, ==, used_before);
        }
      g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
      if (free_before_sync)
        {
          td_vulkan_memory_usage (b, &used_after, &budget);
          g_assert_cmpuint (used_after, <=, used_before - (uint64_t) BIG_N * 4);
        }
      if (!free_before_sync)
        {
          td_tensor_free (tail);
          td_tensor_free (big);
        }
      /* y = 3x, then z = y + 1: z reads what y wrote, so a barrier goes in. */
      td_tensor *y = td_tensor_new (b, TD_F32, 1, shape, &err);
      td_tensor *z = td_tensor_new (b, TD_F32, 1, shape, &err);
      run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = y, .src = { x }, .p.scale = { 3, 0 } });
      run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = z, .src = { y }, .p.scale = { 1, 1 } });
      g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
      for (int64_t j = 0; j < SMALL_N; j++)
        want[j] = 3 * values[j] + 1;
      assert_equals_host (z, want, SMALL_N, "after a destroyed buffer");
      td_tensor_free (y);
      td_tensor_free (z);
      vk_test_assert_no_validation_messages ();
    }
  td_tensor_free (x);
  g_free (values);
  g_free (want);
}

/* Device memory runs out (injected) while a freed big tensor waits for its
 * submission: the allocation waits for it, releases it and succeeds. Without
 * freed memory to wait for, running out is an error. */
static void
test_out_of_memory_waits_for_frees (void)
{
  td_error err;
  td_backend *b = td_backend_vulkan_new (-1, &err);
  g_assert_nonnull (b);
  int64_t big_shape[1] = { BIG_N };
  td_tensor *x = zeros (b, SMALL_N);
  td_tensor *big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
  td_tensor *tail = tail_view (big, SMALL_N);
  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = tail, .src = { x }, .p.scale = { 1, 2 } });
  td_tensor_free (tail);
  td_tensor_free (big);
  uint64_t used_with_freed, used, budget;
  td_vulkan_memory_usage (b, &used_with_freed, &budget);

  td_vulkan_inject_faults (b, 1, 0);
  big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
  g_assert_nonnull (big);
  td_vulkan_memory_usage (b, &used, &budget);
  g_assert_cmpuint (used, ==, used_with_freed); /* one big tensor gone, one new */

  td_vulkan_inject_faults (b, 1, 0);
  td_tensor *second = td_tensor_new (b, TD_F32, 1, big_shape, &err);
  g_assert_null (second);
  g_assert_cmpint (err.status, ==, TD_ERR_DEVICE_OOM);
  td_tensor_free (big);
  td_tensor_free (x);
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

/* On a fresh backend, each op's pipeline is first created while submissions
 * using the others run (130 dispatches cut a submission): a chain of SCALE,
 * COPY to f16 and back, and ADD over five submissions, checked at the end. */
static void
test_pipelines_across_submissions (void)
{
  td_error err;
  td_backend *b = td_backend_vulkan_new (-1, &err);
  g_assert_nonnull (b);
  int64_t shape[1] = { SMALL_N };
  float *values = g_new (float, SMALL_N), *want = g_new (float, SMALL_N), *ones = g_new (float, SMALL_N);
  for (int64_t j = 0; j < SMALL_N; j++)
    {
      values[j] = want[j] = (float) (j % 50) - 25;
      ones[j] = 1;
    }
  td_tensor *x = vk_tensor_from (b, TD_F32, 1, shape, values);
  td_tensor *half = td_tensor_new (b, TD_F16, 1, shape, &err);
  td_tensor *one = vk_tensor_from (b, TD_F32, 1, shape, ones);
  g_assert_nonnull (half);
  for (int stage = 0; stage < 5; stage++)
    for (int k = 0; k < 130; k++)
      {
        td_op op;
        if (stage % 3 == 0)
          op = (td_op) { .type = TD_OP_SCALE, .dst = x, .src = { x }, .p.scale = { 1, 1 } };
        else if (stage % 3 == 1)
          op = (td_op) { .type = TD_OP_COPY, .dst = k % 2 ? x : half, .src = { k % 2 ? half : x } };
        else
          op = (td_op) { .type = TD_OP_ADD, .dst = x, .src = { x, one } };
        run_ok (b, op);
        /* SCALE and ADD add 1; the f16 round trips are exact for these integers. */
        for (int64_t j = 0; j < SMALL_N && op.type != TD_OP_COPY; j++)
          want[j] += 1;
      }
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  assert_equals_host (x, want, SMALL_N, "after pipelines created mid-stream");
  td_tensor_free (x);
  td_tensor_free (half);
  td_tensor_free (one);
  td_backend_free (b);
  g_free (values);
  g_free (want);
  g_free (ones);
  vk_test_assert_no_validation_messages ();
}

static float
pattern (int64_t i)
{
  return (float) (i % 100003) * 0.25f - 7;
}

/* A 100 MiB upload (through the staging ring several times over, or in place)
 * recorded after ops and a freed big tensor, then slices across 32 MiB edges used
 * by ops. */
static void
test_upload_larger_than_staging (void)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  int64_t n = (100 << 20) / 4 + 333, shape[1] = { n }, big_shape[1] = { BIG_N };
  float *host = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    host[i] = pattern (i);

  td_tensor *pending = td_tensor_new (b, TD_F32, 1, big_shape, &err);
  td_tensor *pending_tail = tail_view (pending, SMALL_N);
  td_tensor *x = zeros (b, SMALL_N);
  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = pending_tail, .src = { x }, .p.scale = { 1, 5 } });
  td_tensor_free (pending_tail);
  td_tensor_free (pending);

  td_tensor *t = td_tensor_new (b, TD_F32, 1, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, host, (size_t) n * 4, &err), ==, TD_OK);
  const int64_t chunk = (32 << 20) / 4;
  int64_t starts[4] = { 0, chunk - 100, 2 * chunk - 1, n - SMALL_N };
  float *want = g_new (float, SMALL_N);
  for (int s = 0; s < 4; s++)
    {
      int64_t slice_shape[1] = { SMALL_N };
      td_tensor *slice = td_tensor_new_in (t->buffer, (size_t) starts[s] * 4, TD_F32, 1, slice_shape, &err);
      td_tensor *y = td_tensor_new (b, TD_F32, 1, slice_shape, &err);
      run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = y, .src = { slice }, .p.scale = { 2, 0 } });
      for (int64_t j = 0; j < SMALL_N; j++)
        want[j] = 2 * pattern (starts[s] + j);
      assert_equals_host (y, want, SMALL_N, "slice of a large upload");
      td_tensor_free (slice);
      td_tensor_free (y);
    }
  float *back = g_new (float, n);
  g_assert_cmpint (td_tensor_download (t, back, (size_t) n * 4, &err), ==, TD_OK);
  g_assert_cmpmem (back, (size_t) n * 4, host, (size_t) n * 4);
  td_tensor_free (t);
  td_tensor_free (x);
  g_free (host);
  g_free (back);
  g_free (want);
  vk_test_assert_no_validation_messages ();
}

/* One tensor re-uploaded 400 times in one stream, each upload summed before the
 * next overwrites it: 50 MiB, through the ring while the pending sum still reads
 * the tensor (in place only once it has run), over several submissions. */
static void
test_staging_ring_reuse (void)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  int64_t n = (128 << 10) / 4 + 7, shape[1] = { n };
  td_tensor *t = td_tensor_new (b, TD_F32, 1, shape, &err);
  td_tensor *acc = zeros (b, n);
  float *values = g_new (float, n), *host_acc = g_new0 (float, n);
  for (int round = 0; round < 400; round++)
    {
      for (int64_t j = 0; j < n; j++)
        values[j] = (float) ((round * 7 + j) % 13);
      g_assert_cmpint (td_tensor_upload (t, values, (size_t) n * 4, &err), ==, TD_OK);
      run_ok (b, (td_op) { .type = TD_OP_ADD, .dst = acc, .src = { acc, t } });
      for (int64_t j = 0; j < n; j++)
        host_acc[j] += values[j];
    }
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  assert_equals_host (acc, host_acc, n, "sum of re-uploaded tensor");
  td_tensor_free (t);
  td_tensor_free (acc);
  g_free (values);
  g_free (host_acc);
  vk_test_assert_no_validation_messages ();
}

/* The third submission fails with DEVICE_LOST while big tensors are being used and
 * freed: every later call fails cleanly, frees still waiting are released with
 * the backend, and a new backend works. */
static void
test_device_lost_mid_stream (void)
{
  td_error err;
  td_backend *b = td_backend_vulkan_new (-1, &err);
  g_assert_nonnull (b);
  int64_t big_shape[1] = { BIG_N }, shape[1] = { SMALL_N };
  td_tensor *x = zeros (b, SMALL_N);
  td_tensor *kept[8] = { NULL };
  td_vulkan_inject_faults (b, 0, 3);
  td_status lost_at = TD_OK;
  int lost_round = -1;
  for (int round = 0; round < 40 && lost_round < 0; round++)
    {
      td_tensor *big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
      if (big == NULL)
        {
          lost_at = err.status;
          lost_round = round;
          break;
        }
      td_tensor *tail = tail_view (big, SMALL_N);
      for (int k = 0; k < 20 && lost_round < 0; k++)
        {
          td_op op = { .type = TD_OP_SCALE, .dst = tail, .src = { k ? tail : x }, .p.scale = { 1, 1 } };
          td_status status = vk_run (b, &op, &err);
          if (status != TD_OK)
            {
              lost_at = status;
              lost_round = round;
            }
        }
      if (round < 8)
        kept[round] = td_tensor_new (b, TD_F32, 1, shape, &err);
      td_tensor_free (tail);
      td_tensor_free (big);
    }
  g_assert_cmpint (lost_round, >=, 0);
  g_assert_cmpint (lost_at, ==, TD_ERR_DEVICE_LOST);
  g_assert_nonnull (strstr (err.message, "lost"));
  g_assert_null (td_tensor_new (b, TD_F32, 1, big_shape, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_DEVICE_LOST);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_ERR_DEVICE_LOST);
  float back[SMALL_N];
  g_assert_cmpint (td_tensor_download (x, back, sizeof back, &err), ==, TD_ERR_DEVICE_LOST);
  /* Some tensors go after the backend, some before. */
  for (int i = 0; i < 4; i++)
    td_tensor_free (kept[i]);
  td_backend_free (b);
  for (int i = 4; i < 8; i++)
    td_tensor_free (kept[i]);
  td_tensor_free (x);

  b = td_backend_vulkan_new (-1, &err);
  g_assert_nonnull (b);
  td_tensor *y = zeros (b, SMALL_N);
  float one = 1, want[SMALL_N];
  int64_t one_shape[1] = { 1 };
  td_tensor *c = vk_tensor_from (b, TD_F32, 1, one_shape, &one);
  run_ok (b, (td_op) { .type = TD_OP_ADD, .dst = y, .src = { y, c } });
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  for (int j = 0; j < SMALL_N; j++)
    want[j] = 1;
  assert_equals_host (y, want, SMALL_N, "a new backend after the loss");
  td_tensor_free (y);
  td_tensor_free (c);
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vk_test_backend ();
  g_test_add_func ("/vulkan/lifetime/validation-active", test_validation_active);
  g_test_add_func ("/vulkan/lifetime/many-large-frees-between-syncs", test_many_large_frees_between_syncs);
  g_test_add_func ("/vulkan/lifetime/no-stale-barrier", test_no_stale_barrier);
  g_test_add_func ("/vulkan/lifetime/out-of-memory-waits-for-frees", test_out_of_memory_waits_for_frees);
  g_test_add_func ("/vulkan/lifetime/upload-larger-than-staging", test_upload_larger_than_staging);
  g_test_add_func ("/vulkan/lifetime/staging-ring-reuse", test_staging_ring_reuse);
  g_test_add_func ("/vulkan/lifetime/pipelines-across-submissions", test_pipelines_across_submissions);
  g_test_add_func ("/vulkan/lifetime/device-lost-mid-stream", test_device_lost_mid_stream);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
