#include "pipeline/board.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "io/file_read.h"
#include "io/json_strict.h"
#include "io/json_write.h"
#include "core/i18n.h"

#define BOARD_FILE_MAX_BYTES (1u << 20)

td_board_settings
td_board_settings_default (void)
{
  return (td_board_settings) {
    .width = 1024,
    .height = 1024,
    .steps = 28,
    .guidance = 3.5f,
    .seed = 0,
    .max_new_tokens = 128,
    .temperature = 0.6f,
    .top_p = 0.9f,
    .picture_ids = TD_BOARD_AUTO,
    .tiny_preview = true,
    .image_decode = TD_IMAGE_DECODE_VIEWER,
    .vae_tiling = true,
  };
}

td_board *
td_board_new (td_board_mode mode)
{
  td_board *board = g_new0 (td_board, 1);
  board->mode = mode;
  board->settings = td_board_settings_default ();
  return board;
}

void
td_board_free (td_board *board)
{
  if (board == NULL)
    return;
  for (int i = 0; i < board->n_items; i++)
    g_free (board->items[i].value);
  g_free (board->items);
  g_free (board->instruction);
  g_free (board->thought);
  g_free (board);
}

td_status
td_board_add (td_board *board, td_board_item_kind kind, const char *value, td_error *err)
{
  if (board->n_items >= TD_BOARD_MAX_ITEMS)
    return td_error_set (err, TD_ERR_LIMIT, _("a board holds at most %d items"), TD_BOARD_MAX_ITEMS);
  if (value == NULL || (kind == TD_BOARD_IMAGE && value[0] == '\0'))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s",
                         kind == TD_BOARD_IMAGE ? _("an empty image item") : _("an empty text item"));
  if (strlen (value) > TD_BOARD_MAX_TEXT)
    return td_error_set (err, TD_ERR_LIMIT, _("a board item is longer than %d bytes"), TD_BOARD_MAX_TEXT);
  if (!g_utf8_validate (value, -1, NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, _("a board item is not valid UTF-8"));
  board->items = g_renew (td_board_item, board->items, board->n_items + 1);
  board->items[board->n_items].kind = kind;
  board->items[board->n_items].value = g_strdup (value);
  board->n_items++;
  return TD_OK;
}

int
td_board_count (const td_board *board, td_board_item_kind kind)
{
  int n = 0;
  for (int i = 0; i < board->n_items; i++)
    n += board->items[i].kind == kind;
  return n;
}

char *
td_board_joined_text (const td_board *board)
{
  GString *text = g_string_new (NULL);
  for (int i = 0; i < board->n_items; i++)
    if (board->items[i].kind == TD_BOARD_TEXT && board->items[i].value[0] != '\0')
      {
        if (text->len > 0)
          g_string_append_c (text, ' ');
        g_string_append (text, board->items[i].value);
      }
  return g_string_free (text, FALSE);
}

const char td_board_official_instruction[] =
  "I give you several words and pictures. First, please analyse what the next picture is. Then give me a detailed "
  "diffusion prompt to describe the next picture. Please only provide me the detailed prompt and start the answer "
  "with 'Create an image'.\n\n";

static bool
official_multi_image (const td_board *board)
{
  return board->mode == TD_BOARD_LVLM && td_board_count (board, TD_BOARD_IMAGE) >= 2;
}

bool
td_board_uses_picture_ids (const td_board *board)
{
  int value = board->settings.picture_ids;
  return value == TD_BOARD_AUTO ? official_multi_image (board) : value != 0;
}

const char *
td_board_instruction (const td_board *board)
{
  if (board->instruction != NULL)
    return board->instruction;
  return official_multi_image (board) ? td_board_official_instruction : "";
}

void
td_board_apply_official_size (td_board *board)
{
  if (official_multi_image (board))
    board->settings.width = board->settings.height = 512;
}

