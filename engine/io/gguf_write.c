/* gguf_write.c — the GGUF v3 writer (see gguf.h). Alignment is the default 32,
 * so general.alignment is not written. */
#include "io/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct declared {
  char *name;
  td_dtype dtype;
  int ndim;
  int64_t shape[TD_GGUF_MAX_DIMS];
  uint64_t offset, nbytes;
} declared;

struct td_gguf_writer {
  char *path, *tmp_path;
  FILE *file;
  GByteArray *kv;      /* encoded metadata pairs */
  guint n_kv;
  GArray *tensors;     /* declared */
  uint64_t data_size;  /* running, padded */
  guint next;          /* tensor whose data comes next */
  bool header_written, failed;
};

int
td_gguf_ggml_type_of (td_dtype dtype)
{
  for (uint32_t id = 0; id < 64; id++)
    if (td_gguf_dtype_of_ggml (id, NULL) == (int) dtype)
      return (int) id;
  return -1;
}

static void
put_u32 (GByteArray *b, uint32_t v)
{
  g_byte_array_append (b, (const guint8 *) &v, 4);
}

static void
put_u64 (GByteArray *b, uint64_t v)
{
  g_byte_array_append (b, (const guint8 *) &v, 8);
}

static void
put_string (GByteArray *b, const char *s)
{
  put_u64 (b, strlen (s));
  g_byte_array_append (b, (const guint8 *) s, (guint) strlen (s));
}

td_gguf_writer *
td_gguf_writer_new (const char *path, td_error *err)
{
  td_gguf_writer *w = g_new0 (td_gguf_writer, 1);
  w->path = g_strdup (path);
  w->tmp_path = g_strdup_printf ("%s.partial-XXXXXX", path);
  int fd = g_mkstemp_full (w->tmp_path, O_RDWR, 0666);
  if (fd < 0 || (w->file = fdopen (fd, "wb")) == NULL)
    {
      td_error_set (err, TD_ERR_IO, "%s: cannot create a file next to it: %s", path, g_strerror (errno));
      if (fd >= 0)
        close (fd);
      g_free (w->tmp_path);
      w->tmp_path = NULL;
      td_gguf_writer_free (w);
      return NULL;
    }
  w->kv = g_byte_array_new ();
  w->tensors = g_array_new (FALSE, TRUE, sizeof (declared));
  return w;
}

void
td_gguf_writer_add_string (td_gguf_writer *w, const char *key, const char *value)
{
  put_string (w->kv, key);
  put_u32 (w->kv, TD_GGUF_STRING);
  put_string (w->kv, value);
  w->n_kv++;
}

void
td_gguf_writer_add_u32 (td_gguf_writer *w, const char *key, uint32_t value)
{
  put_string (w->kv, key);
  put_u32 (w->kv, TD_GGUF_UINT32);
  put_u32 (w->kv, value);
  w->n_kv++;
}

static uint64_t
pad32 (uint64_t n)
{
  return (n + TD_GGUF_DEFAULT_ALIGNMENT - 1) / TD_GGUF_DEFAULT_ALIGNMENT * TD_GGUF_DEFAULT_ALIGNMENT;
}

td_status
td_gguf_writer_add_tensor (td_gguf_writer *w, const char *name, td_dtype dtype, int ndim, const int64_t *shape,
                           td_error *err)
{
  declared d = { 0 };
  int64_t numel;
  size_t nbytes;
  if (td_gguf_ggml_type_of (dtype) < 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: GGUF has no type for %s ('%s')", w->path, td_dtype_name (dtype),
                         name);
  if (ndim < 1 || ndim > TD_GGUF_MAX_DIMS || strlen (name) == 0 || strlen (name) > TD_GGUF_MAX_NAME)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' needs 1 to %d dimensions and a name of 1 to %d bytes",
                         w->path, name, TD_GGUF_MAX_DIMS, TD_GGUF_MAX_NAME);
  if (shape[ndim - 1] % td_dtype_block_elems (dtype) != 0 || !td_shape_numel (ndim, shape, &numel)
      || !td_dtype_nbytes (dtype, numel, &nbytes))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' cannot be stored as %s", w->path, name,
                         td_dtype_name (dtype));
  d.name = g_strdup (name);
  d.dtype = dtype;
  d.ndim = ndim;
  memcpy (d.shape, shape, (size_t) ndim * sizeof *shape);
  d.offset = w->data_size;
  d.nbytes = nbytes;
  w->data_size = pad32 (w->data_size + nbytes);
  g_array_append_val (w->tensors, d);
  return TD_OK;
}

