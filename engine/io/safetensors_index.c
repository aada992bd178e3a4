/* safetensors_index.c — sharded checkpoints (`*.safetensors.index.json`) and model folders. */
#include "io/safetensors_private.h"
#include "io/file_read.h"
#include "io/json_strict.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* The most shards one index may name; real ones have a handful. */
#define MAX_SHARDS 4096

/* A shard must be a plain file name next to the index: no folders, no "..". */
static bool
is_plain_file_name (const char *name)
{
  return name[0] != '\0' && strcmp (name, ".") != 0 && strcmp (name, "..") != 0
         && strchr (name, '/') == NULL && strchr (name, '\\') == NULL && strlen (name) <= 255;
}

static td_status
read_index_text (const char *path, char **text, size_t *len, td_error *err)
{
  return td_file_read_bounded (path, "index", TD_SAFETENSORS_MAX_HEADER, text, len, err);
}

/* Reads weight_map into name → shard file name (strings owned by the tree). */
static td_status
read_weight_map (const char *path, JsonNode *root, GHashTable *map, GPtrArray *shards, td_error *err)
{
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return td_error_set (err, TD_ERR_FORMAT, "%s: the index is JSON but not an object", path);
  JsonNode *weights = json_object_get_member (json_node_get_object (root), "weight_map");
  if (weights == NULL || !JSON_NODE_HOLDS_OBJECT (weights))
    return td_error_set (err, TD_ERR_FORMAT, "%s: the index has no weight_map object", path);

  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  json_object_iter_init (&iter, json_node_get_object (weights));
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return td_error_set (err, TD_ERR_FORMAT, "%s: weight_map entry '%s' is not a file name string", path, name);
      const char *file = json_node_get_string (node);
      if (!is_plain_file_name (file))
        return td_error_set (err, TD_ERR_FORMAT, "%s: weight_map entry '%s' names '%.255s', which is not a plain"
                             " file name in the index's folder", path, name, file);
      g_hash_table_insert (map, (gpointer) name, (gpointer) file);
      bool seen = false;
      for (guint i = 0; i < shards->len && !seen; i++)
        seen = strcmp (g_ptr_array_index (shards, i), file) == 0;
      if (!seen && shards->len >= MAX_SHARDS)
        return td_error_set (err, TD_ERR_LIMIT, "%s: the index names more than %d shards", path, MAX_SHARDS);
      if (!seen)
        g_ptr_array_add (shards, (gpointer) file);
    }
  if (shards->len == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the index's weight_map is empty", path);
  return TD_OK;
}

static int
compare_string_ptr (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Every entry of the weight map must be in the shard it names; entries of
 * absent shards are recorded as absent instead. */
static td_status
check_weight_map (td_safetensors *st, GHashTable *map, GHashTable *missing_shards, td_error *err)
{
  GHashTableIter iter;
  gpointer name, file;
  g_hash_table_iter_init (&iter, map);
  while (g_hash_table_iter_next (&iter, &name, &file))
    {
      if (g_hash_table_contains (missing_shards, file))
        {
          if (td_safetensors_find (st, name) != NULL)
            return td_error_set (err, TD_ERR_FORMAT, "%s: the index puts tensor '%s' in %s, which is absent, but"
                                 " another shard has it", st->path, (const char *) name, (const char *) file);
          g_hash_table_insert (st->absent, g_string_chunk_insert_const (st->strings, name),
                               g_string_chunk_insert_const (st->strings, file));
          continue;
        }
      const td_safetensors_info *info = td_safetensors_find (st, name);
      const char *base = info != NULL ? strrchr (info->file, '/') : NULL;
      base = base != NULL ? base + 1 : info != NULL ? info->file : NULL;
      if (info == NULL || strcmp (base, file) != 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: the index puts tensor '%s' in %s, but %s", st->path,
                             (const char *) name, (const char *) file,
                             info == NULL ? "no shard has it" : "it is in another shard");
    }
  return TD_OK;
}

/* Adds the shards that are in the folder; records the names of those that are
 * not. Fails when none is there. */
static td_status
add_present_shards (td_safetensors *st, const char *index_path, GPtrArray *shards, GHashTable *missing_shards,
                    td_error *err)
{
  g_autofree char *folder = g_path_get_dirname (index_path);
  td_status status = TD_OK;
  for (guint i = 0; i < shards->len && status == TD_OK; i++)
    {
      const char *shard = g_ptr_array_index (shards, i);
      g_autofree char *shard_path = g_build_filename (folder, shard, NULL);
      struct stat sb;
      if (lstat (shard_path, &sb) != 0 && errno == ENOENT)
        g_hash_table_add (missing_shards, (gpointer) shard);
      else
        status = st_add_file (st, shard_path, err);
    }
  if (status == TD_OK && g_hash_table_size (missing_shards) == shards->len)
    {
      g_autofree char *first = g_build_filename (folder, g_ptr_array_index (shards, 0), NULL);
      return td_error_set (err, TD_ERR_NOT_FOUND, "%s: none of the %u shards the index names is in the folder"
                           " (%s: No such file or directory)", index_path, shards->len, first);
    }
  return status;
}

td_safetensors *
td_safetensors_open_index (const char *index_path, td_error *err)
{
  char *text = NULL;
  size_t len = 0;
  if (read_index_text (index_path, &text, &len, err) != TD_OK)
    return NULL;
  JsonNode *root = td_json_parse_strict (text, len, index_path, "index", err);
  g_free (text);
  if (root == NULL)
    return NULL;

  GHashTable *map = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTable *missing_shards = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *shards = g_ptr_array_new ();
  td_safetensors *st = st_new (index_path);
  td_status status = read_weight_map (index_path, root, map, shards, err);
  if (status == TD_OK)
    {
      /* Open shards in name order so "the first shard's metadata" is well defined. */
      g_ptr_array_sort (shards, compare_string_ptr);
      status = add_present_shards (st, index_path, shards, missing_shards, err);
    }
  if (status == TD_OK)
    status = st_finish (st, err);
  if (status == TD_OK)
    status = check_weight_map (st, map, missing_shards, err);

  g_hash_table_unref (map);
  g_hash_table_unref (missing_shards);
  g_ptr_array_unref (shards);
  json_node_unref (root);
  if (status != TD_OK)
    {
      td_safetensors_close (st);
      return NULL;
    }
  return st;
}

td_safetensors *
td_safetensors_open_dir (const char *dir, td_error *err)
{
  static const char *const candidates[] = {
    "diffusion_pytorch_model.safetensors",
    "model.safetensors",
    "diffusion_pytorch_model.safetensors.index.json",
    "model.safetensors.index.json",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      char *path = g_build_filename (dir, candidates[i], NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_free (path);
          continue;
        }
      td_safetensors *st = g_str_has_suffix (path, ".index.json") ? td_safetensors_open_index (path, err)
                                                                  : td_safetensors_open (path, err);
      g_free (path);
      return st;
    }
  td_error_set (err, TD_ERR_NOT_FOUND, "%s: no diffusion_pytorch_model.safetensors or model.safetensors"
                " (or .index.json) in this folder", dir);
  return NULL;
}

td_safetensors *
td_safetensors_open_any (const char *path, td_error *err)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return td_safetensors_open_dir (path, err);
  if (g_str_has_suffix (path, ".index.json"))
    return td_safetensors_open_index (path, err);
  return td_safetensors_open (path, err);
}
