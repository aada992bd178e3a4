/* threads.h — a fixed pool of worker threads for data-parallel loops. */
#pragma once

#include <stdint.h>

typedef struct td_threadpool td_threadpool;

/* n_threads <= 0 means one per online CPU. Returns NULL only on allocation failure. */
td_threadpool *td_threadpool_new (int n_threads);
void td_threadpool_free (td_threadpool *pool);
int td_threadpool_size (const td_threadpool *pool);

/* A process-wide pool sized to the machine, created on first use. */
td_threadpool *td_threadpool_default (void);

/* Calls fn(ctx, begin, end) over disjoint chunks covering [0, n), in parallel,
 * and returns when all are done. The calling thread takes part. Calls from
 * several threads run one after another; fn must not call td_parallel_for on
 * the same pool. */
typedef void (*td_range_fn) (void *ctx, int64_t begin, int64_t end);
void td_parallel_for (td_threadpool *pool, int64_t n, td_range_fn fn, void *ctx);
