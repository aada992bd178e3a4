/* Hostile input to `thinkdiff inspect`, `convert`, `quantize`, `tokenize` and `bench-models`:
 * files that are not regular files, names that would drive the terminal, outputs
 * that cannot be written, numbers that are not plain decimals. Each must fail at
 * once with a message naming the file and the reason, and leave nothing behind. */
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp_dir;

typedef struct {
  int status;
  char *out, *err;
} run_result;

static run_result
run_cli (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("TD_CLI"));
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  run_result r = { 0 };
  int wait_status = 0;
  g_assert_true (g_spawn_sync (tmp_dir, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                               &wait_status, NULL));
  g_assert_true (WIFEXITED (wait_status));
  r.status = WEXITSTATUS (wait_status);
  return r;
}

static void
run_result_clear (run_result *r)
{
  g_free (r->out);
  g_free (r->err);
}

static char *
data_path (const char *name)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "cli", name, NULL);
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Only the given names are in the temporary folder: no stray output or temporary file. */
static void
assert_folder_holds (const char *const *names)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      bool expected = false;
      for (int i = 0; names[i] != NULL && !expected; i++)
        expected = strcmp (names[i], name) == 0;
      if (!expected)
        g_error ("unexpected file left behind: %s", name);
    }
}

typedef struct {
  const char *name;
  const char *args[8];
  int status;
  const char *message;
} cli_case;

static void
run_cases (const cli_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      gint64 start = g_get_monotonic_time ();
      run_result r = run_cli (cases[i].args);
      g_test_message ("%s: %s", cases[i].name, r.err);
      if (r.status != cases[i].status || strstr (r.err, cases[i].message) == NULL)
        g_error ("%s: exit %d, stderr '%s'; %d and '%s' expected", cases[i].name, r.status, r.err, cases[i].status,
                 cases[i].message);
      g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
      g_assert_null (strchr (r.err, '\033'));
      run_result_clear (&r);
    }
}

static void
test_special_files (void)
{
  g_autofree char *fifo = tmp_path ("fifo");
  g_autofree char *loop = tmp_path ("loop");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  const cli_case cases[] = {
    { "inspect a FIFO", { "inspect", "fifo", NULL }, 1, "fifo: is not a regular file" },
    { "inspect /dev/zero", { "inspect", "/dev/zero", NULL }, 1, "/dev/zero: is not a regular file" },
    { "inspect a symlink loop", { "inspect", "loop", NULL }, 1, g_strerror (ELOOP) },
    { "inspect a missing file", { "inspect", "missing.safetensors", NULL }, 1, g_strerror (ENOENT) },
    { "convert a FIFO", { "convert", "fifo", "out.safetensors", NULL }, 1, "fifo: is not a regular file" },
    { "convert /dev/zero", { "convert", "/dev/zero", "out.safetensors", NULL }, 1, "not a regular file" },
    { "tokenize with a FIFO", { "tokenize", "--tokenizer", "fifo", "hello", NULL }, 1, "a FIFO" },
    { "tokenize with /dev/zero", { "tokenize", "--tokenizer", "/dev/zero", "hello", NULL }, 1, "character device" },
  };
  run_cases (cases, G_N_ELEMENTS (cases));
  assert_folder_holds ((const char *const[]) { "fifo", "loop", NULL });
  g_unlink (fifo);
  g_unlink (loop);
}

static void
test_convert_outputs (void)
{
  g_autofree char *good = g_build_filename (g_getenv ("TD_TEST_DATA"), "pth", "synthetic.pth", NULL);
  g_autofree char *reserved = data_path ("metadata-name.pth");
  g_autofree char *sub = tmp_path ("sub");
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  const cli_case cases[] = {
    { "output is a folder", { "convert", good, "sub", NULL }, 2, "sub is a folder" },
    { "output is empty", { "convert", good, "", NULL }, 2, "OUT is empty" },
    { "output folder missing", { "convert", good, "no/such.safetensors", NULL }, 2, "no folder no" },
    /* checked before the input is even opened */
    { "output bad, input missing", { "convert", "missing.pth", "sub", NULL }, 2, "is a folder" },
    { "a tensor named __metadata__", { "convert", reserved, "reserved.safetensors", NULL }, 1,
      "metadata-name.pth: tensor \"__metadata__\" cannot be stored" },
  };
  run_cases (cases, G_N_ELEMENTS (cases));
  assert_folder_holds ((const char *const[]) { "sub", NULL });
  g_rmdir (sub);

  /* the reserved name is blamed on the input, not the output */
  run_result r = run_cli ((const char *const[]) { "convert", reserved, "reserved.safetensors", NULL });
  g_assert_null (strstr (r.err, "reserved.safetensors"));
  run_result_clear (&r);
}

/* Ctrl-C at any moment of a conversion: either it finished (the output whole)
 * or nothing is left, never a temporary file. The checkpoint (two 32 MiB
 * tensors) is written by tests/io-pth/pth_build.py. */
