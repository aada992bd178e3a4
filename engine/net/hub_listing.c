#include "net/hub_listing.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_strict.h"
#include "net/repo_path.h"

#define LISTING_MAX_BYTES (64u << 20)

bool
td_is_hex_digest (const char *s, size_t n)
{
  if (s == NULL || strlen (s) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isxdigit (s[i]))
      return false;
  return true;
}

bool
td_json_has_nul (const char *json, size_t len)
{
  if (memchr (json, '\0', len) != NULL)
    return true;
  for (size_t i = 0; i + 6 <= len; i++)
    if (json[i] == '\\' && json[i + 1] == 'u' && memcmp (json + i + 2, "0000", 4) == 0)
      return true;
  return false;
}

const td_hub_file *
td_hub_listing_find (const td_hub_listing *listing, const char *path)
{
  if (listing->path_index == NULL)
    return NULL;
  gsize pos = GPOINTER_TO_SIZE (g_hash_table_lookup (listing->path_index, path));
  return pos == 0 ? NULL : &listing->files[pos - 1];
}

td_status
td_hub_listing_add (td_hub_listing *listing, const td_hub_file *file, const char *what,
                    td_error *err)
{
  if (listing->n_files >= TD_HUB_LISTING_MAX_FILES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: more than %d files", what,
                         TD_HUB_LISTING_MAX_FILES);
  if (td_hub_listing_find (listing, file->path) != NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: file '%s' is listed twice", what, file->path);
  if (listing->n_files == listing->capacity)
    {
      listing->capacity = listing->capacity ? listing->capacity * 2 : 16;
      listing->files = g_renew (td_hub_file, listing->files, listing->capacity);
    }
  td_hub_file *copy = &listing->files[listing->n_files++];
  *copy = *file;
  copy->path = g_strdup (file->path);
  if (listing->path_index == NULL)
    listing->path_index = g_hash_table_new (g_str_hash, g_str_equal);
  /* Keys point into the entries; positions survive the array growing. */
  g_hash_table_insert (listing->path_index, copy->path, GSIZE_TO_POINTER (listing->n_files));
  return TD_OK;
}

void
td_hub_listing_clear (td_hub_listing *listing)
{
  for (size_t i = 0; i < listing->n_files; i++)
    g_free (listing->files[i].path);
  g_free (listing->files);
  if (listing->path_index != NULL)
    g_hash_table_destroy (listing->path_index);
  memset (listing, 0, sizeof *listing);
}

/* Reads a non-negative integer member; JSON numbers that are not exact
 * integers in range are rejected. */
static bool
get_size_member (JsonObject *obj, const char *name, uint64_t *out)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return false;
  gint64 v = json_node_get_int (node);
  if (v < 0 || (uint64_t) v > TD_HUB_FILE_MAX_SIZE)
    return false;
  *out = (uint64_t) v;
  return true;
}

static const char *
get_string_member (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
copy_lower (char *dst, const char *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = g_ascii_tolower (src[i]);
  dst[n] = '\0';
}

static td_status
parse_lfs (JsonObject *entry, td_hub_file *file, const char *what, td_error *err)
{
  JsonNode *lfs_node = json_object_get_member (entry, "lfs");
  if (lfs_node == NULL || JSON_NODE_HOLDS_NULL (lfs_node))
    return TD_OK;
  if (!JSON_NODE_HOLDS_OBJECT (lfs_node))
    return td_error_set (err, TD_ERR_FORMAT, "%s: '%s': \"lfs\" is not an object", what,
                         file->path);
  JsonObject *lfs = json_node_get_object (lfs_node);
  const char *oid = get_string_member (lfs, "oid");
  if (oid == NULL)
    oid = get_string_member (lfs, "sha256");
  if (oid != NULL && g_str_has_prefix (oid, "sha256:"))
    oid += 7;
  if (!td_is_hex_digest (oid, 64))
    return td_error_set (err, TD_ERR_FORMAT, "%s: '%s': LFS oid is not a SHA-256", what,
                         file->path);
  uint64_t lfs_size;
  if (!get_size_member (lfs, "size", &lfs_size))
    return td_error_set (err, TD_ERR_FORMAT, "%s: '%s': LFS size missing or out of range",
                         what, file->path);
  if (lfs_size != file->size)
    return td_error_set (err, TD_ERR_FORMAT,
                         "%s: '%s': LFS size %" G_GUINT64_FORMAT " differs from size %"
                         G_GUINT64_FORMAT, what, file->path, lfs_size, file->size);
  copy_lower (file->sha256, oid, 64);
  return TD_OK;
}

static td_status
parse_entry (td_hub_listing *listing, JsonNode *node, size_t index, const char *what,
             td_error *err)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry %zu is not an object", what, index);
  JsonObject *entry = json_node_get_object (node);
  const char *type = get_string_member (entry, "type");
  if (type != NULL && (strcmp (type, "directory") == 0 || strcmp (type, "dir") == 0))
    return TD_OK;
  if (type != NULL && strcmp (type, "file") != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry %zu has unknown type", what, index);

  td_hub_file file = { 0 };
  const char *path = get_string_member (entry, "path");
  if (path == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry %zu has no \"path\"", what, index);
  if (!td_repo_path_is_safe (path))
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry %zu: unsafe path rejected", what, index);
  file.path = (char *) path;
  if (!get_size_member (entry, "size", &file.size))
    return td_error_set (err, TD_ERR_FORMAT, "%s: '%s': size missing or out of range", what,
                         path);
  const char *oid = get_string_member (entry, "oid");
  if (oid != NULL && td_is_hex_digest (oid, 40))
    copy_lower (file.git_sha1, oid, 40);
  else if (oid != NULL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: '%s': oid is not a git SHA-1", what, path);
  /* Manifests also carry "sha256" directly. */
  const char *sha = get_string_member (entry, "sha256");
  if (sha != NULL)
    {
      if (!td_is_hex_digest (sha, 64))
        return td_error_set (err, TD_ERR_FORMAT, "%s: '%s': sha256 is not 64 hex digits",
                             what, path);
      copy_lower (file.sha256, sha, 64);
    }
  td_status st = parse_lfs (entry, &file, what, err);
  if (st != TD_OK)
    return st;
  return td_hub_listing_add (listing, &file, what, err);
}

td_status
td_hub_listing_add_entries (td_hub_listing *listing, const void *json_array, const char *what,
                            td_error *err)
{
  JsonNode *root = (JsonNode *) json_array;
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return td_error_set (err, TD_ERR_FORMAT, "%s: expected a JSON array of files", what);
  JsonArray *array = json_node_get_array (root);
  guint n = json_array_get_length (array);
  if (n > TD_HUB_LISTING_MAX_FILES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: %u entries is over the limit", what, n);
  for (guint i = 0; i < n; i++)
    {
      td_status st = parse_entry (listing, json_array_get_element (array, i), i, what, err);
      if (st != TD_OK)
        return st;
    }
  return TD_OK;
}

td_status
td_hub_listing_parse_page (td_hub_listing *listing, const char *json, size_t len,
                           const char *what, td_error *err)
{
  if (len > LISTING_MAX_BYTES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: listing of %zu bytes is over the limit", what,
                         len);
  if (td_json_has_nul (json, len))
    return td_error_set (err, TD_ERR_FORMAT, "%s: NUL character in JSON", what);
  g_autoptr (JsonNode) root = td_json_parse_strict (json, len, what, "listing", err);
  if (root == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  return td_hub_listing_add_entries (listing, root, what, err);
}
