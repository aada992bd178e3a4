#include <glib.h>

#include "backend/backend.h"
#include "core/arena.h"
#include "core/tensor.h"

static void
test_new_and_views (void)
{
  td_error err = { 0 };
  const int64_t shape[3] = { 2, 3, 4 };
  td_tensor *t = td_tensor_new (NULL, TD_F32, 3, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_numel (t), ==, 24);
  g_assert_true (td_tensor_is_contiguous (t));
  float values[24];
  for (int i = 0; i < 24; i++)
    values[i] = (float) i;
  g_assert_cmpint (td_tensor_upload (t, values, sizeof values, &err), ==, TD_OK);

  /* permute(2, 0, 1): element [k, i, j] = t[i, j, k] */
  const int perm[3] = { 2, 0, 1 };
  td_tensor *p = td_tensor_permute (t, perm, &err);
  g_assert_nonnull (p);
  g_assert_false (td_tensor_is_contiguous (p));
  float *pf = td_tensor_to_f32 (p, &err);
  g_assert_nonnull (pf);
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++)
        g_assert_cmpfloat (pf[(k * 2 + i) * 3 + j], ==, values[(i * 3 + j) * 4 + k]);
  g_free (pf);

  /* The view keeps the buffer alive after the original goes. */
  td_tensor_free (t);
  td_tensor *s = td_tensor_slice (p, 0, 1, 2, &err); /* k in [1, 3) */
  g_assert_nonnull (s);
  float *sf = td_tensor_to_f32 (s, &err);
  g_assert_cmpfloat (sf[0], ==, 1.0f);  /* [k=1, i=0, j=0] = t[0,0,1] */
  g_assert_cmpfloat (sf[11], ==, 22.0f); /* [k=2, i=1, j=2] = t[1,2,2] */
  g_free (sf);
  td_tensor_free (s);
  td_tensor_free (p);
}

static void
test_bad_requests (void)
{
  td_error err = { 0 };
  const int64_t huge[2] = { INT64_MAX / 2, 4 };
  g_assert_null (td_tensor_new (NULL, TD_F32, 2, huge, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_LIMIT);

  const int64_t shape[2] = { 3, 5 };
  td_tensor *t = td_tensor_new (NULL, TD_F16, 2, shape, &err);
  const int64_t wrong[2] = { 4, 4 };
  g_assert_null (td_tensor_reshape (t, 2, wrong, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_assert_null (td_tensor_slice (t, 1, 4, 2, &err));
  const int bad_perm[2] = { 0, 0 };
  g_assert_null (td_tensor_permute (t, bad_perm, &err));
  uint16_t small[3];
  g_assert_cmpint (td_tensor_upload (t, small, sizeof small, &err), ==, TD_ERR_INVALID_ARG);
  td_tensor_free (t);
}

static void
test_arena (void)
{
  td_arena *arena = td_arena_new (256);
  void *a = td_arena_alloc (arena, 10, 8);
  void *b = td_arena_alloc (arena, 100, 64);
  void *big = td_arena_alloc (arena, 10000, 16);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_nonnull (big);
  g_assert_cmpuint ((uintptr_t) b % 64, ==, 0);
  g_assert_null (td_arena_alloc (arena, 8, 3)); /* not a power of two */
  g_assert_cmpuint (td_arena_used (arena), ==, 10110);
  td_arena_reset (arena);
  g_assert_cmpuint (td_arena_used (arena), ==, 0);
  g_assert_nonnull (td_arena_alloc (arena, 200, 8));
  td_arena_free (arena);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/new-and-views", test_new_and_views);
  g_test_add_func ("/tensor/bad-requests", test_bad_requests);
  g_test_add_func ("/arena/alloc-reset", test_arena);
  return g_test_run ();
}
