/* test-tokenizer-bounds — tokenizing takes time and memory in proportion to the text:
 * one very long word, a megabyte of text, normalizers that would grow the text without
 * end, Sequences nested without end; and a cancel flag stops the work. */
#include <glib.h>
#include <string.h>

#include "text/tokenizer.h"

/* Generous for a shared CI machine; the quadratic merge loop took 25 s for 128k characters. */
#define TIME_LIMIT_S 5.0

static td_tokenizer *
load_json (const char *json)
{
  td_error err = { 0 };
  td_tokenizer *tok = NULL;
  if (td_tokenizer_load_tokenizer_json ("test.json", json, strlen (json), &tok, &err) != TD_OK)
    g_error ("loading: %s", err.message);
  return tok;
}

static td_tokenizer *
load_data (const char *name)
{
  const char *dir = g_getenv ("TD_TEST_DATA");
  g_autofree char *path = g_build_filename (dir ? dir : "tests/data", "tokenizers", name, NULL);
  td_error err = { 0 };
  td_tokenizer *tok = NULL;
  if (td_tokenizer_load (path, &tok, &err) != TD_OK)
    g_error ("%s: %s", path, err.message);
  return tok;
}

static char *
repeat (const char *unit, size_t count)
{
  size_t len = strlen (unit);
  char *text = g_malloc (len * count + 1);
  for (size_t i = 0; i < count; i++)
    memcpy (text + i * len, unit, len);
  text[len * count] = '\0';
  return text;
}

/* Merges "a a" (rank 0) then "aa aa" (rank 1), leftmost first: n a's become n/4 "aaaa",
 * then "aa" if n mod 4 ≥ 2, then "a" if n is odd. */
static const char merge_json[] =
  "{\"version\": \"1.0\", \"added_tokens\": [], \"normalizer\": null, \"pre_tokenizer\": null,"
  " \"post_processor\": null, \"decoder\": null, \"model\": {\"type\": \"BPE\", \"dropout\": null,"
  " \"unk_token\": null, \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null,"
  " \"fuse_unk\": false, \"byte_fallback\": false,"
  " \"vocab\": {\"a\": 0, \"aa\": 1, \"aaaa\": 2}, \"merges\": [\"a a\", \"aa aa\"]}}";

static void
test_long_word_merges (void)
{
  td_tokenizer *tok = load_json (merge_json);
  const size_t lengths[] = { 1, 2, 3, 7, 131071, 131072 };
  for (size_t k = 0; k < G_N_ELEMENTS (lengths); k++)
    {
      size_t n = lengths[k];
      g_autofree char *word = repeat ("a", n);
      td_error err = { 0 };
      int32_t *ids = NULL;
      size_t n_ids = 0;
      gint64 start = g_get_monotonic_time ();
      g_assert_cmpint (td_tokenizer_encode (tok, word, -1, false, &ids, &n_ids, &err), ==, TD_OK);
      double seconds = (g_get_monotonic_time () - start) / 1e6;
      g_test_message ("%zu a's: %zu ids in %.3f s", n, n_ids, seconds);
      g_assert_cmpfloat (seconds, <, TIME_LIMIT_S);
      size_t fours = n / 4, twos = n % 4 >= 2, ones = n % 2;
      g_assert_cmpuint (n_ids, ==, fours + twos + ones);
      for (size_t i = 0; i < fours; i++)
        g_assert_cmpint (ids[i], ==, 2);
      if (twos)
        g_assert_cmpint (ids[fours], ==, 1);
      if (ones)
        g_assert_cmpint (ids[n_ids - 1], ==, 0);
      g_free (ids);
    }
  td_tokenizer_free (tok);
}

/* A real byte-level BPE on one word of 128k characters: fast, and it decodes back. */
static void
check_long_word (const char *name)
{
  td_tokenizer *tok = load_data (name);
  g_autofree char *word = repeat ("ab", 65536);
  td_error err = { 0 };
  int32_t *ids = NULL;
  size_t n_ids = 0;
  gint64 start = g_get_monotonic_time ();
  g_assert_cmpint (td_tokenizer_encode (tok, word, -1, false, &ids, &n_ids, &err), ==, TD_OK);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("%s: 131072 characters → %zu ids in %.3f s", name, n_ids, seconds);
  g_assert_cmpfloat (seconds, <, TIME_LIMIT_S);
  g_assert_cmpuint (n_ids, >, 0);
  g_assert_cmpuint (n_ids, <, 131072);
  char *text = NULL;
  g_assert_cmpint (td_tokenizer_decode (tok, ids, n_ids, true, &text, &err), ==, TD_OK);
  g_assert_cmpstr (g_strstrip (text), ==, word);
  g_free (text);
  g_free (ids);
  td_tokenizer_free (tok);
}