static td_status
write_bytes (td_gguf_writer *w, const void *data, size_t n, td_error *err)
{
  if (n > 0 && fwrite (data, 1, n, w->file) != n)
    {
      w->failed = true;
      return td_error_set (err, TD_ERR_IO, "%s: write failed: %s", w->path, g_strerror (errno));
    }
  return TD_OK;
}

static td_status
write_padding (td_gguf_writer *w, uint64_t written, td_error *err)
{
  static const uint8_t zeros[TD_GGUF_DEFAULT_ALIGNMENT] = { 0 };
  return write_bytes (w, zeros, (size_t) (pad32 (written) - written), err);
}

static td_status
write_header (td_gguf_writer *w, td_error *err)
{
  GByteArray *h = g_byte_array_new ();
  g_byte_array_append (h, (const guint8 *) "GGUF", 4);
  put_u32 (h, 3);
  put_u64 (h, w->tensors->len);
  put_u64 (h, w->n_kv);
  g_byte_array_append (h, w->kv->data, w->kv->len);
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const declared *d = &g_array_index (w->tensors, declared, i);
      put_string (h, d->name);
      put_u32 (h, (uint32_t) d->ndim);
      for (int j = d->ndim - 1; j >= 0; j--)
        put_u64 (h, (uint64_t) d->shape[j]);
      put_u32 (h, (uint32_t) td_gguf_ggml_type_of (d->dtype));
      put_u64 (h, d->offset);
    }
  td_status st = write_bytes (w, h->data, h->len, err);
  if (st == TD_OK)
    st = write_padding (w, h->len, err);
  g_byte_array_unref (h);
  w->header_written = true;
  return st;
}

td_status
td_gguf_writer_write_data (td_gguf_writer *w, const void *data, size_t nbytes, td_error *err)
{
  td_status st = w->header_written ? TD_OK : write_header (w, err);
  if (st != TD_OK)
    return st;
  if (w->next >= w->tensors->len)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: more tensor data than declared tensors", w->path);
  const declared *d = &g_array_index (w->tensors, declared, w->next);
  if (nbytes != d->nbytes)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' takes %" G_GUINT64_FORMAT " bytes, not %zu",
                         w->path, d->name, d->nbytes, nbytes);
  w->next++;
  if ((st = write_bytes (w, data, nbytes, err)) != TD_OK)
    return st;
  return write_padding (w, nbytes, err);
}

td_status
td_gguf_writer_finish (td_gguf_writer *w, td_error *err)
{
  td_status st = w->header_written ? TD_OK : write_header (w, err);
  if (st != TD_OK)
    return st;
  if (w->next != w->tensors->len)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %u of %u tensors written", w->path, w->next, w->tensors->len);
  if (fflush (w->file) != 0 || fsync (fileno (w->file)) != 0 || fclose (w->file) != 0)
    {
      w->file = NULL;
      return td_error_set (err, TD_ERR_IO, "%s: cannot finish writing: %s", w->path, g_strerror (errno));
    }
  w->file = NULL;
  if (g_rename (w->tmp_path, w->path) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot move the new file into place: %s", w->path, g_strerror (errno));
  g_clear_pointer (&w->tmp_path, g_free);
  return TD_OK;
}

void
td_gguf_writer_free (td_gguf_writer *w)
{
  if (w == NULL)
    return;
  if (w->file != NULL)
    fclose (w->file);
  if (w->tmp_path != NULL)
    g_unlink (w->tmp_path);
  for (guint i = 0; w->tensors != NULL && i < w->tensors->len; i++)
    g_free (g_array_index (w->tensors, declared, i).name);
  if (w->tensors != NULL)
    g_array_unref (w->tensors);
  if (w->kv != NULL)
    g_byte_array_unref (w->kv);
  g_free (w->tmp_path);
  g_free (w->path);
  g_free (w);
}
