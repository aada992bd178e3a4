/* verify_gguf.c — `thinkdiff verify --component gguf-matmul`: the quantised
 * weight path against ggml's own numbers.
 *
 * --model is a GGUF file; the io file holds x [M, K] and, for each GGUF tensor
 * w.<type> [N, K], ggml's dequantisation `w.<type>` and the product
 * `y.<type>` = x · w.<type>ᵀ. Both are computed by the backend's matmul with
 * the weight in its stored format: y from x, and the dequantised weight from
 * the identity (I_K · Wᵀ = Wᵀ exactly, since every sum holds one non-zero
 * product), so the check covers the decoder the kernels use. Tolerances:
 * w.* max abs error ≤ 1e-6; y.* rel_err ≤ 1e-4 (the verify default). On a
 * backend whose matmul stages weights as f16 (cooperative matrices), the
 * decoded weights are rounded to f16 on the way: w.* then gets f16's own
 * relative bound, and y.* the component's f16 tolerance.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "backend/ops.h"
#include "io/gguf.h"
#include "pipeline/verify.h"

/* The dequantised weights must equal ggml's within this absolute error (the
 * decoders are exact; it leaves room for a device that rounds differently). */
#define DEQUANT_MAX_ABS_ERR 1e-6
/* Each decoded weight rounded to f16 is off by at most 2^-11 of itself, so by
 * 2^-11 of the largest one: rel_err ≤ 4.9e-4. */
#define DEQUANT_F16_REL_ERR 1e-3

/* verify compares rel_err = max_abs_err / max|reference|, so the absolute
 * bound becomes a relative one through the reference's largest magnitude. */
static double
dequant_tolerance (td_safetensors *io, const char *name, td_backend *backend)
{
  if (td_backend_reduced_precision (backend))
    return DEQUANT_F16_REL_ERR;
  const td_safetensors_info *ref = td_safetensors_find (io, name);
  if (ref == NULL || ref->dtype != TD_F32)
    return DEQUANT_MAX_ABS_ERR; /* the comparison reports the missing reference */
  const float *values = td_safetensors_data (io, ref);
  double max_ref = 0;
  for (uint64_t i = 0; i < ref->nbytes / sizeof (float); i++)
    {
      float v;
      memcpy (&v, &values[i], sizeof v); /* safetensors data need not be aligned */
      max_ref = fabs (v) > max_ref ? fabs (v) : max_ref;
    }
  return max_ref > 0 ? DEQUANT_MAX_ABS_ERR / max_ref : DEQUANT_MAX_ABS_ERR;
}

static td_tensor *
weight_on (td_gguf *gguf, const td_gguf_tensor_info *info, td_backend *backend, td_error *err)
{
  td_tensor *view = td_gguf_tensor_of (gguf, info, err);
  if (view == NULL || td_backend_is_host (backend))
    return view;
  td_tensor *on_device = td_tensor_new (backend, view->dtype, view->ndim, view->shape, err);
  if (on_device != NULL
      && td_tensor_upload (on_device, td_tensor_host_data (view), td_tensor_nbytes (view), err) != TD_OK)
    {
      td_tensor_free (on_device);
      on_device = NULL;
    }
  td_tensor_free (view);
  return on_device;
}

static td_tensor *
identity_on (td_backend *backend, int64_t k, td_error *err)
{
  int64_t shape[2] = { k, k };
  float *eye = calloc ((size_t) (k * k), sizeof *eye);
  if (eye == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "gguf-matmul: out of memory for a %lld² identity", (long long) k);
      return NULL;
    }
  for (int64_t i = 0; i < k; i++)
    eye[i * k + i] = 1.0f;
  td_tensor *t = td_tensor_new (backend, TD_F32, 2, shape, err);
  if (t != NULL && td_tensor_upload (t, eye, (size_t) (k * k) * sizeof *eye, err) != TD_OK)
    {
      td_tensor_free (t);
      t = NULL;
    }
  free (eye);
  return t;
}

