/* pth.c — see pth.h. */
#include "io/pth.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/pickle.h"
#include "io/torch_zip.h"

typedef struct pth_tensor {
  char *name;
  td_tensor *view;
} pth_tensor;

struct td_pth {
  char *path;
  const char *dict_key;
  td_buffer *file;     /* the whole archive; its release unmaps a file */
  GArray *tensors;     /* pth_tensor */
  GHashTable *by_name; /* name → index + 1 */
};

typedef struct mapping {
  void *addr;
  size_t size;
} mapping;

static void
release_mapping (td_buffer *buffer)
{
  mapping *m = buffer->impl;
  if (m != NULL)
    munmap (m->addr, m->size);
  free (m);
}

bool
td_pth_is_pth_path (const char *path)
{
  return g_str_has_suffix (path, ".pth") || g_str_has_suffix (path, ".pt") || g_str_has_suffix (path, ".bin");
}

void
td_pth_close (td_pth *pth)
{
  if (pth == NULL)
    return;
  for (guint i = 0; pth->tensors != NULL && i < pth->tensors->len; i++)
    {
      pth_tensor *t = &g_array_index (pth->tensors, pth_tensor, i);
      g_free (t->name);
      td_tensor_free (t->view);
    }
  if (pth->tensors != NULL)
    g_array_unref (pth->tensors);
  if (pth->by_name != NULL)
    g_hash_table_unref (pth->by_name);
  td_buffer_unref (pth->file);
  g_free (pth->path);
  g_free (pth);
}

/* The folder every entry lives in, from its one "<prefix>/data.pkl". */
static td_status
find_prefix (const td_pth *pth, const td_zip *zip, char **prefix, td_error *err)
{
  *prefix = NULL;
  for (size_t i = 0; i < td_zip_count (zip); i++)
    {
      const char *name = td_zip_at (zip, i)->name;
      const char *slash = strchr (name, '/');
      if (slash == NULL || strcmp (slash, "/data.pkl") != 0)
        continue;
      if (*prefix != NULL)
        {
          g_free (*prefix);
          *prefix = NULL;
          return td_error_set (err, TD_ERR_FORMAT, "%s: the archive holds more than one data.pkl", pth->path);
        }
      *prefix = g_strndup (name, (gsize) (slash - name));
    }
  if (*prefix == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no <name>/data.pkl in the archive: not a PyTorch checkpoint",
                         pth->path);
  return TD_OK;
}

static td_status
check_byteorder (const td_pth *pth, const td_zip *zip, const char *prefix, td_error *err)
{
  g_autofree char *name = g_strconcat (prefix, "/byteorder", NULL);
  const td_zip_entry *entry = td_zip_find (zip, name);
  if (entry == NULL)
    return TD_OK; /* older files: little-endian */
  size_t size = 0;
  g_autofree char *order = td_zip_read (zip, entry, 64, &size, err);
  if (order == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  if (strcmp (order, "little") != 0)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: byte order '%.16s' (only little-endian is supported)",
                         pth->path, order);
  return TD_OK;
}

/* The dict under "model" or "state_dict", or the root itself. */
static const td_pkl_value *
state_dict (td_pth *pth, const td_pkl_value *root, td_error *err)
{
  static const char *const keys[] = { "model", "state_dict" };
  if (root->kind != TD_PKL_DICT)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: the checkpoint holds a value of type %s, not a state dict", pth->path,
                    td_pkl_kind_name (root->kind));
      return NULL;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const td_pkl_value *d = td_pkl_dict_get (root, keys[i]);
      if (d != NULL && d->kind == TD_PKL_DICT)
        {
          pth->dict_key = keys[i];
          return d;
        }
    }
  pth->dict_key = "";
  return root;
}

/* A contiguous host copy of a strided or unaligned view, gathered element by element. */
static td_tensor *
gather_copy (const td_tensor *view, td_error *err)
{
  td_tensor *copy = td_tensor_new (NULL, view->dtype, view->ndim, view->shape, err);
  if (copy == NULL)
    return NULL;
  size_t elem = td_dtype_size (view->dtype);
  const uint8_t *src = (const uint8_t *) view->buffer->host + view->offset;
  uint8_t *dst = td_tensor_host_data (copy);
  int64_t index[TD_MAX_DIMS] = { 0 }, numel = td_tensor_numel (view);
  for (int64_t n = 0; n < numel; n++)
    {
      int64_t element = 0;
      for (int i = 0; i < view->ndim; i++)
        element += index[i] * view->stride[i];
      memcpy (dst + (size_t) n * elem, src + (size_t) element * elem, elem);
      for (int i = view->ndim - 1; i >= 0 && ++index[i] == view->shape[i]; i--)
        index[i] = 0;
    }
  return copy;
}

