#include "models/weights.h"

#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "io/gguf.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "models/weights_random.h"

struct td_weights {
  /* Exactly one source: */
  td_safetensors *checkpoint; /* safetensors file, index or folder */
  td_pth *pth;                /* a PyTorch file (.pth/.pt/.bin), read without running it */
  td_gguf *gguf;              /* a GGUF file: tensors keep their stored (block) types */
  GHashTable *pth_names;      /* name (owned by pth) → its td_tensor view */
  td_random_weights *random;  /* declared tensors with made-up values (benchmarks) */
  td_backend *backend;
  GHashTable *on_backend; /* resolved name → td_tensor* on the backend */
  GHashTable *on_host;    /* resolved name → td_tensor* host view */
  GPtrArray *prefixes;
  td_weights_rename_fn rename; /* another layout's name for a wanted one, or NULL */
  void *rename_data;
  GHashTable *composed;   /* wanted name → host td_tensor* built from the file's tensors */
  GHashTable *used;       /* stored names resolved so far (GGUF sources), for td_weights_refuse_unused */
  td_weights *next;       /* a second file asked for what this one lacks (an mmproj GGUF) */
  GHashTable *gguf_strings; /* a GGUF's string metadata, terminated copies */
};

static void
free_tensor (gpointer data)
{
  td_tensor_free (data);
}

static td_weights *
weights_new (td_backend *backend)
{
  td_weights *weights = g_new0 (td_weights, 1);
  weights->backend = backend != NULL ? backend : td_backend_host ();
  weights->on_backend = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_tensor);
  weights->on_host = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_tensor);
  weights->prefixes = g_ptr_array_new_with_free_func (g_free);
  weights->composed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_tensor);
  weights->used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return weights;
}

static td_weights *
open_pth (const char *path, td_backend *backend, td_error *err)
{
  td_pth *pth = td_pth_open (path, err);
  if (pth == NULL)
    return NULL;
  td_weights *weights = weights_new (backend);
  weights->pth = pth;
  weights->pth_names = g_hash_table_new (g_str_hash, g_str_equal);
  for (size_t i = 0; i < td_pth_count (pth); i++)
    g_hash_table_insert (weights->pth_names, (gpointer) td_pth_name_at (pth, i), (gpointer) td_pth_at (pth, i));
  return weights;
}

/* A model folder holding no safetensors checkpoint but exactly one .gguf
 * file (a quantised copy of the model) names that file. */
static char *
single_gguf_in (const char *dir)
{
  static const char *const checkpoints[] = { "model.safetensors", "diffusion_pytorch_model.safetensors",
                                             "model.safetensors.index.json",
                                             "diffusion_pytorch_model.safetensors.index.json" };
  for (size_t i = 0; i < G_N_ELEMENTS (checkpoints); i++)
    {
      g_autofree char *p = g_build_filename (dir, checkpoints[i], NULL);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        return NULL;
    }
  GDir *folder = g_dir_open (dir, 0, NULL);
  char *found = NULL;
  int count = 0;
  const char *name;
  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    if (g_str_has_suffix (name, ".gguf") && count++ == 0)
      found = g_build_filename (dir, name, NULL);
  if (folder != NULL)
    g_dir_close (folder);
  if (count != 1)
    g_clear_pointer (&found, g_free);
  return found;
}

td_weights *
td_weights_open (const char *path, td_backend *backend, td_error *err)
{
  if (td_pth_is_pth_path (path))
    return open_pth (path, backend, err);
  g_autofree char *gguf_in_dir = g_file_test (path, G_FILE_TEST_IS_DIR) ? single_gguf_in (path) : NULL;
  if (gguf_in_dir != NULL)
    path = gguf_in_dir;
  if (td_gguf_file_is_gguf (path))
    {
      td_gguf *gguf = td_gguf_open (path, err);
      if (gguf == NULL)
        return NULL;
      td_weights *weights = weights_new (backend);
      weights->gguf = gguf;
      weights->gguf_strings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      for (size_t i = 0; i < td_gguf_kv_count (gguf); i++)
        {
          const td_gguf_kv *kv = td_gguf_kv_at (gguf, i);
          if (kv->type == TD_GGUF_STRING && memchr (kv->data, 0, kv->length) == NULL)
            g_hash_table_replace (weights->gguf_strings, (gpointer) kv->key,
                                  g_strndup ((const char *) kv->data, kv->length));
        }
      return weights;
    }
  td_safetensors *checkpoint = td_safetensors_open_any (path, err);
  if (checkpoint == NULL)
    return NULL;
  td_weights *weights = weights_new (backend);
  weights->checkpoint = checkpoint;
  return weights;
}

