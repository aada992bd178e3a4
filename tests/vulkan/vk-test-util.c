#include "vk-test-util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static td_backend *backend;
static GRand *rng;

td_backend *
vk_test_backend (void)
{
  if (backend != NULL)
    return backend;
  td_vulkan_device_info *devices;
  int count;
  td_error err;
  if (td_vulkan_list_devices (&devices, &count, &err) != TD_OK)
    g_error ("listing Vulkan devices: %s", err.message);
  free (devices);
  if (count == 0)
    {
      g_print ("1..0 # SKIP no Vulkan device on this machine\n");
      exit (77);
    }
  backend = td_backend_vulkan_new (-1, &err);
  if (backend == NULL)
    g_error ("creating the Vulkan backend: %s", err.message);
  const char *no_16bit = g_getenv ("TD_VULKAN_NO_16BIT_STORAGE");
  if (no_16bit != NULL && strcmp (no_16bit, "1") == 0)
    g_assert_false (td_vulkan_backend_device (backend)->storage_16bit);
  return backend;
}

void
vk_test_assert_no_validation_messages (void)
{
  g_assert_cmpint (td_vulkan_validation_message_count (), ==, 0);
}

static GRand *
test_rng (void)
{
  if (rng == NULL)
    rng = g_rand_new_with_seed (20261127);
  return rng;
}

void
vk_random_fill (float *values, int64_t n, float lo, float hi)
{
  for (int64_t i = 0; i < n; i++)
    values[i] = (float) g_rand_double_range (test_rng (), lo, hi);
}

void
vk_round_to_dtype (float *values, int64_t n, td_dtype dtype)
{
  for (int64_t i = 0; i < n; i++)
    {
      if (dtype == TD_F16)
        values[i] = td_f16_to_f32 (td_f32_to_f16 (values[i]));
      else if (dtype == TD_BF16)
        values[i] = td_bf16_to_f32 (td_f32_to_bf16 (values[i]));
    }
}

td_tensor *
vk_tensor_from (td_backend *b, td_dtype dtype, int ndim, const int64_t *shape, const float *values)
{
  td_error err;
  td_tensor *t = td_tensor_new (b, dtype, ndim, shape, &err);
  g_assert_nonnull (t);
  int64_t n = td_tensor_numel (t);
  void *raw = g_malloc (td_tensor_nbytes (t) + 1);
  td_convert_from_f32 (raw, dtype, values, (size_t) n);
  g_assert_cmpint (td_tensor_upload (t, raw, td_tensor_nbytes (t), &err), ==, TD_OK);
  g_free (raw);
  return t;
}

td_tensor *
vk_tensor_i32 (td_backend *b, int ndim, const int64_t *shape, const int32_t *values)
{
  td_error err;
  td_tensor *t = td_tensor_new (b, TD_I32, ndim, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, values, td_tensor_nbytes (t), &err), ==, TD_OK);
  return t;
}

static unsigned char
guard_byte (size_t i)
{
  return (unsigned char) (0xA5 ^ (i * 29));
}

vk_guarded
vk_guarded_new (td_backend *b, td_dtype dtype, int ndim, const int64_t *shape)
{
  td_error err;
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++)
    numel *= shape[i];
  int64_t whole_shape[1] = { numel + 2 * VK_GUARD };
  vk_guarded g;
  g.whole = td_tensor_new (b, dtype, 1, whole_shape, &err);
  g_assert_nonnull (g.whole);
  size_t bytes = td_tensor_nbytes (g.whole);
  unsigned char *pattern = g_malloc (bytes);
  for (size_t i = 0; i < bytes; i++)
    pattern[i] = guard_byte (i);
  g_assert_cmpint (td_tensor_upload (g.whole, pattern, bytes, &err), ==, TD_OK);
  g_free (pattern);
  g.t = td_tensor_new_in (g.whole->buffer, (size_t) VK_GUARD * td_dtype_size (dtype), dtype, ndim, shape, &err);
  g_assert_nonnull (g.t);
  return g;
}

void
vk_guarded_check (const vk_guarded *g)
{
  td_error err;
  size_t bytes = td_tensor_nbytes (g->whole);
  size_t guard = (size_t) VK_GUARD * td_dtype_size (g->whole->dtype);
  unsigned char *data = g_malloc (bytes);
  g_assert_cmpint (td_tensor_download (g->whole, data, bytes, &err), ==, TD_OK);
  for (size_t i = 0; i < guard; i++)
    {
      if (data[i] != guard_byte (i))
        g_error ("guard byte %zu before the output was overwritten", guard - i);
      size_t j = bytes - guard + i;
      if (data[j] != guard_byte (j))
        g_error ("guard byte %zu after the output was overwritten", i);
    }
  g_free (data);
}

void
vk_guarded_free (vk_guarded *g)
{
  td_tensor_free (g->t);
  td_tensor_free (g->whole);
}

double
vk_normalised_error (const float *a, const double *ref, int64_t n)
{
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double diff = fabs ((double) a[i] - ref[i]);
      if (isnan (a[i]) != isnan (ref[i]))
        return INFINITY;
      if (isnan (ref[i]))
        continue;
      if (isinf (ref[i]))
        {
          if ((double) a[i] != ref[i])
            return INFINITY;
          continue;
        }
      max_diff = fmax (max_diff, diff);
      max_ref = fmax (max_ref, fabs (ref[i]));
    }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

void
vk_assert_close (const td_tensor *t, const double *ref, double tol, const char *what)
{
  td_error err;
  float *got = td_tensor_to_f32 (t, &err);
  g_assert_nonnull (got);
  double e = vk_normalised_error (got, ref, td_tensor_numel (t));
  if (!(e <= tol))
    {
      int64_t n = td_tensor_numel (t), worst = 0;
      for (int64_t i = 0; i < n; i++)
        if (!(fabs (got[i] - ref[i]) <= fabs (got[worst] - ref[worst])))
          worst = i;
      g_printerr ("  worst [%lld] of %lld: got %.7g want %.7g\n", (long long) worst, (long long) n, got[worst], ref[worst]);
      g_error ("%s: normalised error %.3g over %.3g", what, e, tol);
    }
  g_free (got);
}

td_status
vk_run (td_backend *b, const td_op *op, td_error *err)
{
  td_status status = td_op_validate (op, err);
  /* Until the CPU branches land, some validators are stubs that say "not implemented yet". */
  if (status == TD_ERR_UNSUPPORTED && strstr (err->message, "not implemented yet") != NULL)
    status = TD_OK;
  if (status != TD_OK)
    return status;
  if (!b->vt->supports (b, op))
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s unsupported on %s", td_op_name (op->type), b->vt->name);
  return b->vt->run (b, op, err);
}