/* The host view of one tensor descriptor; its storage must lie inside its stored entry. */
static td_tensor *
make_view (td_pth *pth, const td_zip *zip, const char *prefix, const char *name, const td_pkl_tensor *t,
           td_error *err)
{
  g_autofree char *entry_name = g_strdup_printf ("%s/data/%s", prefix, t->storage_key);
  const td_zip_entry *entry = td_zip_find (zip, entry_name);
  size_t elem = td_dtype_size (t->dtype);
  if (entry == NULL)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s': no storage entry '%s'", pth->path, name, entry_name);
      return NULL;
    }
  if (td_zip_stored_data (zip, entry, err) == NULL)
    return NULL;
  if ((uint64_t) t->storage_numel > entry->size / elem)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s': storage '%s' declares %" PRId64 " %s elements but its "
                    "entry holds %" PRIu64 " bytes", pth->path, name, t->storage_key, t->storage_numel,
                    td_dtype_name (t->dtype), entry->size);
      return NULL;
    }
  if (t->ndim > TD_MAX_DIMS)
    {
      td_error_set (err, TD_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)", pth->path, name,
                    t->ndim, TD_MAX_DIMS);
      return NULL;
    }
  /* A view with more elements than its storage repeats elements (a stride of 0, an
   * expand): made contiguous it could be any size, so it is refused. */
  uint64_t numel = 1;
  for (int i = 0; i < t->ndim; i++)
    if (__builtin_mul_overflow (numel, (uint64_t) t->shape[i], &numel))
      numel = UINT64_MAX;
  if (numel > (uint64_t) t->storage_numel)
    {
      td_error_set (err, TD_ERR_UNSUPPORTED, "%s: tensor '%s' has more elements than its storage '%s' holds (%"
                    PRId64 "): views that repeat elements are not supported", pth->path, name, t->storage_key,
                    t->storage_numel);
      return NULL;
    }
  td_tensor *view = calloc (1, sizeof *view);
  if (view == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", pth->path);
      return NULL;
    }
  view->dtype = t->dtype;
  view->ndim = t->ndim;
  for (int i = 0; i < t->ndim; i++)
    {
      view->shape[i] = t->shape[i];
      view->stride[i] = t->stride[i];
    }
  view->buffer = td_buffer_ref (pth->file);
  view->offset = (size_t) entry->data_offset + (size_t) t->offset * elem;
  if (view->offset % elem != 0)
    {
      td_tensor *copy = gather_copy (view, err);
      td_tensor_free (view);
      view = copy;
    }
  return view;
}

