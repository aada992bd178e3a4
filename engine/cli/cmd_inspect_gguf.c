/* cmd_inspect_gguf.c — `thinkdiff inspect FILE.gguf`: the GGUF header, its
 * metadata and its tensors, laid out like a safetensors listing. Text from the
 * file is escaped, so it cannot drive the terminal. */
#include "cli.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "cli_text.h"

#define ARRAY_SHOWN 16 /* elements of a metadata array printed before "…" */
#define MAX_DTYPES 32

static void
format_shape (const td_gguf_file_tensor *t, char *buf, size_t size)
{
  size_t used = (size_t) snprintf (buf, size, "[");
  for (int d = 0; d < t->ndim && used < size; d++)
    used += (size_t) snprintf (buf + used, size - used, "%s%" PRId64, d > 0 ? ", " : "", t->shape[d]);
  if (used < size)
    snprintf (buf + used, size - used, "]");
}

static void
print_metadata (const td_gguf_file *file)
{
  size_t n = td_gguf_file_metadata_count (file);
  if (n == 0)
    return;
  printf ("metadata:\n");
  for (size_t i = 0; i < n; i++)
    {
      td_gguf_file_metadata m;
      td_gguf_file_metadata_at (file, i, &m);
      g_autofree char *key = td_cli_escape (m.key);
      char *value = td_gguf_file_metadata_text (file, i, ARRAY_SHOWN);
      printf ("  %s (%s) = %s\n", key, m.type, value);
      td_free (value);
    }
}

/* Bytes and tensor counts per dtype, in the order the dtypes first appear. */
typedef struct {
  const char *dtype;
  uint64_t bytes;
  size_t count;
} dtype_total;

static void
print_tensors (const td_gguf_file *file)
{
  size_t n = td_gguf_file_tensor_count (file);
  char **names = g_new0 (char *, n + 1);
  int name_width = 4;
  for (size_t i = 0; i < n; i++)
    {
      td_gguf_file_tensor t;
      td_gguf_file_tensor_at (file, i, &t);
      names[i] = td_cli_escape (t.name);
      int len = (int) g_utf8_strlen (names[i], -1);
      name_width = len > name_width ? len : name_width;
    }
  dtype_total totals[MAX_DTYPES];
  int n_totals = 0;
  uint64_t total = 0;
  printf ("%-*s  %-5s  %-24s  %12s  %12s\n", name_width, "name", "dtype", "shape", "bytes", "offset");
  for (size_t i = 0; i < n; i++)
    {
      td_gguf_file_tensor t;
      td_gguf_file_tensor_at (file, i, &t);
      char shape[160];
      format_shape (&t, shape, sizeof shape);
      int pad = name_width - (int) g_utf8_strlen (names[i], -1);
      printf ("%s%*s  %-5s  %-24s  %12" PRIu64 "  %12" PRIu64 "\n", names[i], pad, "", t.dtype, shape, t.nbytes,
              t.offset);
      total += t.nbytes;
      int k = 0;
      while (k < n_totals && strcmp (totals[k].dtype, t.dtype) != 0)
        k++;
      if (k == n_totals && n_totals < MAX_DTYPES)
        totals[n_totals++] = (dtype_total) { t.dtype, 0, 0 };
      if (k < n_totals)
        {
          totals[k].bytes += t.nbytes;
          totals[k].count++;
        }
    }
  g_strfreev (names);
  printf ("total: %zu tensors, %" PRIu64 " bytes\n", n, total);
  for (int k = 0; k < n_totals; k++)
    printf ("  %-5s %zu tensors, %" PRIu64 " bytes\n", totals[k].dtype, totals[k].count, totals[k].bytes);
}

int
td_cli_inspect_gguf (const char *path)
{
  td_error err = { 0 };
  td_gguf_file *file = td_gguf_file_open (path, &err);
  if (file == NULL)
    return td_cli_fail (&err);
  g_autofree char *shown_path = td_cli_escape (path);
  printf ("%s\n", shown_path);
  printf ("GGUF version %" PRIu32 ", alignment %" PRIu32 ", data section at byte %" PRIu64 "\n",
          td_gguf_file_version (file), td_gguf_file_alignment (file), td_gguf_file_data_offset (file));
  print_metadata (file);
  print_tensors (file);
  td_gguf_file_close (file);
  return 0;
}