td_status
td_board_set_instruction (td_board *board, const char *instruction, td_error *err)
{
  if (instruction != NULL && strlen (instruction) > TD_BOARD_MAX_TEXT)
    return td_error_set (err, TD_ERR_LIMIT, _("the instruction is longer than %d bytes"), TD_BOARD_MAX_TEXT);
  if (instruction != NULL && !g_utf8_validate (instruction, -1, NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, _("the instruction is not valid UTF-8"));
  g_free (board->instruction);
  board->instruction = g_strdup (instruction);
  return TD_OK;
}

bool
td_board_image_decode_from_name (const char *name, td_board_image_decode *decode)
{
  if (g_str_equal (name, "viewer"))
    *decode = TD_IMAGE_DECODE_VIEWER;
  else if (g_str_equal (name, "official"))
    *decode = TD_IMAGE_DECODE_OFFICIAL;
  else
    return false;
  return true;
}

const char *
td_board_image_decode_name (td_board_image_decode decode)
{
  return decode == TD_IMAGE_DECODE_OFFICIAL ? "official" : "viewer";
}

const char *
td_board_mode_name (td_board_mode mode)
{
  return mode == TD_BOARD_LVLM ? "lvlm" : "clip";
}

bool
td_board_mode_from_name (const char *name, td_board_mode *mode)
{
  if (name == NULL)
    return false;
  if (g_str_equal (name, "lvlm"))
    *mode = TD_BOARD_LVLM;
  else if (g_str_equal (name, "clip"))
    *mode = TD_BOARD_CLIP;
  else
    return false;
  return true;
}

td_status
td_board_validate (const td_board *board, td_error *err)
{
  const td_board_settings *s = &board->settings;
  if (board->n_items == 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, _("the board is empty: add an image or a text"));
  if (s->width < 64 || s->height < 64 || s->width > 4096 || s->height > 4096 || s->width % 16 || s->height % 16)
    return td_error_set (err, TD_ERR_INVALID_ARG, _("the size %d×%d must be multiples of 16 between 64 and 4096"),
                         s->width, s->height);
  if (s->steps < 1 || s->steps > 200)
    return td_error_set (err, TD_ERR_INVALID_ARG, _("steps must be 1..200, not %d"), s->steps);
  if (!(s->guidance >= 0.0f && s->guidance <= 100.0f))
    return td_error_set (err, TD_ERR_INVALID_ARG, _("guidance must be 0..100"));
  if (s->max_new_tokens < 1 || s->max_new_tokens > 1024)
    return td_error_set (err, TD_ERR_INVALID_ARG, _("max_new_tokens must be 1..1024, not %d"), s->max_new_tokens);
  if (!(s->temperature >= 0.0f && s->temperature <= 10.0f) || !(s->top_p > 0.0f && s->top_p <= 1.0f))
    return td_error_set (err, TD_ERR_INVALID_ARG, _("temperature must be 0..10 and top_p in (0, 1]"));
  if (s->picture_ids < TD_BOARD_AUTO || s->picture_ids > 1
      || (s->image_decode != TD_IMAGE_DECODE_VIEWER && s->image_decode != TD_IMAGE_DECODE_OFFICIAL))
    return td_error_set (err, TD_ERR_INVALID_ARG, _("picture_ids or image_decode has an unknown value"));
  return TD_OK;
}

/* Reads an optional number member; `integer` refuses fractions (64.9 is not a width). */
static td_status
read_number (JsonObject *root, const char *key, bool integer, double min, double max, double *out, const char *path,
             td_error *err)
{
  JsonNode *node = json_object_get_member (root, key);
  if (node == NULL)
    return TD_OK;
  bool is_int = td_json_node_is_int (node);
  bool is_double = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE;
  if (integer && !is_int)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be an integer", path, key);
  if (!is_int && !is_double)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be a number", path, key);
  double v = is_int ? (double) json_node_get_int (node) : json_node_get_double (node);
  if (!(v >= min && v <= max))
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" is outside %g..%g", path, key, min, max);
  *out = v;
  return TD_OK;
}

static td_status
read_items (td_board *board, JsonArray *items, const char *dir, const char *path, td_error *err)
{
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      if (item == NULL || json_object_get_size (item) != 1)
        return td_error_set (err, TD_ERR_FORMAT, "%s: item %u should be {\"image\": PATH} or {\"text\": TEXT}", path, i);
      g_autoptr (GList) members = json_object_get_members (item);
      const char *key = members->data;
      JsonNode *value = json_object_get_member (item, key);
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return td_error_set (err, TD_ERR_FORMAT, "%s: item %u's value should be a string", path, i);
      const char *text = json_node_get_string (value);
      td_status st;
      if (g_str_equal (key, "image"))
        {
          if (text[0] == '\0')
            return td_error_set (err, TD_ERR_FORMAT, "%s: item %u has an empty image path", path, i);
          /* Absolute and without "..", so the board still finds it when saved elsewhere. */
          g_autofree char *base = g_canonicalize_filename (dir, NULL);
          g_autofree char *full = g_canonicalize_filename (text, base);
          st = td_board_add (board, TD_BOARD_IMAGE, full, err);
        }
      else if (g_str_equal (key, "text"))
        st = td_board_add (board, TD_BOARD_TEXT, text, err);
      else
        return td_error_set (err, TD_ERR_FORMAT, "%s: item %u has an unknown kind (neither \"image\" nor \"text\")",
                             path, i);
      if (st != TD_OK)
        return td_error_prefix (err, "%s: item %u", path, i);
    }
  return TD_OK;
}

