/* Every model component against the reference outputs in tests/data/golden,
 * on the backend named by TD_TEST_BACKEND (cpu by default, vulkan on lavapipe). */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/model_table.h"

#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

/* One case per verify component of the model table, on its model's golden. */
typedef struct {
  const char *component;
  const char *folder;      /* under tests/data/golden */
  const char *io;          /* io file, relative to the folder */
} parity_case;

static void
run_case (gconstpointer data)
{
  const parity_case *c = data;
  const char *backend_name = g_getenv ("TD_TEST_BACKEND") ? g_getenv ("TD_TEST_BACKEND") : "cpu";
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new (backend_name, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  const td_verify_component *component = td_verify_find (c->component);
  g_assert_nonnull (component);
  g_autofree char *dir = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", c->folder, NULL);
  g_autofree char *io = g_build_filename (dir, c->io, NULL);
  td_verify_result *results = NULL;
  size_t n = 0;
  td_status st = td_verify_run (component, dir, io, backend, &results, &n, &err);
  if (st != TD_OK)
    g_error ("%s on %s: %s", c->component, backend_name, err.message);
  g_assert_cmpuint (n, >, 0);
  for (size_t i = 0; i < n; i++)
    {
      g_test_message ("%s %s: max_abs_err %.3g rel_err %.3g %s", c->component, results[i].name,
                      results[i].max_abs_err, results[i].rel_err, results[i].note);
      if (!results[i].ok)
        g_error ("%s output %s: rel_err %.3g over tolerance %s", c->component, results[i].name, results[i].rel_err,
                 results[i].note);
    }
  free (results);
  td_backend_free (backend);
#ifdef TD_HAVE_VULKAN
  /* With TD_VULKAN_VALIDATION=1 any validation-layer message fails the case. */
  g_assert_cmpint (td_vulkan_validation_message_count (), ==, 0);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    for (const td_verify_component *const *c = (*m)->components; *c != NULL; c++)
      for (const char *const *io = td_model_entry_io (*m); *io != NULL; io++)
        {
          parity_case *pc = g_new (parity_case, 1);
          *pc = (parity_case) { (*c)->name, (*m)->golden, *io };
          g_ptr_array_add (cases, pc);
          /* A second io file of a component is named after it. */
          g_autofree char *stem = g_strndup (*io, strcspn (*io, "."));
          g_autofree char *path = g_str_equal (stem, "io") ? g_strdup_printf ("/golden-parity/%s", pc->component)
                                                           : g_strdup_printf ("/golden-parity/%s/%s", pc->component,
                                                                              stem);
          g_test_add_data_func (path, pc, run_case);
        }
  return g_test_run ();
}
