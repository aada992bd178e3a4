/* Uploads in the Vulkan backend under the validation layer: a 4 MiB staging ring
 * (TD_VULKAN_STAGING_MIB=4) taking many small writes of odd sizes at unaligned
 * byte offsets and a few larger than the ring, interleaved with ops that snapshot
 * what the device sees at that point; wrapping the ring never waits for the whole
 * device; the same stream with in-place writes (host-visible device-local memory,
 * as on lavapipe) gives bit-identical results; in-place writes never touch memory
 * that a recorded or running command still uses (a re-uploaded tensor, a freed
 * range handed out again); large uploads as separate transfer batches
 * (TD_VULKAN_TRANSFER_QUEUE=shared: on lavapipe's one queue, with the same
 * semaphore waits as on a transfer-only queue); the ring's size and its place in
 * the memory meter. */
#include <stdlib.h>
#include <string.h>

#include "backend/ops.h"
#include "backend/vulkan/vulkan_internal.h"
#include "vk-test-util.h"

#define RING_MIB 4
#define DATA_N ((int64_t) (3 << 20) / 4 + 37)  /* floats of the tensor taking small writes */
#define BIG_BYTES ((size_t) (RING_MIB + 1) * (1 << 20) + 3)
#define BIG_N ((int64_t) (BIG_BYTES + 64) / 4)   /* room for a big write at an odd offset */
#define SNAP_N 513
#define ROUNDS 24

static void
run_ok (td_backend *b, td_op op)
{
  td_error err;
  td_status status = vk_run (b, &op, &err);
  if (status != TD_OK)
    g_error ("%s: %s", td_op_name (op.type), err.message);
}

/* Bytes in [0x20, 0x40): every float they make up is normal, positive and below 2,
 * so x·1 + 0 gives back its exact bits. */
static void
fill_bytes (unsigned char *dst, size_t n, uint32_t *seed)
{
  for (size_t i = 0; i < n; i++)
    {
      *seed = *seed * 1664525u + 1013904223u;
      dst[i] = (unsigned char) (0x20 + ((*seed >> 24) & 0x1f));
    }
}

static void
write_ok (td_backend *b, td_tensor *t, size_t offset, const void *src, size_t size)
{
  td_error err;
  td_status status = b->vt->write (b, t->buffer, t->offset + offset, src, size, &err);
  if (status != TD_OK)
    g_error ("write of %zu bytes at %zu: %s", size, offset, err.message);
}

/* A new tensor holding x·1 + 0 of SNAP_N floats of `src` from float `start`. */
static td_tensor *
snapshot (td_backend *b, td_tensor *src, int64_t start)
{
  td_error err;
  int64_t shape[1] = { SNAP_N };
  td_tensor *view = td_tensor_new_in (src->buffer, src->offset + (size_t) start * 4, TD_F32, 1, shape, &err);
  td_tensor *copy = td_tensor_new (b, TD_F32, 1, shape, &err);
  g_assert_nonnull (view);
  g_assert_nonnull (copy);
  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = copy, .src = { view }, .p.scale = { 1, 0 } });
  td_tensor_free (view);
  return copy;
}

typedef struct stream_result {
  unsigned char *data, *big;           /* the tensors' bytes downloaded at the end */
  unsigned char *snaps[2 * ROUNDS];    /* each snapshot's bytes */
  td_vulkan_upload_stats before, after; /* around the stream, before its final sync */
} stream_result;

/* Rounds of ~60 small writes (1 to 4099 bytes at odd offsets) into one tensor and,
 * every sixth round, a write larger than the ring into another at an odd offset,
 * each followed by snapshots of both; everything checked against host mirrors. */
