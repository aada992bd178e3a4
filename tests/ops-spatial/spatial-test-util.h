/* spatial-test-util.h — small helpers shared by the spatial op tests:
 * host tensors from f32 arrays, random fills, and error-bound comparisons. */
#pragma once

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/ops.h"

/* A host tensor of `dtype` holding `data` (f32 values, rounded to dtype). */
static inline td_tensor *
test_tensor (td_dtype dtype, int ndim, const int64_t *shape, const float *data)
{
  td_error err = { 0 };
  td_tensor *t = td_tensor_new (NULL, dtype, ndim, shape, &err);
  g_assert_nonnull (t);
  if (data != NULL)
    {
      size_t n = (size_t) td_tensor_numel (t);
      void *converted = g_malloc (td_tensor_nbytes (t) + 1);
      td_convert_from_f32 (converted, dtype, data, n);
      g_assert_cmpint (td_tensor_upload (t, converted, td_tensor_nbytes (t), &err), ==, TD_OK);
      g_free (converted);
    }
  return t;
}

static inline td_tensor *
test_tensor_f32 (int ndim, const int64_t *shape, const float *data)
{
  return test_tensor (TD_F32, ndim, shape, data);
}

/* The tensor's values as f32 (g_free). */
static inline float *
test_read (const td_tensor *t)
{
  td_error err = { 0 };
  float *values = td_tensor_to_f32 (t, &err);
  g_assert_nonnull (values);
  size_t n = (size_t) td_tensor_numel (t);
  float *copy = g_new (float, n + 1); /* + 1: never a zero-byte allocation */
  memcpy (copy, values, n * sizeof (float));
  free (values);
  return copy;
}

/* n uniform values in [lo, hi) (g_free). */
static inline float *
test_random (GRand *rng, size_t n, double lo, double hi)
{
  float *values = g_new (float, n + 1);
  for (size_t i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (rng, lo, hi);
  return values;
}

/* Rounds values in place as storing them in `dtype` would (f16/bf16 weights). */
static inline void
test_round_to (td_dtype dtype, float *values, size_t n)
{
  void *tmp = g_malloc (n * 4 + 4);
  td_convert_from_f32 (tmp, dtype, values, n);
  td_convert_to_f32 (values, tmp, dtype, n);
  g_free (tmp);
}

/* Asserts max |got − want| ≤ atol + rtol · max |want| over n values. */
static inline void
test_assert_close (const float *got, const double *want, size_t n, double atol, double rtol, const char *what)
{
  double scale = 0.0, worst = 0.0;
  size_t worst_at = 0;
  for (size_t i = 0; i < n; i++)
    scale = fmax (scale, fabs (want[i]));
  for (size_t i = 0; i < n; i++)
    {
      double diff = fabs ((double) got[i] - want[i]);
      if (!(diff <= worst) || isnan (got[i]))
        {
          worst = isnan (got[i]) ? INFINITY : diff;
          worst_at = i;
        }
    }
  double bound = atol + rtol * scale;
  if (!(worst <= bound))
    g_error ("%s: element %zu is %.9g, expected %.9g (error %.3g > bound %.3g)", what, worst_at,
             (double) got[worst_at], want[worst_at], worst, bound);
}

static inline td_backend *
test_backend (void)
{
  static td_backend *backend;
  if (backend == NULL)
    {
      td_error err = { 0 };
      backend = td_backend_cpu_new (&err);
      g_assert_nonnull (backend);
    }
  return backend;
}
