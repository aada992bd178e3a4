/* gguf.c — the strict GGUF reader (see gguf.h). */
#include "io/gguf.h"
#include "io/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
/* Upper bounds on the header's counts beyond what the file size allows. */
#define MAX_KV ((uint64_t) 1 << 24)
#define MAX_TENSORS ((uint64_t) 1 << 24)
/* Smallest possible encodings, to bound counts by the bytes left. */
#define MIN_KV_BYTES (8 + 1 + 4 + 1)
#define MIN_TENSOR_BYTES (8 + 1 + 4 + 8 + 4 + 8)

struct td_gguf {
  char *path;
  td_buffer *file;       /* the whole image; its release unmaps the file */
  uint32_t version;
  uint32_t alignment;
  uint64_t data_offset;
  GArray *kvs;           /* td_gguf_kv, file order */
  GArray *string_starts; /* for string arrays: offset of each element from kv->data, concatenated */
  GArray *kv_string_base;/* per kv: index of its first entry in string_starts */
  GArray *tensors;       /* td_gguf_tensor_info, file order */
  GHashTable *kv_by_key; /* key → index + 1 */
  GHashTable *by_name;   /* name → index + 1 */
  GStringChunk *strings;
};

/* ---- ggml types ---- */

typedef struct ggml_type_entry {
  const char *name;
  int dtype; /* td_dtype, or -2 when the engine has no decoder */
} ggml_type_entry;

static const ggml_type_entry ggml_types[] = {
  [0] = { "f32", TD_F32 },      [1] = { "f16", TD_F16 },      [2] = { "q4_0", TD_Q4_0 },
  [3] = { "q4_1", TD_Q4_1 },    [6] = { "q5_0", TD_Q5_0 },    [7] = { "q5_1", TD_Q5_1 },
  [8] = { "q8_0", TD_Q8_0 },    [9] = { "q8_1", -2 },         [10] = { "q2_K", TD_Q2_K },
  [11] = { "q3_K", TD_Q3_K },   [12] = { "q4_K", TD_Q4_K },   [13] = { "q5_K", TD_Q5_K },
  [14] = { "q6_K", TD_Q6_K },   [15] = { "q8_K", -2 },        [16] = { "iq2_xxs", -2 },
  [17] = { "iq2_xs", -2 },      [18] = { "iq3_xxs", -2 },     [19] = { "iq1_s", -2 },
  [20] = { "iq4_nl", -2 },      [21] = { "iq3_s", -2 },       [22] = { "iq2_s", -2 },
  [23] = { "iq4_xs", -2 },      [24] = { "i8", TD_I8 },       [25] = { "i16", TD_I16 },
  [26] = { "i32", TD_I32 },     [27] = { "i64", TD_I64 },     [28] = { "f64", TD_F64 },
  [29] = { "iq1_m", -2 },       [30] = { "bf16", TD_BF16 },   [34] = { "tq1_0", -2 },
  [35] = { "tq2_0", -2 },       [39] = { "mxfp4", -2 },
};

int
td_gguf_dtype_of_ggml (uint32_t ggml_type, const char **name)
{
  const ggml_type_entry *e = ggml_type < G_N_ELEMENTS (ggml_types) ? &ggml_types[ggml_type] : NULL;
  if (name != NULL)
    *name = e != NULL ? e->name : NULL;
  if (e == NULL || e->name == NULL)
    return -1;
  return e->dtype;
}

static const char *const value_type_names[TD_GGUF_TYPE_COUNT] = {
  "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64",
  "float64",
};

const char *
td_gguf_type_name (td_gguf_type type)
{
  return (unsigned) type < TD_GGUF_TYPE_COUNT ? value_type_names[type] : "invalid";
}

