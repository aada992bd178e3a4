/* safetensors.c — the strict single-file reader and the handle's accessors. */
#include "io/safetensors_private.h"
#include "io/json_strict.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the safetensors reader assumes a little-endian host"
#endif

/* Names of the format that the engine has no td_dtype for: these files are
 * well-formed, just not usable, so they get TD_ERR_UNSUPPORTED. */
static const char *const spec_only_dtypes[] = {
  "U16", "U32", "U64", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
};

typedef struct mapping {
  void *addr;
  size_t size;
} mapping;

static void
release_mapping (td_buffer *buffer)
{
  mapping *m = buffer->impl;
  munmap (m->addr, m->size);
  free (m);
}

td_safetensors *
st_new (const char *path)
{
  td_safetensors *st = g_new0 (td_safetensors, 1);
  st->path = g_strdup (path);
  st->files = g_ptr_array_new ();
  st->tensors = g_array_new (FALSE, FALSE, sizeof (st_tensor));
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->strings = g_string_chunk_new (4096);
  st->metadata = g_ptr_array_new ();
  st->absent = g_hash_table_new (g_str_hash, g_str_equal);
  return st;
}

void
td_safetensors_close (td_safetensors *st)
{
  if (st == NULL)
    return;
  for (guint i = 0; i < st->files->len; i++)
    {
      st_file *f = g_ptr_array_index (st->files, i);
      td_buffer_unref (f->data); /* tensors still out keep the mapping */
      g_free (f->path);
      g_free (f);
    }
  g_ptr_array_unref (st->files);
  g_array_unref (st->tensors);
  g_hash_table_unref (st->by_name);
  g_ptr_array_unref (st->metadata);
  g_hash_table_unref (st->absent);
  g_string_chunk_free (st->strings);
  g_free (st->path);
  g_free (st);
}

/* ---- parsing one header ---- */

static td_status
parse_dtype (const char *path, const char *name, JsonNode *node, td_dtype *dtype, td_error *err)
{
  if (node == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has no dtype", path, name);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has a dtype that is not a string", path, name);
  const char *text = json_node_get_string (node);
  int d = td_dtype_from_safetensors_name (text);
  if (d >= 0)
    {
      *dtype = (td_dtype) d;
      return TD_OK;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (spec_only_dtypes); i++)
    if (strcmp (text, spec_only_dtypes[i]) == 0)
      return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, which the engine does not support",
                           path, name, text);
  return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has the unknown dtype '%.64s'", path, name, text);
}

static td_status
parse_shape (const char *path, const char *name, JsonNode *node, td_safetensors_info *info, td_error *err)
{
  if (node == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has no shape", path, name);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has a shape that is not a list", path, name);
  JsonArray *dims = json_node_get_array (node);
  guint n = json_array_get_length (dims);
  if (n > TD_SAFETENSORS_MAX_DIMS)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: tensor '%s' has %u dimensions; at most %d are supported",
                         path, name, n, TD_SAFETENSORS_MAX_DIMS);
  info->ndim = (int) n;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *dim = json_array_get_element (dims, i);
      if (!td_json_node_is_int (dim))
        return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has a shape entry that is not an integer",
                             path, name);
      info->shape[i] = json_node_get_int (dim);
      if (info->shape[i] < 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has the negative dimension %" PRId64 " in its shape",
                             path, name, info->shape[i]);
    }
  return TD_OK;
}

