/* json_write.c — see json_write.h. */
#include "io/json_write.h"

#include <string.h>

char *
td_json_write (JsonNode *root, bool pretty, size_t *len)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, pretty);
  gsize raw_len = 0;
  g_autofree char *raw = json_generator_to_data (generator, &raw_len);
  /* Raw control bytes can only come from string contents: the generator's own
   * layout uses just spaces and newlines, and it escapes \n inside strings. So
   * any byte below 0x20 other than the layout's newline is one to escape. */
  GString *text = g_string_sized_new (raw_len + 16);
  for (gsize i = 0; i < raw_len; i++)
    {
      unsigned char c = (unsigned char) raw[i];
      if (c < 0x20 && c != '\n')
        g_string_append_printf (text, "\\u%04x", c);
      else
        g_string_append_c (text, (char) c);
    }
  if (len != NULL)
    *len = text->len;
  return g_string_free (text, FALSE);
}