td_weights *
td_weights_new_random (td_backend *backend, uint64_t seed)
{
  td_weights *weights = weights_new (backend);
  weights->random = td_random_weights_new (seed);
  return weights;
}

td_status
td_weights_declare (td_weights *weights, const char *name, td_dtype dtype, int ndim, const int64_t *shape,
                    float scale, float offset, td_error *err)
{
  if (weights->random == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: only random weights take declared tensors",
                         td_weights_path (weights));
  td_random_spec spec = { .name = (char *) name, .dtype = dtype, .ndim = ndim, .scale = scale, .offset = offset };
  for (int i = 0; i < ndim && i < TD_MAX_DIMS; i++)
    spec.shape[i] = shape[i];
  return td_random_weights_declare (weights->random, &spec, err);
}

void
td_weights_declared_size (const td_weights *weights, int64_t *elements, int64_t *bytes)
{
  *elements = *bytes = 0;
  if (weights->random != NULL)
    td_random_weights_totals (weights->random, elements, bytes);
}

void
td_weights_each_stored (const td_weights *weights, td_weights_stored_fn fn, void *user_data)
{
  if (weights->pth != NULL)
    for (size_t i = 0; i < td_pth_count (weights->pth); i++)
      {
        const td_tensor *view = td_pth_at (weights->pth, i);
        fn (td_pth_name_at (weights->pth, i), view->dtype, td_tensor_nbytes (view), user_data);
      }
  if (weights->gguf != NULL)
    for (size_t i = 0; i < td_gguf_tensor_count (weights->gguf); i++)
      {
        const td_gguf_tensor_info *t = td_gguf_tensor_at (weights->gguf, i);
        fn (t->name, t->dtype, t->nbytes, user_data);
      }
  if (weights->checkpoint != NULL)
    for (size_t i = 0; i < td_safetensors_count (weights->checkpoint); i++)
      {
        const td_safetensors_info *info = td_safetensors_at (weights->checkpoint, i);
        fn (info->name, info->dtype, info->nbytes, user_data);
      }
  if (weights->next != NULL)
    td_weights_each_stored (weights->next, fn, user_data);
}

void
td_weights_free (td_weights *weights)
{
  if (weights == NULL)
    return;
  g_hash_table_unref (weights->on_backend);
  g_hash_table_unref (weights->on_host);
  g_ptr_array_unref (weights->prefixes);
  g_hash_table_unref (weights->composed);
  g_hash_table_unref (weights->used);
  td_weights_free (weights->next);
  if (weights->gguf_strings != NULL)
    g_hash_table_unref (weights->gguf_strings);
  td_safetensors_close (weights->checkpoint);
  if (weights->pth_names != NULL)
    g_hash_table_unref (weights->pth_names);
  td_pth_close (weights->pth);
  td_gguf_close (weights->gguf);
  td_random_weights_free (weights->random);
  g_free (weights);
}

void
td_weights_add_prefix (td_weights *weights, const char *prefix)
{
  g_ptr_array_add (weights->prefixes, g_strdup (prefix));
}

void
td_weights_set_rename (td_weights *weights, td_weights_rename_fn rename, void *user_data)
{
  weights->rename = rename;
  weights->rename_data = user_data;
}

void
td_weights_chain (td_weights *weights, td_weights *next)
{
  td_weights *last = weights;
  while (last->next != NULL)
    last = last->next;
  last->next = next;
}

void
td_weights_add_composed (td_weights *weights, const char *name, td_tensor *host)
{
  g_hash_table_replace (weights->composed, g_strdup (name), host);
}

td_gguf *
td_weights_gguf (const td_weights *weights)
{
  return weights->gguf;
}

const char *
td_weights_path (const td_weights *weights)
{
  if (weights->random != NULL)
    return "(random weights)";
  if (weights->gguf != NULL)
    return td_gguf_path (weights->gguf);
  return weights->pth != NULL ? td_pth_path (weights->pth) : td_safetensors_path (weights->checkpoint);
}

const char *
td_weights_metadata (const td_weights *weights, const char *key)
{
  if (weights->gguf_strings != NULL)
    return g_hash_table_lookup (weights->gguf_strings, key);
  return weights->checkpoint != NULL ? td_safetensors_metadata (weights->checkpoint, key) : NULL;
}

