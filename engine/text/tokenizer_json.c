/* tokenizer_json.c — reads Hugging Face `tokenizers` JSON files (tokenizer.json).
 *
 * Supported: models BPE and Unigram; normalisers NFC/NFKC/NFD/NFKD, Lowercase, Strip, Replace,
 * Prepend, Precompiled, Sequence; pre-tokenizers Split, ByteLevel, Metaspace, Whitespace,
 * WhitespaceSplit, Sequence; post-processors TemplateProcessing, RobertaProcessing,
 * BertProcessing, ByteLevel, Sequence. Anything else is refused with a message naming it.
 * Every member is type-checked; a wrong type names its path ("model.vocab[12]").
 */
#include "text/tokenizer_private.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_strict.h"

typedef struct loader {
  const char *name;
  td_error *err;
  td_tokenizer *tok;
  int nesting; /* Sequences open around the step being read */
} loader;

/* Real files nest Sequences one or two deep; the bound keeps recursion, and the
 * "where" strings that grow with it, small. */
static td_status
enter_sequence (loader *ld, const char *where)
{
  if (ld->nesting >= TD_TOKENIZER_MAX_NESTING)
    return td_error_set (ld->err, TD_ERR_LIMIT, "%s: %s nests Sequences more than %d deep", ld->name, where,
                         TD_TOKENIZER_MAX_NESTING);
  ld->nesting++;
  return TD_OK;
}

static td_status
type_error (loader *ld, const char *where, const char *expected)
{
  return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s should be %s", ld->name, where, expected);
}

/* Member KEY of O: NULL (and TD_OK) when absent or null and not REQUIRED. */
static td_status
member (loader *ld, JsonObject *o, const char *where, const char *key, JsonNodeType type,
        bool required, JsonNode **out)
{
  *out = NULL;
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (required)
        return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s%s%s is missing", ld->name, where,
                             where[0] ? "." : "", key);
      return TD_OK;
    }
  if (JSON_NODE_TYPE (n) != type)
    {
      g_autofree char *path = g_strdup_printf ("%s%s%s", where, where[0] ? "." : "", key);
      const char *names[] = { [JSON_NODE_OBJECT] = "an object", [JSON_NODE_ARRAY] = "an array",
                              [JSON_NODE_VALUE] = "a value", [JSON_NODE_NULL] = "null" };
      return type_error (ld, path, names[type]);
    }
  *out = n;
  return TD_OK;
}

static td_status
get_string (loader *ld, JsonObject *o, const char *where, const char *key, bool required,
            const char **out)
{
  JsonNode *n;
  *out = NULL;
  td_status st = member (ld, o, where, key, JSON_NODE_VALUE, required, &n);
  if (st != TD_OK || n == NULL)
    return st;
  if (json_node_get_value_type (n) != G_TYPE_STRING)
    {
      g_autofree char *path = g_strdup_printf ("%s.%s", where, key);
      return type_error (ld, path, "a string");
    }
  *out = json_node_get_string (n);
  return TD_OK;
}

static td_status
get_bool (loader *ld, JsonObject *o, const char *where, const char *key, bool fallback, bool *out)
{
  JsonNode *n;
  *out = fallback;
  td_status st = member (ld, o, where, key, JSON_NODE_VALUE, false, &n);
  if (st != TD_OK || n == NULL)
    return st;
  if (json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      g_autofree char *path = g_strdup_printf ("%s.%s", where, key);
      return type_error (ld, path, "true or false");
    }
  *out = json_node_get_boolean (n);
  return TD_OK;
}

static bool
node_int (JsonNode *n, int64_t *out)
{
  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE || json_node_get_value_type (n) != G_TYPE_INT64)
    return false;
  *out = json_node_get_int (n);
  return true;
}

static bool
node_number (JsonNode *n, double *out)
{
  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return false;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (n);
  else
    return false;
  return true;
}

