#include "cli_text.h"

#include <glib.h>
#include <string.h>

char *
td_cli_escape (const char *text)
{
  if (text == NULL)
    return g_strdup ("(null)");
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;
  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (unsigned char) *p);
          p++;
          continue;
        }
      const char *next = g_utf8_next_char (p);
      if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x80 ? (c < 0x20 || c == 0x7f) : !g_unichar_isprint (c))
        g_string_append_printf (out, c < 0x80 ? "\\x%02x" : "\\u{%04x}", (unsigned) c);
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}