td_backend *
td_weights_backend (const td_weights *weights)
{
  return weights->backend;
}

/* A tensor as stored: a checkpoint entry, a PyTorch tensor, a declared random
 * tensor, or one composed from the file's tensors; `owner` is the weights (of a
 * chain) that hold it. */
typedef struct stored {
  td_weights *owner;
  const char *name; /* owned by the source */
  int ndim;
  const int64_t *shape;
  const td_safetensors_info *info;
  const td_random_spec *spec;
  const td_tensor *pth_view;
  const td_gguf_tensor_info *gguf_info;
  const td_tensor *composed;
} stored;

static bool
find_stored (td_weights *weights, const char *name, stored *out)
{
  gpointer key, value;
  if (g_hash_table_lookup_extended (weights->composed, name, &key, &value))
    {
      const td_tensor *t = value;
      *out = (stored) { .owner = weights, .name = key, .ndim = t->ndim, .shape = t->shape, .composed = t };
      return true;
    }
  if (weights->random != NULL)
    {
      const td_random_spec *spec = td_random_weights_find (weights->random, name);
      if (spec == NULL)
        return false;
      *out = (stored) { .owner = weights, .name = spec->name, .ndim = spec->ndim, .shape = spec->shape, .spec = spec };
      return true;
    }
  if (weights->pth != NULL)
    {
      if (!g_hash_table_lookup_extended (weights->pth_names, name, &key, &value))
        return false;
      const td_tensor *view = value;
      *out = (stored) { .owner = weights, .name = key, .ndim = view->ndim, .shape = view->shape, .pth_view = view };
      return true;
    }
  if (weights->gguf != NULL)
    {
      const td_gguf_tensor_info *t = td_gguf_find_tensor (weights->gguf, name);
      if (t == NULL)
        return false;
      *out = (stored) { .owner = weights, .name = t->name, .ndim = t->ndim, .shape = t->shape, .gguf_info = t };
      return true;
    }
  const td_safetensors_info *info = td_safetensors_find (weights->checkpoint, name);
  if (info == NULL)
    return false;
  *out = (stored) { .owner = weights, .name = info->name, .ndim = info->ndim, .shape = info->shape, .info = info };
  return true;
}

/* The entry for name as given, with one of the prefixes, renamed, or (failing all
 * three) in the chained weights. */
static bool
resolve (td_weights *weights, const char *name, stored *out)
{
  bool found = find_stored (weights, name, out);
  for (guint i = 0; !found && i < weights->prefixes->len; i++)
    {
      g_autofree char *prefixed = g_strconcat (g_ptr_array_index (weights->prefixes, i), name, NULL);
      found = find_stored (weights, prefixed, out);
    }
  char renamed[256];
  if (!found && weights->rename != NULL && weights->rename (name, renamed, sizeof renamed, weights->rename_data))
    found = find_stored (weights, renamed, out);
  if (found && out->gguf_info != NULL && !g_hash_table_contains (weights->used, out->name))
    g_hash_table_add (weights->used, g_strdup (out->name));
  if (!found && weights->next != NULL)
    return resolve (weights->next, name, out);
  return found;
}

bool
td_weights_has (td_weights *weights, const char *name)
{
  stored s;
  return resolve (weights, name, &s);
}

/* A new host tensor: a view of the mapped file, or freshly made-up values. */
static td_tensor *
read_stored (const stored *s, td_error *err)
{
  td_weights *weights = s->owner;
  if (s->composed != NULL)
    return td_tensor_slice (s->composed, 0, 0, s->composed->shape[0], err);
  if (s->spec != NULL)
    return td_random_weights_generate (weights->random, s->spec, err);
  if (s->pth_view != NULL)
    return td_pth_tensor_contiguous (weights->pth, s->name, err); /* torch may store strided views */
  if (s->gguf_info != NULL)
    return td_gguf_tensor_of (weights->gguf, s->gguf_info, err);
  return td_safetensors_tensor_of (weights->checkpoint, s->info, err);
}

static td_tensor *
host_view (const stored *s, td_error *err)
{
  td_weights *weights = s->owner;
  td_tensor *view = g_hash_table_lookup (weights->on_host, s->name);
  if (view == NULL)
    {
      view = read_stored (s, err);
      if (view != NULL)
        g_hash_table_insert (weights->on_host, g_strdup (s->name), view);
    }
  return view;
}