static const char *
node_string (JsonNode *n)
{
  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* A Split/Replace "pattern": {"String": s} or {"Regex": r} → compiled regex. */
static td_status
get_pattern (loader *ld, JsonObject *o, const char *where, GRegex **out)
{
  JsonNode *n;
  *out = NULL;
  td_status st = member (ld, o, where, "pattern", JSON_NODE_OBJECT, true, &n);
  if (st != TD_OK)
    return st;
  JsonObject *p = json_node_get_object (n);
  const char *literal, *regex;
  g_autofree char *pwhere = g_strdup_printf ("%s.pattern", where);
  if ((st = get_string (ld, p, pwhere, "String", false, &literal)) != TD_OK
      || (st = get_string (ld, p, pwhere, "Regex", false, &regex)) != TD_OK)
    return st;
  if ((literal == NULL) == (regex == NULL))
    return type_error (ld, pwhere, "an object with one of \"String\" or \"Regex\"");
  g_autofree char *escaped = literal ? g_regex_escape_string (literal, -1) : NULL;
  *out = td_pre_compile_regex (ld->name, literal ? escaped : regex, ld->err);
  return *out ? TD_OK : ld->err->status;
}

/* ---- normalizer ---- */

static td_status parse_normalizer (loader *ld, JsonObject *o, const char *where);

static td_norm_step *
push_norm (td_tokenizer *tok, td_norm_kind kind)
{
  tok->norm = g_renew (td_norm_step, tok->norm, tok->n_norm + 1);
  td_norm_step *s = &tok->norm[tok->n_norm++];
  memset (s, 0, sizeof *s);
  s->kind = kind;
  return s;
}

static td_status
parse_normalizer (loader *ld, JsonObject *o, const char *where)
{
  const char *type;
  td_status st = get_string (ld, o, where, "type", true, &type);
  if (st != TD_OK)
    return st;
  if (ld->tok->n_norm >= TD_TOKENIZER_MAX_STEPS)
    return td_error_set (ld->err, TD_ERR_LIMIT, "%s: %s: more than %d normalizer steps", ld->name, where,
                         TD_TOKENIZER_MAX_STEPS);
  static const struct { const char *name; td_norm_kind kind; } unicode[] = {
    { "NFC", TD_NORM_NFC }, { "NFKC", TD_NORM_NFKC }, { "NFD", TD_NORM_NFD },
    { "NFKD", TD_NORM_NFKD }, { "Lowercase", TD_NORM_LOWERCASE },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (unicode); i++)
    if (strcmp (type, unicode[i].name) == 0)
      {
        push_norm (ld->tok, unicode[i].kind);
        return TD_OK;
      }
  if (strcmp (type, "Sequence") == 0)
    {
      JsonNode *n;
      if ((st = member (ld, o, where, "normalizers", JSON_NODE_ARRAY, true, &n)) != TD_OK
          || (st = enter_sequence (ld, where)) != TD_OK)
        return st;
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a) && st == TD_OK; i++)
        {
          g_autofree char *w = g_strdup_printf ("%s.normalizers[%u]", where, i);
          JsonNode *e = json_array_get_element (a, i);
          if (JSON_NODE_TYPE (e) != JSON_NODE_OBJECT)
            return type_error (ld, w, "an object"); /* the load fails: nesting no longer matters */
          st = parse_normalizer (ld, json_node_get_object (e), w);
        }
      ld->nesting--;
      return st;
    }
  if (strcmp (type, "Strip") == 0)
    {
      bool l, r;
      if ((st = get_bool (ld, o, where, "strip_left", true, &l)) != TD_OK
          || (st = get_bool (ld, o, where, "strip_right", true, &r)) != TD_OK)
        return st;
      td_norm_step *s = push_norm (ld->tok, TD_NORM_STRIP);
      s->strip_left = l, s->strip_right = r;
      return TD_OK;
    }
  if (strcmp (type, "Replace") == 0 || strcmp (type, "Prepend") == 0)
    {
      bool replace = type[0] == 'R';
      const char *content;
      GRegex *re = NULL;
      if ((st = get_string (ld, o, where, replace ? "content" : "prepend", true, &content)) != TD_OK
          || (replace && (st = get_pattern (ld, o, where, &re)) != TD_OK))
        return st;
      td_norm_step *s = push_norm (ld->tok, replace ? TD_NORM_REPLACE : TD_NORM_PREPEND);
      s->regex = re;
      s->content = g_strdup (content);
      return TD_OK;
    }
  if (strcmp (type, "Precompiled") == 0)
    {
      const char *b64;
      if ((st = get_string (ld, o, where, "precompiled_charsmap", false, &b64)) != TD_OK)
        return st;
      if (b64 == NULL || b64[0] == '\0')
        return TD_OK; /* no rules: identity */
      for (const char *p = b64; *p; p++)
        if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
          return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s.precompiled_charsmap is not base64", ld->name, where);
      gsize size;
      g_autofree guchar *blob = g_base64_decode (b64, &size);
      td_charsmap *map;
      if ((st = td_charsmap_new (ld->name, blob, size, &map, ld->err)) != TD_OK)
        return st;
      push_norm (ld->tok, TD_NORM_PRECOMPILED)->charsmap = map;
      return TD_OK;
    }
  return td_error_set (ld->err, TD_ERR_UNSUPPORTED, "%s: normalizer type '%s' is not supported", ld->name, type);
}

