/* tokenizer.c — the generic tokenizer: added-token splitting, the normalise → pre-tokenise →
 * model pipeline, post-processing, decoding, and loading by path. */
#include "text/tokenizer_private.h"
#include "io/file_read.h"

#include <errno.h>
#include <string.h>

td_tokenizer *
td_tokenizer_alloc (const char *name)
{
  td_tokenizer *tok = g_new0 (td_tokenizer, 1);
  tok->name = g_strdup (name);
  td_vocab_init (&tok->vocab);
  tok->bos_id = tok->eos_id = tok->pad_id = tok->unk_id = -1;
  tok->decoder = TD_DECODE_PLAIN;
  return tok;
}

void
td_tokenizer_free (td_tokenizer *tok)
{
  if (tok == NULL)
    return;
  td_bpe_free (tok->bpe);
  td_unigram_free (tok->unigram);
  for (size_t i = 0; i < tok->n_norm; i++)
    td_norm_step_clear (&tok->norm[i]);
  g_free (tok->norm);
  for (size_t i = 0; i < tok->n_pre; i++)
    td_pre_step_clear (&tok->pre[i]);
  g_free (tok->pre);
  for (size_t i = 0; i < tok->n_added; i++)
    g_free (tok->added[i].content);
  g_free (tok->added);
  g_free (tok->prefix_ids);
  g_free (tok->suffix_ids);
  g_free (tok->special);
  td_vocab_clear (&tok->vocab);
  g_free (tok->name);
  g_free (tok);
}

void
td_tokenizer_add_added (td_tokenizer *tok, const char *content, size_t len, int32_t id,
                        bool special, bool normalized, bool lstrip, bool rstrip)
{
  tok->added = g_renew (td_added_token, tok->added, tok->n_added + 1);
  tok->added[tok->n_added++] = (td_added_token) {
    .content = g_strndup (content, len), .len = len, .id = id, .special = special,
    .normalized = normalized, .lstrip = lstrip, .rstrip = rstrip,
  };
}