/* Bytes of one scalar of the type; 0 for string and array. */
static size_t
scalar_size (td_gguf_type type)
{
  static const size_t sizes[TD_GGUF_TYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
  return (unsigned) type < TD_GGUF_TYPE_COUNT ? sizes[type] : 0;
}

/* ---- a bounds-checked cursor over the header ---- */

typedef struct cursor {
  const uint8_t *data;
  uint64_t size, pos;
  const char *path;
  td_error *err;
} cursor;

static uint64_t
left (const cursor *c)
{
  return c->size - c->pos;
}

static td_status
truncated (cursor *c, const char *what)
{
  return td_error_set (c->err, TD_ERR_FORMAT, "%s: the file ends at byte %" PRIu64 " inside %s", c->path, c->size,
                       what);
}

static td_status
read_bytes (cursor *c, void *out, size_t n, const char *what)
{
  if (left (c) < n)
    return truncated (c, what);
  memcpy (out, c->data + c->pos, n);
  c->pos += n;
  return TD_OK;
}

static td_status
read_u32 (cursor *c, uint32_t *v, const char *what)
{
  return read_bytes (c, v, sizeof *v, what);
}

static td_status
read_u64 (cursor *c, uint64_t *v, const char *what)
{
  return read_bytes (c, v, sizeof *v, what);
}

/* A string: u64 length, then that many bytes, left in place. */
static td_status
read_string (cursor *c, const uint8_t **bytes, uint64_t *length, uint64_t max_length, const char *what)
{
  td_status status = read_u64 (c, length, what);
  if (status != TD_OK)
    return status;
  if (*length > max_length)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: %s is %" PRIu64 " bytes long, over the limit of %" PRIu64,
                         c->path, what, *length, max_length);
  if (*length > left (c))
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: %s claims %" PRIu64 " bytes but only %" PRIu64 " are left",
                         c->path, what, *length, left (c));
  *bytes = c->data + c->pos;
  c->pos += *length;
  return TD_OK;
}

/* A name (key or tensor name) as a NUL-terminated copy; no embedded NULs. */
static td_status
read_name (cursor *c, GStringChunk *strings, uint64_t max_length, const char *what, const char **name)
{
  const uint8_t *bytes;
  uint64_t length;
  td_status status = read_string (c, &bytes, &length, max_length, what);
  if (status != TD_OK)
    return status;
  if (length == 0)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: %s at byte %" PRIu64 " is empty", c->path, what,
                         c->pos - 8);
  if (memchr (bytes, '\0', length) != NULL)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: %s at byte %" PRIu64 " contains a NUL byte", c->path, what,
                         c->pos - length - 8);
  *name = g_string_chunk_insert_len (strings, (const char *) bytes, (gssize) length);
  return TD_OK;
}

/* ---- metadata ---- */

static td_status
read_value_type (cursor *c, const char *key, td_gguf_type *type)
{
  uint32_t raw = 0;
  td_status status = read_u32 (c, &raw, "a metadata value type");
  if (status != TD_OK)
    return status;
  if (raw >= TD_GGUF_TYPE_COUNT)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: metadata '%.200s' has the unknown value type %" PRIu32, c->path,
                         key, raw);
  *type = (td_gguf_type) raw;
  return TD_OK;
}

