#include "net/manifest.h"

#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "io/file_read.h"
#include "io/json_strict.h"
#include "net/hub_listing.h"
#include "net/repo_path.h"
#include "io/json_write.h"

#define MANIFEST_FORMAT "thinkdiff-models/1"

void
td_manifest_clear (td_manifest *manifest)
{
  g_free (manifest->component);
  g_free (manifest->repo);
  g_free (manifest->revision);
  g_free (manifest->commit);
  td_hub_listing_clear (&manifest->files);
  memset (manifest, 0, sizeof *manifest);
}

static const char *
string_member (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

td_status
td_manifest_parse (td_manifest *m, const char *json, size_t len, const char *what, td_error *err)
{
  memset (m, 0, sizeof *m);
  if (len > TD_MANIFEST_MAX_BYTES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: manifest is too large", what);
  if (td_json_has_nul (json, len))
    return td_error_set (err, TD_ERR_FORMAT, "%s: NUL character in JSON", what);
  g_autoptr (JsonNode) root = td_json_parse_strict (json, len, what, "manifest", err);
  if (root == NULL)
    return err != NULL ? err->status : TD_ERR_FORMAT;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return td_error_set (err, TD_ERR_FORMAT, "%s: expected a JSON object", what);
  JsonObject *obj = json_node_get_object (root);
  const char *format = string_member (obj, "format");
  if (format == NULL || strcmp (format, MANIFEST_FORMAT) != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a %s manifest", what, MANIFEST_FORMAT);
  const char *component = string_member (obj, "component");
  const char *repo = string_member (obj, "repo");
  const char *revision = string_member (obj, "revision");
  const char *commit = string_member (obj, "commit");
  if (component == NULL || !td_repo_path_is_safe (component) || strchr (component, '/') != NULL
      || !td_repo_id_is_valid (repo) || !td_repo_revision_is_valid (revision)
      || (commit != NULL && !td_is_hex_digest (commit, 40)))
    return td_error_set (err, TD_ERR_FORMAT, "%s: component, repo, revision or commit invalid",
                         what);
  m->component = g_strdup (component);
  m->repo = g_strdup (repo);
  m->revision = g_strdup (revision);
  m->commit = g_strdup (commit);
  td_status st = td_hub_listing_add_entries (&m->files, json_object_get_member (obj, "files"),
                                             what, err);
  if (st != TD_OK)
    td_manifest_clear (m);
  return st;
}

td_status
td_manifest_load (td_manifest *m, const char *path, td_error *err)
{
  memset (m, 0, sizeof *m);
  g_autofree char *data = NULL;
  size_t len = 0;
  td_status st = td_file_read_bounded (path, "manifest", TD_MANIFEST_MAX_BYTES, &data, &len, err);
  if (st != TD_OK)
    return st;
  return td_manifest_parse (m, data, len, path, err);
}

td_status
td_manifest_save (const td_manifest *m, const char *path, td_error *err)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, MANIFEST_FORMAT);
  json_builder_set_member_name (b, "component");
  json_builder_add_string_value (b, m->component);
  json_builder_set_member_name (b, "repo");
  json_builder_add_string_value (b, m->repo);
  json_builder_set_member_name (b, "revision");
  json_builder_add_string_value (b, m->revision);
  json_builder_set_member_name (b, "commit");
  if (m->commit != NULL)
    json_builder_add_string_value (b, m->commit);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (size_t i = 0; i < m->files.n_files; i++)
    {
      const td_hub_file *f = &m->files.files[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, f->path);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) f->size);
      if (f->sha256[0] != '\0')
        {
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, f->sha256);
        }
      if (f->git_sha1[0] != '\0')
        {
          json_builder_set_member_name (b, "oid");
          json_builder_add_string_value (b, f->git_sha1);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  size_t len = 0;
  g_autofree char *text = td_json_write (root, true, &len);
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents_full (path, text, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &error))
    return td_error_set (err, TD_ERR_IO, "%s: cannot write manifest: %s", path, error->message);
  return TD_OK;
}