static td_status
parse_offsets (const char *path, const char *name, JsonNode *node, int64_t span[2], td_error *err)
{
  if (node == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has no data_offsets", path, name);
  JsonArray *pair = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (pair == NULL || json_array_get_length (pair) != 2
      || !td_json_node_is_int (json_array_get_element (pair, 0))
      || !td_json_node_is_int (json_array_get_element (pair, 1)))
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has data_offsets that are not two integers", path, name);
  span[0] = json_array_get_int_element (pair, 0);
  span[1] = json_array_get_int_element (pair, 1);
  if (span[0] < 0 || span[1] < 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has a negative data offset", path, name);
  if (span[0] > span[1])
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has data_offsets %" PRId64 "..%" PRId64
                         " that end before they begin", path, name, span[0], span[1]);
  return TD_OK;
}

/* One "name": {dtype, shape, data_offsets} entry; checks it on its own. */
static td_status
parse_entry (const char *path, const char *name, JsonNode *node, uint64_t data_len,
             td_safetensors_info *info, td_error *err)
{
  td_status status;
  char shape_text[160];
  int64_t span[2] = { 0, 0 };
  int64_t numel;

  if (name[0] == '\0')
    return td_error_set (err, TD_ERR_FORMAT, "%s: a tensor has an empty name", path);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' is not an object with dtype, shape and data_offsets",
                         path, name);
  JsonObject *fields = json_node_get_object (node);
  JsonObjectIter iter;
  const char *field;
  json_object_iter_init (&iter, fields);
  while (json_object_iter_next (&iter, &field, NULL))
    if (strcmp (field, "dtype") != 0 && strcmp (field, "shape") != 0 && strcmp (field, "data_offsets") != 0)
      return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has the unexpected field '%.64s'", path, name, field);

  if ((status = parse_dtype (path, name, json_object_get_member (fields, "dtype"), &info->dtype, err)) != TD_OK
      || (status = parse_shape (path, name, json_object_get_member (fields, "shape"), info, err)) != TD_OK
      || (status = parse_offsets (path, name, json_object_get_member (fields, "data_offsets"), span, err)) != TD_OK)
    return status;

  td_shape_string (info->ndim, info->shape, shape_text, sizeof shape_text);
  size_t elem = td_dtype_size (info->dtype);
  if (!td_shape_numel (info->ndim, info->shape, &numel) || (uint64_t) numel > UINT64_MAX / elem)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has the shape %s, whose size overflows 64 bits",
                         path, name, shape_text);
  info->nbytes = (uint64_t) numel * elem;
  if ((uint64_t) (span[1] - span[0]) != info->nbytes)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' is %s %s, which needs %" PRIu64
                         " bytes, but its data_offsets %" PRId64 "..%" PRId64 " hold %" PRId64,
                         path, name, td_dtype_safetensors_name (info->dtype), shape_text, info->nbytes,
                         span[0], span[1], span[1] - span[0]);
  if ((uint64_t) span[1] > data_len)
    return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' spans bytes %" PRId64 "..%" PRId64
                         " but the data section ends at %" PRIu64, path, name, span[0], span[1], data_len);
  info->offset = (uint64_t) span[0];
  return TD_OK;
}

static td_status
parse_metadata (const char *path, JsonNode *node, GPtrArray *metadata, GStringChunk *strings, td_error *err)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return td_error_set (err, TD_ERR_FORMAT, "%s: __metadata__ is not an object of strings", path);
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return td_error_set (err, TD_ERR_FORMAT, "%s: __metadata__ entry '%s' is not a string", path, key);
      g_ptr_array_add (metadata, g_string_chunk_insert (strings, key));
      g_ptr_array_add (metadata, g_string_chunk_insert (strings, json_node_get_string (value)));
    }
  return TD_OK;
}