static td_status
read_kv (td_gguf *g, cursor *c, td_gguf_kv *kv)
{
  td_status status;
  if ((status = read_name (c, g->strings, TD_GGUF_MAX_KEY, "a metadata key", &kv->key)) != TD_OK
      || (status = read_value_type (c, kv->key, &kv->type)) != TD_OK)
    return status;
  guint string_base = g->string_starts->len;
  g_array_append_val (g->kv_string_base, string_base);
  kv->count = 1;

  if (kv->type == TD_GGUF_STRING)
    return read_string (c, &kv->data, &kv->length, UINT64_MAX, "a metadata string");
  if (kv->type != TD_GGUF_ARRAY)
    {
      kv->data = c->data + c->pos;
      if (kv->type == TD_GGUF_BOOL && left (c) >= 1 && c->data[c->pos] > 1)
        return td_error_set (c->err, TD_ERR_FORMAT, "%s: metadata '%.200s' is a bool of value %u", c->path, kv->key,
                             c->data[c->pos]);
      return left (c) < scalar_size (kv->type) ? truncated (c, "a metadata value")
                                                : (c->pos += scalar_size (kv->type), TD_OK);
    }

  if ((status = read_value_type (c, kv->key, &kv->array_type)) != TD_OK
      || (status = read_u64 (c, &kv->count, "an array length")) != TD_OK)
    return status;
  if (kv->array_type == TD_GGUF_ARRAY)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: metadata '%.200s' is an array of arrays, which GGUF does not allow",
                         c->path, kv->key);
  size_t elem = kv->array_type == TD_GGUF_STRING ? 8 : scalar_size (kv->array_type);
  if (kv->count > left (c) / elem)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: metadata '%.200s' claims %" PRIu64 " %s elements but only %" PRIu64
                         " bytes are left", c->path, kv->key, kv->count, td_gguf_type_name (kv->array_type), left (c));
  kv->data = c->data + c->pos;
  if (kv->array_type != TD_GGUF_STRING)
    {
      if (kv->array_type == TD_GGUF_BOOL)
        for (uint64_t i = 0; i < kv->count; i++)
          if (kv->data[i] > 1)
            return td_error_set (c->err, TD_ERR_FORMAT, "%s: metadata '%.200s' holds a bool of value %u", c->path,
                                 kv->key, kv->data[i]);
      c->pos += kv->count * elem;
      return TD_OK;
    }
  for (uint64_t i = 0; i < kv->count; i++)
    {
      uint64_t start = c->pos - (uint64_t) (kv->data - c->data), length;
      const uint8_t *bytes;
      if ((status = read_string (c, &bytes, &length, UINT64_MAX, "a string in a metadata array")) != TD_OK)
        return status;
      g_array_append_val (g->string_starts, start);
    }
  return TD_OK;
}

/* general.alignment, when present: a u32 power of two up to 64 KiB. */
static td_status
check_alignment (td_gguf *g, const td_gguf_kv *kv, td_error *err)
{
  if (kv->type != TD_GGUF_UINT32)
    return td_error_set (err, TD_ERR_FORMAT, "%s: general.alignment is a %s, not a uint32", g->path,
                         td_gguf_type_name (kv->type));
  uint32_t a;
  memcpy (&a, kv->data, sizeof a);
  if (a == 0 || (a & (a - 1)) != 0 || a > TD_GGUF_MAX_ALIGNMENT)
    return td_error_set (err, TD_ERR_FORMAT, "%s: general.alignment is %" PRIu32
                         ", not a power of two from 1 to %d", g->path, a, TD_GGUF_MAX_ALIGNMENT);
  g->alignment = a;
  return TD_OK;
}

/* ---- tensor infos ---- */

static td_status
read_tensor_info (td_gguf *g, cursor *c, td_gguf_tensor_info *t)
{
  td_status status;
  uint32_t n_dims = 0;
  if ((status = read_name (c, g->strings, TD_GGUF_MAX_NAME, "a tensor name", &t->name)) != TD_OK
      || (status = read_u32 (c, &n_dims, "a tensor's dimension count")) != TD_OK)
    return status;
  if (n_dims == 0 || n_dims > TD_GGUF_MAX_DIMS)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: tensor '%s' has %" PRIu32 " dimensions; GGUF allows 1 to %d",
                         g->path, t->name, n_dims, TD_GGUF_MAX_DIMS);
  t->ndim = (int) n_dims;
  for (int i = 0; i < t->ndim; i++)
    {
      uint64_t ne = 0;
      if ((status = read_u64 (c, &ne, "a tensor dimension")) != TD_OK)
        return status;
      if (ne == 0 || ne > INT64_MAX)
        return td_error_set (c->err, TD_ERR_FORMAT, "%s: tensor '%s' has the dimension %" PRIu64
                             " (ne[%d]); dimensions must be 1 to 2^63-1", g->path, t->name, ne, i);
      t->ne[i] = (int64_t) ne;
      t->shape[t->ndim - 1 - i] = (int64_t) ne;
    }
  if ((status = read_u32 (c, &t->ggml_type, "a tensor type")) != TD_OK
      || (status = read_u64 (c, &t->offset, "a tensor offset")) != TD_OK)
    return status;

  const char *type_name;
  int dtype = td_gguf_dtype_of_ggml (t->ggml_type, &type_name);
  if (dtype == -1)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: tensor '%s' has the unknown type id %" PRIu32, g->path, t->name,
                         t->ggml_type);
  if (dtype == -2)
    return td_error_set (c->err, TD_ERR_UNSUPPORTED, "%s: tensor '%s' is of type %s, which the engine cannot decode",
                         g->path, t->name, type_name);
  t->dtype = (td_dtype) dtype;

  char shape_text[128];
  td_shape_string (t->ndim, t->shape, shape_text, sizeof shape_text);
  int64_t numel;
  size_t nbytes;
  if (!td_shape_numel (t->ndim, t->shape, &numel))
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: tensor '%s' has the shape %s, whose element count overflows 2^63",
                         g->path, t->name, shape_text);
  int block = td_dtype_block_elems (t->dtype);
  if (t->ne[0] % block != 0)
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: tensor '%s' is %s %s but its rows of %" PRId64
                         " values are not whole blocks of %d", g->path, t->name, type_name, shape_text, t->ne[0],
                         block);
  if (!td_dtype_nbytes (t->dtype, numel, &nbytes))
    return td_error_set (c->err, TD_ERR_FORMAT, "%s: tensor '%s' is %s %s, whose byte size overflows", g->path,
                         t->name, type_name, shape_text);
  t->nbytes = nbytes;
  return TD_OK;
}

