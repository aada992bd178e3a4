/* `thinkdiff inspect` and the command-line side of `thinkdiff verify`, run as
 * the built executable (TD_CLI). */
#include <glib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

typedef struct run_result {
  char *out;
  char *err;
  int exit_code;
} run_result;

static run_result
run_cli (const char *const *args)
{
  const char *cli = g_getenv ("TD_CLI");
  g_assert_nonnull (cli);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  run_result r = { 0 };
  int wait_status = 0;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r.out, &r.err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  r.exit_code = WEXITSTATUS (wait_status);
  g_ptr_array_unref (argv);
  return r;
}

static void
run_result_clear (run_result *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* A file of the golden data the tests carry (tests/data/golden); missing is a failure. */
static char *
golden_path (const char *relative)
{
  char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_error ("%s: missing from the test data", path);
  return path;
}

static void
test_inspect_golden (void)
{
  char *path = golden_path ("flux/transformer/diffusion_pytorch_model.safetensors");
  const char *args[] = { "inspect", path, NULL };
  run_result r = run_cli (args);
  g_assert_cmpint (r.exit_code, ==, 0);
  /* One line per tensor with name, dtype, shape and bytes (32 × 64 × 4). */
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  bool found = false;
  for (int i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "x_embedder.weight "))
      {
        found = true;
        g_assert_nonnull (strstr (lines[i], "F32"));
        g_assert_nonnull (strstr (lines[i], "[32, 64]"));
        g_assert_true (g_str_has_suffix (lines[i], " 8192"));
      }
  g_assert_true (found);
  g_assert_nonnull (strstr (r.out, "format = pt"));
  g_assert_nonnull (strstr (r.out, "total: 80 tensors"));
  run_result_clear (&r);
  g_free (path);
}

static void
test_inspect_bad (void)
{
  char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "safetensors-bad", "offsets-overlap.safetensors", NULL);
  const char *args[] = { "inspect", path, NULL };
  run_result r = run_cli (args);
  g_assert_cmpint (r.exit_code, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, path));
  g_assert_nonnull (strstr (r.err, "overlaps"));
  run_result_clear (&r);
  g_free (path);

  const char *no_args[] = { "inspect", NULL };
  r = run_cli (no_args);
  g_assert_cmpint (r.exit_code, ==, 2);
  g_assert_nonnull (strstr (r.err, "Usage"));
  run_result_clear (&r);
}

static void
test_verify_cli_errors (void)
{
  char *io = golden_path ("flux/io.safetensors");
  const char *io_path = io;

  const char *unknown[] = { "verify", "--component", "no-such-component", "--model", ".", "--io", io_path, NULL };
  run_result r = run_cli (unknown);
  g_assert_cmpint (r.exit_code, !=, 0);
  g_assert_nonnull (strstr (r.err, "unknown component 'no-such-component'"));
  run_result_clear (&r);

  const char *vulkan[] = { "verify", "--component", "x", "--model", ".", "--io", io_path,
                           "--backend", "vulkan", NULL };
  r = run_cli (vulkan);
  /* Either the unknown component is reported on a working Vulkan device, or the backend is missing. */
  g_assert_cmpint (r.exit_code, !=, 0);
  g_assert_true (strstr (r.err, "unknown component 'x'") != NULL || strstr (r.err, "Vulkan") != NULL);
  run_result_clear (&r);

  const char *bad_backend[] = { "verify", "--component", "x", "--model", ".", "--io", io_path,
                                "--backend", "metal", NULL };
  r = run_cli (bad_backend);
  g_assert_cmpint (r.exit_code, !=, 0);
  g_assert_nonnull (strstr (r.err, "unknown backend 'metal'"));
  run_result_clear (&r);

  const char *missing[] = { "verify", "--component", "x", NULL };
  r = run_cli (missing);
  g_assert_cmpint (r.exit_code, ==, 2);
  g_assert_nonnull (strstr (r.err, "Usage"));
  run_result_clear (&r);
  g_free (io);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors-cli/inspect-golden", test_inspect_golden);
  g_test_add_func ("/safetensors-cli/inspect-bad", test_inspect_bad);
  g_test_add_func ("/safetensors-cli/verify-errors", test_verify_cli_errors);
  return g_test_run ();
}
