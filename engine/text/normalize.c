/* normalize.c — the normaliser steps of tokenizer files (Unicode forms via GLib). */
#include "text/tokenizer_private.h"

#include <string.h>

/* Rust's char::is_whitespace (the White_Space property). */
static bool
is_white_space (gunichar c)
{
  return g_unichar_isspace (c) || c == 0x85;
}

static char *
lowercase (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c == 0x130) /* İ has a two-character full lowercase mapping */
        g_string_append (out, "i\xcc\x87");
      else
        g_string_append_unichar (out, g_unichar_tolower (c));
    }
  return g_string_free (out, FALSE);
}

static char *
strip (const char *text, bool left, bool right)
{
  const char *start = text, *end = text + strlen (text);
  if (left)
    while (start < end && is_white_space (g_utf8_get_char (start)))
      start = g_utf8_next_char (start);
  if (right)
    while (end > start)
      {
        const char *prev = g_utf8_prev_char (end);
        if (!is_white_space (g_utf8_get_char (prev)))
          break;
        end = prev;
      }
  return g_strndup (start, end - start);
}

/* SentencePiece's Normalizer::Normalize with its default options. */
/* NULL once the output passes MAX_BYTES. */
static char *
sentencepiece_normalize (const td_norm_step *step, const char *text, size_t max_bytes)
{
  static const char space_symbol[] = "\xe2\x96\x81";
  size_t len = strlen (text);
  const char *p = text, *end = text + len;
  const char *repl;
  size_t repl_len;

  if (step->remove_extra_whitespaces)
    while (p < end)
      {
        size_t n = td_charsmap_normalize_prefix (step->charsmap, p, end - p, &repl, &repl_len);
        if (!(repl_len == 1 && repl[0] == ' '))
          break;
        p += n;
      }
  GString *out = g_string_sized_new (len + 8);
  if (p == end)
    return g_string_free (out, FALSE);
  if (step->add_dummy_prefix)
    g_string_append (out, step->escape_whitespaces ? space_symbol : " ");

  bool prev_space = step->remove_extra_whitespaces;
  while (p < end)
    {
      if (out->len > max_bytes)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      size_t n = td_charsmap_normalize_prefix (step->charsmap, p, end - p, &repl, &repl_len);
      p += n;
      while (prev_space && repl_len > 0 && repl[0] == ' ')
        repl++, repl_len--;
      if (repl_len == 0)
        continue;
      for (size_t i = 0; i < repl_len; i++)
        if (repl[i] == ' ' && step->escape_whitespaces)
          g_string_append (out, space_symbol);
        else
          g_string_append_c (out, repl[i]);
      prev_space = repl[repl_len - 1] == ' ';
    }
  if (step->remove_extra_whitespaces)
    {
      const char *sp = step->escape_whitespaces ? space_symbol : " ";
      size_t sp_len = strlen (sp);
      while (out->len >= sp_len && memcmp (out->str + out->len - sp_len, sp, sp_len) == 0)
        g_string_truncate (out, out->len - sp_len);
    }
  return g_string_free (out, FALSE);
}

/* REGEX's matches in TEXT replaced by CONTENT, or NULL once the result would pass MAX_BYTES. */
static char *
replace_bounded (const GRegex *regex, const char *text, const char *content, size_t max_bytes)
{
  size_t len = strlen (text), content_len = strlen (content), done = 0;
  GString *out = g_string_sized_new (MIN (len + 16, max_bytes + 1));
  GMatchInfo *match = NULL;
  bool fits = true;
  g_regex_match (regex, text, 0, &match);
  while (fits && g_match_info_matches (match))
    {
      int start, end;
      g_match_info_fetch_pos (match, 0, &start, &end);
      fits = out->len + ((size_t) start - done) + content_len <= max_bytes;
      if (fits)
        {
          g_string_append_len (out, text + done, start - done);
          g_string_append_len (out, content, content_len);
          done = end;
          g_match_info_next (match, NULL);
        }
    }
  g_match_info_free (match);
  fits = fits && out->len + (len - done) <= max_bytes;
  if (!fits)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  g_string_append_len (out, text + done, len - done);
  return g_string_free (out, FALSE);
}

td_status
td_norm_apply (const td_norm_step *step, char **text, size_t max_bytes, td_error *err)
{
  char *result = NULL;
  if (step->kind == TD_NORM_REPLACE)
    {
      result = replace_bounded (step->regex, *text, step->content, max_bytes);
      if (result == NULL)
        return td_error_set (err, TD_ERR_LIMIT, "normalising the text: a Replace step grows it beyond %zu bytes",
                             max_bytes);
    }
  switch (step->kind)
    {
    case TD_NORM_NFC:
      result = g_utf8_normalize (*text, -1, G_NORMALIZE_NFC);
      break;
    case TD_NORM_NFKC:
      result = g_utf8_normalize (*text, -1, G_NORMALIZE_NFKC);
      break;
    case TD_NORM_NFD:
      result = g_utf8_normalize (*text, -1, G_NORMALIZE_NFD);
      break;
    case TD_NORM_NFKD:
      result = g_utf8_normalize (*text, -1, G_NORMALIZE_NFKD);
      break;
    case TD_NORM_LOWERCASE:
      result = lowercase (*text);
      break;
    case TD_NORM_STRIP:
      result = strip (*text, step->strip_left, step->strip_right);
      break;
    case TD_NORM_REPLACE:
      break; /* above */
    case TD_NORM_PREPEND:
      result = **text ? g_strconcat (step->content, *text, NULL) : g_strdup (*text);
      break;
    case TD_NORM_PRECOMPILED:
      {
        GString *out = g_string_sized_new (strlen (*text) + 8);
        if (!td_charsmap_normalize_hf (step->charsmap, *text, strlen (*text), max_bytes, out))
          {
            g_string_free (out, TRUE);
            return td_error_set (err, TD_ERR_LIMIT, "normalising the text grows it beyond %zu bytes", max_bytes);
          }
        result = g_string_free (out, FALSE);
        break;
      }
    case TD_NORM_SENTENCEPIECE:
      result = sentencepiece_normalize (step, *text, max_bytes);
      if (result == NULL)
        return td_error_set (err, TD_ERR_LIMIT, "normalising the text grows it beyond %zu bytes", max_bytes);
      break;
    }
  if (result == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "normalising the text failed (invalid UTF-8?)");
  if (strlen (result) > max_bytes)
    {
      g_free (result);
      return td_error_set (err, TD_ERR_LIMIT, "normalising the text grows it beyond %zu bytes", max_bytes);
    }
  g_free (*text);
  *text = result;
  return TD_OK;
}

void
td_norm_step_clear (td_norm_step *step)
{
  if (step->regex != NULL)
    g_regex_unref (step->regex);
  g_free (step->content);
  td_charsmap_free (step->charsmap);
  memset (step, 0, sizeof *step);
}