/* ---- pre-tokenizer ---- */

static td_pre_step *
push_pre (td_tokenizer *tok, td_pre_kind kind)
{
  tok->pre = g_renew (td_pre_step, tok->pre, tok->n_pre + 1);
  td_pre_step *s = &tok->pre[tok->n_pre++];
  memset (s, 0, sizeof *s);
  s->kind = kind;
  return s;
}

static td_status
parse_metaspace (loader *ld, JsonObject *o, const char *where, char *replacement,
                 td_prepend_scheme *scheme, bool *split)
{
  const char *rep, *sch;
  bool add_prefix_space;
  td_status st;
  if ((st = get_string (ld, o, where, "replacement", true, &rep)) != TD_OK
      || (st = get_string (ld, o, where, "prepend_scheme", false, &sch)) != TD_OK
      || (st = get_bool (ld, o, where, "add_prefix_space", true, &add_prefix_space)) != TD_OK
      || (st = get_bool (ld, o, where, "split", true, split)) != TD_OK)
    return st;
  if (g_utf8_strlen (rep, -1) != 1 || strlen (rep) >= 8)
    return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s.replacement should be one character", ld->name, where);
  strcpy (replacement, rep);
  if (sch == NULL)
    *scheme = add_prefix_space ? TD_PREPEND_ALWAYS : TD_PREPEND_NEVER;
  else if (strcmp (sch, "always") == 0)
    *scheme = TD_PREPEND_ALWAYS;
  else if (strcmp (sch, "first") == 0)
    *scheme = TD_PREPEND_FIRST;
  else if (strcmp (sch, "never") == 0)
    *scheme = TD_PREPEND_NEVER;
  else
    return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s.prepend_scheme '%s' is not always, first or never",
                         ld->name, where, sch);
  return TD_OK;
}

