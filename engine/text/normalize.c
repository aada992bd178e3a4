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
static char *
sentencepiece_normalize (const td_norm_step *step, const char *text)
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

td_status
td_norm_apply (const td_norm_step *step, char **text, td_error *err)
{
  char *result = NULL;
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
      result = g_regex_replace_literal (step->regex, *text, -1, 0, step->content, 0, NULL);
      break;
    case TD_NORM_PREPEND:
      result = **text ? g_strconcat (step->content, *text, NULL) : g_strdup (*text);
      break;
    case TD_NORM_PRECOMPILED:
      {
        GString *out = g_string_sized_new (strlen (*text) + 8);
        td_charsmap_normalize_hf (step->charsmap, *text, strlen (*text), out);
        result = g_string_free (out, FALSE);
        break;
      }
    case TD_NORM_SENTENCEPIECE:
      result = sentencepiece_normalize (step, *text);
      break;
    }
  if (result == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "normalising the text failed (invalid UTF-8?)");
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
