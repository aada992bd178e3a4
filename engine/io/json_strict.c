#include "io/json_strict.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct checker {
  const char *text;
  size_t len;
  size_t pos;
  int max_depth;
  const char *why;
} checker;

static bool
fail (checker *c, const char *why)
{
  c->why = why;
  return false;
}

static void
skip_space (checker *c)
{
  while (c->pos < c->len)
    {
      char ch = c->text[c->pos];
      if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
        return;
      c->pos++;
    }
}

static int
hex_value (char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits after "\u" at c->pos. */
static bool
read_hex4 (checker *c, unsigned *value)
{
  if (c->len - c->pos < 4)
    return fail (c, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++)
    {
      int h = hex_value (c->text[c->pos + i]);
      if (h < 0)
        return fail (c, "bad hex digit in a \\u escape");
      v = v * 16 + (unsigned) h;
    }
  c->pos += 4;
  *value = v;
  return true;
}

static bool
check_escape (checker *c)
{
  /* c->pos is just after the backslash */
  if (c->pos >= c->len)
    return fail (c, "unterminated string");
  char ch = c->text[c->pos++];
  if (strchr ("\"\\/bfnrt", ch) != NULL && ch != '\0')
    return true;
  if (ch != 'u')
    return fail (c, "invalid escape in a string");
  unsigned v;
  if (!read_hex4 (c, &v))
    return false;
  if (v == 0)
    return fail (c, "a string contains \\u0000");
  if (v >= 0xdc00 && v <= 0xdfff)
    return fail (c, "a string contains a lone low surrogate");
  if (v >= 0xd800 && v <= 0xdbff)
    {
      unsigned low;
      if (c->len - c->pos < 2 || c->text[c->pos] != '\\' || c->text[c->pos + 1] != 'u')
        return fail (c, "a string contains a lone high surrogate");
      c->pos += 2;
      if (!read_hex4 (c, &low))
        return false;
      if (low < 0xdc00 || low > 0xdfff)
        return fail (c, "a string contains a lone high surrogate");
    }
  return true;
}

static bool
check_string (checker *c)
{
  c->pos++; /* opening quote */
  while (c->pos < c->len)
    {
      unsigned char ch = (unsigned char) c->text[c->pos++];
      if (ch == '"')
        return true;
      if (ch < 0x20)
        return fail (c, "a control character inside a string");
      if (ch == '\\' && !check_escape (c))
        return false;
    }
  return fail (c, "unterminated string");
}

static bool
is_digit (checker *c)
{
  return c->pos < c->len && c->text[c->pos] >= '0' && c->text[c->pos] <= '9';
}

static bool
check_number (checker *c)
{
  bool negative = false;
  bool integer = true;
  bool overflow = false;
  uint64_t magnitude = 0;
  if (c->text[c->pos] == '-')
    {
      negative = true;
      c->pos++;
    }
  if (!is_digit (c))
    return fail (c, "invalid number");
  if (c->text[c->pos] == '0')
    {
      c->pos++;
      if (is_digit (c))
        return fail (c, "a number with a leading zero");
    }
  else
    while (is_digit (c))
      {
        unsigned d = (unsigned) (c->text[c->pos++] - '0');
        if (magnitude > (UINT64_MAX - d) / 10)
          overflow = true;
        else
          magnitude = magnitude * 10 + d;
      }
  if (c->pos < c->len && c->text[c->pos] == '.')
    {
      integer = false;
      c->pos++;
      if (!is_digit (c))
        return fail (c, "invalid number");
      while (is_digit (c))
        c->pos++;
    }
  if (c->pos < c->len && (c->text[c->pos] == 'e' || c->text[c->pos] == 'E'))
    {
      integer = false;
      c->pos++;
      if (c->pos < c->len && (c->text[c->pos] == '+' || c->text[c->pos] == '-'))
        c->pos++;
      if (!is_digit (c))
        return fail (c, "invalid number");
      while (is_digit (c))
        c->pos++;
    }
  /* json-glib would wrap these silently */
  if (integer && (overflow || magnitude > (negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX)))
    return fail (c, "an integer that does not fit in 64 bits");
  return true;
}

static bool
check_literal (checker *c, const char *word)
{
  size_t n = strlen (word);
  if (c->len - c->pos < n || memcmp (c->text + c->pos, word, n) != 0)
    return fail (c, "unexpected character");
  c->pos += n;
  return true;
}

static bool check_value (checker *c, int depth);

static bool
check_container (checker *c, int depth, bool object)
{
  char close = object ? '}' : ']';
  if (depth >= c->max_depth)
    return fail (c, "nesting too deep");
  c->pos++;
  skip_space (c);
  if (c->pos < c->len && c->text[c->pos] == close)
    {
      c->pos++;
      return true;
    }
  for (;;)
    {
      if (object)
        {
          if (c->pos >= c->len || c->text[c->pos] != '"')
            return fail (c, "expected a string key");
          if (!check_string (c))
            return false;
          skip_space (c);
          if (c->pos >= c->len || c->text[c->pos] != ':')
            return fail (c, "expected ':' after a key");
          c->pos++;
        }
      if (!check_value (c, depth + 1))
        return false;
      skip_space (c);
      if (c->pos >= c->len)
        return fail (c, object ? "unterminated object" : "unterminated array");
      if (c->text[c->pos] == close)
        {
          c->pos++;
          return true;
        }
      if (c->text[c->pos] != ',')
        return fail (c, object ? "expected ',' or '}'" : "expected ',' or ']'");
      c->pos++;
      skip_space (c);
    }
}

static bool
check_value (checker *c, int depth)
{
  skip_space (c);
  if (c->pos >= c->len)
    return fail (c, "unexpected end of text");
  switch (c->text[c->pos])
    {
    case '{':
      return check_container (c, depth, true);
    case '[':
      return check_container (c, depth, false);
    case '"':
      return check_string (c);
    case 't':
      return check_literal (c, "true");
    case 'f':
      return check_literal (c, "false");
    case 'n':
      return check_literal (c, "null");
    default:
      if (c->text[c->pos] == '-' || is_digit (c))
        return check_number (c);
      return fail (c, "unexpected character");
    }
}

bool
td_json_check (const char *text, size_t len, int max_depth, char *why, size_t why_size, size_t *where)
{
  checker c = { .text = text, .len = len, .max_depth = max_depth };
  bool ok = check_value (&c, 0);
  if (ok)
    {
      skip_space (&c);
      if (c.pos != len)
        ok = fail (&c, "text after the JSON value");
    }
  if (!ok)
    {
      if (why != NULL && why_size > 0)
        snprintf (why, why_size, "%s", c.why);
      if (where != NULL)
        *where = c.pos;
    }
  return ok;
}

/* Remembers the member names of every object json-glib builds, to find the
 * duplicates it would otherwise merge silently. */
typedef struct duplicate_finder {
  GHashTable *objects; /* JsonObject* → GHashTable set of names */
  char *duplicate;
} duplicate_finder;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer data)
{
  duplicate_finder *f = data;
  if (f->duplicate != NULL)
    return; /* after a duplicate json-glib frees replaced nodes, so stop tracking */
  GHashTable *names = g_hash_table_lookup (f->objects, object);
  if (names == NULL)
    {
      names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (f->objects, object, names);
    }
  if (!g_hash_table_add (names, g_strdup (name)))
    f->duplicate = g_strdup (name);
}

