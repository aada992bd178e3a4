/* test-tokenizers — every golden case of tests/data/tokenizers/golden.json (Hugging Face
 * `tokenizers` on the real files) for T5 (from tokenizer.json and from spiece.model), CLIP
 * (from tokenizer.json and from vocab.json + merges.txt) and Qwen2; decoding round trips;
 * padding and truncation. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "text/tokenizer.h"

static JsonParser *golden;

static char *
data_path (const char *rel)
{
  const char *dir = g_getenv ("TD_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", "tokenizers", rel, NULL);
}

static td_tokenizer *
load (const char *rel)
{
  g_autofree char *path = data_path (rel);
  td_error err = { 0 };
  td_tokenizer *tok = NULL;
  td_status st = td_tokenizer_load (path, &tok, &err);
  if (st != TD_OK)
    g_error ("loading %s: %s", path, err.message);
  return tok;
}

static JsonArray *
golden_cases (const char *name, bool *add_special)
{
  JsonObject *root = json_node_get_object (json_parser_get_root (golden));
  JsonObject *t = json_object_get_object_member (root, name);
  *add_special = json_object_get_boolean_member (t, "add_special_tokens");
  return json_object_get_array_member (t, "cases");
}

static void
check_golden (td_tokenizer *tok, const char *name)
{
  bool add_special;
  JsonArray *cases = golden_cases (name, &add_special);
  g_assert_cmpuint (json_array_get_length (cases), >, 20);
  guint failures = 0;
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member (c, "text");
      JsonArray *want = json_object_get_array_member (c, "ids");
      td_error err = { 0 };
      int32_t *ids;
      size_t n;
      g_assert_cmpint (td_tokenizer_encode (tok, text, -1, add_special, &ids, &n, &err), ==, TD_OK);
      bool same = n == json_array_get_length (want);
      for (size_t k = 0; same && k < n; k++)
        same = ids[k] == json_array_get_int_element (want, k);
      if (!same)
        {
          GString *got = g_string_new (NULL), *exp = g_string_new (NULL);
          for (size_t k = 0; k < n; k++)
            g_string_append_printf (got, " %d(%s)", ids[k], td_tokenizer_id_to_token (tok, ids[k]));
          for (guint k = 0; k < json_array_get_length (want); k++)
            g_string_append_printf (exp, " %" G_GINT64_FORMAT, json_array_get_int_element (want, k));
          g_test_message ("%s case %u %s\n  got:%s\n want:%s", name, i, text, got->str, exp->str);
          g_string_free (got, TRUE);
          g_string_free (exp, TRUE);
          failures++;
        }
      g_free (ids);
    }
  g_assert_cmpuint (failures, ==, 0);
}

static void
test_t5_json (void)
{
  td_tokenizer *tok = load ("t5/tokenizer.json");
  g_assert_cmpint (td_tokenizer_model_kind (tok), ==, TD_TOKENIZER_UNIGRAM);
  g_assert_cmpuint (td_tokenizer_vocab_size (tok), ==, 32100);
  check_golden (tok, "t5");
  td_tokenizer_free (tok);
}

static void
test_t5_spiece (void)
{
  td_tokenizer *tok = load ("t5/spiece.model");
  g_assert_cmpuint (td_tokenizer_vocab_size (tok), ==, 32100);
  g_assert_cmpint (td_tokenizer_token_to_id (tok, "<extra_id_0>"), ==, 32099);
  g_assert_cmpint (td_tokenizer_eos_id (tok), ==, 1);
  g_assert_cmpint (td_tokenizer_pad_id (tok), ==, 0);
  check_golden (tok, "t5");
  td_tokenizer_free (tok);
}

static void
test_clip_json (void)
{
  td_tokenizer *tok = load ("clip/tokenizer.json");
  g_assert_cmpint (td_tokenizer_bos_id (tok), ==, 49406);
  g_assert_cmpint (td_tokenizer_eos_id (tok), ==, 49407);
  check_golden (tok, "clip");
  td_tokenizer_free (tok);
}

static void
test_clip_files (void)
{
  td_tokenizer *tok = load ("clip/vocab.json");
  g_assert_cmpint (td_tokenizer_bos_id (tok), ==, 49406);
  g_assert_cmpint (td_tokenizer_pad_id (tok), ==, 49407);
  check_golden (tok, "clip");
  td_tokenizer_free (tok);
}

static void
test_qwen2 (void)
{
  td_tokenizer *tok = load ("qwen2");
  g_assert_cmpint (td_tokenizer_token_to_id (tok, "<|image_pad|>"), ==, 151655);
  g_assert_true (td_tokenizer_is_special (tok, 151655));
  check_golden (tok, "qwen2");
  td_tokenizer_free (tok);
}

/* Byte-level BPE is lossless: decoding the ids gives the text back (after the normaliser). */
static void
check_round_trip (td_tokenizer *tok, const char *name, bool lower)
{
  bool add_special;
  JsonArray *cases = golden_cases (name, &add_special);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      const char *text = json_object_get_string_member (json_array_get_object_element (cases, i), "text");
      int32_t *ids;
      size_t n;
      char *back;
      td_error err = { 0 };
      g_assert_cmpint (td_tokenizer_encode (tok, text, -1, false, &ids, &n, &err), ==, TD_OK);
      g_assert_cmpint (td_tokenizer_decode (tok, ids, n, false, &back, &err), ==, TD_OK);
      g_autofree char *nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
      if (!lower)
        g_assert_cmpstr (back, ==, nfc);
      else
        {
          /* CLIP drops whitespace; compare with it removed and lower-cased. */
          g_autofree char *l = g_utf8_strdown (nfc, -1);
          GString *a = g_string_new (NULL), *b = g_string_new (NULL);
          for (const char *p = l; *p; p = g_utf8_next_char (p))
            if (!g_unichar_isspace (g_utf8_get_char (p)))
              g_string_append_unichar (a, g_utf8_get_char (p));
          for (const char *p = back; *p; p = g_utf8_next_char (p))
            if (!g_unichar_isspace (g_utf8_get_char (p)))
              g_string_append_unichar (b, g_utf8_get_char (p));
          g_assert_cmpstr (b->str, ==, a->str);
          g_string_free (a, TRUE);
          g_string_free (b, TRUE);
        }
      g_free (back);
      g_free (ids);
    }
}