static void
test_long_word_clip (void)
{
  check_long_word ("clip");
}

static void
test_long_word_qwen2 (void)
{
  check_long_word ("qwen2");
}

/* SentencePiece Unigram (T5) on the same word. */
static void
test_long_word_t5 (void)
{
  check_long_word ("t5");
}

/* A megabyte of board text: words of every length, digits, punctuation, new lines. */
static void
test_megabyte_text (void)
{
  td_tokenizer *tok = load_data ("qwen2");
  GString *text = g_string_new (NULL);
  GRand *rand = g_rand_new_with_seed (14);
  while (text->len < (1u << 20))
    {
      int len = g_rand_int_range (rand, 1, 2000);
      for (int i = 0; i < len; i++)
        g_string_append_c (text, "abcdefghij0123 .,\n"[g_rand_int_range (rand, 0, 18)]);
      g_string_append (text, g_rand_boolean (rand) ? "\n\n" : " ");
    }
  g_rand_free (rand);
  td_error err = { 0 };
  int32_t *ids = NULL;
  size_t n_ids = 0;
  gint64 start = g_get_monotonic_time ();
  g_assert_cmpint (td_tokenizer_encode (tok, text->str, (ptrdiff_t) text->len, false, &ids, &n_ids, &err), ==, TD_OK);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("%zu bytes → %zu ids in %.3f s", text->len, n_ids, seconds);
  g_assert_cmpfloat (seconds, <, 4 * TIME_LIMIT_S);
  char *back = NULL;
  g_assert_cmpint (td_tokenizer_decode (tok, ids, n_ids, false, &back, &err), ==, TD_OK);
  g_assert_cmpstr (back, ==, text->str);
  g_free (back);
  g_free (ids);
  g_string_free (text, TRUE);
  td_tokenizer_free (tok);
}

/* A tokenizer.json whose normalizer is NORMALIZER and whose model knows a, b and <unk>. */
static char *
json_with_normalizer (const char *normalizer)
{
  return g_strdup_printf (
    "{\"version\": \"1.0\", \"added_tokens\": [], \"normalizer\": %s, \"pre_tokenizer\": null,"
    " \"post_processor\": null, \"decoder\": null, \"model\": {\"type\": \"BPE\", \"dropout\": null,"
    " \"unk_token\": \"<unk>\", \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null,"
    " \"fuse_unk\": true, \"byte_fallback\": false, \"vocab\": {\"a\": 0, \"b\": 1, \"<unk>\": 2},"
    " \"merges\": []}}",
    normalizer);
}

/* Replace "a" → "aaaa" eight times over: 4^8 times the text, refused before it is built. */
static void
test_replace_growth (void)
{
  GString *steps = g_string_new ("{\"type\": \"Sequence\", \"normalizers\": [");
  for (int i = 0; i < 8; i++)
    g_string_append_printf (steps, "%s{\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}, \"content\": \"aaaa\"}",
                            i ? ", " : "");
  g_string_append (steps, "]}");
  g_autofree char *json = json_with_normalizer (steps->str);
  g_string_free (steps, TRUE);
  td_tokenizer *tok = load_json (json);

  /* 8 KiB of text may grow to 32 · 8 KiB + 4 KiB: the fourth step passes that. */
  g_autofree char *text = repeat ("ab", 4096);
  td_error err = { 0 };
  int32_t *ids = NULL;
  size_t n_ids = 0;
  gint64 start = g_get_monotonic_time ();
  g_assert_cmpint (td_tokenizer_encode (tok, text, -1, false, &ids, &n_ids, &err), ==, TD_ERR_LIMIT);
  g_test_message ("%s", err.message);
  g_assert_nonnull (strstr (err.message, "Replace"));
  g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, TIME_LIMIT_S);
  td_tokenizer_free (tok);

  /* One step of a → aaaa on the same text fits and is applied. */
  g_autofree char *one = json_with_normalizer (
    "{\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}, \"content\": \"aaaa\"}");
  tok = load_json (one);
  g_assert_cmpint (td_tokenizer_encode (tok, "ab", -1, false, &ids, &n_ids, &err), ==, TD_OK);
  g_assert_cmpuint (n_ids, ==, 5);
  g_assert_cmpint (ids[0], ==, 0);
  g_assert_cmpint (ids[3], ==, 0);
  g_assert_cmpint (ids[4], ==, 1);
  g_free (ids);
  td_tokenizer_free (tok);
}