static td_status
parse_pre_tokenizer (loader *ld, JsonObject *o, const char *where)
{
  const char *type;
  td_status st = get_string (ld, o, where, "type", true, &type);
  if (st != TD_OK)
    return st;
  if (strcmp (type, "Sequence") == 0)
    {
      JsonNode *n;
      if ((st = member (ld, o, where, "pretokenizers", JSON_NODE_ARRAY, true, &n)) != TD_OK
          || (st = enter_sequence (ld, where)) != TD_OK)
        return st;
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a) && st == TD_OK; i++)
        {
          g_autofree char *w = g_strdup_printf ("%s.pretokenizers[%u]", where, i);
          JsonNode *e = json_array_get_element (a, i);
          if (JSON_NODE_TYPE (e) != JSON_NODE_OBJECT)
            return type_error (ld, w, "an object"); /* the load fails: nesting no longer matters */
          st = parse_pre_tokenizer (ld, json_node_get_object (e), w);
        }
      ld->nesting--;
      return st;
    }
  if (strcmp (type, "Split") == 0)
    {
      static const char *const behaviors[] = {
        [TD_SPLIT_REMOVED] = "Removed", [TD_SPLIT_ISOLATED] = "Isolated",
        [TD_SPLIT_MERGED_WITH_PREVIOUS] = "MergedWithPrevious",
        [TD_SPLIT_MERGED_WITH_NEXT] = "MergedWithNext", [TD_SPLIT_CONTIGUOUS] = "Contiguous",
      };
      const char *behavior;
      bool invert;
      GRegex *re;
      if ((st = get_string (ld, o, where, "behavior", true, &behavior)) != TD_OK
          || (st = get_bool (ld, o, where, "invert", false, &invert)) != TD_OK)
        return st;
      int b = -1;
      for (size_t i = 0; i < G_N_ELEMENTS (behaviors); i++)
        if (strcmp (behavior, behaviors[i]) == 0)
          b = i;
      if (b < 0)
        return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s.behavior '%s' is unknown", ld->name, where, behavior);
      if ((st = get_pattern (ld, o, where, &re)) != TD_OK)
        return st;
      td_pre_step *s = push_pre (ld->tok, TD_PRE_SPLIT);
      s->regex = re, s->behavior = b, s->invert = invert;
      return TD_OK;
    }
  if (strcmp (type, "ByteLevel") == 0)
    {
      bool add_prefix_space, use_regex;
      if ((st = get_bool (ld, o, where, "add_prefix_space", true, &add_prefix_space)) != TD_OK
          || (st = get_bool (ld, o, where, "use_regex", true, &use_regex)) != TD_OK)
        return st;
      GRegex *re = use_regex ? td_pre_gpt2_regex (ld->err) : NULL;
      if (use_regex && re == NULL)
        return ld->err->status;
      td_pre_step *s = push_pre (ld->tok, TD_PRE_BYTE_LEVEL);
      s->add_prefix_space = add_prefix_space, s->regex = re;
      ld->tok->decoder = TD_DECODE_BYTE_LEVEL;
      return TD_OK;
    }
  if (strcmp (type, "Metaspace") == 0)
    {
      td_pre_step *s = push_pre (ld->tok, TD_PRE_METASPACE);
      if ((st = parse_metaspace (ld, o, where, s->replacement, &s->prepend_scheme, &s->split)) != TD_OK)
        return st;
      ld->tok->decoder = TD_DECODE_METASPACE;
      strcpy (ld->tok->metaspace, s->replacement);
      ld->tok->decoder_strip_first_space = s->prepend_scheme != TD_PREPEND_NEVER;
      return TD_OK;
    }
  if (strcmp (type, "WhitespaceSplit") == 0)
    {
      push_pre (ld->tok, TD_PRE_WHITESPACE_SPLIT);
      return TD_OK;
    }
  if (strcmp (type, "Whitespace") == 0)
    {
      GRegex *re = td_pre_compile_regex (ld->name, "\\w+|[^\\w\\s]+", ld->err);
      if (re == NULL)
        return ld->err->status;
      td_pre_step *s = push_pre (ld->tok, TD_PRE_SPLIT);
      s->regex = re, s->behavior = TD_SPLIT_REMOVED, s->invert = true;
      return TD_OK;
    }
  return td_error_set (ld->err, TD_ERR_UNSUPPORTED, "%s: pre_tokenizer type '%s' is not supported", ld->name, type);
}

/* ---- post-processor ---- */

static void
append_id (int32_t **ids, size_t *n, int32_t id)
{
  *ids = g_renew (int32_t, *ids, *n + 1);
  (*ids)[(*n)++] = id;
}

/* A ["token", id] pair of RobertaProcessing/BertProcessing. */
static td_status
get_token_pair (loader *ld, JsonObject *o, const char *where, const char *key, int32_t *id)
{
  JsonNode *n;
  td_status st = member (ld, o, where, key, JSON_NODE_ARRAY, true, &n);
  if (st != TD_OK)
    return st;
  JsonArray *a = json_node_get_array (n);
  int64_t v;
  g_autofree char *w = g_strdup_printf ("%s.%s", where, key);
  if (json_array_get_length (a) != 2 || node_string (json_array_get_element (a, 0)) == NULL
      || !node_int (json_array_get_element (a, 1), &v))
    return type_error (ld, w, "a [\"token\", id] pair");
  if (v < 0 || td_vocab_token (&ld->tok->vocab, v, NULL) == NULL)
    return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s names id %" G_GINT64_FORMAT ", which is not in the vocabulary",
                         ld->name, w, v);
  *id = v;
  return TD_OK;
}