static int
compare_span (gconstpointer a, gconstpointer b)
{
  const td_safetensors_info *x = *(td_safetensors_info *const *) a;
  const td_safetensors_info *y = *(td_safetensors_info *const *) b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* The tensors must tile the data section exactly. */
static td_status
check_layout (const char *path, GArray *tensors, guint first, uint64_t data_len, td_error *err)
{
  guint n = tensors->len - first;
  td_status status = TD_OK;
  const td_safetensors_info **order = g_new (const td_safetensors_info *, n > 0 ? n : 1);
  for (guint i = 0; i < n; i++)
    order[i] = &g_array_index (tensors, st_tensor, first + i).info;
  qsort (order, n, sizeof *order, compare_span);

  uint64_t next = 0;
  const td_safetensors_info *previous = NULL;
  for (guint i = 0; i < n && status == TD_OK; i++)
    {
      const td_safetensors_info *t = order[i];
      if (t->offset > next)
        status = td_error_set (err, TD_ERR_FORMAT, "%s: data section bytes %" PRIu64 "..%" PRIu64
                               " before tensor '%s' belong to no tensor", path, next, t->offset, t->name);
      else if (t->offset < next)
        status = td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' (bytes %" PRIu64 "..%" PRIu64
                               ") overlaps tensor '%s' (bytes %" PRIu64 "..%" PRIu64 ")", path, t->name,
                               t->offset, t->offset + t->nbytes, previous->name, previous->offset,
                               previous->offset + previous->nbytes);
      next = t->offset + t->nbytes;
      previous = t;
    }
  if (status == TD_OK && next != data_len)
    status = td_error_set (err, TD_ERR_FORMAT, "%s: %" PRIu64 " trailing bytes after the last tensor (data section"
                           " is %" PRIu64 " bytes, tensors end at %" PRIu64 ")", path, data_len - next, data_len, next);
  g_free (order);
  return status;
}

/* Parses the header of a file image and appends its tensors to st->tensors
 * (and its metadata when with_metadata). Sets *data_start to the offset of
 * the data section. On failure st->tensors is restored. */
static td_status
parse_image (td_safetensors *st, const uint8_t *base, size_t size, const char *path, unsigned file_index,
             bool with_metadata, uint64_t *data_start, td_error *err)
{
  if (size < 8)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the file is %zu bytes, too short for the 8-byte header length",
                         path, size);
  uint64_t header_len;
  memcpy (&header_len, base, 8);
  if (header_len > TD_SAFETENSORS_MAX_HEADER)
    return td_error_set (err, TD_ERR_LIMIT, "%s: the header length %" PRIu64 " is over the limit of %" PRIu64
                         " bytes", path, header_len, TD_SAFETENSORS_MAX_HEADER);
  if (header_len > size - 8)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the header length %" PRIu64 " is more than the %zu bytes"
                         " that follow it (truncated file?)", path, header_len, size - 8);
  uint64_t data_len = size - 8 - header_len;

  JsonNode *root = td_json_parse_strict ((const char *) base + 8, header_len, path, "header", err);
  if (root == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  td_status status = TD_OK;
  guint first = st->tensors->len;
  guint first_meta = st->metadata->len;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    status = td_error_set (err, TD_ERR_FORMAT, "%s: the header is JSON but not an object", path);

  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  if (status == TD_OK)
    json_object_iter_init (&iter, json_node_get_object (root));
  while (status == TD_OK && json_object_iter_next (&iter, &name, &node))
    {
      if (strcmp (name, "__metadata__") == 0)
        {
          GPtrArray *sink = with_metadata ? st->metadata : g_ptr_array_new ();
          status = parse_metadata (path, node, sink, st->strings, err);
          if (!with_metadata)
            g_ptr_array_unref (sink);
          continue;
        }
      st_tensor t = { .file_index = file_index };
      status = parse_entry (path, name, node, data_len, &t.info, err);
      if (status != TD_OK)
        break;
      t.info.name = g_string_chunk_insert (st->strings, name);
      g_array_append_val (st->tensors, t);
    }
  if (status == TD_OK)
    status = check_layout (path, st->tensors, first, data_len, err);
  if (status != TD_OK)
    {
      g_array_set_size (st->tensors, first);
      g_ptr_array_set_size (st->metadata, first_meta);
    }
  json_node_unref (root);
  *data_start = 8 + header_len;
  return status;
}

/* Parses an image and, when it is valid, records it as a file of st whose data
 * section buffer calls release(impl) when the last tensor is gone. */
