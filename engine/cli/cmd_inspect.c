/* thinkdiff inspect — list the tensors of a safetensors checkpoint. */
#include "cli.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "cli_args.h"
#include "cli_text.h"

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff inspect PATH\n\n"
                "Lists each tensor (name, dtype, shape, bytes), the metadata and totals of a\n"
                "checkpoint. PATH is a .safetensors file, a .safetensors.index.json of a\n"
                "sharded checkpoint, a model folder holding either, or a .gguf file.\n");
}

static void
format_bytes (uint64_t bytes, char *buf, size_t size)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  double value = (double) bytes;
  int unit = 0;
  while (value >= 1024 && unit < 4)
    {
      value /= 1024;
      unit++;
    }
  if (unit == 0)
    snprintf (buf, size, "%" PRIu64 " B", bytes);
  else
    snprintf (buf, size, "%.1f %s", value, units[unit]);
}

/* Bytes and tensor counts per dtype, in the order the dtypes first appear. */
typedef struct {
  const char *dtype;
  uint64_t bytes;
  size_t count;
} dtype_total;

#define MAX_DTYPES 32

static void
add_to_totals (dtype_total *totals, int *n_totals, const td_checkpoint_tensor *t)
{
  int k = 0;
  while (k < *n_totals && strcmp (totals[k].dtype, t->dtype) != 0)
    k++;
  if (k == *n_totals)
    {
      if (*n_totals == MAX_DTYPES)
        return;
      totals[(*n_totals)++] = (dtype_total) { t->dtype, 0, 0 };
    }
  totals[k].bytes += t->nbytes;
  totals[k].count++;
}

static void
format_shape (const td_checkpoint_tensor *t, char *buf, size_t size)
{
  size_t used = (size_t) snprintf (buf, size, "[");
  for (int d = 0; d < t->ndim && used < size; d++)
    used += (size_t) snprintf (buf + used, size - used, "%s%" PRId64, d > 0 ? ", " : "", t->shape[d]);
  if (used < size)
    snprintf (buf + used, size - used, "]");
}

static void
print_checkpoint (td_checkpoint *ck)
{
  size_t n = td_checkpoint_count (ck);
  size_t n_files = td_checkpoint_file_count (ck);
  bool sharded = n_files > 1;
  /* Names and metadata come from the file: escaped, so they cannot drive the terminal. */
  char **names = g_new0 (char *, n + 1);
  int name_width = 4;
  for (size_t i = 0; i < n; i++)
    {
      td_checkpoint_tensor t;
      td_checkpoint_tensor_at (ck, i, &t);
      names[i] = td_cli_escape (t.name);
      int len = (int) g_utf8_strlen (names[i], -1);
      name_width = len > name_width ? len : name_width;
    }

  g_autofree char *path = td_cli_escape (td_checkpoint_path (ck));
  printf ("%s\n", path);
  size_t n_meta = td_checkpoint_metadata_count (ck);
  if (n_meta > 0)
    {
      printf ("metadata:\n");
      for (size_t i = 0; i < n_meta; i++)
        {
          const char *key, *value;
          td_checkpoint_metadata_at (ck, i, &key, &value);
          g_autofree char *shown_key = td_cli_escape (key);
          g_autofree char *shown_value = td_cli_escape (value);
          printf ("  %s = %s\n", shown_key, shown_value);
        }
    }

  uint64_t total = 0;
  dtype_total totals[MAX_DTYPES];
  int n_totals = 0;
  printf ("%-*s  %-5s  %-24s  %12s%s\n", name_width, "name", "dtype", "shape", "bytes", sharded ? "  file" : "");
  for (size_t i = 0; i < n; i++)
    {
      td_checkpoint_tensor t;
      td_checkpoint_tensor_at (ck, i, &t);
      char shape[160];
      format_shape (&t, shape, sizeof shape);
      const char *file = strrchr (t.file, '/');
      g_autofree char *shown_file = td_cli_escape (file != NULL ? file + 1 : t.file);
      /* width in characters: printf pads by bytes */
      int pad = name_width - (int) g_utf8_strlen (names[i], -1);
      printf ("%s%*s  %-5s  %-24s  %12" PRIu64 "%s%s\n", names[i], pad, "", t.dtype, shape, t.nbytes,
              sharded ? "  " : "", sharded ? shown_file : "");
      total += t.nbytes;
      add_to_totals (totals, &n_totals, &t);
    }

  g_strfreev (names);
  char human[32];
  format_bytes (total, human, sizeof human);
  printf ("total: %zu tensors, %" PRIu64 " bytes (%s) in %zu file%s\n", n, total, human, n_files,
          n_files == 1 ? "" : "s");
  for (int k = 0; k < n_totals; k++)
    {
      format_bytes (totals[k].bytes, human, sizeof human);
      printf ("  %-5s %zu tensors, %s\n", totals[k].dtype, totals[k].count, human);
    }
}

int
td_cli_inspect (int argc, char **argv)
{
  const char *path = NULL;
  int code = td_cli_operands (argc, argv, print_usage, 1, &path);
  if (code >= 0)
    return code;
  if (td_checkpoint_is_gguf (path))
    return td_cli_inspect_gguf (path);
  td_error err = { 0 };
  td_checkpoint *ck = td_checkpoint_open (path, &err);
  if (ck == NULL)
    return td_cli_fail (&err);
  print_checkpoint (ck);
  td_checkpoint_close (ck);
  return 0;
}