static void
test_quantize (void)
{
  g_autofree char *fifo = tmp_path ("fifo");
  g_autofree char *sub = tmp_path ("sub");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_autofree char *good = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "t5_encoder", "model.safetensors",
                                            NULL);
  g_autofree char *gguf = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "gguf", "types.gguf", NULL);
  const cli_case cases[] = {
    { "quantize a FIFO", { "quantize", "fifo", "out.gguf", "--type", "q8_0", NULL }, 1, "fifo: is not a regular file" },
    { "quantize /dev/zero", { "quantize", "/dev/zero", "out.gguf", "--type", "q8_0", NULL }, 1, "not a regular file" },
    { "quantize a missing file", { "quantize", "missing.safetensors", "out.gguf", "--type", "q8_0", NULL }, 1,
      g_strerror (ENOENT) },
    { "quantize a GGUF file", { "quantize", gguf, "out.gguf", "--type", "q8_0", NULL }, 1, "already a GGUF file" },
    { "output is a folder", { "quantize", good, "sub", "--type", "q8_0", NULL }, 2, "sub is a folder" },
    { "output folder missing", { "quantize", good, "no/such.gguf", "--type", "q8_0", NULL }, 2, "no folder no" },
    { "unknown type", { "quantize", good, "out.gguf", "--type", "q4_z", NULL }, 2, "unknown --type 'q4_z'" },
    { "no type", { "quantize", good, "out.gguf", NULL }, 2, "needs IN, OUT and --type" },
    { "type without a value", { "quantize", good, "out.gguf", "--type", NULL }, 2, "--type needs a value" },
  };
  run_cases (cases, G_N_ELEMENTS (cases));
  assert_folder_holds ((const char *const[]) { "fifo", "sub", NULL });
  g_unlink (fifo);
  g_rmdir (sub);
}

static void
test_convert_interrupted (void)
{
  g_autofree char *python = g_find_program_in_path ("python3");
  if (python == NULL)
    {
      g_test_skip ("no python3 to write the checkpoint");
      return;
    }
  g_autofree char *helpers = g_build_filename (g_getenv ("TD_TEST_DATA"), "..", "io-pth", NULL);
  g_autofree char *script = g_strdup_printf (
    "import sys; sys.path.insert(0, sys.argv[1]); from pth_build import *\n"
    "n = 8 << 20\n"
    "t = lambda: tensor('FloatStorage', '0', n, 0, (n,), (1,))\n"
    "write_pth('big.pth', pickle_of(dict_of([(s('a'), t()), (s('b'), t())])), {'0': bytes(4 * n)})\n");
  const char *argv[] = { python, "-c", script, helpers, NULL };
  int wait_status;
  g_assert_true (g_spawn_sync (tmp_dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &wait_status,
                               NULL));
  g_assert_true (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0);

  /* Later and later until a run finishes before the signal. */
  int cancelled = 0;
  bool finished = false;
  for (int delay_ms = 0; delay_ms <= 1000 && !finished; delay_ms += 2)
    {
      const char *cli[] = { g_getenv ("TD_CLI"), "convert", "big.pth", "big.safetensors", NULL };
      GPid pid;
      g_assert_true (g_spawn_async (tmp_dir, (char **) cli, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                                    | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, NULL));
      g_usleep ((gulong) delay_ms * 1000);
      kill (pid, SIGINT);
      g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
      g_spawn_close_pid (pid);
      g_autofree char *out = tmp_path ("big.safetensors");
      if (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0)
        {
          assert_folder_holds ((const char *const[]) { "big.pth", "big.safetensors", NULL });
          g_unlink (out);
          finished = true;
        }
      else
        {
          /* exit 130 after cleaning up, or killed before the handler was set (no file yet) */
          g_assert_true ((WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 130)
                         || (WIFSIGNALED (wait_status) && WTERMSIG (wait_status) == SIGINT));
          cancelled += WIFEXITED (wait_status);
          assert_folder_holds ((const char *const[]) { "big.pth", NULL });
        }
    }
  g_test_message ("%d runs cancelled cleanly", cancelled);
  g_assert_cmpint (cancelled, >, 0);
  g_autofree char *big = tmp_path ("big.pth");
  g_unlink (big);
}

/* Names and metadata from a file reach the terminal escaped. */
static void
test_inspect_escapes (void)
{
  g_autofree char *escape = data_path ("escape-name.pth");
  run_result r = run_cli ((const char *const[]) { "convert", escape, "escape.safetensors", NULL });
  g_assert_cmpint (r.status, ==, 0);
  run_result_clear (&r);
  r = run_cli ((const char *const[]) { "inspect", "escape.safetensors", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strchr (r.out, '\033'));
  g_assert_null (strchr (r.out, '\a'));
  g_assert_nonnull (strstr (r.out, "\\x1b[2Jcleared\\x07"));
  run_result_clear (&r);
  g_autofree char *path = tmp_path ("escape.safetensors");
  g_unlink (path);
}

static void
test_arguments (void)
{
  const cli_case cases[] = {
    /* an empty folder name must not mean the current folder */
    { "make-demo-models into \"\"", { "make-demo-models", "", NULL }, 1, "no folder given" },
    { "bench-models hex size", { "bench-models", "flux", "--size", "0x40", NULL }, 2, "'0x40'" },
    { "bench-models fraction", { "bench-models", "flux", "--steps", "2.5", NULL }, 2, "'2.5'" },
    { "bench-models space", { "bench-models", "flux", "--tokens", " 8", NULL }, 2, "' 8'" },
  };
  run_cases (cases, G_N_ELEMENTS (cases));
  assert_folder_holds ((const char *const[]) { NULL });
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("td-cli-hostile-XXXXXX", NULL);
  g_test_add_func ("/cli-hostile/special-files", test_special_files);
  g_test_add_func ("/cli-hostile/convert-outputs", test_convert_outputs);
  g_test_add_func ("/cli-hostile/convert-interrupted", test_convert_interrupted);
  g_test_add_func ("/cli-hostile/quantize", test_quantize);
  g_test_add_func ("/cli-hostile/inspect-escapes", test_inspect_escapes);
  g_test_add_func ("/cli-hostile/arguments", test_arguments);
  int status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