static int
compare_by_offset (const void *a, const void *b)
{
  const td_gguf_tensor_info *x = *(const td_gguf_tensor_info *const *) a, *y = *(const td_gguf_tensor_info *const *) b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every tensor aligned, inside the data section, none overlapping; the file
 * ends with the last tensor plus at most its alignment padding. */
static td_status
check_layout (td_gguf *g, uint64_t file_size, td_error *err)
{
  uint64_t data_len = file_size - g->data_offset;
  guint n = g->tensors->len;
  const td_gguf_tensor_info **sorted = g_new (const td_gguf_tensor_info *, n > 0 ? n : 1);
  td_status status = TD_OK;
  for (guint i = 0; i < n && status == TD_OK; i++)
    {
      const td_gguf_tensor_info *t = &g_array_index (g->tensors, td_gguf_tensor_info, i);
      sorted[i] = t;
      if (t->offset % g->alignment != 0)
        status = td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' starts at offset %" PRIu64
                               ", not a multiple of the alignment %" PRIu32, g->path, t->name, t->offset,
                               g->alignment);
      else if (t->offset > data_len || t->nbytes > data_len - t->offset)
        status = td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' spans bytes %" PRIu64 "..+%" PRIu64
                               " of the data section, which holds %" PRIu64, g->path, t->name, t->offset, t->nbytes,
                               data_len);
    }
  if (status == TD_OK && n > 0)
    {
      qsort (sorted, n, sizeof *sorted, compare_by_offset);
      for (guint i = 1; i < n && status == TD_OK; i++)
        if (sorted[i]->offset < sorted[i - 1]->offset + sorted[i - 1]->nbytes)
          status = td_error_set (err, TD_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", g->path,
                                 sorted[i - 1]->name, sorted[i]->name);
      uint64_t end = sorted[n - 1]->offset + sorted[n - 1]->nbytes;
      if (status == TD_OK && data_len - end >= g->alignment)
        status = td_error_set (err, TD_ERR_FORMAT, "%s: %" PRIu64 " bytes follow the last tensor's data", g->path,
                               data_len - end);
    }
  g_free (sorted);
  return status;
}

/* ---- the header ---- */

