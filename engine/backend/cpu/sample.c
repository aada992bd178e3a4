/* sample.c — ARGMAX and SAMPLE (temperature + top-p nucleus) over the last dim.
 *
 * SAMPLE per row: p = softmax(logits / temperature); tokens sorted by logit
 * descending (ties: lower index first, so the order is the same on every backend and
 * the first token is ARGMAX's); keep the smallest prefix whose cumulative probability
 * reaches top_p (at least one token); draw u = td_rng_uniform(seed, counter + row) and
 * pick by inverse CDF over the renormalised prefix. temperature <= 0 is argmax.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "backend/cpu/dense_util.h"

/* Index of the largest value (first on ties; a NaN counts as the largest, as in torch). */
static int32_t
argmax_row (const float *x, int64_t n)
{
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    {
      if (isnan (x[best]))
        break;
      if (x[i] > x[best] || isnan (x[i]))
        best = i;
    }
  return (int32_t) best;
}

typedef struct sample_job {
  const float *logits; /* [rows, n] */
  int32_t *out;        /* [rows] */
  int64_t n;
  float temperature, top_p;
  uint64_t seed, counter;
  atomic_bool out_of_memory;
} sample_job;

static void
argmax_rows (void *data, int64_t begin, int64_t end)
{
  sample_job *job = data;
  for (int64_t row = begin; row < end; row++)
    job->out[row] = argmax_row (job->logits + row * job->n, job->n);
}

typedef struct candidate {
  float logit;
  float weight; /* unnormalised probability exp((logit - max) / T) */
  int32_t token;
} candidate;

static int
compare_candidates (const void *pa, const void *pb)
{
  const candidate *a = pa, *b = pb;
  if (a->logit != b->logit)
    return a->logit > b->logit ? -1 : 1;
  return a->token < b->token ? -1 : a->token > b->token;
}

/* One row: the nucleus draw described at the top. order is scratch of n candidates. */
static int32_t
sample_row (const sample_job *job, const float *logits, candidate *order, uint64_t row)
{
  int64_t n = job->n;
  for (int64_t i = 0; i < n; i++)
    {
      /* NaN logits never get picked: they sort last with probability 0. */
      order[i].logit = isnan (logits[i]) ? -INFINITY : logits[i];
      order[i].token = (int32_t) i;
    }
  qsort (order, (size_t) n, sizeof *order, compare_candidates);

  float max = order[0].logit;
  if (max == -INFINITY)
    return order[0].token; /* nothing is possible: fall back to the first token */

  double total = 0;
  for (int64_t i = 0; i < n; i++)
    {
      order[i].weight = expf ((order[i].logit - max) / job->temperature);
      total += order[i].weight;
    }

  /* The nucleus: the smallest prefix whose probability reaches top_p. */
  int64_t kept = 0;
  double kept_mass = 0;
  while (kept < n)
    {
      kept_mass += order[kept].weight;
      kept++;
      if (kept_mass >= job->top_p * total)
        break;
    }

  /* Inverse CDF over the renormalised prefix. */
  double target = (double) td_rng_uniform (job->seed, job->counter + row) * kept_mass;
  double cumulative = 0;
  for (int64_t i = 0; i < kept; i++)
    {
      cumulative += order[i].weight;
      if (target < cumulative)
        return order[i].token;
    }
  return order[kept - 1].token; /* rounding left target at the very end */
}

static void
sample_rows (void *data, int64_t begin, int64_t end)
{
  sample_job *job = data;
  candidate *order = malloc ((size_t) job->n * sizeof *order);
  if (order == NULL)
    {
      atomic_store (&job->out_of_memory, true);
      return;
    }
  for (int64_t row = begin; row < end; row++)
    job->out[row] = sample_row (job, job->logits + row * job->n, order, (uint64_t) row);
  free (order);
}

static void
job_init (sample_job *job, const td_op *op)
{
  job->logits = dense_f32 (op->src[0]);
  job->out = td_tensor_host_data (op->dst);
  job->n = dense_last_dim (op->src[0]);
  job->temperature = op->p.sample.temperature;
  job->top_p = op->p.sample.top_p;
  job->seed = op->p.sample.seed;
  job->counter = op->p.sample.counter;
  atomic_init (&job->out_of_memory, false);
}

td_status
td_cpu_argmax (const td_op *op, td_error *err)
{
  sample_job job;
  job_init (&job, op);
  dense_parallel (dense_rows (op->src[0]), argmax_rows, &job);
  return TD_OK;
}

td_status
td_cpu_sample (const td_op *op, td_error *err)
{
  sample_job job;
  job_init (&job, op);
  int64_t rows = dense_rows (op->src[0]);
  if (!(job.temperature > 0.0f))
    {
      dense_parallel (rows, argmax_rows, &job);
      return TD_OK;
    }
  dense_parallel (rows, sample_rows, &job);
  if (atomic_load (&job.out_of_memory))
    return td_error_set (err, TD_ERR_NO_MEMORY, "sample: out of memory sorting %lld logits", (long long) job.n);
  return TD_OK;
}
