/* Asynchronous reads (td_backend_read_begin): the values a tensor holds once the ops
 * recorded before the read have run, even when later ops overwrite it; polling
 * without waiting never hands over values early; bad requests are refused. */
#include <string.h>

#include "vk-test-util.h"

#include "backend/ops.h"

/* Ids picked by ARGMAX, read asynchronously, then overwritten by a second ARGMAX:
 * each read sees the ids of its own step. */
static void
test_reads_see_their_step (void)
{
  td_backend *b = vk_test_backend ();
  td_error err = { 0 };
  enum { STEPS = 40, VOCAB = 1000 };
  int64_t logits_shape[2] = { 2, VOCAB }, ids_shape[1] = { 2 };
  float *values = g_new0 (float, 2 * VOCAB);
  td_tensor *logits = vk_tensor_from (b, TD_F32, 2, logits_shape, values);
  td_tensor *ids = td_tensor_new (b, TD_I32, 1, ids_shape, &err);
  g_assert_nonnull (ids);
  td_backend_readback *reads[STEPS];
  int pending = 0;
  for (int step = 0; step < STEPS; step++)
    {
      /* Row 0 peaks at 7 · step, row 1 at 999 − step. */
      memset (values, 0, 2 * VOCAB * sizeof *values);
      values[(7 * step) % VOCAB] = 1.0f;
      values[VOCAB + VOCAB - 1 - step] = 2.0f;
      g_assert_cmpint (td_tensor_upload (logits, values, 2 * VOCAB * sizeof *values, &err), ==, TD_OK);
      g_assert_cmpint (td_argmax (b, ids, logits, &err), ==, TD_OK);
      reads[step] = td_backend_read_begin (b, ids, &err);
      g_assert_nonnull (reads[step]);
      /* At once: handed over only when the device has finished, and then right. */
      int32_t probe[2] = { -1, -1 };
      bool ready = false;
      g_assert_cmpint (td_backend_read_poll (reads[step], false, probe, sizeof probe, &ready, &err), ==, TD_OK);
      if (ready)
        g_assert_cmpint (probe[1], ==, VOCAB - 1 - step);
      else
        {
          g_assert_cmpint (probe[0], ==, -1);
          pending++;
        }
    }
  g_test_message ("%d of %d reads were still on the device when polled at once", pending, STEPS);
  int early = 0;
  for (int step = 0; step < STEPS; step++)
    {
      int32_t got[2] = { -1, -1 };
      bool ready = false;
      g_assert_cmpint (td_backend_read_poll (reads[step], false, got, sizeof got, &ready, &err), ==, TD_OK);
      if (!ready)
        {
          g_assert_cmpint (got[0], ==, -1); /* nothing handed over before it is there */
          g_assert_cmpint (td_backend_read_poll (reads[step], true, got, sizeof got, &ready, &err), ==, TD_OK);
          g_assert_true (ready);
        }
      else
        early++;
      g_assert_cmpint (got[0], ==, (7 * step) % VOCAB);
      g_assert_cmpint (got[1], ==, VOCAB - 1 - step);
      td_backend_readback_free (reads[step]);
    }
  g_test_message ("%d of %d reads were ready when first polled", early, STEPS);
  vk_test_assert_no_validation_messages ();
  td_tensor_free (logits);
  td_tensor_free (ids);
  g_free (values);
}

static void
test_bad_requests (void)
{
  td_backend *b = vk_test_backend ();
  td_error err = { 0 };
  int64_t big_shape[1] = { TD_READBACK_MAX / 4 + 1 }, small_shape[1] = { 3 };
  td_tensor *big = td_tensor_new (b, TD_F32, 1, big_shape, &err);
  td_tensor *small = td_tensor_new (b, TD_I32, 1, small_shape, &err);
  g_assert_null (td_backend_read_begin (b, big, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "at most"));
  td_backend_readback *read = td_backend_read_begin (b, small, &err);
  g_assert_nonnull (read);
  int32_t too_few[2];
  bool ready = true;
  g_assert_cmpint (td_backend_read_poll (read, true, too_few, sizeof too_few, &ready, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_false (ready);
  /* Freed unread: its slot is free again for as many reads as there are slots and more. */
  td_backend_readback_free (read);
  for (int i = 0; i < 200; i++)
    {
      read = td_backend_read_begin (b, small, &err);
      g_assert_nonnull (read);
      td_backend_readback_free (read);
    }
  td_tensor_free (big);
  td_tensor_free (small);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/readback/reads-see-their-step", test_reads_see_their_step);
  g_test_add_func ("/vulkan/readback/bad-requests", test_bad_requests);
  return g_test_run ();
}