static td_status
parse (td_gguf *g, const uint8_t *data, uint64_t size, td_error *err)
{
  cursor c = { data, size, 0, g->path, err };
  uint32_t magic = 0;
  uint64_t n_tensors = 0, n_kv = 0;
  td_status status;

  if ((status = read_u32 (&c, &magic, "the magic")) != TD_OK)
    return status;
  if (magic != GGUF_MAGIC)
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a GGUF file (it does not start with \"GGUF\")", g->path);
  if ((status = read_u32 (&c, &g->version, "the version")) != TD_OK)
    return status;
  if (g->version == 1)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (only 2 and 3)", g->path);
  if (g->version == 0x02000000u || g->version == 0x03000000u)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: a big-endian GGUF file is not supported", g->path);
  if (g->version != 2 && g->version != 3)
    return td_error_set (err, TD_ERR_FORMAT, "%s: unknown GGUF version %" PRIu32, g->path, g->version);
  if ((status = read_u64 (&c, &n_tensors, "the tensor count")) != TD_OK
      || (status = read_u64 (&c, &n_kv, "the metadata count")) != TD_OK)
    return status;
  if (n_kv > MAX_KV || n_kv > left (&c) / MIN_KV_BYTES)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the header claims %" PRIu64 " metadata pairs, more than the %" PRIu64
                         " bytes of the file can hold", g->path, n_kv, size);
  if (n_tensors > MAX_TENSORS || n_tensors > left (&c) / MIN_TENSOR_BYTES)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the header claims %" PRIu64 " tensors, more than the %" PRIu64
                         " bytes of the file can hold", g->path, n_tensors, size);

  g->alignment = TD_GGUF_DEFAULT_ALIGNMENT;
  for (uint64_t i = 0; i < n_kv; i++)
    {
      td_gguf_kv kv = { 0 };
      if ((status = read_kv (g, &c, &kv)) != TD_OK)
        return status;
      if (g_hash_table_contains (g->kv_by_key, kv.key))
        return td_error_set (err, TD_ERR_FORMAT, "%s: metadata key '%.200s' appears twice", g->path, kv.key);
      if (strcmp (kv.key, "general.alignment") == 0 && (status = check_alignment (g, &kv, err)) != TD_OK)
        return status;
      g_array_append_val (g->kvs, kv);
      g_hash_table_insert (g->kv_by_key, (gpointer) kv.key, GUINT_TO_POINTER (g->kvs->len));
    }
  for (uint64_t i = 0; i < n_tensors; i++)
    {
      td_gguf_tensor_info t = { 0 };
      if ((status = read_tensor_info (g, &c, &t)) != TD_OK)
        return status;
      if (g_hash_table_contains (g->by_name, t.name))
        return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' appears twice", g->path, t.name);
      g_array_append_val (g->tensors, t);
      g_hash_table_insert (g->by_name, (gpointer) t.name, GUINT_TO_POINTER (g->tensors->len));
    }

  /* The data section starts at the next multiple of the alignment; a file
   * without tensors may end right after its header. */
  uint64_t padding = (g->alignment - c.pos % g->alignment) % g->alignment;
  if (n_tensors == 0 && left (&c) == 0)
    padding = 0;
  if (padding > left (&c))
    return truncated (&c, "the padding before the data section");
  for (uint64_t i = 0; i < padding; i++)
    if (data[c.pos + i] != 0)
      return td_error_set (err, TD_ERR_FORMAT, "%s: the padding before the data section holds non-zero bytes",
                           g->path);
  g->data_offset = c.pos + padding;
  return check_layout (g, size, err);
}

/* ---- opening ---- */

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

static td_gguf *
gguf_new (const char *path)
{
  td_gguf *g = g_new0 (td_gguf, 1);
  g->path = g_strdup (path);
  g->kvs = g_array_new (FALSE, FALSE, sizeof (td_gguf_kv));
  g->string_starts = g_array_new (FALSE, FALSE, sizeof (uint64_t));
  g->kv_string_base = g_array_new (FALSE, FALSE, sizeof (guint));
  g->tensors = g_array_new (FALSE, FALSE, sizeof (td_gguf_tensor_info));
  g->kv_by_key = g_hash_table_new (g_str_hash, g_str_equal);
  g->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g->strings = g_string_chunk_new (4096);
  return g;
}

void
td_gguf_close (td_gguf *g)
{
  if (g == NULL)
    return;
  if (g->file != NULL)
    td_buffer_unref (g->file); /* tensors still out keep the mapping */
  g_array_unref (g->kvs);
  g_array_unref (g->string_starts);
  g_array_unref (g->kv_string_base);
  g_array_unref (g->tensors);
  g_hash_table_unref (g->kv_by_key);
  g_hash_table_unref (g->by_name);
  g_string_chunk_free (g->strings);
  g_free (g->path);
  g_free (g);
}

