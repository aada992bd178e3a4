/* td-test-models.c — temporary models folders for the engine tests. */
#include "td-test-models.h"

#include <glib/gstdio.h>

#include "thinkdiff.h"

char *
td_test_data_path (const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  g_ptr_array_add (parts, (gpointer) g_getenv ("TD_TEST_DATA"));
  for (const char *p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  g_ptr_array_add (parts, NULL);
  va_end (ap);
  return g_build_filenamev ((char **) parts->pdata);
}

char *
td_test_demo_models_new (const char *tmpl)
{
  g_autofree char *tokenizers = td_test_data_path ("tokenizers", NULL);
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  td_error err = { 0 };
  if (td_demo_models_write (dir, tokenizers, &err) != TD_OK)
    g_error ("demo models in %s: %s", dir, err.message);
  return dir;
}

static char *shared_demo_models;

const char *
td_test_demo_models (void)
{
  if (shared_demo_models == NULL)
    shared_demo_models = td_test_demo_models_new ("td-demo-models-XXXXXX");
  return shared_demo_models;
}

void
td_test_demo_models_remove (void)
{
  if (shared_demo_models != NULL)
    td_test_remove_tree (shared_demo_models);
  g_clear_pointer (&shared_demo_models, g_free);
}

char *
td_test_community_ggufs_new (const char *tmpl)
{
  const char *python = g_getenv ("TD_PYTHON"), *script = g_getenv ("TD_MAKE_COMMUNITY_GGUFS");
  if (python == NULL || script == NULL)
    return NULL;
  g_autofree char *golden = td_test_data_path ("golden", NULL);
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  const char *argv[] = { python, script, golden, dir, NULL };
  td_test_run (argv);
  return dir;
}

void
td_test_run (const char *const *argv)
{
  g_autofree char *out = NULL, *errors = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errors, &status, &error))
    g_error ("%s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s %s: %s\n%s%s", argv[0], argv[1], error->message, out, errors);
}

void
td_test_remove_tree (const char *path)
{
  if (path == NULL)
    return;
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          td_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}
