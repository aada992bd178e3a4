#include "models/weights_random.h"

#include <glib.h>
#include <string.h>

#include "backend/op.h"
#include "core/quant_encode.h"
#include "core/threads.h"

struct td_random_weights {
  uint64_t seed;
  GHashTable *specs; /* name → td_random_spec* */
};

static void
free_spec (gpointer data)
{
  td_random_spec *spec = data;
  g_free (spec->name);
  g_free (spec);
}

td_random_weights *
td_random_weights_new (uint64_t seed)
{
  td_random_weights *random = g_new0 (td_random_weights, 1);
  random->seed = seed;
  random->specs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, free_spec);
  return random;
}

void
td_random_weights_free (td_random_weights *random)
{
  if (random == NULL)
    return;
  g_hash_table_unref (random->specs);
  g_free (random);
}

td_status
td_random_weights_declare (td_random_weights *random, const td_random_spec *spec, td_error *err)
{
  int64_t numel;
  bool blocks_fit = td_dtype_is_quantized (spec->dtype) && td_quantize_supported (spec->dtype) && spec->ndim >= 1
                    && spec->shape[spec->ndim - 1] % td_dtype_block_elems (spec->dtype) == 0;
  if (spec->ndim < 1 || spec->ndim > TD_MAX_DIMS || !td_shape_numel (spec->ndim, spec->shape, &numel)
      || !(td_dtype_is_float (spec->dtype) || blocks_fit))
    return td_error_set (err, TD_ERR_INVALID_ARG, "random weights: '%s' has an invalid shape or dtype", spec->name);
  if (g_hash_table_contains (random->specs, spec->name))
    return td_error_set (err, TD_ERR_INVALID_ARG, "random weights: '%s' is declared twice", spec->name);
  td_random_spec *copy = g_new (td_random_spec, 1);
  *copy = *spec;
  copy->name = g_strdup (spec->name);
  g_hash_table_insert (random->specs, copy->name, copy);
  return TD_OK;
}

const td_random_spec *
td_random_weights_find (const td_random_weights *random, const char *name)
{
  return g_hash_table_lookup (random->specs, name);
}

typedef struct fill_job {
  const td_random_spec *spec;
  int64_t numel;
  uint64_t stream;
  void *data;
} fill_job;

enum { FILL_CHUNK = 4096 }; /* a whole number of blocks of every block type */

/* Chunks [begin, end) of FILL_CHUNK values, made in f32 and converted or quantised. */
static void
fill_range (void *ctx, int64_t begin, int64_t end)
{
  const fill_job *job = ctx;
  const td_dtype dtype = job->spec->dtype;
  float values[FILL_CHUNK];
  for (int64_t c = begin; c < end; c++)
    {
      const int64_t first = c * FILL_CHUNK, n = MIN (FILL_CHUNK, job->numel - first);
      for (int64_t i = 0; i < n; i++)
        values[i] = job->spec->offset
                    + job->spec->scale * (2.0f * td_rng_uniform (job->stream, (uint64_t) (first + i)) - 1.0f);
      if (td_dtype_is_quantized (dtype))
        td_quantize_row ((unsigned char *) job->data
                           + (size_t) (first / td_dtype_block_elems (dtype)) * td_dtype_block_bytes (dtype),
                         values, dtype, (size_t) n);
      else
        td_convert_from_f32 ((unsigned char *) job->data + (size_t) first * td_dtype_size (dtype), dtype, values,
                             (size_t) n);
    }
}

td_tensor *
td_random_weights_generate (const td_random_weights *random, const td_random_spec *spec, td_error *err)
{
  td_tensor *t = td_tensor_new (NULL, spec->dtype, spec->ndim, spec->shape, err);
  if (t == NULL)
    return NULL;
  /* One stream per tensor: the seed mixed with an FNV-1a hash of the name. */
  uint64_t stream = 1469598103934665603ull ^ random->seed;
  for (const char *c = spec->name; *c; c++)
    stream = (stream ^ (unsigned char) *c) * 1099511628211ull;
  fill_job job = { .spec = spec, .numel = td_tensor_numel (t), .stream = stream, .data = td_tensor_host_data (t) };
  td_parallel_for (td_threadpool_default (), (job.numel + FILL_CHUNK - 1) / FILL_CHUNK, fill_range, &job);
  return t;
}

void
td_random_weights_totals (const td_random_weights *random, int64_t *elements, int64_t *bytes)
{
  *elements = *bytes = 0;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, random->specs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const td_random_spec *spec = value;
      int64_t numel = 0;
      td_shape_numel (spec->ndim, spec->shape, &numel);
      *elements += numel;
      *bytes += td_dtype_is_quantized (spec->dtype)
                  ? numel / td_dtype_block_elems (spec->dtype) * (int64_t) td_dtype_block_bytes (spec->dtype)
                  : numel * (int64_t) td_dtype_size (spec->dtype);
    }
}
