#include "models/weights.h"

#include <glib.h>
#include <stdio.h>

#include "io/pth.h"
#include "io/safetensors.h"

struct td_weights {
  td_safetensors *checkpoint;
  td_pth *pth;            /* instead of checkpoint for PyTorch files (see below) */
  GHashTable *pth_infos;  /* name → td_safetensors_info describing a pth tensor */
  td_backend *backend;
  GHashTable *on_backend; /* resolved name → td_tensor* on the backend */
  GHashTable *on_host;    /* resolved name → td_tensor* host view */
  GPtrArray *prefixes;
};

static void
free_tensor (gpointer data)
{
  td_tensor_free (data);
}

/* ---- PyTorch files (.pth/.pt/.bin): the same lookups over a td_pth ----
 * Each tensor gets a td_safetensors_info so the code below serves both. */

static td_status
open_pth (td_weights *weights, const char *path, td_error *err)
{
  weights->pth = td_pth_open (path, err);
  if (weights->pth == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  weights->pth_infos = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  for (size_t i = 0; i < td_pth_count (weights->pth); i++)
    {
      const td_tensor *t = td_pth_at (weights->pth, i);
      td_safetensors_info *info = g_new0 (td_safetensors_info, 1);
      info->name = td_pth_name_at (weights->pth, i);
      info->dtype = t->dtype;
      info->ndim = t->ndim;
      for (int d = 0; d < t->ndim; d++)
        info->shape[d] = t->shape[d];
      info->nbytes = td_tensor_nbytes (t);
      info->file = td_pth_path (weights->pth);
      g_hash_table_insert (weights->pth_infos, (gpointer) info->name, info);
    }
  return TD_OK;
}

static const td_safetensors_info *
find_info (td_weights *weights, const char *name)
{
  if (weights->pth != NULL)
    return g_hash_table_lookup (weights->pth_infos, name);
  return td_safetensors_find (weights->checkpoint, name);
}

/* A contiguous host view (a copy for strided pth tensors). */
static td_tensor *
open_view (td_weights *weights, const td_safetensors_info *info, td_error *err)
{
  if (weights->pth != NULL)
    return td_pth_tensor_contiguous (weights->pth, info->name, err);
  return td_safetensors_tensor_of (weights->checkpoint, info, err);
}

/* ---- */

td_weights *
td_weights_open (const char *path, td_backend *backend, td_error *err)
{
  td_weights *weights = g_new0 (td_weights, 1);
  if (td_pth_is_pth_path (path))
    {
      if (open_pth (weights, path, err) != TD_OK)
        {
          g_free (weights);
          return NULL;
        }
    }
  else if ((weights->checkpoint = td_safetensors_open_any (path, err)) == NULL)
    {
      g_free (weights);
      return NULL;
    }
  weights->backend = backend != NULL ? backend : td_backend_host ();
  weights->on_backend = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_tensor);
  weights->on_host = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_tensor);
  weights->prefixes = g_ptr_array_new_with_free_func (g_free);
  return weights;
}

void
td_weights_free (td_weights *weights)
{
  if (weights == NULL)
    return;
  g_hash_table_unref (weights->on_backend);
  g_hash_table_unref (weights->on_host);
  g_ptr_array_unref (weights->prefixes);
  if (weights->pth_infos != NULL)
    g_hash_table_unref (weights->pth_infos);
  td_pth_close (weights->pth);
  td_safetensors_close (weights->checkpoint);
  g_free (weights);
}

void
td_weights_add_prefix (td_weights *weights, const char *prefix)
{
  g_ptr_array_add (weights->prefixes, g_strdup (prefix));
}

const char *
td_weights_path (const td_weights *weights)
{
  if (weights->pth != NULL)
    return td_pth_path (weights->pth);
  return td_safetensors_path (weights->checkpoint);
}

const char *
td_weights_metadata (const td_weights *weights, const char *key)
{
  if (weights->pth != NULL)
    return NULL;
  return td_safetensors_metadata (weights->checkpoint, key);
}