/* The string member key, or NULL when absent; an error when it is not a string. */
static td_status
read_string (JsonObject *root, const char *key, const char **out, const char *path, td_error *err)
{
  JsonNode *node = json_object_get_member (root, key);
  *out = NULL;
  if (node == NULL)
    return TD_OK;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be a string", path, key);
  *out = json_node_get_string (node);
  return TD_OK;
}

static td_status
read_bool (JsonObject *root, const char *key, bool *out, const char *path, td_error *err)
{
  JsonNode *node = json_object_get_member (root, key);
  if (node == NULL)
    return TD_OK;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be true or false", path, key);
  *out = json_node_get_boolean (node);
  return TD_OK;
}

/* picture_ids, instruction, image_decode, vae_tiling. */
static td_status
read_official_options (JsonObject *root, td_board *board, const char *path, td_error *err)
{
  td_board_settings *s = &board->settings;
  JsonNode *picture_ids = json_object_get_member (root, "picture_ids");
  if (picture_ids != NULL && JSON_NODE_HOLDS_VALUE (picture_ids)
      && json_node_get_value_type (picture_ids) == G_TYPE_STRING)
    {
      if (!g_str_equal (json_node_get_string (picture_ids), "auto"))
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"picture_ids\" should be true, false or \"auto\"", path);
      s->picture_ids = TD_BOARD_AUTO;
    }
  else
    {
      bool on = false;
      td_status st = read_bool (root, "picture_ids", &on, path, err);
      if (st != TD_OK)
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"picture_ids\" should be true, false or \"auto\"", path);
      if (picture_ids != NULL)
        s->picture_ids = on;
    }
  const char *instruction = NULL, *decode = NULL;
  td_status st;
  if ((st = read_string (root, "instruction", &instruction, path, err))
      || (st = read_string (root, "image_decode", &decode, path, err))
      || (st = read_bool (root, "vae_tiling", &s->vae_tiling, path, err)))
    return st;
  if (decode != NULL && !td_board_image_decode_from_name (decode, &s->image_decode))
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"image_decode\" is \"viewer\" or \"official\", not \"%s\"", path,
                         decode);
  if (instruction != NULL && td_board_set_instruction (board, instruction, err) != TD_OK)
    return td_error_prefix (err, "%s", path);
  return TD_OK;
}

td_board *
td_board_load_json (const char *path, td_error *err)
{
  g_autofree char *text = NULL;
  size_t length = 0;
  /* The limit is checked on the file's size, before anything is read. */
  if (td_file_read_bounded (path, "board", BOARD_FILE_MAX_BYTES, &text, &length, err) != TD_OK)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  return td_board_load_json_data (text, length, path, dir, err);
}

static const char *const board_members[] = {
  "mode", "items", "width", "height", "steps", "guidance", "seed", "max_new_tokens", "temperature", "top_p",
  "picture_ids", "instruction", "image_decode", "vae_tiling",
};

/* Every member is one the board knows: a typo ("step") must not be ignored silently. */
static td_status
check_members (JsonObject *root, const char *path, td_error *err)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  json_object_iter_init (&iter, root);
  while (json_object_iter_next (&iter, &name, &node))
    {
      bool known = false;
      for (size_t i = 0; i < G_N_ELEMENTS (board_members) && !known; i++)
        known = g_str_equal (name, board_members[i]);
      if (!known)
        {
          g_autofree char *shown = g_strescape (name, NULL);
          return td_error_set (err, TD_ERR_FORMAT, "%s: the board has an unknown member \"%.48s\"", path, shown);
        }
    }
  return TD_OK;
}

static td_status
read_mode (JsonObject *root, td_board_mode *mode, const char *path, td_error *err)
{
  *mode = TD_BOARD_LVLM;
  JsonNode *node = json_object_get_member (root, "mode");
  if (node == NULL)
    return TD_OK;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"mode\" should be the string \"lvlm\" or \"clip\"", path);
  if (!td_board_mode_from_name (json_node_get_string (node), mode))
    {
      g_autofree char *shown = g_strescape (json_node_get_string (node), NULL);
      return td_error_set (err, TD_ERR_FORMAT, "%s: mode \"%.32s\" is neither lvlm nor clip", path, shown);
    }
  return TD_OK;
}

