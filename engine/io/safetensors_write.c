/* safetensors_write.c — write a safetensors file atomically. */
#include "io/safetensors.h"
#include "io/json_write.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* Largest element first keeps every tensor aligned to its element size once
 * the header is padded to 8 bytes (the same order the reference writer uses);
 * names break ties so the layout is deterministic. */
static int
compare_layout (const void *a, const void *b)
{
  const td_safetensors_entry *x = *(const td_safetensors_entry *const *) a;
  const td_safetensors_entry *y = *(const td_safetensors_entry *const *) b;
  size_t sx = td_dtype_size (x->dtype), sy = td_dtype_size (y->dtype);
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp (x->name, y->name);
}

static int
compare_entry_name (const void *a, const void *b)
{
  return strcmp ((*(const td_safetensors_entry *const *) a)->name, (*(const td_safetensors_entry *const *) b)->name);
}

static td_status
check_entry (const char *path, const td_safetensors_entry *e, td_error *err)
{
  int64_t numel;
  if (e->name == NULL || e->name[0] == '\0' || !g_utf8_validate (e->name, -1, NULL)
      || strcmp (e->name, "__metadata__") == 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: a tensor name is empty, not UTF-8 or reserved", path);
  if ((unsigned) e->dtype >= TD_DTYPE_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' has an invalid dtype", path, e->name);
  if (td_dtype_is_quantized (e->dtype))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' is of the block type %s, which safetensors cannot"
                         " hold", path, e->name, td_dtype_name (e->dtype));
  if (e->ndim < 0 || e->ndim > TD_SAFETENSORS_MAX_DIMS || (e->ndim > 0 && e->shape == NULL)
      || !td_shape_numel (e->ndim, e->shape, &numel) || (uint64_t) numel > SIZE_MAX / td_dtype_size (e->dtype))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' has an invalid shape", path, e->name);
  if ((size_t) numel * td_dtype_size (e->dtype) != e->nbytes || (e->nbytes > 0 && e->data == NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' has %zu bytes of data but its dtype and shape"
                         " need %zu", path, e->name, e->nbytes, (size_t) numel * td_dtype_size (e->dtype));
  return TD_OK;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. */
static char *
build_header (const td_safetensors_entry *const *order, size_t n, const char *const *metadata, size_t *len)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  if (metadata != NULL && metadata[0] != NULL)
    {
      json_builder_set_member_name (builder, "__metadata__");
      json_builder_begin_object (builder);
      for (size_t i = 0; metadata[i] != NULL && metadata[i + 1] != NULL; i += 2)
        {
          json_builder_set_member_name (builder, metadata[i]);
          json_builder_add_string_value (builder, metadata[i + 1]);
        }
      json_builder_end_object (builder);
    }
  uint64_t offset = 0;
  for (size_t i = 0; i < n; i++)
    {
      json_builder_set_member_name (builder, order[i]->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, td_dtype_safetensors_name (order[i]->dtype));
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (int d = 0; d < order[i]->ndim; d++)
        json_builder_add_int_value (builder, order[i]->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + order[i]->nbytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += order[i]->nbytes;
    }
  json_builder_end_object (builder);

  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  size_t text_len = 0;
  g_autofree char *text = td_json_write (root, false, &text_len);
  size_t padded = (text_len + 7) & ~(size_t) 7;
  char *header = g_malloc (padded + 1);
  memcpy (header, text, text_len);
  memset (header + text_len, ' ', padded - text_len);
  header[padded] = '\0';
  *len = padded;
  return header;
}

/* Chunks small enough that a cancel is seen within a fraction of a second. */
#define WRITE_CHUNK ((size_t) 16 << 20)

static bool
write_all (int fd, const void *data, size_t size, const volatile int *cancel)
{
  const uint8_t *p = data;
  while (size > 0)
    {
      if (cancel != NULL && *cancel)
        return false;
      ssize_t n = write (fd, p, size > WRITE_CHUNK ? WRITE_CHUNK : size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      p += n;
      size -= (size_t) n;
    }
  return true;
}

static td_status
write_file (const char *path, const char *header, size_t header_len, const td_safetensors_entry *const *order,
            size_t n, const volatile int *cancel, td_error *err)
{
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_RDWR, 0666);
  if (fd < 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create a temporary file: %s", path, g_strerror (errno));
  mode_t mask = umask (0);
  umask (mask);
  bool ok = fchmod (fd, 0666 & ~mask) == 0;
  uint64_t len = header_len;
  ok = ok && write_all (fd, &len, 8, cancel) && write_all (fd, header, header_len, cancel);
  for (size_t i = 0; i < n && ok; i++)
    ok = write_all (fd, order[i]->data, order[i]->nbytes, cancel);
  ok = ok && fsync (fd) == 0;
  int saved = errno;
  ok = close (fd) == 0 && ok;
  if (ok && rename (tmp, path) == 0)
    return TD_OK;
  saved = ok ? errno : saved;
  g_unlink (tmp);
  if (cancel != NULL && *cancel)
    return td_error_set (err, TD_ERR_CANCELLED, "%s: cancelled; nothing was written", path);
  return td_error_set (err, TD_ERR_IO, "%s: cannot write: %s", path, g_strerror (saved));
}

td_status
td_safetensors_write (const char *path, const td_safetensors_entry *entries, size_t n_entries,
                      const char *const *metadata, td_error *err)
{
  return td_safetensors_write_cancellable (path, entries, n_entries, metadata, NULL, err);
}

td_status
td_safetensors_write_cancellable (const char *path, const td_safetensors_entry *entries, size_t n_entries,
                                  const char *const *metadata, const volatile int *cancel, td_error *err)
{
  td_status status = TD_OK;
  for (size_t i = 0; i < n_entries && status == TD_OK; i++)
    status = check_entry (path, &entries[i], err);
  for (size_t i = 0; metadata != NULL && metadata[i] != NULL && status == TD_OK; i += 2)
    if (metadata[i + 1] == NULL || !g_utf8_validate (metadata[i], -1, NULL) || !g_utf8_validate (metadata[i + 1], -1, NULL))
      status = td_error_set (err, TD_ERR_INVALID_ARG, "%s: metadata must be UTF-8 key/value pairs", path);
  if (status != TD_OK)
    return status;

  const td_safetensors_entry **order = g_new (const td_safetensors_entry *, n_entries + 1);
  for (size_t i = 0; i < n_entries; i++)
    order[i] = &entries[i];
  qsort (order, n_entries, sizeof *order, compare_entry_name);
  for (size_t i = 1; i < n_entries && status == TD_OK; i++)
    if (strcmp (order[i]->name, order[i - 1]->name) == 0)
      status = td_error_set (err, TD_ERR_INVALID_ARG, "%s: tensor '%s' is given twice", path, order[i]->name);
  if (status == TD_OK)
    {
      qsort (order, n_entries, sizeof *order, compare_layout);
      size_t header_len = 0;
      char *header = build_header (order, n_entries, metadata, &header_len);
      status = write_file (path, header, header_len, order, n_entries, cancel, err);
      g_free (header);
    }
  g_free (order);
  return status;
}