static td_gguf *
open_image (const void *data, size_t size, const char *name, void (*release) (td_buffer *), void *impl,
            td_error *err)
{
  td_gguf *g = gguf_new (name);
  g->file = td_buffer_wrap_host ((void *) data, size, release, impl);
  if (g->file == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", name);
      td_gguf_close (g);
      return NULL;
    }
  if (parse (g, data, size, err) != TD_OK)
    {
      td_gguf_close (g);
      return NULL;
    }
  return g;
}

td_gguf *
td_gguf_open_memory (const void *data, size_t size, const char *name, td_error *err)
{
  return open_image (data, size, name, NULL, NULL, err);
}

td_gguf *
td_gguf_open (const char *path, td_error *err)
{
  uint64_t file_size = 0;
  int fd = td_file_open_regular (path, "GGUF file", &file_size, err);
  if (fd < 0)
    return NULL;
  if (file_size > SIZE_MAX)
    {
      close (fd);
      td_error_set (err, TD_ERR_LIMIT, "%s: the file is too large to map", path);
      return NULL;
    }
  size_t size = (size_t) file_size;
  if (size < 24)
    {
      close (fd);
      td_error_set (err, TD_ERR_FORMAT, "%s: the file is %zu bytes, too short for a GGUF header", path, size);
      return NULL;
    }
  void *addr = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close (fd);
  if (addr == MAP_FAILED)
    {
      td_error_set (err, TD_ERR_IO, "%s: cannot map the file: %s", path, g_strerror (saved));
      return NULL;
    }
  mapping *m = malloc (sizeof *m);
  if (m == NULL)
    {
      munmap (addr, size);
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", path);
      return NULL;
    }
  m->addr = addr;
  m->size = size;
  return open_image (addr, size, path, release_mapping, m, err);
}

int
td_gguf_file_is_gguf (const char *path)
{
  uint64_t size;
  td_error ignored = { 0 };
  int fd = td_file_open_regular (path, "GGUF file", &size, &ignored);
  if (fd < 0)
    return 0;
  char magic[4];
  ssize_t n = read (fd, magic, sizeof magic);
  close (fd);
  return n == 4 && memcmp (magic, "GGUF", 4) == 0;
}

/* ---- accessors ---- */

const char *
td_gguf_path (const td_gguf *g)
{
  return g->path;
}

uint32_t
td_gguf_version (const td_gguf *g)
{
  return g->version;
}

uint32_t
td_gguf_alignment (const td_gguf *g)
{
  return g->alignment;
}

uint64_t
td_gguf_data_offset (const td_gguf *g)
{
  return g->data_offset;
}

size_t
td_gguf_kv_count (const td_gguf *g)
{
  return g->kvs->len;
}

const td_gguf_kv *
td_gguf_kv_at (const td_gguf *g, size_t index)
{
  return index < g->kvs->len ? &g_array_index (g->kvs, td_gguf_kv, index) : NULL;
}

const td_gguf_kv *
td_gguf_find_kv (const td_gguf *g, const char *key)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (g->kv_by_key, key));
  return index == 0 ? NULL : &g_array_index (g->kvs, td_gguf_kv, index - 1);
}

const uint8_t *
td_gguf_kv_array_string (const td_gguf *g, const td_gguf_kv *kv, uint64_t i, uint64_t *length)
{
  if (kv->type != TD_GGUF_ARRAY || kv->array_type != TD_GGUF_STRING || i >= kv->count)
    return NULL;
  size_t kv_index = (size_t) (kv - &g_array_index (g->kvs, td_gguf_kv, 0));
  guint base = g_array_index (g->kv_string_base, guint, kv_index);
  uint64_t start = g_array_index (g->string_starts, uint64_t, base + i);
  memcpy (length, kv->data + start, sizeof *length);
  return kv->data + start + 8;
}

