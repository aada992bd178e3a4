/* libFuzzer target: arbitrary bytes through the strict JSON reader. An accepted
 * text passed the checker, has no duplicate key at any level, and survives a
 * round trip through json-glib's generator and the reader again unchanged
 * (when the generator can write it: it prints non-finite doubles as bare words). */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "io/json_strict.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  td_error err = { 0 };
  JsonNode *root = td_json_parse_strict (text, size, "fuzz.json", "document", &err);
  if (root == NULL)
    {
      g_assert_cmpint (err.status, ==, TD_ERR_FORMAT);
      g_assert_nonnull (strstr (err.message, "fuzz.json"));
      return 0;
    }
  g_assert_true (td_json_check (text, size, TD_JSON_MAX_DEPTH, NULL, 0, NULL));
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, root);
  gsize length = 0;
  g_autofree char *again_text = json_generator_to_data (generator, &length);
  if (td_json_check (again_text, length, TD_JSON_MAX_DEPTH, NULL, 0, NULL))
    {
      JsonNode *again = td_json_parse_strict (again_text, length, "again.json", "document", &err);
      g_assert_nonnull (again);
      g_assert_true (json_node_equal (root, again));
      json_node_unref (again);
    }
  json_node_unref (root);
  return 0;
}