static td_status
parse_template (loader *ld, JsonObject *o, const char *where)
{
  JsonNode *single, *specials;
  td_status st;
  if ((st = member (ld, o, where, "single", JSON_NODE_ARRAY, true, &single)) != TD_OK
      || (st = member (ld, o, where, "special_tokens", JSON_NODE_OBJECT, false, &specials)) != TD_OK)
    return st;
  JsonArray *a = json_node_get_array (single);
  bool seen_sequence = false;
  td_tokenizer *tok = ld->tok;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *w = g_strdup_printf ("%s.single[%u]", where, i);
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_TYPE (e) != JSON_NODE_OBJECT)
        return type_error (ld, w, "an object");
      JsonObject *item = json_node_get_object (e);
      if (json_object_has_member (item, "Sequence"))
        {
          seen_sequence = true;
          continue;
        }
      JsonNode *sp;
      const char *name;
      if ((st = member (ld, item, w, "SpecialToken", JSON_NODE_OBJECT, true, &sp)) != TD_OK
          || (st = get_string (ld, json_node_get_object (sp), w, "id", true, &name)) != TD_OK)
        return st;
      /* The ids come from special_tokens[name].ids, else from the vocabulary. */
      JsonNode *def = specials ? json_object_get_member (json_node_get_object (specials), name) : NULL;
      JsonNode *ids_node = NULL;
      if (def != NULL && JSON_NODE_TYPE (def) == JSON_NODE_OBJECT)
        ids_node = json_object_get_member (json_node_get_object (def), "ids");
      GArray *ids = g_array_new (FALSE, FALSE, sizeof (int32_t));
      if (ids_node != NULL && JSON_NODE_TYPE (ids_node) == JSON_NODE_ARRAY)
        {
          JsonArray *ia = json_node_get_array (ids_node);
          for (guint k = 0; k < json_array_get_length (ia); k++)
            {
              int64_t v;
              if (!node_int (json_array_get_element (ia, k), &v) || v < 0
                  || td_vocab_token (&tok->vocab, v, NULL) == NULL)
                {
                  g_array_unref (ids);
                  return td_error_set (ld->err, TD_ERR_FORMAT, "%s: special_tokens '%s' has an id outside the vocabulary",
                                       ld->name, name);
                }
              int32_t id = v;
              g_array_append_val (ids, id);
            }
        }
      else
        {
          int32_t id = td_vocab_find (&tok->vocab, name, strlen (name));
          if (id < 0)
            {
              g_array_unref (ids);
              return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s names unknown token '%s'", ld->name, w, name);
            }
          g_array_append_val (ids, id);
        }
      for (guint k = 0; k < ids->len; k++)
        if (seen_sequence)
          append_id (&tok->suffix_ids, &tok->n_suffix, g_array_index (ids, int32_t, k));
        else
          append_id (&tok->prefix_ids, &tok->n_prefix, g_array_index (ids, int32_t, k));
      g_array_unref (ids);
    }
  if (!seen_sequence)
    return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s.single has no Sequence", ld->name, where);
  return TD_OK;
}

static td_status
parse_post_processor (loader *ld, JsonObject *o, const char *where)
{
  const char *type;
  td_status st = get_string (ld, o, where, "type", true, &type);
  if (st != TD_OK)
    return st;
  td_tokenizer *tok = ld->tok;
  if (strcmp (type, "TemplateProcessing") == 0)
    return parse_template (ld, o, where);
  if (strcmp (type, "RobertaProcessing") == 0 || strcmp (type, "BertProcessing") == 0)
    {
      int32_t cls, sep;
      if ((st = get_token_pair (ld, o, where, "cls", &cls)) != TD_OK
          || (st = get_token_pair (ld, o, where, "sep", &sep)) != TD_OK)
        return st;
      append_id (&tok->prefix_ids, &tok->n_prefix, cls);
      append_id (&tok->suffix_ids, &tok->n_suffix, sep);
      return TD_OK;
    }
  if (strcmp (type, "ByteLevel") == 0)
    return TD_OK;
  if (strcmp (type, "Sequence") == 0)
    {
      JsonNode *n;
      if ((st = member (ld, o, where, "processors", JSON_NODE_ARRAY, true, &n)) != TD_OK
          || (st = enter_sequence (ld, where)) != TD_OK)
        return st;
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a) && st == TD_OK; i++)
        {
          g_autofree char *w = g_strdup_printf ("%s.processors[%u]", where, i);
          JsonNode *e = json_array_get_element (a, i);
          if (JSON_NODE_TYPE (e) != JSON_NODE_OBJECT)
            return type_error (ld, w, "an object"); /* the load fails: nesting no longer matters */
          st = parse_post_processor (ld, json_node_get_object (e), w);
        }
      ld->nesting--;
      return st;
    }
  return td_error_set (ld->err, TD_ERR_UNSUPPORTED, "%s: post_processor type '%s' is not supported", ld->name, type);
}

/* ---- models ---- */

