/* verify_weights.c — `thinkdiff verify --weights FILE`: the model folder as it
 * is, with one checkpoint swapped for FILE (a quantised GGUF, an fp8 file),
 * built from symbolic links in a temporary folder. */
#include "pipeline/verify.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* The files the weights loader would pick up instead of FILE. */
static bool
is_checkpoint (const char *name)
{
  return g_str_has_suffix (name, ".safetensors") || g_str_has_suffix (name, ".safetensors.index.json")
         || g_str_has_suffix (name, ".gguf");
}

static td_status
link_to (const char *target, const char *link, td_error *err)
{
  g_autofree char *absolute = g_canonicalize_filename (target, NULL);
  if (symlink (absolute, link) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot link to %s: %s", link, absolute, g_strerror (errno));
  return TD_OK;
}

/* Links every entry of from into to, but for the checkpoints when skip_checkpoints,
 * and the folder named `except` (linked by the caller's own rule). */
static td_status
link_entries (const char *from, const char *to, bool skip_checkpoints, const char *except, td_error *err)
{
  GError *error = NULL;
  GDir *dir = g_dir_open (from, 0, &error);
  if (dir == NULL)
    {
      td_status st = td_error_set (err, TD_ERR_NOT_FOUND, "%s: %s", from, error->message);
      g_error_free (error);
      return st;
    }
  td_status st = TD_OK;
  const char *name;
  while (st == TD_OK && (name = g_dir_read_name (dir)) != NULL)
    {
      if ((skip_checkpoints && is_checkpoint (name)) || (except != NULL && strcmp (name, except) == 0))
        continue;
      g_autofree char *target = g_build_filename (from, name, NULL);
      g_autofree char *link = g_build_filename (to, name, NULL);
      st = link_to (target, link, err);
    }
  g_dir_close (dir);
  return st;
}

char *
td_verify_weights_folder (const td_verify_component *component, const char *model_dir, const char *weights_file,
                          td_error *err)
{
  if (component->weights_dir == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "%s reads more than one checkpoint: --weights cannot say which to "
                    "replace; put the file in the model folder instead", component->name);
      return NULL;
    }
  if (!g_file_test (weights_file, G_FILE_TEST_IS_REGULAR))
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: not a file", weights_file);
      return NULL;
    }
  bool gguf = g_str_has_suffix (weights_file, ".gguf");
  if (!gguf && !g_str_has_suffix (weights_file, ".safetensors"))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "%s: --weights takes a .gguf or a .safetensors file", weights_file);
      return NULL;
    }
  GError *error = NULL;
  char *folder = g_dir_make_tmp ("td-verify-weights-XXXXXX", &error);
  if (folder == NULL)
    {
      td_error_set (err, TD_ERR_IO, "cannot make a temporary model folder: %s", error->message);
      g_error_free (error);
      return NULL;
    }
  bool in_subfolder = component->weights_dir[0] != '\0';
  g_autofree char *source = g_build_filename (model_dir, component->weights_dir, NULL);
  g_autofree char *target = g_build_filename (folder, component->weights_dir, NULL);
  g_autofree char *base = g_path_get_basename (weights_file);
  g_autofree char *link = g_build_filename (target, gguf ? base : "model.safetensors", NULL);
  td_status st = TD_OK;
  if (in_subfolder)
    {
      st = link_entries (model_dir, folder, false, component->weights_dir, err);
      if (st == TD_OK && g_mkdir (target, 0700) != 0)
        st = td_error_set (err, TD_ERR_IO, "%s: %s", target, g_strerror (errno));
    }
  if (st == TD_OK)
    st = link_entries (source, target, true, NULL, err);
  if (st == TD_OK)
    st = link_to (weights_file, link, err);
  if (st != TD_OK)
    {
      td_verify_weights_folder_free (folder);
      return NULL;
    }
  return folder;
}

/* Removes the links and folders made above; never follows a link. */
static void
remove_links (const char *path)
{
  GDir *dir = g_file_test (path, G_FILE_TEST_IS_SYMLINK) ? NULL : g_dir_open (path, 0, NULL);
  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_links (child);
    }
  g_dir_close (dir);
  g_rmdir (path);
}

void
td_verify_weights_folder_free (char *folder)
{
  if (folder == NULL)
    return;
  remove_links (folder);
  g_free (folder);
}
