/* bpe_files.c — byte-level BPE from the "slow tokenizer" pair vocab.json + merges.txt.
 *
 * The files carry no pipeline description, so it is chosen from the vocabulary: one holding
 * `<|startoftext|>` is CLIP's (NFC, whitespace folding, lower-case, CLIP's split regex,
 * `</w>` end-of-word suffix, BOS … EOS, padding with EOS), any other is GPT-2's (byte-level
 * with its regex, `<|endoftext|>` recognised, nothing added).
 */
#include "text/tokenizer_private.h"

#include <json-glib/json-glib.h>

#include "io/json_strict.h"
#include <string.h>

static const char clip_split[] =
  "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

static td_status
read_vocab (const char *name, const char *data, size_t size, td_vocab *vocab, td_error *err)
{
  if (memchr (data, 0, size) != NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: contains a NUL byte; not a JSON file", name);
  g_autoptr (JsonNode) root = td_json_parse_strict (data, size, name, "vocabulary", err);
  if (root == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  if (JSON_NODE_TYPE (root) != JSON_NODE_OBJECT)
    return td_error_set (err, TD_ERR_FORMAT, "%s: should be a JSON object of token → id", name);
  JsonObjectIter iter;
  const char *token;
  JsonNode *value;
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &token, &value))
    {
      if (JSON_NODE_TYPE (value) != JSON_NODE_VALUE || json_node_get_value_type (value) != G_TYPE_INT64)
        return td_error_set (err, TD_ERR_FORMAT, "%s: the id of '%.40s' is not an integer", name, token);
      int64_t id = json_node_get_int (value);
      td_vocab_result r = td_vocab_add (vocab, token, strlen (token), id);
      if (r != TD_VOCAB_ADDED)
        return td_vocab_add_error (err, name, r, token, strlen (token), id);
    }
  if (vocab->count == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the vocabulary is empty", name);
  return TD_OK;
}

static td_status
read_merges (const char *merges_name, const char *data, size_t size, td_bpe *bpe, td_error *err)
{
  if (memchr (data, 0, size) != NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: contains a NUL byte", merges_name);
  if (!g_utf8_validate_len (data, size, NULL))
    return td_error_set (err, TD_ERR_FORMAT, "%s: is not valid UTF-8", merges_name);
  const char *p = data, *end = data + size;
  for (size_t line = 1; p < end; line++)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *eol = nl ? nl : end;
      size_t len = eol - p;
      if (len > 0 && p[len - 1] == '\r')
        len--;
      g_autofree char *where = g_strdup_printf ("%s line %zu", merges_name, line);
      if (!(line == 1 && len >= 8 && memcmp (p, "#version", 8) == 0) && !(len == 0 && nl == NULL))
        {
          const char *space = memchr (p, ' ', len);
          if (space == NULL || space == p || space == p + len - 1 || memchr (space + 1, ' ', p + len - space - 1) != NULL)
            return td_error_set (err, TD_ERR_FORMAT, "%s should be two tokens separated by one space", where);
          td_status st = td_bpe_add_merge (bpe, where, p, space - p, space + 1, p + len - space - 1, err);
          if (st != TD_OK)
            return st;
        }
      p = nl ? nl + 1 : end;
    }
  return TD_OK;
}

static void
add_special (td_tokenizer *tok, const char *text, bool normalized)
{
  int32_t id = td_vocab_find (&tok->vocab, text, strlen (text));
  if (id >= 0)
    td_tokenizer_add_added (tok, text, strlen (text), id, true, normalized, false, false);
}

static td_status
configure_clip (td_tokenizer *tok, td_error *err)
{
  tok->norm = g_new0 (td_norm_step, 3);
  tok->n_norm = 3;
  tok->norm[0].kind = TD_NORM_NFC;
  tok->norm[1].kind = TD_NORM_REPLACE;
  tok->norm[1].content = g_strdup (" ");
  tok->norm[2].kind = TD_NORM_LOWERCASE;
  tok->pre = g_new0 (td_pre_step, 2);
  tok->n_pre = 2;
  tok->pre[0].kind = TD_PRE_SPLIT;
  tok->pre[0].behavior = TD_SPLIT_REMOVED;
  tok->pre[0].invert = true;
  tok->pre[1].kind = TD_PRE_BYTE_LEVEL;
  if ((tok->norm[1].regex = td_pre_compile_regex (tok->name, "\\s+", err)) == NULL
      || (tok->pre[0].regex = td_pre_compile_regex (tok->name, clip_split, err)) == NULL)
    return err->status;
  add_special (tok, "<|startoftext|>", true);
  add_special (tok, "<|endoftext|>", true);
  tok->bos_id = td_vocab_find (&tok->vocab, "<|startoftext|>", 15);
  tok->eos_id = td_vocab_find (&tok->vocab, "<|endoftext|>", 13);
  if (tok->eos_id < 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: a CLIP vocabulary needs <|endoftext|>", tok->name);
  tok->pad_id = tok->eos_id;
  tok->prefix_ids = g_new (int32_t, 1);
  tok->prefix_ids[0] = tok->bos_id;
  tok->n_prefix = 1;
  tok->suffix_ids = g_new (int32_t, 1);
  tok->suffix_ids[0] = tok->eos_id;
  tok->n_suffix = 1;
  return TD_OK;
}

static td_status
configure_gpt2 (td_tokenizer *tok, td_error *err)
{
  tok->pre = g_new0 (td_pre_step, 1);
  tok->n_pre = 1;
  tok->pre[0].kind = TD_PRE_BYTE_LEVEL;
  if ((tok->pre[0].regex = td_pre_gpt2_regex (err)) == NULL)
    return err->status;
  add_special (tok, "<|endoftext|>", false);
  tok->eos_id = tok->pad_id = td_vocab_find (&tok->vocab, "<|endoftext|>", 13);
  return TD_OK;
}

td_status
td_tokenizer_load_bpe_files (const char *name, const char *vocab_json, size_t vocab_size,
                             const char *merges_txt, size_t merges_size, td_tokenizer **out,
                             td_error *err)
{
  *out = NULL;
  td_error local;
  if (err == NULL)
    err = &local;
  g_autofree char *dir = g_path_get_dirname (name);
  g_autofree char *merges_name = g_build_filename (dir, "merges.txt", NULL);
  td_tokenizer *tok = td_tokenizer_alloc (name);
  tok->model = TD_TOKENIZER_BPE;
  tok->decoder = TD_DECODE_BYTE_LEVEL;
  td_status st = read_vocab (name, vocab_json, vocab_size, &tok->vocab, err);
  bool clip = st == TD_OK && td_vocab_find (&tok->vocab, "<|startoftext|>", 15) >= 0;
  if (st == TD_OK)
    {
      int32_t unk = clip ? td_vocab_find (&tok->vocab, "<|endoftext|>", 13) : -1;
      tok->unk_id = unk;
      tok->bpe = td_bpe_new (&tok->vocab, clip ? "</w>" : "", "", unk, false, false, false);
      st = read_merges (merges_name, merges_txt, merges_size, tok->bpe, err);
    }
  if (st == TD_OK)
    st = clip ? configure_clip (tok, err) : configure_gpt2 (tok, err);
  if (st == TD_OK)
    st = td_tokenizer_finish (tok, err);
  if (st != TD_OK)
    {
      td_tokenizer_free (tok);
      return st;
    }
  *out = tok;
  return TD_OK;
}