static void
run_stream (td_backend *b, stream_result *r)
{
  td_error err;
  int64_t data_shape[1] = { DATA_N }, big_shape[1] = { BIG_N };
  size_t data_bytes = (size_t) DATA_N * 4, big_bytes = (size_t) BIG_N * 4;
  unsigned char *data_host = g_malloc (data_bytes), *big_host = g_malloc (big_bytes);
  unsigned char *chunk = g_malloc (BIG_BYTES);
  unsigned char *snap_want[2 * ROUNDS];
  uint32_t seed = 12345;
  fill_bytes (data_host, data_bytes, &seed);
  fill_bytes (big_host, big_bytes, &seed);
  td_tensor *data = td_tensor_new (b, TD_F32, 1, data_shape, &err);
  td_tensor *big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
  g_assert_nonnull (data);
  g_assert_nonnull (big);
  write_ok (b, data, 0, data_host, data_bytes);
  write_ok (b, big, 0, big_host, big_bytes);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);

  td_vulkan_upload_stats_get (b, &r->before);
  td_tensor *snaps[2 * ROUNDS];
  for (int round = 0; round < ROUNDS; round++)
    {
      for (int k = 0; k < 60; k++)
        {
          size_t size = 1 + (size_t) ((round * 977 + k * 131) % 4099);
          size_t offset = (size_t) ((round * 7919 + k * 104729) % (int64_t) (data_bytes - size)) | 1;
          fill_bytes (chunk, size, &seed);
          write_ok (b, data, offset, chunk, size);
          memcpy (data_host + offset, chunk, size);
        }
      if (round % 6 == 5)
        {
          size_t offset = 1 + (size_t) round;
          fill_bytes (chunk, BIG_BYTES, &seed);
          write_ok (b, big, offset, chunk, BIG_BYTES);
          memcpy (big_host + offset, chunk, BIG_BYTES);
        }
      int64_t start = (int64_t) (round * 40009) % (DATA_N - SNAP_N);
      snaps[2 * round] = snapshot (b, data, start);
      snap_want[2 * round] = g_memdup2 (data_host + start * 4, SNAP_N * 4);
      int64_t big_start = (int64_t) (round * 100003) % (BIG_N - SNAP_N);
      snaps[2 * round + 1] = snapshot (b, big, big_start);
      snap_want[2 * round + 1] = g_memdup2 (big_host + big_start * 4, SNAP_N * 4);
    }
  td_vulkan_upload_stats_get (b, &r->after);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);

  r->data = g_malloc (data_bytes);
  r->big = g_malloc (big_bytes);
  g_assert_cmpint (td_tensor_download (data, r->data, data_bytes, &err), ==, TD_OK);
  g_assert_cmpint (td_tensor_download (big, r->big, big_bytes, &err), ==, TD_OK);
  g_assert_cmpmem (r->data, data_bytes, data_host, data_bytes);
  g_assert_cmpmem (r->big, big_bytes, big_host, big_bytes);
  for (int i = 0; i < 2 * ROUNDS; i++)
    {
      r->snaps[i] = g_malloc (SNAP_N * 4);
      g_assert_cmpint (td_tensor_download (snaps[i], r->snaps[i], SNAP_N * 4, &err), ==, TD_OK);
      g_assert_cmpmem (r->snaps[i], SNAP_N * 4, snap_want[i], SNAP_N * 4);
      td_tensor_free (snaps[i]);
      g_free (snap_want[i]);
    }
  td_tensor_free (data);
  td_tensor_free (big);
  g_free (data_host);
  g_free (big_host);
  g_free (chunk);
}

static void
stream_result_clear (stream_result *r)
{
  g_free (r->data);
  g_free (r->big);
  for (int i = 0; i < 2 * ROUNDS; i++)
    g_free (r->snaps[i]);
}

static td_backend *
backend_with_direct (bool direct)
{
  td_error err;
  vk_test_backend (); /* skips the test on a machine without Vulkan */
  td_backend *b = td_backend_vulkan_new (-1, &err);
  if (b == NULL)
    g_error ("no Vulkan backend: %s", err.message);
  if (!td_vulkan_set_direct_upload (b, direct))
    {
      td_backend_free (b);
      return NULL;
    }
  return b;
}

/* Through the ring alone: it wraps many times, each segment waits at most for
 * the submission that last read it, and no upload waits for the whole device. */
