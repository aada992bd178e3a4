/* The model table (pipeline/model_table.h) against the tree: every golden
 * folder it names exists with its io files and is checked by components that
 * `thinkdiff verify` finds; every golden io file in tests/data/golden belongs
 * to an entry; and the demo models it writes are the parts a models folder needs. */
#include <glib.h>
#include <string.h>

#include "pipeline/model_paths.h"
#include "pipeline/model_table.h"
#include "td-test-models.h"

static void
test_goldens_exist (void)
{
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    {
      if ((*m)->golden == NULL)
        {
          /* Without a golden there is nothing to run components on. */
          g_assert_null ((*m)->components[0]);
          continue;
        }
      for (const char *const *name = td_model_entry_io (*m); *name != NULL; name++)
        {
          g_autofree char *io = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", (*m)->golden, *name, NULL);
          g_test_message ("%s: %s", (*m)->name, io);
          g_assert_true (g_file_test (io, G_FILE_TEST_IS_REGULAR));
        }
      g_assert_nonnull ((*m)->components[0]);
    }
}

static void
test_components_unique_and_found (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  size_t n = 0;
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    for (const td_verify_component *const *c = (*m)->components; *c != NULL; c++, n++)
      {
        g_assert_false (g_hash_table_contains (seen, (*c)->name));
        g_hash_table_add (seen, (gpointer) (*c)->name);
        g_assert_true (td_verify_find ((*c)->name) == *c);
      }
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (td_verify_component_count (), ==, n);
}

/* A new golden folder with an io file must be added to the table, or the
 * parity tests would silently leave it out. */
static void
test_every_golden_in_table (void)
{
  g_autofree char *root = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", NULL);
  g_autoptr (GDir) dir = g_dir_open (root, 0, NULL);
  g_assert_nonnull (dir);
  const char *name;
  int n_goldens = 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *io = g_build_filename (root, name, TD_MODEL_GOLDEN_IO, NULL);
      if (!g_file_test (io, G_FILE_TEST_IS_REGULAR))
        continue;
      n_goldens++;
      int owners = 0;
      for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
        owners += (*m)->golden != NULL && strcmp ((*m)->golden, name) == 0;
      if (owners != 1)
        g_error ("tests/data/golden/%s has an io file but %d model table entries", name, owners);
    }
  g_assert_cmpint (n_goldens, >, 0);
}

/* The table's demo writers together make a folder with every part the
 * pipeline needs in both modes. */
static void
test_demo_writers_cover_the_parts (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-model-table-XXXXXX", NULL);
  g_autofree char *tokenizers = g_build_filename (g_getenv ("TD_TEST_DATA"), "tokenizers", NULL);
  td_error err = { 0 };
  int writers = 0;
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    if ((*m)->write_demo != NULL)
      {
        g_assert_cmpint ((*m)->write_demo (dir, tokenizers, &err), ==, TD_OK);
        writers++;
      }
  g_assert_cmpint (writers, >, 0);
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (dir, &paths, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, true, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, false, &err), ==, TD_OK);
  td_model_paths_clear (&paths);
  td_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-table/goldens-exist", test_goldens_exist);
  g_test_add_func ("/model-table/components-unique-and-found", test_components_unique_and_found);
  g_test_add_func ("/model-table/every-golden-in-table", test_every_golden_in_table);
  g_test_add_func ("/model-table/demo-writers-cover-the-parts", test_demo_writers_cover_the_parts);
  return g_test_run ();
}