JsonParser *
td_json_parse_strict (const char *text, size_t len, const char *path, const char *what, td_error *err)
{
  const char *bad_utf8 = NULL;
  if (!g_utf8_validate_len (text, len, &bad_utf8))
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: the %s is not valid UTF-8 (byte %zu)", path, what,
                    (size_t) (bad_utf8 - text));
      return NULL;
    }
  char why[96];
  size_t where = 0;
  if (!td_json_check (text, len, TD_JSON_MAX_DEPTH, why, sizeof why, &where))
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: the %s is not valid JSON: %s at byte %zu", path, what, why, where);
      return NULL;
    }

  JsonParser *parser = json_parser_new_immutable ();
  duplicate_finder finder = {
    .objects = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) g_hash_table_unref),
  };
  gulong handler = g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &finder);
  GError *error = NULL;
  gboolean loaded = json_parser_load_from_data (parser, text, (gssize) len, &error);
  g_signal_handler_disconnect (parser, handler);
  g_hash_table_unref (finder.objects);

  if (!loaded)
    td_error_set (err, TD_ERR_FORMAT, "%s: the %s is not valid JSON: %s", path, what, error->message);
  else if (finder.duplicate != NULL)
    td_error_set (err, TD_ERR_FORMAT, "%s: the %s has the key '%s' twice", path, what, finder.duplicate);
  else if (json_parser_get_root (parser) == NULL)
    td_error_set (err, TD_ERR_FORMAT, "%s: the %s is empty", path, what);
  g_clear_error (&error);
  bool ok = loaded && finder.duplicate == NULL && json_parser_get_root (parser) != NULL;
  g_free (finder.duplicate);
  if (!ok)
    g_clear_object (&parser);
  return parser;
}

bool
td_json_node_is_int (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}