static td_status
add_tensors (td_pth *pth, const td_zip *zip, const char *prefix, const td_pkl_value *dict, td_error *err)
{
  for (size_t i = 0; i + 1 < dict->u.seq.count; i += 2)
    {
      const td_pkl_value *key = dict->u.seq.items[i], *value = dict->u.seq.items[i + 1];
      if (value->kind != TD_PKL_TENSOR || key->kind != TD_PKL_STRING)
        continue;
      const char *name = key->u.string.data;
      if (strlen (name) != key->u.string.length || key->u.string.length == 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: a tensor name is empty or holds a NUL", pth->path);
      if (g_hash_table_contains (pth->by_name, name))
        return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' appears twice", pth->path, name);
      td_tensor *view = make_view (pth, zip, prefix, name, &value->u.tensor, err);
      if (view == NULL)
        return err != NULL ? err->status : TD_ERR_FORMAT;
      pth_tensor t = { g_strdup (name), view };
      g_array_append_val (pth->tensors, t);
      g_hash_table_insert (pth->by_name, t.name, GUINT_TO_POINTER (pth->tensors->len));
    }
  if (pth->tensors->len == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no tensors in the state dict (looked under 'model', "
                         "'state_dict' and the top level)", pth->path);
  return TD_OK;
}

static td_status
parse (td_pth *pth, td_error *err)
{
  td_zip *zip = td_zip_open_memory (pth->file->host, pth->file->size, pth->path, err);
  if (zip == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  g_autofree char *prefix = NULL;
  g_autofree char *pickle_bytes = NULL;
  td_pickle *pickle = NULL;
  td_status st = find_prefix (pth, zip, &prefix, err);
  if (st == TD_OK)
    st = check_byteorder (pth, zip, prefix, err);
  if (st == TD_OK)
    {
      g_autofree char *pkl_name = g_strconcat (prefix, "/data.pkl", NULL);
      g_autofree char *label = g_strdup_printf ("%s (%s)", pth->path, pkl_name);
      size_t size = 0;
      const td_zip_entry *entry = td_zip_find (zip, pkl_name);
      size_t max_size = TD_PTH_MAX_PICKLE;
      if (entry != NULL && entry->csize < (TD_PTH_MAX_PICKLE - TD_PTH_PICKLE_SLACK) / TD_PTH_MAX_PICKLE_RATIO)
        max_size = (size_t) entry->csize * TD_PTH_MAX_PICKLE_RATIO + TD_PTH_PICKLE_SLACK;
      pickle_bytes = td_zip_read (zip, entry, max_size, &size, err);
      pickle = pickle_bytes != NULL ? td_pickle_load (pickle_bytes, size, label, err) : NULL;
      st = pickle != NULL ? TD_OK : err != NULL ? err->status : TD_ERR_FORMAT;
    }
  const td_pkl_value *dict = st == TD_OK ? state_dict (pth, td_pickle_root (pickle), err) : NULL;
  if (st == TD_OK)
    st = dict != NULL ? add_tensors (pth, zip, prefix, dict, err) : TD_ERR_FORMAT;
  td_pickle_free (pickle);
  td_zip_free (zip);
  return st;
}

static td_pth *
open_buffer (td_buffer *file, const char *path, td_error *err)
{
  td_pth *pth = g_new0 (td_pth, 1);
  pth->path = g_strdup (path);
  pth->file = file;
  pth->tensors = g_array_new (FALSE, FALSE, sizeof (pth_tensor));
  pth->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  if (parse (pth, err) != TD_OK)
    {
      td_pth_close (pth);
      return NULL;
    }
  return pth;
}

td_pth *
td_pth_open_memory (const void *data, size_t size, const char *name, td_error *err)
{
  td_buffer *file = td_buffer_wrap_host ((void *) data, size, NULL, NULL);
  if (file == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", name);
      return NULL;
    }
  return open_buffer (file, name != NULL ? name : "(memory)", err);
}

td_pth *
td_pth_open (const char *path, td_error *err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block the open */
  if (fd < 0)
    {
      td_error_set (err, errno == ENOENT ? TD_ERR_NOT_FOUND : TD_ERR_IO, "%s: %s", path, g_strerror (errno));
      return NULL;
    }
  struct stat sb = { 0 };
  const char *problem = fstat (fd, &sb) != 0 ? g_strerror (errno)
                        : S_ISDIR (sb.st_mode)  ? "is a folder, not a file"
                        : !S_ISREG (sb.st_mode) ? "is not a regular file"
                        : sb.st_size < 22       ? "is too short for a zip archive"
                                                : NULL;
  if (problem != NULL)
    {
      close (fd);
      td_error_set (err, S_ISREG (sb.st_mode) ? TD_ERR_FORMAT : TD_ERR_IO, "%s: %s", path, problem);
      return NULL;
    }
  size_t size = (size_t) sb.st_size;
  void *addr = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close (fd);
  if (addr == MAP_FAILED)
    {
      td_error_set (err, TD_ERR_IO, "%s: cannot map the file: %s", path, g_strerror (saved));
      return NULL;
    }
  mapping *m = malloc (sizeof *m);
  td_buffer *file = m != NULL ? td_buffer_wrap_host (addr, size, release_mapping, m) : NULL;
  if (file == NULL)
    {
      free (m);
      munmap (addr, size);
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", path);
      return NULL;
    }
  m->addr = addr;
  m->size = size;
  return open_buffer (file, path, err);
}

const char *
td_pth_path (const td_pth *pth)
{
  return pth->path;
}

const char *
td_pth_dict_key (const td_pth *pth)
{
  return pth->dict_key;
}

size_t
td_pth_count (const td_pth *pth)
{
  return pth->tensors->len;
}

const char *
td_pth_name_at (const td_pth *pth, size_t index)
{
  return index < pth->tensors->len ? g_array_index (pth->tensors, pth_tensor, index).name : NULL;
}

const td_tensor *
td_pth_at (const td_pth *pth, size_t index)
{
  return index < pth->tensors->len ? g_array_index (pth->tensors, pth_tensor, index).view : NULL;
}

const td_tensor *
td_pth_find (const td_pth *pth, const char *name)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (pth->by_name, name));
  return index > 0 ? g_array_index (pth->tensors, pth_tensor, index - 1).view : NULL;
}

td_tensor *
td_pth_tensor (const td_pth *pth, const char *name, td_error *err)
{
  const td_tensor *view = td_pth_find (pth, name);
  if (view == NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s'", pth->path, name);
      return NULL;
    }
  td_tensor *copy = malloc (sizeof *copy);
  if (copy == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", pth->path);
      return NULL;
    }
  *copy = *view;
  td_buffer_ref (copy->buffer);
  return copy;
}

td_tensor *
td_pth_tensor_contiguous (const td_pth *pth, const char *name, td_error *err)
{
  const td_tensor *view = td_pth_find (pth, name);
  if (view != NULL && !td_tensor_is_contiguous (view))
    return gather_copy (view, err);
  return td_pth_tensor (pth, name, err);
}
