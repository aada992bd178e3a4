/* config.json reading: values are type- and range-checked, errors name the file and key. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "models/model_config.h"

static char *
write_config (const char *text)
{
  static int counter;
  g_autofree char *name = g_strdup_printf ("td-config-%d-%d.json", (int) getpid (), counter++);
  char *path = g_build_filename (g_get_tmp_dir (), name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_reads_values (void)
{
  g_autofree char *path = write_config ("{\"d_model\": 64, \"eps\": 1e-6, \"gated\": true, \"act\": \"gelu\", "
                                        "\"axes\": [4, 6, 6], \"vision_config\": {\"depth\": 2}}");
  td_error err = { 0 };
  td_model_config *config = td_model_config_load (path, &err);
  g_assert_nonnull (config);
  long long v = 0;
  double d = 0;
  bool b = false;
  const char *s = NULL;
  long long axes[3];
  int n = 0;
  g_assert_cmpint (td_config_int (config, NULL, "d_model", true, 0, 1, 100, &v, &err), ==, TD_OK);
  g_assert_cmpint (v, ==, 64);
  g_assert_cmpint (td_config_double (config, NULL, "eps", true, 0, &d, &err), ==, TD_OK);
  g_assert_cmpfloat (d, ==, 1e-6);
  g_assert_cmpint (td_config_bool (config, NULL, "gated", true, false, &b, &err), ==, TD_OK);
  g_assert_true (b);
  g_assert_cmpint (td_config_string (config, NULL, "act", true, NULL, &s, &err), ==, TD_OK);
  g_assert_cmpstr (s, ==, "gelu");
  g_assert_cmpint (td_config_int_array (config, NULL, "axes", axes, 3, &n, &err), ==, TD_OK);
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpint (axes[2], ==, 6);
  JsonObject *vision = td_config_object (config, NULL, "vision_config");
  g_assert_nonnull (vision);
  g_assert_cmpint (td_config_int (config, vision, "depth", true, 0, 1, 10, &v, &err), ==, TD_OK);
  g_assert_cmpint (v, ==, 2);
  /* A missing optional key takes the fallback. */
  g_assert_cmpint (td_config_int (config, NULL, "absent", false, 7, 0, 10, &v, &err), ==, TD_OK);
  g_assert_cmpint (v, ==, 7);
  td_model_config_free (config);
  g_unlink (path);
}

static void
test_rejects_bad_values (void)
{
  g_autofree char *path = write_config ("{\"d_model\": 1e3, \"heads\": 5000, \"name\": 3, \"list\": [1, \"x\"]}");
  td_error err = { 0 };
  td_model_config *config = td_model_config_load (path, &err);
  g_assert_nonnull (config);
  long long v;
  const char *s;
  long long list[4];
  int n;
  g_assert_cmpint (td_config_int (config, NULL, "d_model", true, 0, 1, 100000, &v, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "\"d_model\" should be an integer"));
  g_assert_true (g_str_has_prefix (err.message, path));
  g_assert_cmpint (td_config_int (config, NULL, "heads", true, 0, 1, 1024, &v, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "outside 1..1024"));
  g_assert_cmpint (td_config_string (config, NULL, "name", true, NULL, &s, &err), ==, TD_ERR_FORMAT);
  g_assert_cmpint (td_config_int (config, NULL, "missing", true, 0, 0, 1, &v, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "\"missing\" is missing"));
  g_assert_cmpint (td_config_int_array (config, NULL, "list", list, 4, &n, &err), ==, TD_ERR_FORMAT);
  td_model_config_free (config);
  g_unlink (path);
}

static void
test_rejects_bad_files (void)
{
  const char *bad[] = {
    "{\"a\": 1, \"a\": 2}",          /* duplicate key */
    "{\"a\": 1,}",                   /* trailing comma */
    "[1, 2]",                        /* not an object */
    "{\"a\": 99999999999999999999}", /* integer overflow */
    "{\"a\": 1 /* comment */}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = write_config (bad[i]);
      td_error err = { 0 };
      g_assert_null (td_model_config_load (path, &err));
      g_assert_cmpint (err.status, ==, TD_ERR_FORMAT);
      g_assert_nonnull (strstr (err.message, path));
      g_unlink (path);
    }
  /* 10 000 levels of nesting are refused, not recursed into. */
  GString *deep = g_string_new ("{\"a\": ");
  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  g_autofree char *path = write_config (deep->str);
  g_string_free (deep, TRUE);
  td_error err = { 0 };
  g_assert_null (td_model_config_load (path, &err));
  g_unlink (path);
  g_assert_null (td_model_config_load ("/nonexistent/config.json", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-config/reads-values", test_reads_values);
  g_test_add_func ("/model-config/rejects-bad-values", test_rejects_bad_values);
  g_test_add_func ("/model-config/rejects-bad-files", test_rejects_bad_files);
  return g_test_run ();
}
