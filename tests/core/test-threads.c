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

typedef struct {
  td_threadpool *pool;
  int *hits;
  int64_t n;
} concurrent_job;

static gpointer
run_job (gpointer data)
{
  concurrent_job *job = data;
  for (int round = 0; round < 50; round++)
    td_parallel_for (job->pool, job->n, add_range, job->hits);
  return NULL;
}

/* Two threads sharing one pool each see every index of their own job. */
static void
test_concurrent_callers (void)
{
  td_threadpool *pool = td_threadpool_new (3);
  concurrent_job jobs[2] = { { pool, g_new0 (int, 97), 97 }, { pool, g_new0 (int, 131), 131 } };
  GThread *threads[2];
  for (int i = 0; i < 2; i++)
    threads[i] = g_thread_new ("caller", run_job, &jobs[i]);
  for (int i = 0; i < 2; i++)
    g_thread_join (threads[i]);
  for (int i = 0; i < 2; i++)
    {
      for (int64_t k = 0; k < jobs[i].n; k++)
        g_assert_cmpint (jobs[i].hits[k], ==, 50);
      g_free (jobs[i].hits);
    }
  td_threadpool_free (pool);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/threads/every-index-once", test_every_index_once);
  g_test_add_func ("/threads/concurrent-callers", test_concurrent_callers);
  return g_test_run ();
}