static void
test_decode_qwen2 (void)
{
  td_tokenizer *tok = load ("qwen2/tokenizer.json");
  check_round_trip (tok, "qwen2", false);
  /* skip_special drops <|im_start|> but keeps the text. */
  int32_t ids[] = { 151644, 8948, 198 };
  char *text;
  g_assert_cmpint (td_tokenizer_decode (tok, ids, 3, true, &text, NULL), ==, TD_OK);
  g_assert_cmpstr (text, ==, "system\n");
  g_free (text);
  g_assert_cmpint (td_tokenizer_decode (tok, ids, 3, false, &text, NULL), ==, TD_OK);
  g_assert_cmpstr (text, ==, "<|im_start|>system\n");
  g_free (text);
  /* An id outside the vocabulary is an error, not a crash. */
  int32_t bad[] = { 5, 999999 };
  td_error err = { 0 };
  g_assert_cmpint (td_tokenizer_decode (tok, bad, 2, false, &text, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "999999"));
  td_tokenizer_free (tok);
}

static void
test_decode_clip_t5 (void)
{
  td_tokenizer *clip = load ("clip/tokenizer.json");
  check_round_trip (clip, "clip", true);
  int32_t *ids;
  size_t n;
  char *text;
  g_assert_cmpint (td_tokenizer_encode (clip, "A photo of a cat.", -1, true, &ids, &n, NULL), ==, TD_OK);
  g_assert_cmpint (td_tokenizer_decode (clip, ids, n, true, &text, NULL), ==, TD_OK);
  g_assert_cmpstr (text, ==, "a photo of a cat .");
  g_free (text);
  g_free (ids);
  td_tokenizer_free (clip);

  td_tokenizer *t5 = load ("t5/tokenizer.json");
  g_assert_cmpint (td_tokenizer_encode (t5, "Hello, world! A red sofa.", -1, true, &ids, &n, NULL), ==, TD_OK);
  g_assert_cmpint (td_tokenizer_decode (t5, ids, n, true, &text, NULL), ==, TD_OK);
  g_assert_cmpstr (text, ==, "Hello, world! A red sofa.");
  g_free (text);
  g_free (ids);
  td_tokenizer_free (t5);
}