static void
test_ring_wraps_without_device_wait (void)
{
  td_backend *b = backend_with_direct (false);
  stream_result r = { 0 };
  run_stream (b, &r);
  g_assert_cmpuint (r.after.staging_size, ==, (uint64_t) RING_MIB << 20);
  g_assert_cmpuint (r.after.direct_bytes, ==, 0);
  uint64_t staged = r.after.staged_bytes - r.before.staged_bytes;
  g_assert_cmpuint (staged, >, 4 * r.after.staging_size);
  g_assert_cmpuint (r.after.staging_wraps - r.before.staging_wraps, >=, staged / r.after.staging_size - 1);
  g_assert_cmpuint (r.after.full_syncs, ==, r.before.full_syncs);
  stream_result_clear (&r);
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

/* The same stream with tensors in mapped device-local memory: idle tensors are
 * written in place, busy ones still through the ring, and every byte the ops saw
 * is what the ring-only run saw. */
static void
test_in_place_matches_ring (void)
{
  td_backend *direct = backend_with_direct (true);
  if (direct == NULL)
    {
      g_test_skip ("this device has no host-visible device-local memory on its main heap");
      return;
    }
  td_backend *ring = backend_with_direct (false);
  stream_result a = { 0 }, s = { 0 };
  run_stream (direct, &a);
  run_stream (ring, &s);
  g_assert_cmpuint (a.after.direct_bytes - a.before.direct_bytes, >, 0);
  g_assert_cmpuint (a.after.staged_bytes - a.before.staged_bytes, >, 0);
  g_assert_cmpuint (a.after.full_syncs, ==, a.before.full_syncs);
  g_assert_cmpmem (a.data, (size_t) DATA_N * 4, s.data, (size_t) DATA_N * 4);
  g_assert_cmpmem (a.big, (size_t) BIG_N * 4, s.big, (size_t) BIG_N * 4);
  for (int i = 0; i < 2 * ROUNDS; i++)
    g_assert_cmpmem (a.snaps[i], SNAP_N * 4, s.snaps[i], SNAP_N * 4);
  stream_result_clear (&a);
  stream_result_clear (&s);
  td_backend_free (direct);
  td_backend_free (ring);
  vk_test_assert_no_validation_messages ();
}

static td_tensor *
tensor_of (td_backend *b, const float *values, int64_t n)
{
  td_error err;
  int64_t shape[1] = { n };
  td_tensor *t = td_tensor_new (b, TD_F32, 1, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, values, (size_t) n * 4, &err), ==, TD_OK);
  return t;
}

static void
assert_holds (td_tensor *t, const float *want, int64_t n)
{
  td_error err;
  float *back = g_new (float, n);
  g_assert_cmpint (td_tensor_download (t, back, (size_t) n * 4, &err), ==, TD_OK);
  g_assert_cmpmem (back, (size_t) n * 4, want, (size_t) n * 4);
  g_free (back);
}

/* A tensor re-uploaded while a recorded op still reads it, and a freed range
 * handed out again while a recorded op still reads its old contents: both
 * uploads go through the ring (no in-place write), and each op sees its values.
 * After a sync the same tensor is idle and written in place. */
static void
test_in_place_waits_for_users (void)
{
  td_backend *b = backend_with_direct (true);
  if (b == NULL)
    {
      g_test_skip ("this device has no host-visible device-local memory on its main heap");
      return;
    }
  td_error err;
  enum { N = 1001 };
  int64_t shape[1] = { N };
  float first[N], second[N], third[N], fourth[N];
  for (int i = 0; i < N; i++)
    {
      first[i] = (float) i;
      second[i] = (float) (N - i);
      third[i] = (float) i * 0.5f;
      fourth[i] = (float) i + 0.25f;
    }
  td_vulkan_upload_stats s0, s1, s2, s3;
  td_tensor *t = tensor_of (b, first, N);
  td_tensor *y = td_tensor_new (b, TD_F32, 1, shape, &err);
  td_tensor *z = td_tensor_new (b, TD_F32, 1, shape, &err);
  td_vulkan_upload_stats_get (b, &s0);
  g_assert_cmpuint (s0.direct_bytes, >=, sizeof first);

  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = y, .src = { t }, .p.scale = { 1, 0 } });
  g_assert_cmpint (td_tensor_upload (t, second, sizeof second, &err), ==, TD_OK);
  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = z, .src = { t }, .p.scale = { 1, 0 } });
  td_vulkan_upload_stats_get (b, &s1);
  g_assert_cmpuint (s1.direct_bytes, ==, s0.direct_bytes);
  g_assert_cmpuint (s1.staged_bytes, ==, s0.staged_bytes + sizeof second);

  /* A freed range, still read by a recorded op, handed out again at once. */
  td_tensor *old = tensor_of (b, third, N);
  td_tensor *w = td_tensor_new (b, TD_F32, 1, shape, &err);
  td_tensor *v = td_tensor_new (b, TD_F32, 1, shape, &err);
  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = w, .src = { old }, .p.scale = { 1, 0 } });
  td_vk_allocation *old_a = old->buffer->impl;
  td_vk_block *old_block = old_a->block;
  VkDeviceSize old_offset = old_a->offset;
  td_tensor_free (old);
  td_vulkan_upload_stats_get (b, &s2);
  td_tensor *reused = tensor_of (b, fourth, N);
  td_vk_allocation *reused_a = reused->buffer->impl;
  g_assert_true (reused_a->block == old_block);
  g_assert_cmpuint (reused_a->offset, ==, old_offset);
  td_vulkan_upload_stats_get (b, &s3);
  g_assert_cmpuint (s3.direct_bytes, ==, s2.direct_bytes);
  run_ok (b, (td_op) { .type = TD_OP_SCALE, .dst = v, .src = { reused }, .p.scale = { 1, 0 } });

  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  assert_holds (y, first, N);
  assert_holds (z, second, N);
  assert_holds (w, third, N);
  assert_holds (v, fourth, N);

  /* Idle now: in place. */
  g_assert_cmpint (td_tensor_upload (t, third, sizeof third, &err), ==, TD_OK);
  td_vulkan_upload_stats_get (b, &s3);
  g_assert_cmpuint (s3.direct_bytes, >=, s2.direct_bytes + sizeof third);
  assert_holds (t, third, N);
  td_tensor *tensors[] = { t, y, z, w, v, reused };
  for (size_t i = 0; i < G_N_ELEMENTS (tensors); i++)
    td_tensor_free (tensors[i]);
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