td_board *
td_board_load_json_data (const char *text, size_t length, const char *path, const char *dir, td_error *err)
{
  if (text == NULL || length > BOARD_FILE_MAX_BYTES)
    {
      td_error_set (err, TD_ERR_LIMIT, _("%s: a board file is at most 1 MiB"), path);
      return NULL;
    }
  g_autoptr (JsonNode) root_node = td_json_parse_strict (text, length, path, "board", err);
  if (root_node == NULL)
    return NULL;
  JsonObject *root = JSON_NODE_HOLDS_OBJECT (root_node) ? json_node_get_object (root_node) : NULL;
  JsonNode *items = root ? json_object_get_member (root, "items") : NULL;
  if (items == NULL || !JSON_NODE_HOLDS_ARRAY (items))
    {
      td_error_set (err, TD_ERR_FORMAT, _("%s: a board is an object with an \"items\" array"), path);
      return NULL;
    }
  td_board_mode mode;
  if (check_members (root, path, err) != TD_OK || read_mode (root, &mode, path, err) != TD_OK)
    return NULL;
  td_board *board = td_board_new (mode);
  td_board_settings *s = &board->settings;
  double width = s->width, height = s->height, steps = s->steps, guidance = s->guidance, seed = 0,
         tokens = s->max_new_tokens, temperature = s->temperature, top_p = s->top_p;
  if (read_items (board, json_node_get_array (items), dir, path, err) != TD_OK
      || read_number (root, "width", true, 0, 1e9, &width, path, err)
      || read_number (root, "height", true, 0, 1e9, &height, path, err)
      || read_number (root, "steps", true, 0, 1e9, &steps, path, err)
      || read_number (root, "guidance", false, -1e9, 1e9, &guidance, path, err)
      || read_number (root, "seed", true, 0, 9007199254740991.0, &seed, path, err)
      || read_number (root, "max_new_tokens", true, 0, 1e9, &tokens, path, err)
      || read_number (root, "temperature", false, -1e9, 1e9, &temperature, path, err)
      || read_number (root, "top_p", false, -1e9, 1e9, &top_p, path, err))
    {
      td_board_free (board);
      return NULL;
    }
  s->width = (int) width;
  s->height = (int) height;
  s->steps = (int) steps;
  s->guidance = (float) guidance;
  s->seed = (uint64_t) seed;
  s->max_new_tokens = (int) tokens;
  s->temperature = (float) temperature;
  s->top_p = (float) top_p;
  if (read_official_options (root, board, path, err) != TD_OK)
    {
      td_board_free (board);
      return NULL;
    }
  if (td_board_validate (board, err) != TD_OK)
    {
      td_error_prefix (err, "%s", path);
      td_board_free (board);
      return NULL;
    }
  return board;
}

char *
td_board_to_json (const td_board *board)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "mode");
  json_builder_add_string_value (builder, td_board_mode_name (board->mode));
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (int i = 0; i < board->n_items; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, board->items[i].kind == TD_BOARD_IMAGE ? "image" : "text");
      json_builder_add_string_value (builder, board->items[i].value);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  const td_board_settings *s = &board->settings;
  json_builder_set_member_name (builder, "width");
  json_builder_add_int_value (builder, s->width);
  json_builder_set_member_name (builder, "height");
  json_builder_add_int_value (builder, s->height);
  json_builder_set_member_name (builder, "steps");
  json_builder_add_int_value (builder, s->steps);
  json_builder_set_member_name (builder, "guidance");
  json_builder_add_double_value (builder, s->guidance);
  json_builder_set_member_name (builder, "seed");
  json_builder_add_int_value (builder, (gint64) s->seed);
  json_builder_set_member_name (builder, "max_new_tokens");
  json_builder_add_int_value (builder, s->max_new_tokens);
  json_builder_set_member_name (builder, "temperature");
  json_builder_add_double_value (builder, s->temperature);
  json_builder_set_member_name (builder, "top_p");
  json_builder_add_double_value (builder, s->top_p);
  json_builder_set_member_name (builder, "picture_ids");
  if (s->picture_ids == TD_BOARD_AUTO)
    json_builder_add_string_value (builder, "auto");
  else
    json_builder_add_boolean_value (builder, s->picture_ids != 0);
  if (board->instruction != NULL)
    {
      json_builder_set_member_name (builder, "instruction");
      json_builder_add_string_value (builder, board->instruction);
    }
  json_builder_set_member_name (builder, "image_decode");
  json_builder_add_string_value (builder, td_board_image_decode_name (s->image_decode));
  json_builder_set_member_name (builder, "vae_tiling");
  json_builder_add_boolean_value (builder, s->vae_tiling);
  json_builder_end_object (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  return td_json_write (root, false, NULL);
}
