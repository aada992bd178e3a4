/* cmd_inspect_gguf.c — `thinkdiff inspect FILE.gguf`: the GGUF header, its
 * metadata and its tensors, laid out like a safetensors listing. Text from the
 * file is escaped: only printable ASCII is written as is. */
#include "cli/cli.h"
#include "io/gguf.h"

#include <inttypes.h>
#include <string.h>

#define ARRAY_SHOWN 16 /* elements of a metadata array printed before "…" */

static void
print_escaped (const uint8_t *bytes, uint64_t length)
{
  for (uint64_t i = 0; i < length; i++)
    {
      uint8_t c = bytes[i];
      if (c == '\\' || c == '"')
        printf ("\\%c", c);
      else if (c >= 0x20 && c < 0x7f)
        putchar (c);
      else
        printf ("\\x%02x", c);
    }
}

static void
print_number (const td_gguf_kv *kv, uint64_t i)
{
  td_gguf_type type = kv->type == TD_GGUF_ARRAY ? kv->array_type : kv->type;
  double d;
  int64_t n;
  if (type == TD_GGUF_BOOL && td_gguf_kv_integer (kv, i, &n))
    printf ("%s", n ? "true" : "false");
  else if ((type == TD_GGUF_FLOAT32 || type == TD_GGUF_FLOAT64) && td_gguf_kv_number (kv, i, &d))
    printf ("%.9g", d);
  else if (type == TD_GGUF_UINT64)
    {
      uint64_t u;
      memcpy (&u, kv->data + 8 * i, sizeof u);
      printf ("%" PRIu64, u);
    }
  else if (td_gguf_kv_integer (kv, i, &n))
    printf ("%" PRId64, n);
}

static void
print_value (const td_gguf *gguf, const td_gguf_kv *kv)
{
  if (kv->type == TD_GGUF_STRING)
    {
      putchar ('"');
      print_escaped (kv->data, kv->length);
      putchar ('"');
      return;
    }
  if (kv->type != TD_GGUF_ARRAY)
    {
      print_number (kv, 0);
      return;
    }
  printf ("[");
  for (uint64_t i = 0; i < kv->count && i < ARRAY_SHOWN; i++)
    {
      printf (i > 0 ? ", " : "");
      if (kv->array_type == TD_GGUF_STRING)
        {
          uint64_t length;
          const uint8_t *s = td_gguf_kv_array_string (gguf, kv, i, &length);
          putchar ('"');
          print_escaped (s, length);
          putchar ('"');
        }
      else
        print_number (kv, i);
    }
  if (kv->count > ARRAY_SHOWN)
    printf (", … %" PRIu64 " more", kv->count - ARRAY_SHOWN);
  printf ("] (%" PRIu64 " %s)", kv->count, td_gguf_type_name (kv->array_type));
}

int
td_cli_inspect_gguf (const char *path)
{
  td_error err = { 0 };
  td_gguf *gguf = td_gguf_open (path, &err);
  if (gguf == NULL)
    return td_cli_fail (&err);

  printf ("%s\n", path);
  printf ("GGUF version %" PRIu32 ", alignment %" PRIu32 ", data section at byte %" PRIu64 "\n",
          td_gguf_version (gguf), td_gguf_alignment (gguf), td_gguf_data_offset (gguf));
  if (td_gguf_kv_count (gguf) > 0)
    {
      printf ("metadata:\n");
      for (size_t i = 0; i < td_gguf_kv_count (gguf); i++)
        {
          const td_gguf_kv *kv = td_gguf_kv_at (gguf, i);
          printf ("  ");
          print_escaped ((const uint8_t *) kv->key, strlen (kv->key));
          printf (" (%s) = ", td_gguf_type_name (kv->type));
          print_value (gguf, kv);
          printf ("\n");
        }
    }

  size_t n = td_gguf_tensor_count (gguf);
  int name_width = 4;
  for (size_t i = 0; i < n; i++)
    {
      int len = (int) strlen (td_gguf_tensor_at (gguf, i)->name);
      name_width = len > name_width ? len : name_width;
    }
  uint64_t total = 0, per_dtype[TD_DTYPE_COUNT] = { 0 };
  size_t count_dtype[TD_DTYPE_COUNT] = { 0 };
  printf ("%-*s  %-5s  %-24s  %12s  %12s\n", name_width, "name", "dtype", "shape", "bytes", "offset");
  for (size_t i = 0; i < n; i++)
    {
      const td_gguf_tensor_info *t = td_gguf_tensor_at (gguf, i);
      char shape[160];
      td_shape_string (t->ndim, t->shape, shape, sizeof shape);
      print_escaped ((const uint8_t *) t->name, strlen (t->name));
      printf ("%*s  %-5s  %-24s  %12" PRIu64 "  %12" PRIu64 "\n", name_width - (int) strlen (t->name), "",
              td_dtype_safetensors_name (t->dtype), shape, t->nbytes, t->offset);
      total += t->nbytes;
      per_dtype[t->dtype] += t->nbytes;
      count_dtype[t->dtype]++;
    }
  printf ("total: %zu tensors, %" PRIu64 " bytes\n", n, total);
  for (int d = 0; d < TD_DTYPE_COUNT; d++)
    if (count_dtype[d] > 0)
      printf ("  %-5s %zu tensors, %" PRIu64 " bytes\n", td_dtype_safetensors_name ((td_dtype) d), count_dtype[d],
              per_dtype[d]);
  td_gguf_close (gguf);
  return 0;
}