int
td_gguf_kv_integer (const td_gguf_kv *kv, uint64_t i, int64_t *value)
{
  td_gguf_type type = kv->type == TD_GGUF_ARRAY ? kv->array_type : kv->type;
  if (i >= kv->count)
    return 0;
  const uint8_t *p = kv->data + i * scalar_size (type);
  union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; } v;
  switch (type)
    {
    case TD_GGUF_UINT8: case TD_GGUF_BOOL: memcpy (&v.u8, p, 1); *value = v.u8; return 1;
    case TD_GGUF_INT8: memcpy (&v.i8, p, 1); *value = v.i8; return 1;
    case TD_GGUF_UINT16: memcpy (&v.u16, p, 2); *value = v.u16; return 1;
    case TD_GGUF_INT16: memcpy (&v.i16, p, 2); *value = v.i16; return 1;
    case TD_GGUF_UINT32: memcpy (&v.u32, p, 4); *value = v.u32; return 1;
    case TD_GGUF_INT32: memcpy (&v.i32, p, 4); *value = v.i32; return 1;
    case TD_GGUF_UINT64: memcpy (&v.u64, p, 8); if (v.u64 > INT64_MAX) return 0; *value = (int64_t) v.u64; return 1;
    case TD_GGUF_INT64: memcpy (&v.i64, p, 8); *value = v.i64; return 1;
    default: return 0;
    }
}

int
td_gguf_kv_number (const td_gguf_kv *kv, uint64_t i, double *value)
{
  td_gguf_type type = kv->type == TD_GGUF_ARRAY ? kv->array_type : kv->type;
  if (i >= kv->count)
    return 0;
  const uint8_t *p = kv->data + i * scalar_size (type);
  if (type == TD_GGUF_FLOAT32)
    {
      float f;
      memcpy (&f, p, 4);
      *value = f;
      return 1;
    }
  if (type == TD_GGUF_FLOAT64)
    {
      memcpy (value, p, 8);
      return 1;
    }
  if (type == TD_GGUF_UINT64)
    {
      uint64_t u;
      memcpy (&u, p, 8);
      *value = (double) u;
      return 1;
    }
  int64_t n;
  if (!td_gguf_kv_integer (kv, i, &n))
    return 0;
  *value = (double) n;
  return 1;
}

size_t
td_gguf_tensor_count (const td_gguf *g)
{
  return g->tensors->len;
}

const td_gguf_tensor_info *
td_gguf_tensor_at (const td_gguf *g, size_t index)
{
  return index < g->tensors->len ? &g_array_index (g->tensors, td_gguf_tensor_info, index) : NULL;
}

const td_gguf_tensor_info *
td_gguf_find_tensor (const td_gguf *g, const char *name)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (g->by_name, name));
  return index == 0 ? NULL : &g_array_index (g->tensors, td_gguf_tensor_info, index - 1);
}

const void *
td_gguf_tensor_data (const td_gguf *g, const td_gguf_tensor_info *info)
{
  return (const uint8_t *) g->file->host + g->data_offset + info->offset;
}

td_tensor *
td_gguf_tensor_of (td_gguf *g, const td_gguf_tensor_info *info, td_error *err)
{
  size_t offset = (size_t) (g->data_offset + info->offset);
  /* Block types are read bytewise; plain ones in place only when aligned. */
  size_t align = td_dtype_is_quantized (info->dtype) ? 1 : td_dtype_size (info->dtype);
  if ((uintptr_t) ((const uint8_t *) g->file->host + offset) % align == 0)
    return td_tensor_new_in (g->file, offset, info->dtype, info->ndim, info->shape, err);
  td_tensor *copy = td_tensor_new (NULL, info->dtype, info->ndim, info->shape, err);
  if (copy != NULL && td_tensor_upload (copy, td_gguf_tensor_data (g, info), info->nbytes, err) != TD_OK)
    {
      td_tensor_free (copy);
      return NULL;
    }
  return copy;
}

td_tensor *
td_gguf_tensor (td_gguf *g, const char *name, td_error *err)
{
  const td_gguf_tensor_info *info = td_gguf_find_tensor (g, name);
  if (info == NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor named '%s'", g->path, name);
      return NULL;
    }
  return td_gguf_tensor_of (g, info, err);
}
