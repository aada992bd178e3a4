/* weight_folder.c — the weight files of one model's folder (see weight_folder.h). */
#include "models/weight_folder.h"

#include <string.h>

char *
td_weight_folder_checkpoint (const char *dir)
{
  /* In the order td_weights_open reads a folder. */
  static const char *const names[] = { "model.safetensors", "model.safetensors.index.json" };
  for (size_t i = 0; dir != NULL && i < G_N_ELEMENTS (names); i++)
    {
      char *path = g_build_filename (dir, names[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}

static int
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
td_weight_folder_ggufs (const char *dir, const char *prefix)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GDir *folder = dir != NULL ? g_dir_open (dir, 0, NULL) : NULL;
  const char *name;
  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    if (g_str_has_suffix (name, ".gguf") && (prefix == NULL || g_str_has_prefix (name, prefix)))
      {
        char *path = g_build_filename (dir, name, NULL);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
          g_ptr_array_add (out, path);
        else
          g_free (path);
      }
  if (folder != NULL)
    g_dir_close (folder);
  g_ptr_array_sort (out, by_name);
  return out;
}

bool
td_weight_folder_contains (const GPtrArray *files, const char *file)
{
  g_autofree char *wanted = g_canonicalize_filename (file, NULL);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *have = g_canonicalize_filename (files->pdata[i], NULL);
      if (strcmp (have, wanted) == 0)
        return true;
    }
  return false;
}

td_status
td_weight_folder_refuse (const char *dir, const GPtrArray *choices, const char *what, const char *file,
                         td_error *err)
{
  GString *list = g_string_new (NULL);
  for (guint i = 0; i < choices->len; i++)
    g_string_append_printf (list, "%s%s", i > 0 ? ", " : "", (const char *) choices->pdata[i]);
  td_status st = td_error_set (err, TD_ERR_INVALID_ARG, "%s: not a %s weight file of %s (the %s files there: %s)",
                               file, what, dir, what, list->len > 0 ? list->str : "none");
  g_string_free (list, TRUE);
  return st;
}

GPtrArray *
td_weight_folder_choices (const char *dir)
{
  GPtrArray *out = td_weight_folder_ggufs (dir, NULL);
  char *checkpoint = td_weight_folder_checkpoint (dir);
  if (checkpoint != NULL)
    g_ptr_array_insert (out, 0, checkpoint);
  return out;
}

td_status
td_weight_folder_check (const char *dir, const char *what, const char *file, td_error *err)
{
  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no such weight file", file);
  g_autoptr (GPtrArray) choices = td_weight_folder_choices (dir);
  if (td_weight_folder_contains (choices, file))
    return TD_OK;
  return td_weight_folder_refuse (dir, choices, what, file, err);
}
