/* Command-line conventions of every `thinkdiff` command: --help prints the usage on
 * stdout and succeeds; an unknown option fails with a message on stderr only; "--"
 * ends the options, so an operand may start with '-'. */
#include <glib.h>
#include <string.h>
#include <sys/wait.h>

#include "text/tokenizer.h"

static const char *const commands[] = {
  "devices", "inspect", "generate", "make-demo-models", "verify", "tokenize", "bench", "models", "convert",
  "quantize", "plan", "bench-models",
};

typedef struct {
  int status;
  char *out, *err;
} run_result;

static run_result
run (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("TD_CLI"));
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  run_result r = { 0 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                               &wait_status, &error));
  r.status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
  return r;
}

static void
run_result_clear (run_result *r)
{
  g_free (r->out);
  g_free (r->err);
}

static void
test_help (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      run_result r = run (commands[i], "--help", NULL);
      if (r.status != 0 || strstr (r.out, "Usage") == NULL || r.err[0] != '\0')
        g_error ("%s --help: status %d\nstdout: %s\nstderr: %s", commands[i], r.status, r.out, r.err);
      run_result_clear (&r);
    }
}

static void
test_unknown_option (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      run_result r = run (commands[i], "--no-such-option", NULL);
      if (r.status == 0 || r.out[0] != '\0' || r.err[0] == '\0')
        g_error ("%s --no-such-option: status %d\nstdout: %s\nstderr: %s", commands[i], r.status, r.out, r.err);
      run_result_clear (&r);
    }
}

static void
test_double_dash (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "thinkdiff_lvlm",
                                            "qwen2-vl-7b-instruct", NULL);
  td_tokenizer *tok = NULL;
  td_error err = { 0 };
  g_assert_cmpint (td_tokenizer_load (path, &tok, &err), ==, TD_OK);
  int32_t *ids = NULL;
  size_t n = 0;
  g_assert_cmpint (td_tokenizer_encode (tok, "-1 degrees", -1, true, &ids, &n, &err), ==, TD_OK);
  GString *expected = g_string_new (NULL);
  for (size_t i = 0; i < n; i++)
    g_string_append_printf (expected, "%s%d", i > 0 ? " " : "", ids[i]);
  g_string_append_c (expected, '\n');

  run_result r = run ("tokenize", "--tokenizer", path, "--", "-1 degrees", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, expected->str);
  run_result_clear (&r);
  /* Without "--" the text reads as an option and is refused. */
  r = run ("tokenize", "--tokenizer", path, "-1 degrees", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "-1 degrees"));
  run_result_clear (&r);
  /* After "--", "--help" is the text. */
  r = run ("tokenize", "--tokenizer", path, "--", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "Usage"));
  run_result_clear (&r);
  /* A file name that starts with '-' reaches the command, which names it. */
  r = run ("inspect", "--", "-no-such-file.safetensors", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "-no-such-file.safetensors"));
  run_result_clear (&r);
  /* generate takes no operands, not even after "--". */
  r = run ("generate", "--seed", "1", "--", "extra", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "extra"));
  run_result_clear (&r);
  g_string_free (expected, TRUE);
  g_free (ids);
  td_tokenizer_free (tok);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/conventions/help", test_help);
  g_test_add_func ("/cli/conventions/unknown-option", test_unknown_option);
  g_test_add_func ("/cli/conventions/double-dash", test_double_dash);
  return g_test_run ();
}
