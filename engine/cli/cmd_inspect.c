/* thinkdiff inspect — list the tensors of a safetensors checkpoint. */
#include "cli/cli.h"
#include "cli/cli_text.h"
#include "io/gguf.h"
#include "io/safetensors.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

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

static void
print_checkpoint (td_safetensors *st)
{
  size_t n = td_safetensors_count (st);
  bool sharded = td_safetensors_file_count (st) > 1;
  /* Names and metadata come from the file: escaped, so they cannot drive the terminal. */
  char **names = g_new0 (char *, n + 1);
  int name_width = 4;
  for (size_t i = 0; i < n; i++)
    {
      names[i] = td_cli_escape (td_safetensors_at (st, i)->name);
      int len = (int) g_utf8_strlen (names[i], -1);
      name_width = len > name_width ? len : name_width;
    }

  g_autofree char *path = td_cli_escape (td_safetensors_path (st));
  printf ("%s\n", path);
  size_t n_meta = td_safetensors_metadata_count (st);
  if (n_meta > 0)
    {
      printf ("metadata:\n");
      for (size_t i = 0; i < n_meta; i++)
        {
          const char *key, *value;
          td_safetensors_metadata_at (st, i, &key, &value);
          g_autofree char *shown_key = td_cli_escape (key);
          g_autofree char *shown_value = td_cli_escape (value);
          printf ("  %s = %s\n", shown_key, shown_value);
        }
    }

  uint64_t total = 0;
  uint64_t per_dtype[TD_DTYPE_COUNT] = { 0 };
  size_t count_dtype[TD_DTYPE_COUNT] = { 0 };
  printf ("%-*s  %-5s  %-24s  %12s%s\n", name_width, "name", "dtype", "shape", "bytes", sharded ? "  file" : "");
  for (size_t i = 0; i < n; i++)
    {
      const td_safetensors_info *t = td_safetensors_at (st, i);
      char shape[160];
      td_shape_string (t->ndim, t->shape, shape, sizeof shape);
      const char *file = strrchr (t->file, '/');
      g_autofree char *shown_file = td_cli_escape (file != NULL ? file + 1 : t->file);
      /* width in characters: printf pads by bytes */
      int pad = name_width - (int) g_utf8_strlen (names[i], -1);
      printf ("%s%*s  %-5s  %-24s  %12" PRIu64 "%s%s\n", names[i], pad, "", td_dtype_safetensors_name (t->dtype),
              shape, t->nbytes, sharded ? "  " : "", sharded ? shown_file : "");
      total += t->nbytes;
      per_dtype[t->dtype] += t->nbytes;
      count_dtype[t->dtype]++;
    }

  g_strfreev (names);
  char human[32];
  format_bytes (total, human, sizeof human);
  printf ("total: %zu tensors, %" PRIu64 " bytes (%s) in %zu file%s\n", n, total, human,
          td_safetensors_file_count (st), td_safetensors_file_count (st) == 1 ? "" : "s");
  for (int d = 0; d < TD_DTYPE_COUNT; d++)
    if (count_dtype[d] > 0)
      {
        format_bytes (per_dtype[d], human, sizeof human);
        printf ("  %-5s %zu tensors, %s\n", td_dtype_safetensors_name ((td_dtype) d), count_dtype[d], human);
      }
}

int
td_cli_inspect (int argc, char **argv)
{
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      print_usage (stdout);
      return 0;
    }
  if (argc != 2 || argv[1][0] == '-')
    {
      print_usage (stderr);
      return 2;
    }
  if (td_gguf_file_is_gguf (argv[1]))
    return td_cli_inspect_gguf (argv[1]);
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open_any (argv[1], &err);
  if (st == NULL)
    return td_cli_fail (&err);
  print_checkpoint (st);
  td_safetensors_close (st);
  return 0;
}
