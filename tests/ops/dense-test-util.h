/* dense-test-util.h — helpers for the dense op tests: tensors from float arrays in any
 * dtype, a reproducible random source, and error bounds. Header-only (static functions)
 * so each test executable stays one file. */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

#include "backend/ops.h"

static td_backend *test_backend;

static inline void
test_backend_init (void)
{
  td_error err = { 0 };
  test_backend = td_backend_cpu_new (&err);
  g_assert_nonnull (test_backend);
}

/* A new contiguous tensor holding `values` (f32) converted to dtype; values may be NULL (zeros). */
static inline td_tensor *
tensor_of (td_dtype dtype, int ndim, const int64_t *shape, const float *values)
{
  td_error err = { 0 };
  td_tensor *t = td_tensor_new (test_backend, dtype, ndim, shape, &err);
  g_assert_nonnull (t);
  size_t n = (size_t) td_tensor_numel (t);
  size_t bytes = td_tensor_nbytes (t);
  void *raw = g_malloc0 (bytes + 1);
  if (values != NULL)
    td_convert_from_f32 (raw, dtype, values, n);
  g_assert_cmpint (td_tensor_upload (t, raw, bytes, &err), ==, TD_OK);
  g_free (raw);
  return t;
}

static inline td_tensor *
tensor_i32 (int ndim, const int64_t *shape, const int32_t *values)
{
  td_error err = { 0 };
  td_tensor *t = td_tensor_new (test_backend, TD_I32, ndim, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, values, td_tensor_nbytes (t), &err), ==, TD_OK);
  return t;
}

/* The values a tensor holds, as f32 (g_free / free the result). */
static inline float *
values_of (const td_tensor *t)
{
  td_error err = { 0 };
  float *v = td_tensor_to_f32 (t, &err);
  g_assert_nonnull (v);
  return v;
}

/* Uniform floats in [lo, hi) from a seeded GRand. */
static inline float *
random_floats (GRand *rng, size_t n, double lo, double hi)
{
  float *v = g_new (float, n + 1);
  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
  return v;
}

/* Rounds values in place to what dtype can store, so references use the stored values. */
static inline void
round_to_dtype (float *v, size_t n, td_dtype dtype)
{
  for (size_t i = 0; i < n; i++)
    {
      if (dtype == TD_F16)
        v[i] = td_f16_to_f32 (td_f32_to_f16 (v[i]));
      else if (dtype == TD_BF16)
        v[i] = td_bf16_to_f32 (td_f32_to_bf16 (v[i]));
    }
}

#define assert_near(actual, expected, tolerance)                                                          \
  do                                                                                                      \
    {                                                                                                     \
      double a_ = (actual), e_ = (expected), t_ = (tolerance);                                            \
      if (!(fabs (a_ - e_) <= t_))                                                                        \
        g_error ("%s:%d: %s = %.9g, expected %.9g (tolerance %.3g)", __FILE__, __LINE__, #actual, a_, e_, \
                 t_);                                                                                     \
    }                                                                                                     \
  while (0)

/* The op failed with TD_ERR_INVALID_ARG and a message that contains `needle`. */
#define assert_invalid(status, err, needle)                                                      \
  do                                                                                             \
    {                                                                                            \
      td_status s_ = (status);                                                                   \
      if (s_ != TD_ERR_INVALID_ARG || strstr ((err).message, (needle)) == NULL)                  \
        g_error ("%s:%d: expected invalid-argument mentioning \"%s\", got %s: \"%s\"", __FILE__, \
                 __LINE__, (needle), td_status_name (s_), (err).message);                        \
    }                                                                                            \
  while (0)