#define HUGE_N ((int64_t) (64 << 20) / 4 + 1021) /* a dedicated allocation */

/* Rounds of a fresh 64 MiB tensor uploaded in three odd pieces (through the 4 MiB
 * ring, as transfer batches), read by ops at once, then a piece re-uploaded while
 * those ops are pending (the compute stream's copy, after the batch), and a second
 * fresh tensor uploaded and freed unread: every op sees its values, nothing waits
 * for the whole device, and the freed tensors are gone after the sync. */
static void
test_transfer_batches (void)
{
  td_error err;
  vk_test_backend ();
  g_setenv ("TD_VULKAN_TRANSFER_QUEUE", "shared", TRUE);
  td_backend *b = td_backend_vulkan_new (-1, &err);
  g_unsetenv ("TD_VULKAN_TRANSFER_QUEUE");
  g_assert_nonnull (b);
  td_vulkan_set_direct_upload (b, false);
  td_vulkan_upload_stats s0, s1;
  td_vulkan_upload_stats_get (b, &s0);
  g_assert_true (s0.transfer_queue);
  g_assert_false (s0.transfer_separate_family);

  size_t bytes = (size_t) HUGE_N * 4, cuts[4] = { 0, (13 << 20) + 5, (41 << 20) + 2, bytes };
  unsigned char *host = g_malloc (bytes);
  uint32_t seed = 99;
  enum { ROUNDS_T = 3, SNAPS = 4 };
  td_tensor *snaps[ROUNDS_T * SNAPS];
  unsigned char *want[ROUNDS_T * SNAPS];
  int64_t starts[SNAPS] = { 0, (int64_t) cuts[1] / 4 - 7, HUGE_N - SNAP_N, (int64_t) cuts[2] / 4 + 11 };
  int64_t shape[1] = { HUGE_N };
  for (int round = 0; round < ROUNDS_T; round++)
    {
      td_tensor *w = td_tensor_new (b, TD_F32, 1, shape, &err);
      g_assert_nonnull (w);
      fill_bytes (host, bytes, &seed);
      for (int piece = 0; piece < 3; piece++)
        write_ok (b, w, cuts[piece], host + cuts[piece], cuts[piece + 1] - cuts[piece]);
      td_vk_allocation *wa = w->buffer->impl;
      g_assert_cmpuint (wa->upload_value, >, 0); /* copied in a transfer batch */
      for (int k = 0; k < SNAPS - 1; k++)
        {
          snaps[round * SNAPS + k] = snapshot (b, w, starts[k]);
          want[round * SNAPS + k] = g_memdup2 (host + starts[k] * 4, SNAP_N * 4);
        }
      /* The submission reading it will wait for that batch. */
      g_assert_cmpuint (((td_vk_context *) b->impl)->compute_wait, >=, wa->upload_value);
      fill_bytes (host + cuts[2], cuts[3] - cuts[2], &seed);
      write_ok (b, w, cuts[2], host + cuts[2], cuts[3] - cuts[2]);
      snaps[round * SNAPS + SNAPS - 1] = snapshot (b, w, starts[SNAPS - 1]);
      want[round * SNAPS + SNAPS - 1] = g_memdup2 (host + starts[SNAPS - 1] * 4, SNAP_N * 4);

      td_tensor *unread = td_tensor_new (b, TD_F32, 1, shape, &err);
      g_assert_nonnull (unread);
      write_ok (b, unread, 0, host, bytes);
      td_tensor_free (unread);
      td_tensor_free (w);
    }
  td_vulkan_upload_stats_get (b, &s1);
  g_assert_cmpuint (s1.full_syncs, ==, s0.full_syncs);
  g_assert_cmpuint (s1.transfer_bytes, >=, (uint64_t) ROUNDS_T * 2 * bytes);
  g_assert_cmpuint (s1.staged_bytes, >=, (uint64_t) ROUNDS_T * (cuts[3] - cuts[2]));
  g_assert_cmpuint (s1.transfer_batches, >, 0);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  for (int i = 0; i < ROUNDS_T * SNAPS; i++)
    {
      unsigned char back[SNAP_N * 4];
      g_assert_cmpint (td_tensor_download (snaps[i], back, sizeof back, &err), ==, TD_OK);
      g_assert_cmpmem (back, sizeof back, want[i], SNAP_N * 4);
      td_tensor_free (snaps[i]);
      g_free (want[i]);
    }
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  uint64_t used, budget;
  td_vulkan_memory_usage (b, &used, &budget);
  g_assert_cmpuint (used, <=, (s1.staging_device_local ? s1.staging_size : 0) + TD_VK_BLOCK_SIZE);
  g_free (host);
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

/* Which queue family takes uploads, on invented family lists (lavapipe has one
 * family, so the choice itself is only ever exercised here): a transfer-only
 * family other than compute's, never a graphics or compute one; none when there
 * is no such family or TD_VULKAN_TRANSFER_QUEUE=0; the compute family itself
 * with TD_VULKAN_TRANSFER_QUEUE=shared. */
static void
test_transfer_family_choice (void)
{
  enum { G = VK_QUEUE_GRAPHICS_BIT, C = VK_QUEUE_COMPUTE_BIT, T = VK_QUEUE_TRANSFER_BIT };
  /* Discrete NVIDIA-like: graphics+compute, transfer-only, compute-only. */
  VkQueueFamilyProperties discrete[3] = { { .queueFlags = G | C | T, .queueCount = 16 },
                                          { .queueFlags = T, .queueCount = 2 },
                                          { .queueFlags = C | T, .queueCount = 8 } };
  /* One family for everything (lavapipe, many integrated GPUs). */
  VkQueueFamilyProperties single[1] = { { .queueFlags = G | C | T, .queueCount = 1 } };
  /* A second compute family but no transfer-only one; a transfer-only one with no queues. */
  VkQueueFamilyProperties no_transfer[3] = { { .queueFlags = G | C | T, .queueCount = 1 },
                                             { .queueFlags = C | T, .queueCount = 4 },
                                             { .queueFlags = T, .queueCount = 0 } };
  td_vk_context ctx = { 0 };
  char *saved = g_strdup (g_getenv ("TD_VULKAN_TRANSFER_QUEUE"));
  g_unsetenv ("TD_VULKAN_TRANSFER_QUEUE");

  ctx.queue_family = 2;
  td_vk_transfer_choose_family (&ctx, discrete, 3, 2);
  g_assert_true (ctx.transfer_wanted);
  g_assert_cmpuint (ctx.transfer_family, ==, 1);
  g_assert_true (td_vk_transfer_separate_family (&ctx));

  ctx.queue_family = 0;
  td_vk_transfer_choose_family (&ctx, single, 1, 0);
  g_assert_false (ctx.transfer_wanted);
  g_assert_false (td_vk_transfer_separate_family (&ctx));

  td_vk_transfer_choose_family (&ctx, no_transfer, 3, 0);
  g_assert_false (ctx.transfer_wanted);

  g_setenv ("TD_VULKAN_TRANSFER_QUEUE", "0", TRUE);
  ctx.queue_family = 2;
  td_vk_transfer_choose_family (&ctx, discrete, 3, 2);
  g_assert_false (ctx.transfer_wanted);

  g_setenv ("TD_VULKAN_TRANSFER_QUEUE", "shared", TRUE);
  td_vk_transfer_choose_family (&ctx, discrete, 3, 2);
  g_assert_true (ctx.transfer_wanted);
  g_assert_cmpuint (ctx.transfer_family, ==, 2);
  g_assert_false (td_vk_transfer_separate_family (&ctx));

  if (saved != NULL)
    g_setenv ("TD_VULKAN_TRANSFER_QUEUE", saved, TRUE);
  else
    g_unsetenv ("TD_VULKAN_TRANSFER_QUEUE");
  g_free (saved);
}

/* Zero bytes is a no-op; a write past the end is refused without touching memory. */
static void
test_bad_writes_refused (void)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  int64_t shape[1] = { 16 };
  float values[16] = { 0 }, extra[17] = { 0 };
  td_tensor *t = tensor_of (b, values, 16);
  g_assert_cmpint (b->vt->write (b, t->buffer, 64, values, 0, &err), ==, TD_OK);
  g_assert_cmpint (b->vt->write (b, t->buffer, 0, extra, sizeof extra, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "past"));
  g_assert_cmpint (b->vt->write (b, t->buffer, SIZE_MAX, values, 4, &err), ==, TD_ERR_INVALID_ARG);
  assert_holds (t, values, 16);
  (void) shape;
  td_tensor_free (t);
}

