/* `thinkdiff inspect FILE.gguf` (the built TD_CLI): header, typed metadata and
 * the tensor table of ggml's golden file, and text from the file escaped. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "gguf-builder.h"

static int
run_inspect (const char *path, char **out)
{
  const char *argv[] = { g_getenv ("TD_CLI"), "inspect", path, NULL };
  g_assert_nonnull (argv[0]);
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, out, NULL, &status,
                               NULL));
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_golden (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "gguf", "types.gguf", NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (run_inspect (path, &out), ==, 0);
  static const char *const expected[] = {
    "GGUF version 3, alignment 32, data section at byte 1248",
    "golden.rows (uint32) = 48",
    "golden.flag (bool) = true",
    "golden.u64_value (uint64) = 81985529216486895",
    "golden.i32_array (array) = [-1, 0, 1, 2147483647, -2147483648] (5 int32)",
    "\"q8_0\", \"q4_0\"",
    "total: 13 tensors, 356736 bytes",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (expected); i++)
    if (strstr (out, expected[i]) == NULL)
      g_error ("inspect output lacks '%s':\n%s", expected[i], out);
  g_assert_true (g_regex_match_simple ("\\nw\\.q4_K +Q4_K +\\[48, 512\\] +13824 +305856\\n", out, 0, 0));
}

static void
test_escaped (void)
{
  gguf_layout L;
  GByteArray *b = gguf_build_valid (&L);
  b->data[L.names_first_len + 8 + 1 + 8] = 0x01; /* "bc" → "\x01c" */
  g_autofree char *dir = g_dir_make_tmp ("td-inspect-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "escape.gguf", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (run_inspect (path, &out), ==, 0);
  g_assert_nonnull (strstr (out, "test.names (array) = [\"a\", \"\\x01c\"] (2 string)"));
  g_assert_null (strchr (out, 0x01));
  g_unlink (path);
  g_rmdir (dir);
  g_byte_array_unref (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gguf-inspect/golden", test_golden);
  g_test_add_func ("/gguf-inspect/escaped", test_escaped);
  return g_test_run ();
}
