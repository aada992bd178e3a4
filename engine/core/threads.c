#include "core/threads.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct td_threadpool {
  int n_threads;            /* workers + the calling thread */
  pthread_t *workers;
  pthread_mutex_t lock;
  pthread_mutex_t job_lock;   /* one job at a time: callers on other threads wait */
  pthread_cond_t work_ready;
  pthread_cond_t work_done;
  /* The job in flight. */
  td_range_fn fn;
  void *ctx;
  int64_t n;
  int64_t chunk;
  int64_t next;             /* next unclaimed index */
  int active;               /* workers still inside the job */
  uint64_t generation;      /* bumped per job so workers see new work */
  int shutting_down;
};

static int
claim_chunk (td_threadpool *pool, int64_t *begin, int64_t *end)
{
  if (pool->next >= pool->n)
    return 0;
  *begin = pool->next;
  *end = *begin + pool->chunk < pool->n ? *begin + pool->chunk : pool->n;
  pool->next = *end;
  return 1;
}

static void
run_chunks (td_threadpool *pool)
{
  int64_t begin, end;
  for (;;)
    {
      pthread_mutex_lock (&pool->lock);
      int got = claim_chunk (pool, &begin, &end);
      pthread_mutex_unlock (&pool->lock);
      if (!got)
        return;
      pool->fn (pool->ctx, begin, end);
    }
}

static void *
worker_main (void *data)
{
  td_threadpool *pool = data;
  uint64_t seen = 0;

  pthread_mutex_lock (&pool->lock);
  for (;;)
    {
      while (!pool->shutting_down && pool->generation == seen)
        pthread_cond_wait (&pool->work_ready, &pool->lock);
      if (pool->shutting_down)
        break;
      seen = pool->generation;
      pthread_mutex_unlock (&pool->lock);

      run_chunks (pool);

      pthread_mutex_lock (&pool->lock);
      if (--pool->active == 0)
        pthread_cond_signal (&pool->work_done);
    }
  pthread_mutex_unlock (&pool->lock);
  return NULL;
}

td_threadpool *
td_threadpool_new (int n_threads)
{
  if (n_threads <= 0)
    {
      long online = sysconf (_SC_NPROCESSORS_ONLN);
      n_threads = online > 0 ? (int) online : 1;
    }
  td_threadpool *pool = calloc (1, sizeof *pool);
  if (pool == NULL)
    return NULL;
  pool->n_threads = n_threads;
  pthread_mutex_init (&pool->lock, NULL);
  pthread_mutex_init (&pool->job_lock, NULL);
  pthread_cond_init (&pool->work_ready, NULL);
  pthread_cond_init (&pool->work_done, NULL);
  if (n_threads > 1)
    {
      pool->workers = calloc ((size_t) n_threads - 1, sizeof *pool->workers);
      if (pool->workers == NULL)
        {
          free (pool);
          return NULL;
        }
      for (int i = 0; i < n_threads - 1; i++)
        if (pthread_create (&pool->workers[i], NULL, worker_main, pool) != 0)
          {
            /* Run with the threads we got. */
            pool->n_threads = i + 1;
            break;
          }
    }
  return pool;
}

void
td_threadpool_free (td_threadpool *pool)
{
  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->lock);
  pool->shutting_down = 1;
  pthread_cond_broadcast (&pool->work_ready);
  pthread_mutex_unlock (&pool->lock);
  for (int i = 0; i < pool->n_threads - 1; i++)
    pthread_join (pool->workers[i], NULL);
  pthread_mutex_destroy (&pool->lock);
  pthread_mutex_destroy (&pool->job_lock);
  pthread_cond_destroy (&pool->work_ready);
  pthread_cond_destroy (&pool->work_done);
  free (pool->workers);
  free (pool);
}

int
td_threadpool_size (const td_threadpool *pool)
{
  return pool->n_threads;
}

static td_threadpool *default_pool;
static pthread_once_t default_pool_once = PTHREAD_ONCE_INIT;

static void
create_default_pool (void)
{
  default_pool = td_threadpool_new (0);
}

td_threadpool *
td_threadpool_default (void)
{
  pthread_once (&default_pool_once, create_default_pool);
  return default_pool;
}

void
td_parallel_for (td_threadpool *pool, int64_t n, td_range_fn fn, void *ctx)
{
  if (n <= 0)
    return;
  if (pool == NULL || pool->n_threads <= 1 || n == 1)
    {
      fn (ctx, 0, n);
      return;
    }
  /* A few chunks per thread balance uneven work without much locking. */
  int64_t chunks = (int64_t) pool->n_threads * 4;
  int64_t chunk = (n + chunks - 1) / chunks;

  pthread_mutex_lock (&pool->job_lock);
  pthread_mutex_lock (&pool->lock);
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n = n;
  pool->chunk = chunk > 0 ? chunk : 1;
  pool->next = 0;
  pool->active = pool->n_threads - 1;
  pool->generation++;
  pthread_cond_broadcast (&pool->work_ready);
  pthread_mutex_unlock (&pool->lock);

  run_chunks (pool);

  pthread_mutex_lock (&pool->lock);
  while (pool->active > 0)
    pthread_cond_wait (&pool->work_done, &pool->lock);
  pthread_mutex_unlock (&pool->lock);
  pthread_mutex_unlock (&pool->job_lock);
}
