/* pretokenize.c — pre-tokenizers (regex split, byte-level, Metaspace, whitespace split) and
 * the byte-level alphabet. Regexes run on GRegex (PCRE2: \p{L}, look-ahead, Unicode \s). */
#include "text/tokenizer_private.h"

#include <string.h>

static const char gpt2_pattern[] =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

GRegex *
td_pre_compile_regex (const char *where, const char *pattern, td_error *err)
{
  g_autoptr (GError) gerr = NULL;
  GRegex *re = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, &gerr);
  if (re == NULL)
    td_error_set (err, TD_ERR_UNSUPPORTED, "%s: regex '%.80s' does not compile: %s", where, pattern,
                  gerr->message);
  return re;
}

GRegex *
td_pre_gpt2_regex (td_error *err)
{
  return td_pre_compile_regex ("byte-level pre-tokenizer", gpt2_pattern, err);
}

/* ---- the GPT-2 byte alphabet ---- */

static gunichar byte_to_char[256];
static uint8_t char_to_byte[324]; /* every mapped code point is below 324 */

static void
init_byte_alphabet (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      unsigned extra = 0;
      for (unsigned b = 0; b < 256; b++)
        {
          bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
          byte_to_char[b] = printable ? b : 256 + extra++;
          char_to_byte[byte_to_char[b]] = b;
        }
      g_once_init_leave (&done, 1);
    }
}

void
td_byte_level_encode (const char *bytes, size_t len, GString *out)
{
  init_byte_alphabet ();
  for (size_t i = 0; i < len; i++)
    g_string_append_unichar (out, byte_to_char[(uint8_t) bytes[i]]);
}

void
td_byte_level_decode (const char *token, size_t len, GString *out)
{
  init_byte_alphabet ();
  const char *p = token, *end = token + len;
  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_c (out, *p++);
          continue;
        }
      const char *next = g_utf8_next_char (p);
      if (c < G_N_ELEMENTS (char_to_byte) && byte_to_char[char_to_byte[c]] == c)
        g_string_append_c (out, (char) char_to_byte[c]);
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
}

/* ---- splitting ---- */

typedef struct span {
  size_t start, end;
  bool delimiter;
} span;

/* Spans of WORD: the regex matches (delimiters, unless INVERT) and the text between them. */
static GArray *
regex_spans (const GRegex *re, const char *word, bool invert)
{
  GArray *spans = g_array_new (FALSE, FALSE, sizeof (span));
  g_autoptr (GMatchInfo) info = NULL;
  size_t len = strlen (word), last = 0;
  g_regex_match_full (re, word, len, 0, 0, &info, NULL);
  while (g_match_info_matches (info))
    {
      int s, e;
      g_match_info_fetch_pos (info, 0, &s, &e);
      if (e > s)
        {
          if ((size_t) s > last)
            g_array_append_val (spans, ((span) { last, s, invert }));
          g_array_append_val (spans, ((span) { s, e, !invert }));
          last = e;
        }
      g_match_info_next (info, NULL);
    }
  if (last < len)
    g_array_append_val (spans, ((span) { last, len, invert }));
  return spans;
}

static void
push_piece (GPtrArray *out, const char *s, size_t len)
{
  if (len > 0)
    g_ptr_array_add (out, g_strndup (s, len));
}

/* Applies a split BEHAVIOR to the spans of WORD (as tokenizers' SplitDelimiterBehavior),
 * appending the pieces to OUT. */
static void
split_spans (const char *word, GArray *spans, td_split_behavior behavior, GPtrArray *out)
{
  GArray *pieces = g_array_new (FALSE, FALSE, sizeof (span));
  guint n = spans->len;
  if (behavior == TD_SPLIT_MERGED_WITH_NEXT)
    {
      /* Walk backwards: a delimiter joins the span after it unless that is a delimiter. */
      bool next_delim = false;
      for (guint k = n; k-- > 0;)
        {
          span sp = g_array_index (spans, span, k);
          if (sp.delimiter && !next_delim && pieces->len > 0)
            g_array_index (pieces, span, pieces->len - 1).start = sp.start;
          else
            g_array_append_val (pieces, sp);
          next_delim = sp.delimiter;
        }
      for (guint k = pieces->len; k-- > 0;)
        {
          span sp = g_array_index (pieces, span, k);
          push_piece (out, word + sp.start, sp.end - sp.start);
        }
      g_array_unref (pieces);
      return;
    }
  bool prev_delim = false;
  for (guint k = 0; k < n; k++)
    {
      span sp = g_array_index (spans, span, k);
      span *last = pieces->len > 0 ? &g_array_index (pieces, span, pieces->len - 1) : NULL;
      switch (behavior)
        {
        case TD_SPLIT_REMOVED:
          if (!sp.delimiter)
            g_array_append_val (pieces, sp);
          break;
        case TD_SPLIT_MERGED_WITH_PREVIOUS:
          if (sp.delimiter && !prev_delim && last != NULL)
            last->end = sp.end;
          else
            g_array_append_val (pieces, sp);
          break;
        case TD_SPLIT_CONTIGUOUS:
          if (sp.delimiter && prev_delim && last != NULL)
            last->end = sp.end;
          else
            g_array_append_val (pieces, sp);
          break;
        case TD_SPLIT_ISOLATED:
        case TD_SPLIT_MERGED_WITH_NEXT:
          g_array_append_val (pieces, sp);
          break;
        }
      prev_delim = sp.delimiter;
    }
  for (guint k = 0; k < pieces->len; k++)
    {
      span sp = g_array_index (pieces, span, k);
      push_piece (out, word + sp.start, sp.end - sp.start);
    }
  g_array_unref (pieces);
}

