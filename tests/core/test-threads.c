#include <glib.h>

#include "core/threads.h"

static void
add_range (void *ctx, int64_t begin, int64_t end)
{
  int *hits = ctx;
  for (int64_t i = begin; i < end; i++)
    __atomic_add_fetch (&hits[i], 1, __ATOMIC_RELAXED);
}

static void
test_every_index_once (void)
{
  for (int threads = 1; threads <= 5; threads++)
    {
      td_threadpool *pool = td_threadpool_new (threads);
      for (int64_t n = 0; n < 200; n += 13)
        {
          int *hits = g_new0 (int, n + 1);
          td_parallel_for (pool, n, add_range, hits);
          for (int64_t i = 0; i < n; i++)
            g_assert_cmpint (hits[i], ==, 1);
          g_free (hits);
        }
      td_threadpool_free (pool);
    }
  g_assert_cmpint (td_threadpool_size (td_threadpool_default ()), >=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/threads/every-index-once", test_every_index_once);
  return g_test_run ();
}