/* "no tensor", the name it has in the file's layout, or which absent shard of a
 * sharded checkpoint holds it. Of a chain, the file whose layout names it is meant. */
static td_status
missing_tensor (td_weights *weights, const char *name, td_error *err)
{
  char renamed[256];
  for (td_weights *w = weights; w != NULL; w = w->next)
    if (w->rename != NULL && w->rename (name, renamed, sizeof renamed, w->rename_data))
      return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s' (the model's '%s')", td_weights_path (w),
                           renamed, name);
  const char *shard = NULL;
  if (weights->checkpoint != NULL)
    {
      shard = td_safetensors_absent_shard (weights->checkpoint, name);
      for (guint i = 0; shard == NULL && i < weights->prefixes->len; i++)
        {
          g_autofree char *prefixed = g_strconcat (g_ptr_array_index (weights->prefixes, i), name, NULL);
          shard = td_safetensors_absent_shard (weights->checkpoint, prefixed);
        }
    }
  if (shard != NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: tensor '%s' is in %s, which is not in the folder",
                         td_weights_path (weights), name, shard);
  return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s'", td_weights_path (weights), name);
}

static td_status check_dtype (const stored *s, td_error *err);

static const td_tensor *
lookup (td_weights *weights, const char *name, bool required, td_error *err)
{
  stored info;
  if (!resolve (weights, name, &info))
    {
      if (required)
        missing_tensor (weights, name, err);
      return NULL;
    }
  if (check_dtype (&info, err) != TD_OK)
    return NULL;
  weights = info.owner;
  if (td_backend_is_host (weights->backend))
    return host_view (&info, err);

  td_tensor *on_device = g_hash_table_lookup (weights->on_backend, info.name);
  if (on_device != NULL)
    return on_device;
  td_tensor *view = read_stored (&info, err);
  if (view == NULL)
    return NULL;
  /* Uploaded in its stored dtype: the kernels read bf16/f16 weights directly. It stays
   * cached, so it is never part of a captured step's arena (backend.h). */
  td_backend_lasting_begin (weights->backend);
  on_device = td_tensor_new (weights->backend, view->dtype, view->ndim, view->shape, err);
  td_backend_lasting_end (weights->backend);
  if (on_device != NULL
      && td_tensor_upload (on_device, td_tensor_host_data (view), td_tensor_nbytes (view), err) != TD_OK)
    {
      td_tensor_free (on_device);
      on_device = NULL;
    }
  td_tensor_free (view);
  if (on_device == NULL)
    {
      td_error_prefix (err, "%s: uploading '%s'", td_weights_path (weights), info.name);
      return NULL;
    }
  g_hash_table_insert (weights->on_backend, g_strdup (info.name), on_device);
  return on_device;
}

static bool
has_any_prefix (const char *name, const char *const *prefixes)
{
  for (size_t i = 0; prefixes != NULL && prefixes[i] != NULL; i++)
    if (g_str_has_prefix (name, prefixes[i]))
      return true;
  return false;
}

td_status
td_weights_refuse_unused (td_weights *weights, const char *model, const char *const *ignored, td_error *err)
{
  for (td_weights *w = weights; w != NULL; w = w->next)
    for (size_t i = 0; w->gguf != NULL && i < td_gguf_tensor_count (w->gguf); i++)
      {
        const td_gguf_tensor_info *t = td_gguf_tensor_at (w->gguf, i);
        if (!g_hash_table_contains (w->used, t->name) && !has_any_prefix (t->name, ignored))
          return td_error_set (err, TD_ERR_FORMAT, "%s: unknown tensor '%s' (not part of %s as this layout names it)",
                               td_weights_path (w), t->name, model);
      }
  return TD_OK;
}

static gboolean
name_has_prefix (gpointer key, gpointer value, gpointer prefix)
{
  const char *name = key;
  size_t n = strlen (prefix);
  for (const char *at = name; at != NULL; at = strchr (at, '.'))
    {
      at += at == name ? 0 : 1;
      if (strncmp (at, prefix, n) == 0)
        return TRUE;
    }
  return FALSE;
}