td_backend *
td_weights_backend (const td_weights *weights)
{
  return weights->backend;
}

/* The entry for name as given, or with one of the prefixes. */
static const td_safetensors_info *
resolve (td_weights *weights, const char *name)
{
  const td_safetensors_info *info = find_info (weights, name);
  for (guint i = 0; info == NULL && i < weights->prefixes->len; i++)
    {
      g_autofree char *prefixed = g_strconcat (g_ptr_array_index (weights->prefixes, i), name, NULL);
      info = find_info (weights, prefixed);
    }
  return info;
}

bool
td_weights_has (td_weights *weights, const char *name)
{
  return resolve (weights, name) != NULL;
}

static td_tensor *
host_view (td_weights *weights, const td_safetensors_info *info, td_error *err)
{
  td_tensor *view = g_hash_table_lookup (weights->on_host, info->name);
  if (view == NULL)
    {
      view = open_view (weights, info, err);
      if (view != NULL)
        g_hash_table_insert (weights->on_host, g_strdup (info->name), view);
    }
  return view;
}

static const td_tensor *
lookup (td_weights *weights, const char *name, bool required, td_error *err)
{
  const td_safetensors_info *info = resolve (weights, name);
  if (info == NULL)
    {
      if (required)
        td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s'", td_weights_path (weights), name);
      return NULL;
    }
  if (td_backend_is_host (weights->backend))
    return host_view (weights, info, err);

  td_tensor *on_device = g_hash_table_lookup (weights->on_backend, info->name);
  if (on_device != NULL)
    return on_device;
  td_tensor *view = open_view (weights, info, err);
  if (view == NULL)
    return NULL;
  /* Uploaded in its stored dtype: the kernels read bf16/f16 weights directly. */
  on_device = td_tensor_new (weights->backend, view->dtype, view->ndim, view->shape, err);
  if (on_device != NULL
      && td_tensor_upload (on_device, td_tensor_host_data (view), td_tensor_nbytes (view), err) != TD_OK)
    {
      td_tensor_free (on_device);
      on_device = NULL;
    }
  td_tensor_free (view);
  if (on_device == NULL)
    {
      td_error_prefix (err, "%s: uploading '%s'", td_weights_path (weights), info->name);
      return NULL;
    }
  g_hash_table_insert (weights->on_backend, g_strdup (info->name), on_device);
  return on_device;
}

const td_tensor *
td_weights_get (td_weights *weights, const char *name, td_error *err)
{
  return lookup (weights, name, true, err);
}

const td_tensor *
td_weights_get_optional (td_weights *weights, const char *name)
{
  return lookup (weights, name, false, NULL);
}

const td_tensor *
td_weights_getf (td_weights *weights, td_error *err, const char *fmt, ...)
{
  char name[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (name, sizeof name, fmt, ap);
  va_end (ap);
  return lookup (weights, name, true, err);
}

const td_tensor *
td_weights_get_host (td_weights *weights, const char *name, td_error *err)
{
  const td_safetensors_info *info = resolve (weights, name);
  if (info == NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s'", td_weights_path (weights), name);
      return NULL;
    }
  return host_view (weights, info, err);
}

td_status
td_weights_expect_shape (td_weights *weights, const char *name, int ndim, const int64_t *shape, td_error *err)
{
  const td_safetensors_info *info = resolve (weights, name);
  if (info == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s'", td_weights_path (weights), name);
  bool same = info->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = info->shape[i] == shape[i];
  if (!same)
    {
      char want[128], got[128];
      return td_error_set (err, TD_ERR_FORMAT, "%s: '%s' has shape %s, expected %s", td_weights_path (weights), name,
                           td_shape_string (info->ndim, info->shape, got, sizeof got),
                           td_shape_string (ndim, shape, want, sizeof want));
    }
  return TD_OK;
}