static void
test_nested_sequences (void)
{
  GString *normalizer = g_string_new (NULL);
  const int depth = 20000;
  for (int i = 0; i < depth; i++)
    g_string_append (normalizer, "{\"type\": \"Sequence\", \"normalizers\": [");
  g_string_append (normalizer, "{\"type\": \"NFC\"}");
  for (int i = 0; i < depth; i++)
    g_string_append (normalizer, "]}");
  g_autofree char *json = json_with_normalizer (normalizer->str);
  g_string_free (normalizer, TRUE);
  td_error err = { 0 };
  td_tokenizer *tok = NULL;
  gint64 start = g_get_monotonic_time ();
  td_status st = td_tokenizer_load_tokenizer_json ("nested.json", json, strlen (json), &tok, &err);
  g_test_message ("%s", err.message);
  g_assert_cmpint (st, !=, TD_OK);
  g_assert_null (tok);
  g_assert_nonnull (strstr (err.message, "nested.json"));
  g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, TIME_LIMIT_S);

  /* Two levels, as real files have, load. */
  g_autofree char *two = json_with_normalizer (
    "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}]}]}");
  tok = load_json (two);
  td_tokenizer_free (tok);
}

static void
test_too_many_steps (void)
{
  GString *steps = g_string_new ("{\"type\": \"Sequence\", \"normalizers\": [");
  for (int i = 0; i < 1000; i++)
    g_string_append_printf (steps, "%s{\"type\": \"NFC\"}", i ? ", " : "");
  g_string_append (steps, "]}");
  g_autofree char *json = json_with_normalizer (steps->str);
  g_string_free (steps, TRUE);
  td_error err = { 0 };
  td_tokenizer *tok = NULL;
  g_assert_cmpint (td_tokenizer_load_tokenizer_json ("steps.json", json, strlen (json), &tok, &err), ==, TD_ERR_LIMIT);
  g_test_message ("%s", err.message);
  g_assert_nonnull (strstr (err.message, "steps.json"));
}

static void
test_cancel (void)
{
  td_tokenizer *tok = load_data ("clip");
  volatile int cancel = 1;
  td_tokenizer_set_cancel (tok, &cancel);
  td_error err = { 0 };
  int32_t *ids = NULL;
  size_t n_ids = 0;
  g_assert_cmpint (td_tokenizer_encode (tok, "a photo of a cat", -1, true, &ids, &n_ids, &err), ==, TD_ERR_CANCELLED);
  g_assert_null (ids);
  g_assert_cmpuint (n_ids, ==, 0);
  cancel = 0;
  g_assert_cmpint (td_tokenizer_encode (tok, "a photo of a cat", -1, true, &ids, &n_ids, &err), ==, TD_OK);
  g_assert_cmpuint (n_ids, ==, 7);
  g_free (ids);
  td_tokenizer_free (tok);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizers/bounds/long-word-merges", test_long_word_merges);
  g_test_add_func ("/tokenizers/bounds/long-word-clip", test_long_word_clip);
  g_test_add_func ("/tokenizers/bounds/long-word-qwen2", test_long_word_qwen2);
  g_test_add_func ("/tokenizers/bounds/long-word-t5", test_long_word_t5);
  g_test_add_func ("/tokenizers/bounds/megabyte-text", test_megabyte_text);
  g_test_add_func ("/tokenizers/bounds/replace-growth", test_replace_growth);
  g_test_add_func ("/tokenizers/bounds/nested-sequences", test_nested_sequences);
  g_test_add_func ("/tokenizers/bounds/too-many-steps", test_too_many_steps);
  g_test_add_func ("/tokenizers/bounds/cancel", test_cancel);
  return g_test_run ();
}