static td_status
add_image (td_safetensors *st, const uint8_t *base, size_t size, const char *path,
           void (*release) (td_buffer *), void *impl, td_error *err)
{
  uint64_t data_start = 0;
  td_status status = parse_image (st, base, size, path, st->files->len, st->files->len == 0, &data_start, err);
  if (status != TD_OK)
    return status;
  td_buffer *data = td_buffer_wrap_host ((void *) (base + data_start), size - data_start, release, impl);
  if (data == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", path);
  for (guint i = 0; i < st->tensors->len; i++)
    {
      st_tensor *t = &g_array_index (st->tensors, st_tensor, i);
      if (t->file_index == st->files->len)
        t->info.file = g_string_chunk_insert_const (st->strings, path);
    }
  st_file *f = g_new0 (st_file, 1);
  f->path = g_strdup (path);
  f->data = data;
  g_ptr_array_add (st->files, f);
  return TD_OK;
}

td_status
st_add_file (td_safetensors *st, const char *path, td_error *err)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block the open */
  if (fd < 0)
    return td_error_set (err, errno == ENOENT ? TD_ERR_NOT_FOUND : TD_ERR_IO, "%s: %s", path, g_strerror (errno));
  struct stat sb;
  if (fstat (fd, &sb) != 0)
    {
      int saved = errno;
      close (fd);
      return td_error_set (err, TD_ERR_IO, "%s: %s", path, g_strerror (saved));
    }
  if (!S_ISREG (sb.st_mode))
    {
      close (fd);
      return td_error_set (err, TD_ERR_IO, "%s: %s", path,
                           S_ISDIR (sb.st_mode) ? "is a folder, not a file" : "is not a regular file");
    }
  size_t size = (size_t) sb.st_size;
  if (size < 8)
    {
      close (fd);
      return td_error_set (err, TD_ERR_FORMAT, "%s: the file is %zu bytes, too short for the 8-byte header length",
                           path, size);
    }
  void *addr = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close (fd);
  if (addr == MAP_FAILED)
    return td_error_set (err, TD_ERR_IO, "%s: cannot map the file: %s", path, g_strerror (saved));

  mapping *m = malloc (sizeof *m);
  td_status status = m == NULL ? td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", path) : TD_OK;
  if (status == TD_OK)
    {
      m->addr = addr;
      m->size = size;
      status = add_image (st, addr, size, path, release_mapping, m, err);
    }
  if (status != TD_OK)
    {
      munmap (addr, size);
      free (m);
    }
  return status;
}

static int
compare_name (gconstpointer a, gconstpointer b)
{
  return strcmp (((const st_tensor *) a)->info.name, ((const st_tensor *) b)->info.name);
}

static int
compare_key (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

td_status
st_finish (td_safetensors *st, td_error *err)
{
  g_array_sort (st->tensors, compare_name);
  for (guint i = 0; i < st->tensors->len; i++)
    {
      const st_tensor *t = &g_array_index (st->tensors, st_tensor, i);
      if (i > 0 && strcmp (t->info.name, g_array_index (st->tensors, st_tensor, i - 1).info.name) == 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' is in both %s and %s", st->path, t->info.name,
                             g_array_index (st->tensors, st_tensor, i - 1).info.file, t->info.file);
      g_hash_table_insert (st->by_name, (gpointer) t->info.name, GUINT_TO_POINTER (i + 1));
    }
  /* Sort the key/value pairs by key: sort pair indices, then rebuild. */
  guint pairs = st->metadata->len / 2;
  if (pairs == 0)
    return TD_OK;
  const char **sorted = g_new (const char *, 2 * pairs);
  memcpy (sorted, st->metadata->pdata, 2 * pairs * sizeof *sorted);
  qsort (sorted, pairs, 2 * sizeof *sorted, compare_key);
  memcpy (st->metadata->pdata, sorted, 2 * pairs * sizeof *sorted);
  g_free (sorted);
  return TD_OK;
}

td_safetensors *
td_safetensors_open (const char *path, td_error *err)
{
  td_safetensors *st = st_new (path);
  if (st_add_file (st, path, err) != TD_OK || st_finish (st, err) != TD_OK)
    {
      td_safetensors_close (st);
      return NULL;
    }
  return st;
}

td_safetensors *
td_safetensors_open_memory (const void *data, size_t size, const char *name, td_error *err)
{
  td_safetensors *st = st_new (name);
  if (add_image (st, data, size, name, NULL, NULL, err) != TD_OK || st_finish (st, err) != TD_OK)
    {
      td_safetensors_close (st);
      return NULL;
    }
  return st;
}

/* ---- accessors ---- */

const char *
td_safetensors_path (const td_safetensors *st)
{
  return st->path;
}

size_t
td_safetensors_file_count (const td_safetensors *st)
{
  return st->files->len;
}

size_t
td_safetensors_count (const td_safetensors *st)
{
  return st->tensors->len;
}

const td_safetensors_info *
td_safetensors_at (const td_safetensors *st, size_t index)
{
  if (index >= st->tensors->len)
    return NULL;
  return &g_array_index (st->tensors, st_tensor, index).info;
}

const td_safetensors_info *
td_safetensors_find (const td_safetensors *st, const char *name)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (st->by_name, name));
  return index == 0 ? NULL : &g_array_index (st->tensors, st_tensor, index - 1).info;
}

