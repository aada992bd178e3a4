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

/* Builds json-glib nodes from text that td_json_check accepted, so the
 * builder can trust the syntax and the depth. Faster than json-glib's own
 * scanner, and it sees every duplicate key before json-glib could merge it. */
typedef struct builder {
  const char *text;
  size_t pos;
  char *duplicate;
} builder;

static void
build_skip_space (builder *b)
{
  while (b->text[b->pos] == ' ' || b->text[b->pos] == '\t' || b->text[b->pos] == '\n' || b->text[b->pos] == '\r')
    b->pos++;
}

static unsigned
build_hex4 (builder *b)
{
  unsigned v = 0;
  for (int i = 0; i < 4; i++)
    v = v * 16 + (unsigned) hex_value (b->text[b->pos++]);
  return v;
}

/* Appends the unescaped string at b->pos (on its opening quote) to out. */
static void
build_string (builder *b, GString *out)
{
  g_string_truncate (out, 0);
  b->pos++;
  for (;;)
    {
      size_t run = b->pos + strcspn (b->text + b->pos, "\"\\");
      g_string_append_len (out, b->text + b->pos, (gssize) (run - b->pos));
      b->pos = run + 1;
      if (b->text[run] == '"')
        return;
      char ch = b->text[b->pos++];
      switch (ch)
        {
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          {
            gunichar code = build_hex4 (b);
            if (code >= 0xd800 && code <= 0xdbff)
              {
                b->pos += 2; /* the checker saw "\u" and a low surrogate follow */
                gunichar low = build_hex4 (b);
                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
              }
            g_string_append_unichar (out, code);
            break;
          }
        default: g_string_append_c (out, ch); break; /* " \ / */
        }
    }
}

static JsonNode *
build_number (builder *b)
{
  size_t start = b->pos;
  bool integer = true;
  while (strchr ("+-0123456789.eE", b->text[b->pos]) != NULL && b->text[b->pos] != '\0')
    {
      if (b->text[b->pos] == '.' || b->text[b->pos] == 'e' || b->text[b->pos] == 'E')
        integer = false;
      b->pos++;
    }
  char digits[64];
  size_t n = b->pos - start;
  g_autofree char *long_digits = n < sizeof digits ? NULL : g_strndup (b->text + start, n);
  char *copy = long_digits != NULL ? long_digits : digits;
  if (long_digits == NULL)
    {
      memcpy (digits, b->text + start, n);
      digits[n] = '\0';
    }
  JsonNode *node = json_node_alloc ();
  if (integer)
    json_node_init_int (node, g_ascii_strtoll (copy, NULL, 10));
  else
    json_node_init_double (node, g_ascii_strtod (copy, NULL));
  return node;
}

static JsonNode *build_value (builder *b, GString *scratch);

static JsonNode *
build_object (builder *b, GString *scratch)
{
  JsonObject *object = json_object_new ();
  g_autoptr (GString) key = g_string_new (NULL);
  b->pos++;
  build_skip_space (b);
  while (b->text[b->pos] != '}')
    {
      build_string (b, key);
      if (json_object_has_member (object, key->str))
        {
          json_object_unref (object);
          b->duplicate = g_strndup (key->str, key->len);
          return NULL;
        }
      build_skip_space (b);
      b->pos++; /* ':' */
      JsonNode *value = build_value (b, scratch);
      if (value == NULL)
        {
          json_object_unref (object);
          return NULL;
        }
      json_object_set_member (object, key->str, value);
      build_skip_space (b);
      if (b->text[b->pos] == ',')
        {
          b->pos++;
          build_skip_space (b);
        }
    }
  b->pos++;
  JsonNode *node = json_node_alloc ();
  json_node_init_object (node, object);
  json_object_unref (object);
  return node;
}

static JsonNode *
build_array (builder *b, GString *scratch)
{
  JsonArray *array = json_array_new ();
  b->pos++;
  build_skip_space (b);
  while (b->text[b->pos] != ']')
    {
      JsonNode *value = build_value (b, scratch);
      if (value == NULL)
        {
          json_array_unref (array);
          return NULL;
        }
      json_array_add_element (array, value);
      build_skip_space (b);
      if (b->text[b->pos] == ',')
        {
          b->pos++;
          build_skip_space (b);
        }
    }
  b->pos++;
  JsonNode *node = json_node_alloc ();
  json_node_init_array (node, array);
  json_array_unref (array);
  return node;
}

static JsonNode *
build_value (builder *b, GString *scratch)
{
  build_skip_space (b);
  JsonNode *node;
  switch (b->text[b->pos])
    {
    case '{':
      return build_object (b, scratch);
    case '[':
      return build_array (b, scratch);
    case '"':
      build_string (b, scratch);
      node = json_node_alloc ();
      json_node_init_string (node, scratch->str);
      return node;
    case 't':
    case 'f':
      node = json_node_alloc ();
      json_node_init_boolean (node, b->text[b->pos] == 't');
      b->pos += b->text[b->pos] == 't' ? 4 : 5;
      return node;
    case 'n':
      b->pos += 4;
      return json_node_init_null (json_node_alloc ());
    default:
      return build_number (b);
    }
}

JsonNode *
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
  /* The builder reads up to a terminator, and the checked text may not have one. */
  g_autofree char *copy = g_strndup (text, len);
  builder b = { .text = copy };
  g_autoptr (GString) scratch = g_string_new (NULL);
  JsonNode *root = build_value (&b, scratch);
  if (root == NULL)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: the %s has the key '%s' twice", path, what,
                    b.duplicate != NULL ? b.duplicate : "?");
      g_free (b.duplicate);
    }
  return root;
}

bool
td_json_node_is_int (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}
