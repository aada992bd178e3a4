/* A golden model quantised by `thinkdiff quantize` (the built TD_CLI) still
 * matches its reference: the T5 encoder in Q8_0, read from a .gguf in the
 * model folder where model.safetensors stood, within rel_err 5e-2 (and not
 * exactly, so the weights really were quantised). */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "pipeline/verify.h"

static void
test_t5_q8_0 (void)
{
  g_autofree char *golden = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "t5_encoder", NULL);
  g_autofree char *dir = g_dir_make_tmp ("td-quantized-XXXXXX", NULL);
  g_autofree char *config_src = g_build_filename (golden, "config.json", NULL);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *gguf = g_build_filename (dir, "t5-encoder-Q8_0.gguf", NULL);
  g_autofree char *io = g_build_filename (golden, "io.safetensors", NULL);
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (config_src, &text, &len, NULL));
  g_assert_true (g_file_set_contents (config, text, (gssize) len, NULL));

  const char *argv[] = { g_getenv ("TD_CLI"), "quantize", golden, gguf, "--type", "q8_0", NULL };
  g_assert_nonnull (argv[0]);
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new ("cpu", &err);
  const td_verify_component *t5 = td_verify_find ("t5-encoder");
  g_assert_nonnull (t5);
  td_verify_result *results = NULL;
  size_t n = 0;
  if (td_verify_run (t5, dir, io, backend, &results, &n, &err) != TD_OK)
    g_error ("%s", err.message);
  size_t outputs = 0;
  for (size_t i = 0; i < n; i++)
    {
      /* Inputs are listed too; only the compared outputs carry an error. */
      g_assert_true (results[i].kind == TD_VERIFY_OUTPUT || results[i].kind == TD_VERIFY_INPUT);
      if (results[i].kind != TD_VERIFY_OUTPUT)
        continue;
      outputs++;
      g_test_message ("t5 q8_0 %s: rel_err %.3g", results[i].name, results[i].rel_err);
      g_assert_cmpfloat (results[i].rel_err, <=, 5e-2);
      g_assert_cmpfloat (results[i].rel_err, >, 1e-5);
    }
  g_assert_cmpuint (outputs, >, 0);
  free (results);
  td_backend_free (backend);
  g_unlink (gguf);
  g_unlink (config);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quantized-golden/t5-q8_0", test_t5_q8_0);
  return g_test_run ();
}