const char *
td_safetensors_absent_shard (const td_safetensors *st, const char *name)
{
  return g_hash_table_lookup (st->absent, name);
}

size_t
td_safetensors_absent_count (const td_safetensors *st)
{
  return g_hash_table_size (st->absent);
}

const void *
td_safetensors_data (const td_safetensors *st, const td_safetensors_info *info)
{
  const st_tensor *t = (const st_tensor *) info;
  const st_file *f = g_ptr_array_index (st->files, t->file_index);
  return (const uint8_t *) f->data->host + info->offset;
}

td_tensor *
td_safetensors_tensor_of (td_safetensors *st, const td_safetensors_info *info, td_error *err)
{
  const st_tensor *t = (const st_tensor *) info;
  const st_file *f = g_ptr_array_index (st->files, t->file_index);
  if (info->ndim > TD_MAX_DIMS)
    {
      td_error_set (err, TD_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions; the engine handles at most %d",
                    f->path, info->name, info->ndim, TD_MAX_DIMS);
      return NULL;
    }
  const uint8_t *bytes = (const uint8_t *) f->data->host + info->offset;
  if ((uintptr_t) bytes % td_dtype_size (info->dtype) == 0)
    return td_tensor_new_in (f->data, info->offset, info->dtype, info->ndim, info->shape, err);

  /* Unaligned data would be undefined behaviour to read in place: copy it. */
  td_tensor *copy = td_tensor_new (NULL, info->dtype, info->ndim, info->shape, err);
  if (copy != NULL && td_tensor_upload (copy, bytes, info->nbytes, err) != TD_OK)
    {
      td_tensor_free (copy);
      return NULL;
    }
  return copy;
}

td_tensor *
td_safetensors_tensor (td_safetensors *st, const char *name, td_error *err)
{
  const td_safetensors_info *info = td_safetensors_find (st, name);
  const char *shard = td_safetensors_absent_shard (st, name);
  if (info == NULL && shard != NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: tensor '%s' is in %s, which is not in the folder", st->path, name,
                    shard);
      return NULL;
    }
  if (info == NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor named '%s'", st->path, name);
      return NULL;
    }
  return td_safetensors_tensor_of (st, info, err);
}

size_t
td_safetensors_metadata_count (const td_safetensors *st)
{
  return st->metadata->len / 2;
}

void
td_safetensors_metadata_at (const td_safetensors *st, size_t index, const char **key, const char **value)
{
  g_return_if_fail (index < st->metadata->len / 2);
  *key = g_ptr_array_index (st->metadata, 2 * index);
  *value = g_ptr_array_index (st->metadata, 2 * index + 1);
}

const char *
td_safetensors_metadata (const td_safetensors *st, const char *key)
{
  for (guint i = 0; i + 1 < st->metadata->len; i += 2)
    if (strcmp (g_ptr_array_index (st->metadata, i), key) == 0)
      return g_ptr_array_index (st->metadata, i + 1);
  return NULL;
}