static td_status
parse_unigram (loader *ld, JsonObject *m)
{
  JsonNode *vocab_node, *unk_node = json_object_get_member (m, "unk_id");
  bool byte_fallback;
  td_status st;
  if ((st = member (ld, m, "model", "vocab", JSON_NODE_ARRAY, true, &vocab_node)) != TD_OK
      || (st = get_bool (ld, m, "model", "byte_fallback", false, &byte_fallback)) != TD_OK)
    return st;
  int64_t unk = -1;
  if (unk_node != NULL && !JSON_NODE_HOLDS_NULL (unk_node) && !node_int (unk_node, &unk))
    return type_error (ld, "model.unk_id", "an integer or null");
  JsonArray *a = json_node_get_array (vocab_node);
  guint n = json_array_get_length (a);
  if (n > TD_VOCAB_MAX_IDS)
    return td_error_set (ld->err, TD_ERR_LIMIT, "%s: model.vocab has %u entries", ld->name, n);
  if (unk >= (int64_t) n || unk < -1)
    return td_error_set (ld->err, TD_ERR_FORMAT, "%s: model.unk_id %" G_GINT64_FORMAT " is out of range (%u pieces)",
                         ld->name, unk, n);
  g_autofree double *scores = g_new (double, MAX (n, 1));
  g_autofree bool *is_piece = g_new (bool, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *w = g_strdup_printf ("model.vocab[%u]", i);
      JsonNode *e = json_array_get_element (a, i);
      JsonArray *pair = JSON_NODE_TYPE (e) == JSON_NODE_ARRAY ? json_node_get_array (e) : NULL;
      const char *piece = pair && json_array_get_length (pair) == 2 ? node_string (json_array_get_element (pair, 0)) : NULL;
      if (piece == NULL || !node_number (json_array_get_element (pair, 1), &scores[i]))
        return type_error (ld, w, "a [\"piece\", score] pair");
      td_vocab_result r = td_vocab_add (&ld->tok->vocab, piece, strlen (piece), i);
      if (r != TD_VOCAB_ADDED)
        {
          g_autofree char *where = g_strdup_printf ("%s: %s", ld->name, w);
          return td_vocab_add_error (ld->err, where, r, piece, strlen (piece), i);
        }
      is_piece[i] = piece[0] != '\0';
    }
  ld->tok->model = TD_TOKENIZER_UNIGRAM;
  ld->tok->unk_id = unk;
  ld->tok->unigram = td_unigram_new (&ld->tok->vocab, scores, is_piece, unk, byte_fallback);
  return TD_OK;
}

static td_status
parse_bpe_merges (loader *ld, JsonArray *merges)
{
  td_status st = TD_OK;
  for (guint i = 0; i < json_array_get_length (merges) && st == TD_OK; i++)
    {
      g_autofree char *w = g_strdup_printf ("%s: model.merges[%u]", ld->name, i);
      JsonNode *e = json_array_get_element (merges, i);
      const char *s = node_string (e), *left = NULL, *right = NULL;
      size_t left_len = 0;
      if (s != NULL)
        {
          const char *space = strchr (s, ' ');
          if (space == NULL || space == s || space[1] == '\0' || strchr (space + 1, ' ') != NULL)
            return td_error_set (ld->err, TD_ERR_FORMAT, "%s should be two tokens separated by one space", w);
          left = s, left_len = space - s, right = space + 1;
        }
      else if (JSON_NODE_TYPE (e) == JSON_NODE_ARRAY && json_array_get_length (json_node_get_array (e)) == 2)
        {
          left = node_string (json_array_get_element (json_node_get_array (e), 0));
          right = node_string (json_array_get_element (json_node_get_array (e), 1));
          left_len = left ? strlen (left) : 0;
        }
      if (left == NULL || right == NULL)
        return td_error_set (ld->err, TD_ERR_FORMAT, "%s should be \"a b\" or [\"a\", \"b\"]", w);
      st = td_bpe_add_merge (ld->tok->bpe, w, left, left_len, right, strlen (right), ld->err);
    }
  return st;
}

