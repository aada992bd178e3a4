/* td-history-document.c — reading and writing the history's JSON documents.
 *
 * json-glib parses; the checks here make the reading strict: the document is
 * one object, "format" names it first (a foreign file says so), every member
 * is known and of its type, the required ones are there, numbers are in range.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "td-history-document.h"

#define INDEX_FORMAT   "thinkdiff-studio-history"
#define ENTRY_FORMAT   "thinkdiff-studio-result"
#define FORMAT_VERSION 1
#define MAX_ID_LENGTH  64

gboolean
td_history_id_is_valid (const char *id)
{
  size_t length = strlen (id);

  if (length == 0 || length > MAX_ID_LENGTH || id[0] == '-')
    return FALSE;
  for (size_t i = 0; i < length; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-')
      return FALSE;
  return TRUE;
}

/* Strict reading ----------------------------------------------------------- */

typedef enum {
  MEMBER_STRING,
  MEMBER_INT,
  MEMBER_BOOL,
  MEMBER_ARRAY,
} MemberType;

typedef struct {
  const char *name;
  MemberType  type;
  gboolean    required;
} Member;

static gboolean
member_has_type (JsonNode   *node,
                 MemberType  type)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return type == MEMBER_ARRAY && JSON_NODE_HOLDS_ARRAY (node);
  switch (type)
    {
    case MEMBER_STRING: return json_node_get_value_type (node) == G_TYPE_STRING;
    case MEMBER_INT:    return json_node_get_value_type (node) == G_TYPE_INT64;
    case MEMBER_BOOL:   return json_node_get_value_type (node) == G_TYPE_BOOLEAN;
    case MEMBER_ARRAY:  return FALSE;
    }
  return FALSE;
}

/* Parses @text as a JSON object holding exactly @members (each of its type),
 * with the given "format" and "version". */
static JsonObject *
parse_document (const char    *text,
                gsize          length,
                const char    *name,
                const char    *format,
                const Member  *members,
                guint          n_members,
                GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GList) names = NULL;
  JsonObject *object;

  if (length > TD_HISTORY_MAX_DOCUMENT_SIZE)
    {
      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: not a history document (too large or not a file)"),
                   name);
      return NULL;
    }
  if (!g_utf8_validate_len (text, length, NULL) || memchr (text, '\0', length) != NULL)
    {
      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: not a JSON object"), name);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", name, local_error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: not a JSON object"), name);
      return NULL;
    }
  object = json_node_get_object (json_parser_get_root (parser));

  /* A foreign document says so first, whatever else it holds. */
  if (!json_object_has_member (object, "format")
      || !member_has_type (json_object_get_member (object, "format"), MEMBER_STRING)
      || g_strcmp0 (json_object_get_string_member (object, "format"), format) != 0)
    {
      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: not a ThinkDiff Studio history file"), name);
      return NULL;
    }

  names = json_object_get_members (object);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const Member *member = NULL;

      for (guint i = 0; i < n_members && member == NULL; i++)
        if (g_str_equal (members[i].name, l->data))
          member = &members[i];
      if (member == NULL)
        {
          /* Translators: %s is a file name, then a JSON member name. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: unknown member “%s”"),
                       name, (const char *) l->data);
          return NULL;
        }
      if (!member_has_type (json_object_get_member (object, member->name), member->type))
        {
          /* Translators: %s is a file name, then a JSON member name. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: “%s” has the wrong type"),
                       name, member->name);
          return NULL;
        }
    }
  for (guint i = 0; i < n_members; i++)
    if (members[i].required && !json_object_has_member (object, members[i].name))
      {
        /* Translators: %s is a file name, then a JSON member name. */
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: “%s” is missing"),
                     name, members[i].name);
        return NULL;
      }

  if (json_object_get_int_member (object, "version") != FORMAT_VERSION)
    {
      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s: written by another version of ThinkDiff Studio"), name);
      return NULL;
    }
  return json_object_ref (object);
}

static char *
write_document (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

static gboolean
check_range (const char  *name,
             const char  *member,
             gint64       value,
             gint64       min,
             gint64       max,
             GError     **error)
{
  if (value >= min && value <= max)
    return TRUE;
  /* Translators: %s is a file name, then a JSON member name; %lld its value. */
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: “%s” is out of range (%lld)"),
               name, member, (long long) value);
  return FALSE;
}

/* The index --------------------------------------------------------------- */

static const Member index_members[] = {
  { "format",  MEMBER_STRING, TRUE },
  { "version", MEMBER_INT,    TRUE },
  { "entries", MEMBER_ARRAY,  TRUE },
};