void
td_weights_drop_device (td_weights *weights, const char *prefix)
{
  for (td_weights *w = weights; w != NULL; w = w->next)
    if (!td_backend_is_host (w->backend))
      g_hash_table_foreach_remove (w->on_backend, name_has_prefix, (gpointer) prefix);
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
  stored info;
  if (!resolve (weights, name, &info))
    {
      missing_tensor (weights, name, err);
      return NULL;
    }
  if (check_dtype (&info, err) != TD_OK)
    return NULL;
  return host_view (&info, err);
}

/* Integer and boolean tensors are indices or masks, never a weight a kernel reads. */
static bool
is_weight_dtype (td_dtype dtype)
{
  switch (dtype)
    {
    case TD_I64:
    case TD_I32:
    case TD_I16:
    case TD_I8:
    case TD_U8:
    case TD_BOOL:
      return false;
    default:
      return true;
    }
}

static td_status
check_dtype (const stored *s, td_error *err)
{
  td_weights *weights = s->owner;
  td_dtype dtype = s->info != NULL       ? s->info->dtype
                   : s->spec != NULL      ? s->spec->dtype
                   : s->gguf_info != NULL ? s->gguf_info->dtype
                   : s->composed != NULL  ? s->composed->dtype
                                          : s->pth_view->dtype;
  if (!is_weight_dtype (dtype))
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has dtype %s, not a floating-point weight",
                         td_weights_path (weights), s->name, td_dtype_name (dtype));
  return TD_OK;
}

/* "[4, *, 3]": a negative size is shown as "*" (any). */
static const char *
pattern_string (int ndim, const int64_t *shape, char *buf, size_t size)
{
  size_t used = (size_t) snprintf (buf, size, "[");
  for (int i = 0; i < ndim && used < size; i++)
    used += shape[i] < 0 ? (size_t) snprintf (buf + used, size - used, "%s*", i ? ", " : "")
                         : (size_t) snprintf (buf + used, size - used, "%s%" PRId64, i ? ", " : "", shape[i]);
  if (used < size)
    snprintf (buf + used, size - used, "]");
  return buf;
}

td_status
td_weights_expect (td_weights *weights, const char *name, int ndim, const int64_t *shape, td_error *err)
{
  stored info;
  if (!resolve (weights, name, &info))
    return missing_tensor (weights, name, err);
  td_status st = check_dtype (&info, err);
  if (st != TD_OK)
    return st;
  weights = info.owner;
  bool same = info.ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = shape[i] < 0 || info.shape[i] == shape[i];
  if (!same)
    {
      char want[160], got[160];
      return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", td_weights_path (weights),
                           info.name, td_shape_string (info.ndim, info.shape, got, sizeof got),
                           pattern_string (ndim, shape, want, sizeof want));
    }
  return TD_OK;
}

td_status
td_weights_expectf (td_weights *weights, td_error *err, int ndim, const int64_t *shape, const char *fmt, ...)
{
  char name[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (name, sizeof name, fmt, ap);
  va_end (ap);
  return td_weights_expect (weights, name, ndim, shape, err);
}

td_status
td_weights_expect_linear (td_weights *weights, td_error *err, int64_t out, int64_t in, bool bias, const char *fmt, ...)
{
  char prefix[480];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  td_status st = td_weights_expectf (weights, err, TD_DIMS (out, in), "%s.weight", prefix);
  if (st == TD_OK && bias)
    st = td_weights_expectf (weights, err, TD_DIMS (out), "%s.bias", prefix);
  return st;
}

td_status
td_weights_expect_conv (td_weights *weights, td_error *err, int64_t out, int64_t in, int64_t kernel, bool bias,
                        const char *fmt, ...)
{
  char prefix[480];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  td_status st = td_weights_expectf (weights, err, TD_DIMS (out, in, kernel, kernel), "%s.weight", prefix);
  if (st == TD_OK && bias)
    st = td_weights_expectf (weights, err, TD_DIMS (out), "%s.bias", prefix);
  return st;
}

td_status
td_weights_expect_norm (td_weights *weights, td_error *err, int64_t size, bool bias, const char *fmt, ...)
{
  char prefix[480];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  td_status st = td_weights_expectf (weights, err, TD_DIMS (size), "%s.weight", prefix);
  if (st == TD_OK && bias)
    st = td_weights_expectf (weights, err, TD_DIMS (size), "%s.bias", prefix);
  return st;
}

td_status
td_weights_expect_shape (td_weights *weights, const char *name, int ndim, const int64_t *shape, td_error *err)
{
  return td_weights_expect (weights, name, ndim, shape, err);
}
