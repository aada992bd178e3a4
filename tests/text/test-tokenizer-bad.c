/* test-tokenizer-bad — every file of tests/data/tokenizers-bad/expected.txt (made by
 * make-bad-inputs.py) is rejected with a message that names the file and the problem;
 * the small valid files beside them load and tokenize. */
#include <glib.h>
#include <string.h>

#include "text/tokenizer.h"

static char *
bad_dir (void)
{
  const char *dir = g_getenv ("TD_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", "tokenizers-bad", NULL);
}

static void
test_rejected (void)
{
  g_autofree char *dir = bad_dir ();
  g_autofree char *list = g_build_filename (dir, "expected.txt", NULL);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (list, &contents, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  guint checked = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      g_auto (GStrv) parts = g_strsplit (lines[i], "\t", 2);
      g_assert_nonnull (parts[1]);
      g_autofree char *path = g_build_filename (dir, parts[0], NULL);
      td_error err = { 0 };
      td_tokenizer *tok = NULL;
      td_status st = td_tokenizer_load (path, &tok, &err);
      g_test_message ("%s → %s", parts[0], err.message);
      if (st == TD_OK)
        g_error ("%s was accepted", parts[0]);
      g_assert_null (tok);
      if (strstr (err.message, parts[1]) == NULL)
        g_error ("%s: message '%s' lacks '%s'", parts[0], err.message, parts[1]);
      /* The message names the file (or its folder). */
      g_autofree char *first = g_strndup (parts[0], strcspn (parts[0], "/"));
      if (strstr (err.message, first) == NULL)
        g_error ("%s: message '%s' does not name the file", parts[0], err.message);
      checked++;
    }
  g_assert_cmpuint (checked, >=, 40);
}

static void
check_valid (const char *rel, const char *text, const int32_t *want, size_t n_want)
{
  g_autofree char *dir = bad_dir ();
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  td_error err = { 0 };
  td_tokenizer *tok;
  if (td_tokenizer_load (path, &tok, &err) != TD_OK)
    g_error ("%s: %s", rel, err.message);
  int32_t *ids;
  size_t n;
  g_assert_cmpint (td_tokenizer_encode (tok, text, -1, true, &ids, &n, &err), ==, TD_OK);
  g_assert_cmpuint (n, ==, n_want);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpint (ids[i], ==, want[i]);
  g_free (ids);
  td_tokenizer_free (tok);
}

static void
test_valid_seeds (void)
{
  /* BPE: "abc" merges a+b then ab+c; "ba" has no merge; the spaces (split off by the regex)
   * and "x" are not in the vocabulary: <unk> = 5. */
  check_valid ("valid-bpe.json", "abc ba x", (int32_t[]) { 4, 5, 1, 0, 5, 5 }, 6);
  /* Unigram: "▁ab" (−1.5) beats "▁" + "a" + "b"; "ba" → b a. */
  check_valid ("valid-unigram.json", "ab ba", (int32_t[]) { 3, 1, 4, 2 }, 4);
  check_valid ("valid-spiece.model", "ab ba", (int32_t[]) { 5, 3, 6, 4, 1 }, 5);
  check_valid ("valid-bpe-files/vocab.json", "abc", (int32_t[]) { 4 }, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizers/bad-inputs/rejected", test_rejected);
  g_test_add_func ("/tokenizers/bad-inputs/valid-seeds", test_valid_seeds);
  return g_test_run ();
}
