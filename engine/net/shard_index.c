#include "net/shard_index.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_strict.h"
#include "net/hub_listing.h"
#include "net/repo_path.h"

static bool
is_shard_name (const char *name)
{
  return td_repo_path_is_safe (name) && strchr (name, '/') == NULL
         && g_str_has_suffix (name, ".safetensors");
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

td_status
td_shard_index_select (const char *json, size_t len, const char *tensor_prefix, const char *what,
                       GPtrArray *shards, td_error *err)
{
  if (len > TD_SHARD_INDEX_MAX_BYTES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: index of %zu bytes is over the limit", what,
                         len);
  if (td_json_has_nul (json, len))
    return td_error_set (err, TD_ERR_FORMAT, "%s: NUL character in JSON", what);
  g_autoptr (JsonNode) root = td_json_parse_strict (json, len, what, "index", err);
  if (root == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return td_error_set (err, TD_ERR_FORMAT, "%s: expected a JSON object", what);
  JsonNode *map_node = json_object_get_member (json_node_get_object (root), "weight_map");
  if (map_node == NULL || !JSON_NODE_HOLDS_OBJECT (map_node))
    return td_error_set (err, TD_ERR_FORMAT, "%s: no \"weight_map\" object", what);
  JsonObject *map = json_node_get_object (map_node);
  if (json_object_get_size (map) > TD_SHARD_INDEX_MAX_TENSORS)
    return td_error_set (err, TD_ERR_LIMIT, "%s: too many tensors", what);

  g_autoptr (GHashTable) chosen = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObjectIter iter;
  const char *tensor;
  JsonNode *value;
  json_object_iter_init (&iter, map);
  while (json_object_iter_next (&iter, &tensor, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return td_error_set (err, TD_ERR_FORMAT, "%s: shard of a tensor is not a string", what);
      const char *shard = json_node_get_string (value);
      if (!is_shard_name (shard))
        return td_error_set (err, TD_ERR_FORMAT,
                             "%s: shard name is not a plain .safetensors file name", what);
      if (g_str_has_prefix (tensor, tensor_prefix))
        g_hash_table_add (chosen, (gpointer) shard);
    }
  if (g_hash_table_size (chosen) == 0)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor starts with '%s'", what,
                         tensor_prefix);
  GHashTableIter hi;
  gpointer key;
  g_hash_table_iter_init (&hi, chosen);
  guint first_new = shards->len;
  while (g_hash_table_iter_next (&hi, &key, NULL))
    {
      bool present = false;
      for (guint i = 0; i < first_new && !present; i++)
        present = strcmp (g_ptr_array_index (shards, i), key) == 0;
      if (!present)
        g_ptr_array_add (shards, g_strdup (key));
    }
  g_ptr_array_sort (shards, compare_strings);
  return TD_OK;
}
