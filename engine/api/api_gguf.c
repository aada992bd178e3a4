/* api_gguf.c — GGUF files for the public API: the header, the metadata as
 * text and the tensor table, over the strict reader (io/gguf.c). */
#include "thinkdiff.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "io/gguf.h"

/* The public handle is the reader itself. */
struct td_gguf_file;

static const td_gguf *
reader (const td_gguf_file *file)
{
  return (const td_gguf *) file;
}

td_gguf_file *
td_gguf_file_open (const char *path, td_error *err)
{
  return (td_gguf_file *) td_gguf_open (path, err);
}

void
td_gguf_file_close (td_gguf_file *file)
{
  if (file != NULL)
    td_gguf_close ((td_gguf *) file);
}

const char *
td_gguf_file_path (const td_gguf_file *file)
{
  return td_gguf_path (reader (file));
}

uint32_t
td_gguf_file_version (const td_gguf_file *file)
{
  return td_gguf_version (reader (file));
}

uint32_t
td_gguf_file_alignment (const td_gguf_file *file)
{
  return td_gguf_alignment (reader (file));
}

uint64_t
td_gguf_file_data_offset (const td_gguf_file *file)
{
  return td_gguf_data_offset (reader (file));
}

size_t
td_gguf_file_metadata_count (const td_gguf_file *file)
{
  return td_gguf_kv_count (reader (file));
}

bool
td_gguf_file_metadata_at (const td_gguf_file *file, size_t index, td_gguf_file_metadata *out)
{
  if (index >= td_gguf_kv_count (reader (file)))
    return false;
  const td_gguf_kv *kv = td_gguf_kv_at (reader (file), index);
  *out = (td_gguf_file_metadata) {
    .key = kv->key,
    .type = td_gguf_type_name (kv->type),
    .element_type = kv->type == TD_GGUF_ARRAY ? td_gguf_type_name (kv->array_type) : NULL,
    .count = kv->count,
  };
  return true;
}

static void
append_escaped (GString *text, const uint8_t *bytes, uint64_t length)
{
  g_string_append_c (text, '"');
  for (uint64_t i = 0; i < length; i++)
    {
      uint8_t c = bytes[i];
      if (c == '\\' || c == '"')
        g_string_append_printf (text, "\\%c", c);
      else if (c >= 0x20 && c < 0x7f)
        g_string_append_c (text, (char) c);
      else
        g_string_append_printf (text, "\\x%02x", c);
    }
  g_string_append_c (text, '"');
}

static void
append_number (GString *text, const td_gguf_kv *kv, uint64_t i)
{
  td_gguf_type type = kv->type == TD_GGUF_ARRAY ? kv->array_type : kv->type;
  double d;
  int64_t n;
  if (type == TD_GGUF_BOOL && td_gguf_kv_integer (kv, i, &n))
    g_string_append (text, n ? "true" : "false");
  else if ((type == TD_GGUF_FLOAT32 || type == TD_GGUF_FLOAT64) && td_gguf_kv_number (kv, i, &d))
    g_string_append_printf (text, "%.9g", d);
  else if (type == TD_GGUF_UINT64)
    {
      uint64_t u;
      memcpy (&u, kv->data + 8 * i, sizeof u);
      g_string_append_printf (text, "%" PRIu64, u);
    }
  else if (td_gguf_kv_integer (kv, i, &n))
    g_string_append_printf (text, "%" PRId64, n);
}

char *
td_gguf_file_metadata_text (const td_gguf_file *file, size_t index, size_t max_elements)
{
  const td_gguf *gguf = reader (file);
  if (index >= td_gguf_kv_count (gguf))
    return NULL;
  const td_gguf_kv *kv = td_gguf_kv_at (gguf, index);
  GString *text = g_string_new (NULL);
  if (kv->type == TD_GGUF_STRING)
    append_escaped (text, kv->data, kv->length);
  else if (kv->type != TD_GGUF_ARRAY)
    append_number (text, kv, 0);
  else
    {
      g_string_append_c (text, '[');
      for (uint64_t i = 0; i < kv->count && i < max_elements; i++)
        {
          g_string_append (text, i > 0 ? ", " : "");
          if (kv->array_type == TD_GGUF_STRING)
            {
              uint64_t length;
              const uint8_t *s = td_gguf_kv_array_string (gguf, kv, i, &length);
              append_escaped (text, s, length);
            }
          else
            append_number (text, kv, i);
        }
      if (kv->count > max_elements)
        g_string_append_printf (text, ", … %" PRIu64 " more", kv->count - max_elements);
      g_string_append_printf (text, "] (%" PRIu64 " %s)", kv->count, td_gguf_type_name (kv->array_type));
    }
  return g_string_free (text, FALSE);
}

size_t
td_gguf_file_tensor_count (const td_gguf_file *file)
{
  return td_gguf_tensor_count (reader (file));
}

bool
td_gguf_file_tensor_at (const td_gguf_file *file, size_t index, td_gguf_file_tensor *out)
{
  if (index >= td_gguf_tensor_count (reader (file)))
    return false;
  const td_gguf_tensor_info *t = td_gguf_tensor_at (reader (file), index);
  *out = (td_gguf_file_tensor) {
    .name = t->name,
    .dtype = td_dtype_safetensors_name (t->dtype),
    .ndim = t->ndim,
    .nbytes = t->nbytes,
    .offset = t->offset,
  };
  for (int d = 0; d < t->ndim && d < 4; d++)
    out->shape[d] = t->shape[d];
  return true;
}
