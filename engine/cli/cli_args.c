#include "cli_args.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Prints the argument escaped: it may hold control characters. */
static void
refuse (const char *flag, const char *wants, const char *text)
{
  g_autofree char *shown = g_strescape (text, NULL);
  fprintf (stderr, "thinkdiff: %s wants %s, not '%.64s'\n", flag, wants, shown);
}

static size_t
digits (const char *text)
{
  size_t n = 0;
  while (text[n] >= '0' && text[n] <= '9')
    n++;
  return n;
}

bool
td_cli_parse_int (const char *flag, const char *text, int64_t min, int64_t max, int64_t *out)
{
  g_autofree char *wants = g_strdup_printf ("an integer in %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, min, max);
  const char *p = text + (text[0] == '-');
  size_t n = digits (p);
  if (n == 0 || p[n] != '\0' || n > 19)
    {
      refuse (flag, wants, text);
      return false;
    }
  errno = 0;
  gint64 v = g_ascii_strtoll (text, NULL, 10);
  if (errno != 0 || v < min || v > max)
    {
      refuse (flag, wants, text);
      return false;
    }
  *out = v;
  return true;
}

bool
td_cli_parse_double (const char *flag, const char *text, double min, double max, double *out)
{
  g_autofree char *wants = g_strdup_printf ("a decimal number in %g..%g", min, max);
  /* -?D+(.D+)?([eE][+-]?D+)? */
  const char *p = text + (text[0] == '-');
  size_t n = digits (p);
  bool ok = n > 0;
  p += n;
  if (ok && *p == '.')
    {
      n = digits (++p);
      ok = n > 0;
      p += n;
    }
  if (ok && (*p == 'e' || *p == 'E'))
    {
      p++;
      p += *p == '+' || *p == '-';
      n = digits (p);
      ok = n > 0;
      p += n;
    }
  double v = ok && *p == '\0' ? g_ascii_strtod (text, NULL) : 0.0;
  if (!ok || *p != '\0' || !(v >= min && v <= max))
    {
      refuse (flag, wants, text);
      return false;
    }
  *out = v;
  return true;
}

bool
td_cli_check_output_file (const char *flag, const char *path)
{
  if (path == NULL || path[0] == '\0')
    {
      fprintf (stderr, "thinkdiff: %s is empty: give a file name\n", flag);
      return false;
    }
  struct stat sb;
  if (stat (path, &sb) == 0)
    {
      if (S_ISDIR (sb.st_mode))
        {
          fprintf (stderr, "thinkdiff: %s %s is a folder: give a file name\n", flag, path);
          return false;
        }
      if (!S_ISREG (sb.st_mode))
        {
          fprintf (stderr, "thinkdiff: %s %s is not a regular file\n", flag, path);
          return false;
        }
      if (access (path, W_OK) != 0)
        {
          fprintf (stderr, "thinkdiff: %s %s cannot be written: %s\n", flag, path, g_strerror (errno));
          return false;
        }
      return true;
    }
  if (errno != ENOENT)
    {
      fprintf (stderr, "thinkdiff: %s %s: %s\n", flag, path, g_strerror (errno));
      return false;
    }
  g_autofree char *folder = g_path_get_dirname (path);
  int found = stat (folder, &sb);
  int e = errno;
  if (found != 0 || !S_ISDIR (sb.st_mode))
    {
      if (found != 0)
        fprintf (stderr, "thinkdiff: %s %s: no folder %s: %s\n", flag, path, folder, g_strerror (e));
      else
        fprintf (stderr, "thinkdiff: %s %s: %s is not a folder\n", flag, path, folder);
      return false;
    }
  if (access (folder, W_OK | X_OK) != 0)
    {
      fprintf (stderr, "thinkdiff: %s %s: cannot write in %s: %s\n", flag, path, folder, g_strerror (errno));
      return false;
    }
  return true;
}

int
td_cli_operands (int argc, char **argv, void (*usage) (FILE *out), int n, const char **out)
{
  int found = 0;
  bool options_done = false;
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      if (!options_done && (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0))
        {
          usage (stdout);
          return 0;
        }
      if (!options_done && strcmp (arg, "--") == 0)
        options_done = true;
      else if (!options_done && arg[0] == '-' && arg[1] != '\0')
        {
          g_autofree char *shown = g_strescape (arg, NULL);
          fprintf (stderr, "thinkdiff %s: unknown option '%s' (put -- before a name that starts with '-')\n\n",
                   argv[0], shown);
          usage (stderr);
          return 2;
        }
      else if (found < n)
        out[found++] = arg;
      else
        {
          g_autofree char *shown = g_strescape (arg, NULL);
          fprintf (stderr, "thinkdiff %s: unexpected argument '%s'\n\n", argv[0], shown);
          usage (stderr);
          return 2;
        }
    }
  if (found < n)
    {
      fprintf (stderr, "thinkdiff %s: %d of %d arguments given\n\n", argv[0], found, n);
      usage (stderr);
      return 2;
    }
  return -1;
}

bool
td_cli_parse_weight_choice (const char *flag, const char *value, const char *files[TD_WEIGHTS_COUNT])
{
  const char *equals = strchr (value, '=');
  g_autofree char *name = equals != NULL ? g_strndup (value, (gsize) (equals - value)) : NULL;
  td_weight_part part;
  if (equals == NULL || equals[1] == '\0' || !td_weight_part_parse (name, &part))
    {
      fprintf (stderr, "thinkdiff: %s is PART=FILE with PART flux, t5, clip, lvlm or eva, not '%s'\n", flag, value);
      return false;
    }
  files[part] = equals + 1;
  return true;
}

bool
td_cli_check_weight_choices (const char *flux_dir, const char *models_dir, const char *const files[TD_WEIGHTS_COUNT])
{
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    {
      td_error err = { 0 };
      const bool flux_part = part == TD_WEIGHTS_FLUX || part == TD_WEIGHTS_T5 || part == TD_WEIGHTS_CLIP;
      const char *folder = flux_part ? flux_dir : models_dir;
      if (files[part] != NULL && folder == NULL)
        {
          fprintf (stderr, "thinkdiff: --weights %s=%s needs --models DIR\n",
                   td_weight_part_name ((td_weight_part) part), files[part]);
          return false;
        }
      if (files[part] != NULL
          && td_models_check_weight_file (folder, (td_weight_part) part, files[part], &err) != TD_OK)
        {
          fprintf (stderr, "thinkdiff: --weights %s=%s: %s\n", td_weight_part_name ((td_weight_part) part),
                   files[part], err.message);
          return false;
        }
    }
  return true;
}