/* w [N, K] → "w.<type>" (the transposed identity product) and "y.<type>". */
static td_status
check_tensor (td_gguf *gguf, const td_gguf_tensor_info *info, const td_tensor *x, td_safetensors *io,
              td_backend *backend, td_verify_outputs *outputs, td_error *err)
{
  const char *path = td_gguf_path (gguf);
  if (info->ndim != 2 || info->shape[1] != x->shape[1])
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' should be [N, %lld] to multiply x", path, info->name,
                         (long long) x->shape[1]);
  int64_t n = info->shape[0], k = info->shape[1], m = x->shape[0];
  int64_t y_shape[2] = { m, n }, wt_shape[2] = { k, n };
  td_tensor *w = weight_on (gguf, info, backend, err);
  td_tensor *eye = w != NULL ? identity_on (backend, k, err) : NULL;
  td_tensor *y = eye != NULL ? td_tensor_new (backend, TD_F32, 2, y_shape, err) : NULL;
  td_tensor *wt = y != NULL ? td_tensor_new (backend, TD_F32, 2, wt_shape, err) : NULL;
  td_status st = wt != NULL ? TD_OK : err->status;
  if (st == TD_OK && (st = td_matmul (backend, y, x, w, NULL, err)) == TD_OK
      && (st = td_matmul (backend, wt, eye, w, NULL, err)) == TD_OK)
    st = td_backend_sync (backend, err);
  float *wt_values = st == TD_OK ? td_tensor_to_f32 (wt, err) : NULL;
  if (st == TD_OK && wt_values == NULL)
    st = err->status;
  if (st == TD_OK)
    {
      float *w_values = malloc ((size_t) (n * k) * sizeof *w_values);
      if (w_values == NULL)
        st = td_error_set (err, TD_ERR_NO_MEMORY, "gguf-matmul: out of memory");
      for (int64_t r = 0; st == TD_OK && r < n; r++)
        for (int64_t c = 0; c < k; c++)
          w_values[r * k + c] = wt_values[c * n + r];
      if (st == TD_OK)
        st = td_verify_outputs_add_f32 (outputs, info->name, info->ndim, info->shape, w_values, err);
      free (w_values);
      td_verify_outputs_set_tolerance (outputs, info->name, dequant_tolerance (io, info->name, backend));
    }
  if (st == TD_OK)
    {
      g_autofree char *y_name = g_strdup_printf ("y.%s", strncmp (info->name, "w.", 2) == 0 ? info->name + 2
                                                                                             : info->name);
      td_verify_outputs_add (outputs, y_name, y);
      y = NULL;
    }
  free (wt_values);
  td_tensor_free (wt);
  td_tensor_free (y);
  td_tensor_free (eye);
  td_tensor_free (w);
  return st;
}

/* --model is the .gguf file, or a folder holding exactly one. */
static char *
find_gguf (const char *model_path, td_error *err)
{
  if (!g_file_test (model_path, G_FILE_TEST_IS_DIR))
    return g_strdup (model_path);
  GDir *dir = g_dir_open (model_path, 0, NULL);
  char *found = NULL;
  const char *name;
  int count = 0;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".gguf") && count++ == 0)
      found = g_build_filename (model_path, name, NULL);
  if (dir != NULL)
    g_dir_close (dir);
  if (count != 1)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: the folder holds %d .gguf files; name the one to check", model_path,
                    count);
      g_free (found);
      return NULL;
    }
  return found;
}

static td_status
run_gguf_matmul (const char *model_path, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                 td_error *err)
{
  g_autofree char *path = find_gguf (model_path, err);
  if (path == NULL)
    return err->status;
  td_gguf *gguf = td_gguf_open (path, err);
  if (gguf == NULL)
    return err->status;
  td_tensor *x = td_verify_io_tensor (io, "x", backend, err);
  td_status st = x != NULL ? TD_OK : err->status;
  if (st == TD_OK && x->ndim != 2)
    st = td_error_set (err, TD_ERR_FORMAT, "%s: x should be [M, K]", td_safetensors_path (io));
  for (size_t i = 0; st == TD_OK && i < td_gguf_tensor_count (gguf); i++)
    st = check_tensor (gguf, td_gguf_tensor_at (gguf, i), x, io, backend, outputs, err);
  td_tensor_free (x);
  td_gguf_close (gguf);
  return st;
}

static const char *const gguf_inputs[] = { "x", NULL };

const td_verify_component td_verify_gguf_matmul = {
  .name = "gguf-matmul",
  .summary = "GGUF weights of every type: ggml's dequantisation and x · Wᵀ (--model: the .gguf file or its folder)",
  .run = run_gguf_matmul,
  .inputs = gguf_inputs,
  .f16_tolerance = 2e-3,
};
