/* Every model component against the reference outputs in tests/data/golden,
 * on the backend named by TD_TEST_BACKEND (cpu by default, vulkan on lavapipe).
 *
 * Without the backend the whole test is a visible skip (exit 77), except in CI
 * (CI=true), where the parity runs must happen and a missing backend fails.
 * TD_PARITY_COMPONENTS (comma-separated names) runs only those components; the
 * io-coverage check then does not run, as it needs every component. */
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
  const char *folder; /* under tests/data/golden */
  const char *io;     /* io file, relative to the folder */
} parity_case;

static GPtrArray *cases; /* parity_case, one per component and io file of the model table */
static const char *backend_name;
static td_backend *backend;

/* Per io file ("folder/io"): the tensors some component compared or read as input. */
static GHashTable *covered; /* io file → GHashTable set of tensor names */
static int cases_run;

static void
cover (const parity_case *c, const char *tensor)
{
  g_autofree char *key = g_strconcat (c->folder, "/", c->io, NULL);
  GHashTable *set = g_hash_table_lookup (covered, key);
  if (set == NULL)
    {
      set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (covered, g_strdup (key), set);
    }
  g_hash_table_add (set, g_strdup (tensor));
}

static void
run_case (gconstpointer data)
{
  const parity_case *c = data;
  td_error err = { 0 };
  const td_verify_component *component = td_verify_find (c->component);
  g_assert_nonnull (component);
  g_autofree char *dir = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", c->folder, NULL);
  g_autofree char *io = g_build_filename (dir, c->io, NULL);
  td_verify_result *results = NULL;
  size_t n = 0;
  td_status st = td_verify_run (component, dir, io, backend, &results, &n, &err);
  if (st != TD_OK)
    g_error ("%s on %s: %s", c->component, backend_name, err.message);
  size_t outputs = 0;
  bool failed = false;
  for (size_t i = 0; i < n; i++)
    {
      const td_verify_result *r = &results[i];
      if (r->kind == TD_VERIFY_OUTPUT)
        {
          outputs++;
          g_test_message ("%s %s: max_abs_err %.3g rel_err %.3g tolerance %.1e %s %s", c->component, r->name,
                          r->max_abs_err, r->rel_err, r->tolerance, r->ok ? "ok" : "FAIL", r->note);
          if (r->ok)
            cover (c, r->name);
        }
      else if (r->kind == TD_VERIFY_INPUT)
        cover (c, r->name);
      else if (r->kind == TD_VERIFY_UNLISTED)
        g_test_message ("%s: %s", c->component, r->note);
      failed |= !r->ok;
    }
  g_assert_cmpuint (outputs, >, 0);
  if (failed)
    g_test_fail_printf ("%s on %s: an output over its tolerance or an unaccounted io tensor (see above)",
                        c->component, backend_name);
  free (results);
  cases_run++;
#ifdef TD_HAVE_VULKAN
  /* With TD_VULKAN_VALIDATION=1 any validation-layer message fails the case. */
  g_assert_cmpint (td_vulkan_validation_message_count (), ==, 0);
#endif
}

/* An io file several components share: each tensor must be compared (and pass)
 * or read as an input by one of them, so "handled by another component" is never
 * a way around a comparison. */
static void
test_coverage (void)
{
  if (cases_run != (int) cases->len)
    {
      g_test_skip ("needs every component case in the same run");
      return;
    }
  for (guint i = 0; i < cases->len; i++)
    {
      const parity_case *c = g_ptr_array_index (cases, i);
      g_autofree char *io_path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", c->folder, c->io, NULL);
      td_error err = { 0 };
      td_safetensors *io = td_safetensors_open (io_path, &err);
      g_assert_nonnull (io);
      g_autofree char *key = g_strconcat (c->folder, "/", c->io, NULL);
      GHashTable *set = g_hash_table_lookup (covered, key);
      for (size_t k = 0; k < td_safetensors_count (io); k++)
        {
          const char *name = td_safetensors_at (io, k)->name;
          if (set == NULL || !g_hash_table_contains (set, name))
            g_test_fail_printf ("%s: '%s' is neither compared nor read by any component", io_path, name);
        }
      td_safetensors_close (io);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  backend_name = g_getenv ("TD_TEST_BACKEND") ? g_getenv ("TD_TEST_BACKEND") : "cpu";
  td_error err = { 0 };
  backend = td_verify_backend_new (backend_name, &err);
  if (backend == NULL)
    {
      if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
        g_error ("CI: the %s backend is required for the golden parity run: %s", backend_name, err.message);
      g_print ("1..0 # SKIP no %s backend: %s\n", backend_name, err.message);
      return 77;
    }
  covered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  cases = g_ptr_array_new_with_free_func (g_free);
  const char *only = g_getenv ("TD_PARITY_COMPONENTS");
  g_auto (GStrv) chosen = only != NULL ? g_strsplit (only, ",", -1) : NULL;
  for (int i = 0; chosen != NULL && chosen[i] != NULL; i++)
    if (td_verify_find (chosen[i]) == NULL)
      g_error ("TD_PARITY_COMPONENTS: no component '%s'", chosen[i]);
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    for (const td_verify_component *const *c = (*m)->components; *c != NULL; c++)
      for (const char *const *io = td_model_entry_io (*m); *io != NULL; io++)
        {
          if (chosen != NULL && !g_strv_contains ((const char *const *) chosen, (*c)->name))
            continue;
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
  /* In a suite of its own, so it runs after the nested ones (a second io file's cases). */
  if (chosen == NULL)
    g_test_add_func ("/golden-parity/coverage/every-io-tensor", test_coverage);
  int code = g_test_run ();
  g_hash_table_unref (covered);
  g_ptr_array_unref (cases);
  td_backend_free (backend);
  return code;
}