static td_status
parse_bpe (loader *ld, JsonObject *m)
{
  JsonNode *vocab_node, *merges_node, *dropout = json_object_get_member (m, "dropout");
  const char *unk, *suffix, *prefix;
  bool fuse_unk, byte_fallback, ignore_merges;
  td_status st;
  if ((st = member (ld, m, "model", "vocab", JSON_NODE_OBJECT, true, &vocab_node)) != TD_OK
      || (st = member (ld, m, "model", "merges", JSON_NODE_ARRAY, true, &merges_node)) != TD_OK
      || (st = get_string (ld, m, "model", "unk_token", false, &unk)) != TD_OK
      || (st = get_string (ld, m, "model", "end_of_word_suffix", false, &suffix)) != TD_OK
      || (st = get_string (ld, m, "model", "continuing_subword_prefix", false, &prefix)) != TD_OK
      || (st = get_bool (ld, m, "model", "fuse_unk", false, &fuse_unk)) != TD_OK
      || (st = get_bool (ld, m, "model", "byte_fallback", false, &byte_fallback)) != TD_OK
      || (st = get_bool (ld, m, "model", "ignore_merges", false, &ignore_merges)) != TD_OK)
    return st;
  double p;
  if (dropout != NULL && !JSON_NODE_HOLDS_NULL (dropout) && (!node_number (dropout, &p) || p != 0.0))
    return td_error_set (ld->err, TD_ERR_UNSUPPORTED, "%s: model.dropout is set; BPE dropout is not supported", ld->name);
  if ((suffix && strlen (suffix) > 64) || (prefix && strlen (prefix) > 64))
    return td_error_set (ld->err, TD_ERR_LIMIT, "%s: model.end_of_word_suffix or continuing_subword_prefix is too long", ld->name);

  JsonObject *vocab = json_node_get_object (vocab_node);
  JsonObjectIter iter;
  const char *token;
  JsonNode *value;
  json_object_iter_init (&iter, vocab);
  while (json_object_iter_next (&iter, &token, &value))
    {
      int64_t id;
      if (!node_int (value, &id))
        {
          g_autofree char *w = g_strdup_printf ("model.vocab['%.40s']", token);
          return type_error (ld, w, "an integer id");
        }
      td_vocab_result r = td_vocab_add (&ld->tok->vocab, token, strlen (token), id);
      if (r != TD_VOCAB_ADDED)
        {
          g_autofree char *where = g_strdup_printf ("%s: model.vocab", ld->name);
          return td_vocab_add_error (ld->err, where, r, token, strlen (token), id);
        }
    }
  int32_t unk_id = -1;
  if (unk != NULL && (unk_id = td_vocab_find (&ld->tok->vocab, unk, strlen (unk))) < 0)
    return td_error_set (ld->err, TD_ERR_FORMAT, "%s: model.unk_token '%s' is not in the vocabulary", ld->name, unk);
  ld->tok->model = TD_TOKENIZER_BPE;
  ld->tok->unk_id = unk_id;
  ld->tok->bpe = td_bpe_new (&ld->tok->vocab, suffix, prefix, unk_id, fuse_unk, byte_fallback, ignore_merges);
  return parse_bpe_merges (ld, json_node_get_array (merges_node));
}

/* ---- added tokens ---- */

static td_status
parse_added_tokens (loader *ld, JsonArray *a)
{
  td_status st = TD_OK;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *w = g_strdup_printf ("added_tokens[%u]", i);
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_TYPE (e) != JSON_NODE_OBJECT)
        return type_error (ld, w, "an object");
      JsonObject *o = json_node_get_object (e);
      const char *content;
      bool special, normalized, lstrip, rstrip, single_word;
      int64_t id;
      if ((st = get_string (ld, o, w, "content", true, &content)) != TD_OK
          || (st = get_bool (ld, o, w, "special", false, &special)) != TD_OK
          || (st = get_bool (ld, o, w, "normalized", !special, &normalized)) != TD_OK
          || (st = get_bool (ld, o, w, "lstrip", false, &lstrip)) != TD_OK
          || (st = get_bool (ld, o, w, "rstrip", false, &rstrip)) != TD_OK
          || (st = get_bool (ld, o, w, "single_word", false, &single_word)) != TD_OK)
        return st;
      if (!node_int (json_object_get_member (o, "id"), &id))
        {
          g_autofree char *iw = g_strdup_printf ("%s.id", w);
          return type_error (ld, iw, "an integer");
        }
      if (single_word)
        return td_error_set (ld->err, TD_ERR_UNSUPPORTED, "%s: %s uses single_word, which is not supported", ld->name, w);
      size_t len = strlen (content);
      int32_t existing = td_vocab_find (&ld->tok->vocab, content, len);
      if (existing < 0)
        {
          td_vocab_result r = td_vocab_add (&ld->tok->vocab, content, len, id);
          if (r != TD_VOCAB_ADDED)
            {
              g_autofree char *where = g_strdup_printf ("%s: %s", ld->name, w);
              return td_vocab_add_error (ld->err, where, r, content, len, id);
            }
        }
      else if (existing != id)
        return td_error_set (ld->err, TD_ERR_FORMAT, "%s: %s '%s' has id %" G_GINT64_FORMAT " but the vocabulary gives it %d",
                             ld->name, w, content, id, existing);
      td_tokenizer_add_added (ld->tok, content, len, id, special, normalized, lstrip, rstrip);
    }
  return TD_OK;
}