static void
split_on_literal (const char *word, const char *delim, td_split_behavior behavior, GPtrArray *out)
{
  GArray *spans = g_array_new (FALSE, FALSE, sizeof (span));
  size_t dlen = strlen (delim), last = 0, len = strlen (word);
  for (const char *p = strstr (word, delim); p != NULL; p = strstr (p + dlen, delim))
    {
      size_t s = p - word;
      if (s > last)
        g_array_append_val (spans, ((span) { last, s, false }));
      g_array_append_val (spans, ((span) { s, s + dlen, true }));
      last = s + dlen;
    }
  if (last < len)
    g_array_append_val (spans, ((span) { last, len, false }));
  split_spans (word, spans, behavior, out);
  g_array_unref (spans);
}

static void
split_whitespace (const char *word, GPtrArray *out)
{
  const char *p = word, *start = NULL;
  for (; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      bool space = g_unichar_isspace (c) || c == 0x85;
      if (space && start != NULL)
        push_piece (out, start, p - start), start = NULL;
      else if (!space && start == NULL)
        start = p;
    }
  if (start != NULL)
    push_piece (out, start, p - start);
}

/* Metaspace: spaces become the replacement, which is then prepended when missing. */
static char *
metaspace_word (const td_pre_step *step, const char *word, bool prepend)
{
  GString *s = g_string_sized_new (strlen (word) + 8);
  for (const char *p = word; *p; p++)
    if (*p == ' ')
      g_string_append (s, step->replacement);
    else
      g_string_append_c (s, *p);
  if (prepend && s->len > 0 && !g_str_has_prefix (s->str, step->replacement))
    g_string_prepend (s, step->replacement);
  return g_string_free (s, FALSE);
}

td_status
td_pre_apply (const td_pre_step *step, GPtrArray **words, bool first_segment, td_error *err)
{
  GPtrArray *in = *words;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < in->len; i++)
    {
      const char *word = in->pdata[i];
      switch (step->kind)
        {
        case TD_PRE_SPLIT:
          {
            GArray *spans = regex_spans (step->regex, word, step->invert);
            split_spans (word, spans, step->behavior, out);
            g_array_unref (spans);
            break;
          }
        case TD_PRE_BYTE_LEVEL:
          {
            g_autofree char *prefixed = step->add_prefix_space && word[0] != ' '
                                          ? g_strconcat (" ", word, NULL) : g_strdup (word);
            GPtrArray *parts = g_ptr_array_new_with_free_func (g_free);
            if (step->regex != NULL)
              {
                GArray *spans = regex_spans (step->regex, prefixed, false);
                split_spans (prefixed, spans, TD_SPLIT_ISOLATED, parts);
                g_array_unref (spans);
              }
            else
              push_piece (parts, prefixed, strlen (prefixed));
            for (guint j = 0; j < parts->len; j++)
              {
                GString *mapped = g_string_new (NULL);
                const char *part = parts->pdata[j];
                td_byte_level_encode (part, strlen (part), mapped);
                g_ptr_array_add (out, g_string_free (mapped, FALSE));
              }
            g_ptr_array_unref (parts);
            break;
          }
        case TD_PRE_METASPACE:
          {
            bool prepend = step->prepend_scheme == TD_PREPEND_ALWAYS
                           || (step->prepend_scheme == TD_PREPEND_FIRST && first_segment && i == 0);
            g_autofree char *replaced = metaspace_word (step, word, prepend);
            if (step->split)
              split_on_literal (replaced, step->replacement, TD_SPLIT_MERGED_WITH_NEXT, out);
            else
              push_piece (out, replaced, strlen (replaced));
            break;
          }
        case TD_PRE_WHITESPACE_SPLIT:
          split_whitespace (word, out);
          break;
        }
    }
  g_ptr_array_unref (in);
  *words = out;
  return TD_OK;
}

void
td_pre_step_clear (td_pre_step *step)
{
  if (step->regex != NULL)
    g_regex_unref (step->regex);
  memset (step, 0, sizeof *step);
}