td_status
td_tokenizer_finish (td_tokenizer *tok, td_error *err)
{
  if (tok->vocab.n_ids == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the vocabulary is empty", tok->name);
  tok->special = g_new0 (bool, tok->vocab.n_ids);
  for (size_t i = 0; i < tok->n_added; i++)
    {
      const td_added_token *a = &tok->added[i];
      if (a->len == 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: added token %d is empty", tok->name, a->id);
      if (td_vocab_find (&tok->vocab, a->content, a->len) != a->id)
        return td_error_set (err, TD_ERR_FORMAT, "%s: added token '%s' (id %d) clashes with the vocabulary",
                             tok->name, a->content, a->id);
      tok->special[a->id] = a->special;
    }
  int32_t fixed[] = { tok->bos_id, tok->eos_id, tok->pad_id, tok->unk_id };
  for (size_t i = 0; i < G_N_ELEMENTS (fixed); i++)
    if (fixed[i] >= 0 && td_vocab_token (&tok->vocab, fixed[i], NULL) == NULL)
      return td_error_set (err, TD_ERR_FORMAT, "%s: special id %d is not in the vocabulary", tok->name, fixed[i]);
  return TD_OK;
}

/* ---- encoding ---- */

typedef struct segment {
  char *text;       /* NULL for an added token */
  int32_t added_id;
} segment;

static bool
is_space_byte_at (const char *s, size_t len, size_t pos)
{
  return pos < len && g_unichar_isspace (g_utf8_get_char (s + pos));
}

/* Splits TEXT on the added tokens whose `normalized` flag equals NORMALIZED, appending
 * segments to OUT (leftmost-longest matching). */
static void
split_added (const td_tokenizer *tok, const char *text, bool normalized, GArray *out)
{
  size_t len = strlen (text), seg_start = 0;
  for (size_t pos = 0; pos < len;)
    {
      const td_added_token *best = NULL;
      for (size_t i = 0; i < tok->n_added; i++)
        {
          const td_added_token *a = &tok->added[i];
          if (a->normalized == normalized && a->content[0] == text[pos] && a->len <= len - pos
              && (best == NULL || a->len > best->len) && memcmp (text + pos, a->content, a->len) == 0)
            best = a;
        }
      if (best == NULL)
        {
          pos++;
          continue;
        }
      size_t start = pos, end = pos + best->len;
      if (best->lstrip)
        while (start > seg_start && g_unichar_isspace (g_utf8_get_char (g_utf8_prev_char (text + start))))
          start = g_utf8_prev_char (text + start) - text;
      if (best->rstrip)
        while (is_space_byte_at (text, len, end))
          end = g_utf8_next_char (text + end) - text;
      if (start > seg_start)
        g_array_append_val (out, ((segment) { g_strndup (text + seg_start, start - seg_start), -1 }));
      g_array_append_val (out, ((segment) { NULL, best->id }));
      seg_start = pos = end;
    }
  if (seg_start < len)
    g_array_append_val (out, ((segment) { g_strndup (text + seg_start, len - seg_start), -1 }));
}

static td_status
encode_segment (const td_tokenizer *tok, char *text, bool first, GArray *ids, td_error *err)
{
  GPtrArray *words = g_ptr_array_new_with_free_func (g_free);
  if (text[0] == '\0')
    {
      g_free (text);
      g_ptr_array_unref (words);
      return TD_OK;
    }
  g_ptr_array_add (words, text);
  td_status st = TD_OK;
  for (size_t i = 0; i < tok->n_pre && st == TD_OK; i++)
    st = td_pre_apply (&tok->pre[i], &words, first, err);
  for (guint w = 0; w < words->len && st == TD_OK; w++)
    {
      if (tok->cancel != NULL && *tok->cancel)
        {
          st = td_error_set (err, TD_ERR_CANCELLED, "tokenize: cancelled");
          break;
        }
      const char *word = words->pdata[w];
      if (tok->bpe != NULL)
        td_bpe_encode_word (tok->bpe, word, strlen (word), ids);
      else
        td_unigram_encode (tok->unigram, word, strlen (word), ids);
    }
  g_ptr_array_unref (words);
  return st;
}

static td_status
encode_content (const td_tokenizer *tok, const char *text, GArray *ids, td_error *err)
{
  GArray *raw = g_array_new (FALSE, FALSE, sizeof (segment));
  split_added (tok, text, false, raw);
  td_status st = TD_OK;
  for (guint i = 0; i < raw->len; i++)
    {
      segment *seg = &g_array_index (raw, segment, i);
      if (seg->text == NULL || st != TD_OK)
        {
          if (seg->text == NULL && st == TD_OK)
            g_array_append_val (ids, seg->added_id);
          continue;
        }
      bool first = i == 0;
      size_t max_bytes = strlen (seg->text) * TD_NORM_MAX_GROWTH + TD_NORM_MAX_EXTRA;
      for (size_t k = 0; k < tok->n_norm && st == TD_OK; k++)
        st = td_norm_apply (&tok->norm[k], &seg->text, max_bytes, err);
      if (st != TD_OK)
        {
          td_error_prefix (err, "%s", tok->name);
          continue;
        }
      GArray *norm = g_array_new (FALSE, FALSE, sizeof (segment));
      split_added (tok, seg->text, true, norm);
      for (guint j = 0; j < norm->len; j++)
        {
          segment *part = &g_array_index (norm, segment, j);
          if (part->text == NULL)
            g_array_append_val (ids, part->added_id);
          else if (st == TD_OK)
            {
              st = encode_segment (tok, part->text, first && j == 0, ids, err);
              part->text = NULL; /* owned by encode_segment */
            }
          g_free (part->text);
        }
      g_array_unref (norm);
    }
  for (guint i = 0; i < raw->len; i++)
    g_free (g_array_index (raw, segment, i).text);
  g_array_unref (raw);
  return st;
}

void
td_tokenizer_set_cancel (td_tokenizer *tok, const volatile int *cancel)
{
  tok->cancel = cancel;
}

static td_status
check_text (const char *text, ptrdiff_t len, size_t *out_len, td_error *err)
{
  if (text == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "tokenize: no text given");
  size_t n = len < 0 ? strlen (text) : (size_t) len;
  if (memchr (text, 0, n) != NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "tokenize: the text contains a NUL character");
  if (!g_utf8_validate_len (text, n, NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "tokenize: the text is not valid UTF-8");
  *out_len = n;
  return TD_OK;
}

static td_status
encode_ids (const td_tokenizer *tok, const char *text, ptrdiff_t len, GArray *ids, td_error *err)
{
  size_t n = 0;
  td_status st = check_text (text, len, &n, err);
  if (st != TD_OK)
    return st;
  g_autofree char *copy = g_strndup (text, n);
  return encode_content (tok, copy, ids, err);
}

td_status
td_tokenizer_encode (const td_tokenizer *tok, const char *text, ptrdiff_t len, bool add_special,
                     int32_t **ids, size_t *n_ids, td_error *err)
{
  *ids = NULL;
  *n_ids = 0;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int32_t));
  if (add_special)
    g_array_append_vals (out, tok->prefix_ids, tok->n_prefix);
  td_status st = encode_ids (tok, text, len, out, err);
  if (st != TD_OK)
    {
      g_array_unref (out);
      return st;
    }
  if (add_special)
    g_array_append_vals (out, tok->suffix_ids, tok->n_suffix);
  *n_ids = out->len;
  *ids = (int32_t *) g_array_free (out, out->len == 0);
  return TD_OK;
}

td_status
td_tokenizer_encode_padded (const td_tokenizer *tok, const char *text, bool add_special,
                            size_t length, int32_t *ids, size_t *n_used, td_error *err)
{
  size_t n_special = add_special ? tok->n_prefix + tok->n_suffix : 0;
  if (length < n_special || length == 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "tokenize: length %zu leaves no room for the text", length);
  if (tok->pad_id < 0)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: the tokenizer has no padding token", tok->name);
  GArray *content = g_array_new (FALSE, FALSE, sizeof (int32_t));
  td_status st = encode_ids (tok, text, -1, content, err);
  if (st != TD_OK)
    {
      g_array_unref (content);
      return st;
    }
  size_t keep = MIN ((size_t) content->len, length - n_special), n = 0;
  if (add_special)
    for (size_t i = 0; i < tok->n_prefix; i++)
      ids[n++] = tok->prefix_ids[i];
  if (keep > 0) /* an empty text has no data to copy */
    memcpy (ids + n, content->data, keep * sizeof (int32_t));
  n += keep;
  if (add_special)
    for (size_t i = 0; i < tok->n_suffix; i++)
      ids[n++] = tok->suffix_ids[i];
  if (n_used != NULL)
    *n_used = n;
  for (; n < length; n++)
    ids[n] = tok->pad_id;
  g_array_unref (content);
  return TD_OK;
}

/* ---- decoding ---- */

static bool
is_added (const td_tokenizer *tok, int32_t id, const td_added_token **out)
{
  for (size_t i = 0; i < tok->n_added; i++)
    if (tok->added[i].id == id)
      {
        *out = &tok->added[i];
        return true;
      }
  return false;
}

td_status
td_tokenizer_decode (const td_tokenizer *tok, const int32_t *ids, size_t n_ids, bool skip_special,
                     char **text, td_error *err)
{
  *text = NULL;
  GString *bytes = g_string_new (NULL);
  const char *suffix = tok->bpe != NULL ? td_bpe_end_of_word_suffix (tok->bpe) : "";
  size_t suffix_len = strlen (suffix);
  for (size_t i = 0; i < n_ids; i++)
    {
      size_t len;
      const char *token = td_vocab_token (&tok->vocab, ids[i], &len);
      if (token == NULL)
        {
          g_string_free (bytes, TRUE);
          return td_error_set (err, TD_ERR_INVALID_ARG, "%s: id %d is not in the vocabulary", tok->name, ids[i]);
        }
      if (skip_special && tok->special[ids[i]])
        continue;
      const td_added_token *added;
      if (is_added (tok, ids[i], &added))
        {
          g_string_append_len (bytes, token, len);
          continue;
        }
      bool word_end = suffix_len > 0 && len >= suffix_len && memcmp (token + len - suffix_len, suffix, suffix_len) == 0;
      if (word_end)
        len -= suffix_len;
      switch (tok->decoder)
        {
        case TD_DECODE_BYTE_LEVEL:
          td_byte_level_decode (token, len, bytes);
          break;
        case TD_DECODE_METASPACE:
          {
            size_t rlen = strlen (tok->metaspace);
            for (size_t k = 0; k < len;)
              if (rlen > 0 && k + rlen <= len && memcmp (token + k, tok->metaspace, rlen) == 0)
                {
                  if (!(bytes->len == 0 && tok->decoder_strip_first_space))
                    g_string_append_c (bytes, ' ');
                  k += rlen;
                }
              else
                g_string_append_c (bytes, token[k++]);
            break;
          }
        case TD_DECODE_PLAIN:
          g_string_append_len (bytes, token, len);
          break;
        }
      if (word_end)
        g_string_append_c (bytes, ' ');
    }
  if (suffix_len > 0 && bytes->len > 0 && bytes->str[bytes->len - 1] == ' ')
    g_string_truncate (bytes, bytes->len - 1);
  *text = g_utf8_make_valid (bytes->str, bytes->len);
  g_string_free (bytes, TRUE);
  return TD_OK;
}

/* ---- lookups ---- */

td_tokenizer_model td_tokenizer_model_kind (const td_tokenizer *tok) { return tok->model; }
size_t td_tokenizer_vocab_size (const td_tokenizer *tok) { return tok->vocab.n_ids; }
int32_t td_tokenizer_bos_id (const td_tokenizer *tok) { return tok->bos_id; }
int32_t td_tokenizer_eos_id (const td_tokenizer *tok) { return tok->eos_id; }
int32_t td_tokenizer_pad_id (const td_tokenizer *tok) { return tok->pad_id; }
int32_t td_tokenizer_unk_id (const td_tokenizer *tok) { return tok->unk_id; }

const char *
td_tokenizer_id_to_token (const td_tokenizer *tok, int32_t id)
{
  return td_vocab_token (&tok->vocab, id, NULL);
}

int32_t
td_tokenizer_token_to_id (const td_tokenizer *tok, const char *token)
{
  return td_vocab_find (&tok->vocab, token, strlen (token));
}

bool
td_tokenizer_is_special (const td_tokenizer *tok, int32_t id)
{
  return id >= 0 && (size_t) id < tok->vocab.n_ids && tok->special[id];
}

/* ---- loading ---- */

td_status
td_read_file (const char *path, char **data, size_t *size, td_error *err)
{
  *data = NULL;
  *size = 0;
  return td_file_read_bounded (path, "tokenizer file", TD_TOKENIZER_FILE_MAX, data, size, err);
}

static td_status
load_bpe_pair (const char *vocab_path, td_tokenizer **out, td_error *err)
{
  g_autofree char *dir = g_path_get_dirname (vocab_path);
  g_autofree char *merges_path = g_build_filename (dir, "merges.txt", NULL);
  g_autofree char *vocab = NULL, *merges = NULL;
  size_t vocab_size, merges_size;
  td_status st = td_read_file (vocab_path, &vocab, &vocab_size, err);
  if (st == TD_OK)
    st = td_read_file (merges_path, &merges, &merges_size, err);
  if (st != TD_OK)
    return st;
  return td_tokenizer_load_bpe_files (vocab_path, vocab, vocab_size, merges, merges_size, out, err);
}

static td_status
load_file (const char *path, td_tokenizer **out, td_error *err)
{
  g_autofree char *base = g_path_get_basename (path);
  if (strcmp (base, "vocab.json") == 0)
    return load_bpe_pair (path, out, err);
  g_autofree char *data = NULL;
  size_t size;
  td_status st = td_read_file (path, &data, &size, err);
  if (st != TD_OK)
    return st;
  if (g_str_has_suffix (base, ".model"))
    return td_tokenizer_load_spiece_model (path, (const uint8_t *) data, size, out, err);
  if (g_str_has_suffix (base, ".json"))
    return td_tokenizer_load_tokenizer_json (path, data, size, out, err);
  return td_error_set (err, TD_ERR_UNSUPPORTED,
                       "%s: not a tokenizer file (expected tokenizer.json, spiece.model or vocab.json)", path);
}

td_status
td_tokenizer_load (const char *path, td_tokenizer **out, td_error *err)
{
  *out = NULL;
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no such file or folder", path);
      return load_file (path, out, err);
    }
  static const char *const candidates[] = { "tokenizer.json", "spiece.model", "vocab.json" };
  for (size_t i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *file = g_build_filename (path, candidates[i], NULL);
      if (g_file_test (file, G_FILE_TEST_IS_REGULAR))
        return load_file (file, out, err);
    }
  return td_error_set (err, TD_ERR_NOT_FOUND,
                       "%s: holds no tokenizer.json, spiece.model or vocab.json + merges.txt", path);
}
