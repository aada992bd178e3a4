/* json_strict.h — parse JSON from untrusted files into json-glib nodes, strictly.
 *
 * json-glib alone is too forgiving for files from the internet: it accepts
 * comments and single quotes, wraps integers beyond 64 bits silently, keeps
 * only the last of duplicate keys, truncates keys at "\u0000", and recurses
 * without a depth limit (a deeply nested file overflows the stack). Every JSON
 * document the engine reads goes through td_json_parse_strict: it checks the
 * text against RFC 8259 first, then builds the tree itself and reports
 * duplicate keys.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-glib/json-glib.h>

#include "thinkdiff.h"

/* Deep enough for every checkpoint, index or config file we read. */
#define TD_JSON_MAX_DEPTH 64

/* Checks that text[0..len) is exactly one RFC 8259 JSON value (surrounded by
 * optional whitespace), nested at most max_depth deep, whose integers (numbers
 * without fraction or exponent) fit in int64 and whose strings contain no NUL.
 * It does not check UTF-8. On failure returns false and writes a short reason
 * and the byte offset where it was found. */
bool td_json_check (const char *text, size_t len, int max_depth,
                    char *why, size_t why_size, size_t *where);

/* UTF-8 check, td_json_check, then the tree with duplicate keys rejected at
 * every level. `path` names the file in messages and `what` the part of it
 * ("header", "index"). Returns the root node (json_node_unref it), or NULL
 * with err set to TD_ERR_FORMAT. */
JsonNode *td_json_parse_strict (const char *text, size_t len, const char *path, const char *what,
                                  td_error *err);

/* True when node is an integer (not a double, string or bool) JSON value. */
bool td_json_node_is_int (JsonNode *node);