/* The ring's size: TD_VULKAN_STAGING_MIB, else from the device (at least 32 MiB,
 * a whole number of segments); device memory when the device's host-visible
 * memory is device-local, and then in the memory meter. */
static void
test_ring_size_and_meter (void)
{
  td_error err;
  td_vulkan_upload_stats stats;
  td_backend *b = backend_with_direct (false);
  td_vulkan_upload_stats_get (b, &stats);
  g_assert_cmpuint (stats.staging_size, ==, (uint64_t) RING_MIB << 20);
  uint64_t used, budget;
  td_vulkan_memory_usage (b, &used, &budget);
  g_assert_cmpuint (used, ==, stats.staging_device_local ? stats.staging_size : 0);
  td_backend_free (b);

  const char *saved = g_getenv ("TD_VULKAN_STAGING_MIB");
  char *keep = g_strdup (saved);
  for (int variant = 0; variant < 2; variant++)
    {
      if (variant == 0)
        g_unsetenv ("TD_VULKAN_STAGING_MIB");
      else
        g_setenv ("TD_VULKAN_STAGING_MIB", "lots", TRUE); /* ignored, with a notice */
      b = td_backend_vulkan_new (-1, &err);
      g_assert_nonnull (b);
      td_vulkan_upload_stats_get (b, &stats);
      g_assert_cmpuint (stats.staging_size, >=, (uint64_t) 32 << 20);
      g_assert_cmpuint (stats.staging_size % (TD_VK_STAGING_SEGMENTS * 256), ==, 0);
      td_backend_free (b);
    }
  if (keep != NULL)
    g_setenv ("TD_VULKAN_STAGING_MIB", keep, TRUE);
  g_free (keep);
  vk_test_assert_no_validation_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("TD_VULKAN_STAGING_MIB", G_STRINGIFY (RING_MIB), TRUE);
  g_test_add_func ("/vulkan/upload/ring-wraps-without-device-wait", test_ring_wraps_without_device_wait);
  g_test_add_func ("/vulkan/upload/in-place-matches-ring", test_in_place_matches_ring);
  g_test_add_func ("/vulkan/upload/in-place-waits-for-users", test_in_place_waits_for_users);
  g_test_add_func ("/vulkan/upload/transfer-batches", test_transfer_batches);
  g_test_add_func ("/vulkan/upload/transfer-family-choice", test_transfer_family_choice);
  g_test_add_func ("/vulkan/upload/bad-writes-refused", test_bad_writes_refused);
  g_test_add_func ("/vulkan/upload/ring-size-and-meter", test_ring_size_and_meter);
  return g_test_run ();
}