/* Picks the special ids users of the tokenizer need from the post-processor and names. */
static void
choose_special_ids (td_tokenizer *tok)
{
  static const char *const eos_names[] = { "</s>", "<|endoftext|>", "<|im_end|>" };
  if (tok->n_prefix > 0)
    tok->bos_id = tok->prefix_ids[0];
  if (tok->n_suffix > 0)
    tok->eos_id = tok->suffix_ids[tok->n_suffix - 1];
  for (size_t i = 0; i < G_N_ELEMENTS (eos_names) && tok->eos_id < 0; i++)
    tok->eos_id = td_vocab_find (&tok->vocab, eos_names[i], strlen (eos_names[i]));
  tok->pad_id = td_vocab_find (&tok->vocab, "<pad>", 5);
  if (tok->pad_id < 0)
    tok->pad_id = td_vocab_find (&tok->vocab, "<|endoftext|>", 13);
  if (tok->pad_id < 0)
    tok->pad_id = tok->eos_id;
}

static td_status
parse_root (loader *ld, JsonObject *root)
{
  JsonNode *model, *added, *norm, *pre, *post;
  const char *type;
  td_status st;
  if ((st = member (ld, root, "", "model", JSON_NODE_OBJECT, true, &model)) != TD_OK
      || (st = member (ld, root, "", "added_tokens", JSON_NODE_ARRAY, false, &added)) != TD_OK
      || (st = member (ld, root, "", "normalizer", JSON_NODE_OBJECT, false, &norm)) != TD_OK
      || (st = member (ld, root, "", "pre_tokenizer", JSON_NODE_OBJECT, false, &pre)) != TD_OK
      || (st = member (ld, root, "", "post_processor", JSON_NODE_OBJECT, false, &post)) != TD_OK)
    return st;
  JsonObject *m = json_node_get_object (model);
  if ((st = get_string (ld, m, "model", "type", false, &type)) != TD_OK)
    return st;
  if (type == NULL)
    type = json_object_has_member (m, "merges") ? "BPE" : "Unigram";
  if (strcmp (type, "BPE") == 0)
    st = parse_bpe (ld, m);
  else if (strcmp (type, "Unigram") == 0)
    st = parse_unigram (ld, m);
  else
    st = td_error_set (ld->err, TD_ERR_UNSUPPORTED, "%s: model type '%s' is not supported (BPE and Unigram are)",
                       ld->name, type);
  if (st == TD_OK && added != NULL)
    st = parse_added_tokens (ld, json_node_get_array (added));
  if (st == TD_OK && norm != NULL)
    st = parse_normalizer (ld, json_node_get_object (norm), "normalizer");
  if (st == TD_OK && pre != NULL)
    st = parse_pre_tokenizer (ld, json_node_get_object (pre), "pre_tokenizer");
  if (st == TD_OK && post != NULL)
    st = parse_post_processor (ld, json_node_get_object (post), "post_processor");
  if (st != TD_OK)
    return st;
  choose_special_ids (ld->tok);
  return td_tokenizer_finish (ld->tok, ld->err);
}

td_status
td_tokenizer_load_tokenizer_json (const char *name, const char *data, size_t size,
                                  td_tokenizer **out, td_error *err)
{
  *out = NULL;
  if (size > TD_TOKENIZER_FILE_MAX)
    return td_error_set (err, TD_ERR_LIMIT, "%s: %zu bytes is more than a tokenizer file may have", name, size);
  if (memchr (data, 0, size) != NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: contains a NUL byte; not a JSON file", name);
  g_autoptr (JsonNode) root = td_json_parse_strict (data, size, name, "tokenizer", err);
  if (root == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  if (JSON_NODE_TYPE (root) != JSON_NODE_OBJECT)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the top level should be a JSON object", name);
  td_error local;
  td_tokenizer *tok = td_tokenizer_alloc (name);
  loader ld = { name, err ? err : &local, tok };
  td_status st = parse_root (&ld, json_node_get_object (root));
  if (st != TD_OK)
    {
      td_tokenizer_free (tok);
      return st;
    }
  *out = tok;
  return TD_OK;
}