GPtrArray *
td_history_index_parse (const char  *text,
                        gsize        length,
                        const char  *name,
                        GError     **error)
{
  g_autoptr(JsonObject) object = parse_document (text, length, name, INDEX_FORMAT, index_members,
                                                 G_N_ELEMENTS (index_members), error);
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GHashTable) seen = NULL;
  JsonArray *entries;

  if (object == NULL)
    return NULL;

  entries = json_object_get_array_member (object, "entries");
  ids = g_ptr_array_new_with_free_func (g_free);
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      const char *id = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                       ? json_node_get_string (node) : NULL;

      if (id == NULL || !td_history_id_is_valid (id) || g_hash_table_contains (seen, id))
        {
          /* Translators: %s is a file name; %u the position of an entry in it. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: entry %u is not a valid id"), name, i);
          return NULL;
        }
      g_ptr_array_add (ids, g_strdup (id));
      g_hash_table_add (seen, g_ptr_array_index (ids, ids->len - 1));
    }
  return g_steal_pointer (&ids);
}

char *
td_history_index_write (GPtrArray *ids)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, INDEX_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, FORMAT_VERSION);
  json_builder_set_member_name (builder, "entries");
  json_builder_begin_array (builder);
  for (guint i = 0; i < ids->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (ids, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return write_document (builder);
}

/* Entries ----------------------------------------------------------------- */

static const Member entry_members[] = {
  { "format",         MEMBER_STRING, TRUE },
  { "version",        MEMBER_INT,    TRUE },
  { "created",        MEMBER_STRING, TRUE },
  { "seed",           MEMBER_INT,    TRUE },
  { "width",          MEMBER_INT,    TRUE },
  { "height",         MEMBER_INT,    TRUE },
  { "mode",           MEMBER_STRING, FALSE },
  { "thought",        MEMBER_STRING, FALSE },
  { "thought_edited", MEMBER_BOOL,   TRUE },
};

void
td_history_entry_info_clear (TdHistoryEntryInfo *info)
{
  g_clear_pointer (&info->mode, g_free);
  g_clear_pointer (&info->thought, g_free);
  memset (info, 0, sizeof *info);
}

gboolean
td_history_entry_parse (const char          *text,
                        gsize                length,
                        const char          *name,
                        TdHistoryEntryInfo  *info,
                        GError             **error)
{
  g_autoptr(JsonObject) entry = NULL;
  g_autoptr(GDateTime) created = NULL;
  const char *mode = NULL;
  gint64 seed, width, height;

  memset (info, 0, sizeof *info);
  entry = parse_document (text, length, name, ENTRY_FORMAT, entry_members, G_N_ELEMENTS (entry_members), error);
  if (entry == NULL)
    return FALSE;

  seed = json_object_get_int_member (entry, "seed");
  width = json_object_get_int_member (entry, "width");
  height = json_object_get_int_member (entry, "height");
  if (!check_range (name, "seed", seed, 0, G_MAXUINT32, error)
      || !check_range (name, "width", width, 1, TD_HISTORY_MAX_SIDE, error)
      || !check_range (name, "height", height, 1, TD_HISTORY_MAX_SIDE, error))
    return FALSE;

  created = g_date_time_new_from_iso8601 (json_object_get_string_member (entry, "created"), NULL);
  if (created == NULL || g_date_time_to_unix (created) < 0)
    {
      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: “created” is not an ISO 8601 time"), name);
      return FALSE;
    }
  if (json_object_has_member (entry, "mode"))
    {
      mode = json_object_get_string_member (entry, "mode");
      if (!g_str_equal (mode, "lvlm") && !g_str_equal (mode, "clip") && !g_str_equal (mode, "text-to-image"))
        {
          /* Translators: %s is a file name, then the unknown mode. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: unknown mode “%s”"), name, mode);
          return FALSE;
        }
    }

  info->created_us = g_date_time_to_unix (created) * G_USEC_PER_SEC + g_date_time_get_microsecond (created);
  info->seed = (guint32) seed;
  info->width = (int) width;
  info->height = (int) height;
  info->mode = g_strdup (mode);
  if (json_object_has_member (entry, "thought"))
    info->thought = g_strdup (json_object_get_string_member (entry, "thought"));
  info->thought_edited = json_object_get_boolean_member (entry, "thought_edited");
  return TRUE;
}

char *
td_history_entry_write (const TdHistoryEntryInfo *info)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (info->created_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) created = g_date_time_add (utc, info->created_us % G_USEC_PER_SEC);
  g_autofree char *created_text = g_date_time_format_iso8601 (created);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, ENTRY_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, FORMAT_VERSION);
  json_builder_set_member_name (builder, "created");
  json_builder_add_string_value (builder, created_text);
  json_builder_set_member_name (builder, "seed");
  json_builder_add_int_value (builder, info->seed);
  json_builder_set_member_name (builder, "width");
  json_builder_add_int_value (builder, info->width);
  json_builder_set_member_name (builder, "height");
  json_builder_add_int_value (builder, info->height);
  if (info->mode != NULL)
    {
      json_builder_set_member_name (builder, "mode");
      json_builder_add_string_value (builder, info->mode);
    }
  if (info->thought != NULL)
    {
      json_builder_set_member_name (builder, "thought");
      json_builder_add_string_value (builder, info->thought);
    }
  json_builder_set_member_name (builder, "thought_edited");
  json_builder_add_boolean_value (builder, info->thought_edited);
  json_builder_end_object (builder);
  return write_document (builder);
}
