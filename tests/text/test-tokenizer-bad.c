/* test-tokenizer-bad — every file of tests/data/tokenizers-bad/expected.txt (made by
 * make-bad-inputs.py) is rejected with a message that names the file and the problem;
 * the small valid files beside them load and tokenize. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

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

/* Files no tokenizer is made of, written at run time: each is refused at once
 * with the file and the reason, nesting is bounded (no stack overflow), and
 * JSON is read strictly. */
static void
test_hostile_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-tokenizer-hostile-XXXXXX", NULL);
  GString *deep = g_string_new ("{\"model\": ");
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  g_autofree char *deep_json = g_build_filename (dir, "deep.json", NULL);
  g_assert_true (g_file_set_contents (deep_json, deep->str, (gssize) deep->len, NULL));
  g_autofree char *bpe_dir = g_build_filename (dir, "bpe", NULL);
  g_assert_cmpint (g_mkdir (bpe_dir, 0755), ==, 0);
  g_autofree char *deep_vocab = g_build_filename (bpe_dir, "vocab.json", NULL);
  g_autofree char *merges = g_build_filename (bpe_dir, "merges.txt", NULL);
  g_assert_true (g_file_set_contents (deep_vocab, deep->str + 10, (gssize) deep->len - 10, NULL));
  g_assert_true (g_file_set_contents (merges, "#version: 0.2\n", -1, NULL));
  g_string_free (deep, TRUE);
  g_autofree char *duplicate = g_build_filename (dir, "duplicate.json", NULL);
  g_assert_true (g_file_set_contents (duplicate, "{\"model\": {}, \"model\": {}}", -1, NULL));
  g_autofree char *comment = g_build_filename (dir, "comment.json", NULL);
  g_assert_true (g_file_set_contents (comment, "{\"model\": {} /* c */}", -1, NULL));
  g_autofree char *fifo_dir = g_build_filename (dir, "fifo", NULL);
  g_assert_cmpint (g_mkdir (fifo_dir, 0755), ==, 0);
  g_autofree char *fifo = g_build_filename (fifo_dir, "tokenizer.json", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  const struct { const char *path, *message; } cases[] = {
    { deep_json, "nesting too deep" },
    { deep_vocab, "nesting too deep" },
    { duplicate, "has the key 'model' twice" },
    { comment, "not valid JSON" },
    { fifo, "a FIFO, not a regular file" },
    { fifo_dir, "holds no tokenizer.json" }, /* a FIFO is not taken for one */
    { "/dev/zero", "a character device" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      td_error err = { 0 };
      td_tokenizer *tok = NULL;
      gint64 start = g_get_monotonic_time ();
      g_assert_cmpint (td_tokenizer_load (cases[i].path, &tok, &err), !=, TD_OK);
      g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
      g_test_message ("%s → %s", cases[i].path, err.message);
      g_assert_null (tok);
      if (strstr (err.message, cases[i].message) == NULL)
        g_error ("%s: message '%s' lacks '%s'", cases[i].path, err.message, cases[i].message);
      g_assert_nonnull (strstr (err.message, strstr (cases[i].path, "/dev/") ? "/dev/zero" : dir));
    }
  const char *files[] = { deep_json, deep_vocab, merges, duplicate, comment, fifo, bpe_dir, fifo_dir, dir };
  for (size_t i = 0; i < G_N_ELEMENTS (files); i++)
    g_remove (files[i]);
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
  g_test_add_func ("/tokenizers/bad-inputs/hostile-files", test_hostile_files);
  return g_test_run ();
}
