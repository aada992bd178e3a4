/* json_write.h — serialise json-glib trees into text our strict reader accepts.
 *
 * json-glib's generator writes U+001F raw inside strings (it escapes only the
 * control characters below it), and RFC 8259 forbids any raw control
 * character there, so td_json_parse_strict rightly refuses such output. Every
 * JSON file the engine writes goes through td_json_write instead.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-glib/json-glib.h>

/* Text of root (pretty-printed when asked), every control character inside a
 * string escaped as \u00XX. Free with g_free; *len (optional) gets its length. */
char *td_json_write (JsonNode *root, bool pretty, size_t *len);
