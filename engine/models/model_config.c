#include "models/model_config.h"

#include "io/file_read.h"
#include "io/json_strict.h"

#include <math.h>

/* Configs are a few KB; anything far larger is not a config. */
#define CONFIG_MAX_BYTES (16u << 20)

td_model_config *
td_model_config_load (const char *path, td_error *err)
{
  g_autofree char *text = NULL;
  size_t length = 0;
  if (td_file_read_bounded (path, "config", CONFIG_MAX_BYTES, &text, &length, err) != TD_OK)
    return NULL;
  JsonNode *root = td_json_parse_strict (text, length, path, "config", err);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: the top level is not a JSON object", path);
      json_node_unref (root);
      return NULL;
    }
  td_model_config *config = g_new0 (td_model_config, 1);
  config->path = g_strdup (path);
  config->root_node = root;
  config->root = json_node_get_object (root);
  return config;
}

void
td_model_config_free (td_model_config *config)
{
  if (config == NULL)
    return;
  json_node_unref (config->root_node);
  g_free (config->path);
  g_free (config);
}

static JsonNode *
member (const td_model_config *config, JsonObject *object, const char *key)
{
  JsonObject *where = object != NULL ? object : config->root;
  JsonNode *node = json_object_get_member (where, key);
  if (node != NULL && JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static td_status
missing (const td_model_config *config, const char *key, td_error *err)
{
  return td_error_set (err, TD_ERR_FORMAT, "%s: the required key \"%s\" is missing", config->path, key);
}

static td_status
wrong_type (const td_model_config *config, const char *key, const char *expected, td_error *err)
{
  return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be %s", config->path, key, expected);
}

td_status
td_config_int (const td_model_config *config, JsonObject *object, const char *key, bool required,
               long long fallback, long long min, long long max, long long *out, td_error *err)
{
  JsonNode *node = member (config, object, key);
  if (node == NULL)
    {
      if (required)
        return missing (config, key, err);
      *out = fallback;
      return TD_OK;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return wrong_type (config, key, "an integer", err);
  long long value = json_node_get_int (node);
  if (value < min || value > max)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" is %lld, outside %lld..%lld", config->path, key, value,
                         min, max);
  *out = value;
  return TD_OK;
}

td_status
td_config_double (const td_model_config *config, JsonObject *object, const char *key, bool required,
                  double fallback, double *out, td_error *err)
{
  JsonNode *node = member (config, object, key);
  if (node == NULL)
    {
      if (required)
        return missing (config, key, err);
      *out = fallback;
      return TD_OK;
    }
  if (!JSON_NODE_HOLDS_VALUE (node))
    return wrong_type (config, key, "a number", err);
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else
    return wrong_type (config, key, "a number", err);
  if (!isfinite (*out))
    return wrong_type (config, key, "a finite number", err);
  return TD_OK;
}

td_status
td_config_bool (const td_model_config *config, JsonObject *object, const char *key, bool required,
                bool fallback, bool *out, td_error *err)
{
  JsonNode *node = member (config, object, key);
  if (node == NULL)
    {
      if (required)
        return missing (config, key, err);
      *out = fallback;
      return TD_OK;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (config, key, "true or false", err);
  *out = json_node_get_boolean (node);
  return TD_OK;
}

td_status
td_config_string (const td_model_config *config, JsonObject *object, const char *key, bool required,
                  const char *fallback, const char **out, td_error *err)
{
  JsonNode *node = member (config, object, key);
  if (node == NULL)
    {
      if (required)
        return missing (config, key, err);
      *out = fallback;
      return TD_OK;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (config, key, "a string", err);
  *out = json_node_get_string (node);
  return TD_OK;
}

JsonObject *
td_config_object (const td_model_config *config, JsonObject *object, const char *key)
{
  JsonNode *node = member (config, object, key);
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

td_status
td_config_int_array (const td_model_config *config, JsonObject *object, const char *key, long long *values,
                     int max, int *count, td_error *err)
{
  JsonNode *node = member (config, object, key);
  if (node == NULL)
    return missing (config, key, err);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (config, key, "an array of integers", err);
  JsonArray *array = json_node_get_array (node);
  guint length = json_array_get_length (array);
  if (length > (guint) max)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" has %u entries, at most %d expected", config->path, key,
                         length, max);
  for (guint i = 0; i < length; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_INT64)
        return wrong_type (config, key, "an array of integers", err);
      values[i] = json_node_get_int (element);
    }
  *count = (int) length;
  return TD_OK;
}