static void
test_padding (void)
{
  td_tokenizer *t5 = load ("t5/spiece.model");
  int32_t ids[512];
  size_t used;
  /* "Hello, world!" → 8774 6 296 55 </s>, then <pad> up to 512. */
  g_assert_cmpint (td_tokenizer_encode_padded (t5, "Hello, world!", true, 512, ids, &used, NULL), ==, TD_OK);
  g_assert_cmpuint (used, ==, 5);
  int32_t want[] = { 8774, 6, 296, 55, 1 };
  for (size_t i = 0; i < 5; i++)
    g_assert_cmpint (ids[i], ==, want[i]);
  for (size_t i = 5; i < 512; i++)
    g_assert_cmpint (ids[i], ==, 0);
  /* Truncation keeps </s> last: 3 ids = 8774 6 </s>. */
  g_assert_cmpint (td_tokenizer_encode_padded (t5, "Hello, world!", true, 3, ids, &used, NULL), ==, TD_OK);
  g_assert_cmpuint (used, ==, 3);
  g_assert_cmpint (ids[0], ==, 8774);
  g_assert_cmpint (ids[1], ==, 6);
  g_assert_cmpint (ids[2], ==, 1);
  /* A long text fills exactly 128 (ThinkDiff's T5 length). */
  GString *long_text = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append (long_text, "cat ");
  g_assert_cmpint (td_tokenizer_encode_padded (t5, long_text->str, true, 128, ids, &used, NULL), ==, TD_OK);
  g_assert_cmpuint (used, ==, 128);
  g_assert_cmpint (ids[127], ==, 1);
  g_assert_cmpint (ids[126], ==, td_tokenizer_token_to_id (t5, "\xe2\x96\x81" "cat"));
  g_string_free (long_text, TRUE);
  /* No room for the specials is an error. */
  td_error err = { 0 };
  g_assert_cmpint (td_tokenizer_encode_padded (t5, "x", true, 0, ids, &used, &err), ==, TD_ERR_INVALID_ARG);
  td_tokenizer_free (t5);

  /* CLIP pads with EOS to 77: BOS a photo … EOS EOS EOS. */
  td_tokenizer *clip = load ("clip/vocab.json");
  g_assert_cmpint (td_tokenizer_encode_padded (clip, "a photo", true, 77, ids, &used, NULL), ==, TD_OK);
  g_assert_cmpuint (used, ==, 4);
  g_assert_cmpint (ids[0], ==, 49406);
  g_assert_cmpint (ids[1], ==, 320);
  g_assert_cmpint (ids[2], ==, 1125);
  for (size_t i = 3; i < 77; i++)
    g_assert_cmpint (ids[i], ==, 49407);
  td_tokenizer_free (clip);
}

static void
test_bad_text (void)
{
  td_tokenizer *tok = load ("qwen2/tokenizer.json");
  int32_t *ids;
  size_t n;
  td_error err = { 0 };
  g_assert_cmpint (td_tokenizer_encode (tok, "ab\xff", -1, false, &ids, &n, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "UTF-8"));
  g_assert_cmpint (td_tokenizer_encode (tok, "a\0b", 3, false, &ids, &n, &err), ==, TD_ERR_INVALID_ARG);
  td_tokenizer_free (tok);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *path = data_path ("golden.json");
  golden = json_parser_new ();
  g_autoptr (GError) gerr = NULL;
  if (!json_parser_load_from_file (golden, path, &gerr))
    g_error ("%s: %s", path, gerr->message);
  g_test_add_func ("/tokenizers/t5/tokenizer-json", test_t5_json);
  g_test_add_func ("/tokenizers/t5/spiece-model", test_t5_spiece);
  g_test_add_func ("/tokenizers/clip/tokenizer-json", test_clip_json);
  g_test_add_func ("/tokenizers/clip/vocab-merges", test_clip_files);
  g_test_add_func ("/tokenizers/qwen2/tokenizer-json", test_qwen2);
  g_test_add_func ("/tokenizers/decode/qwen2", test_decode_qwen2);
  g_test_add_func ("/tokenizers/decode/clip-t5", test_decode_clip_t5);
  g_test_add_func ("/tokenizers/padding", test_padding);
  g_test_add_func ("/tokenizers/bad-text", test_bad_text);
  int rc = g_test_run ();
  g_object_unref (golden);
  return rc;
}
