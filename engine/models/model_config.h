/* model_config.h — reading a model's config.json strictly: every value read is
 * type-checked and range-checked, and errors name the file and the key. */
#pragma once

#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "thinkdiff.h"

typedef struct td_model_config {
  char *path;
  JsonNode *root_node;
  JsonObject *root;
} td_model_config;

/* Loads PATH (a config.json); NULL and err on failure. */
td_model_config *td_model_config_load (const char *path, td_error *err);
void td_model_config_free (td_model_config *config);

/* Reads an integer in [min, max]. A missing key takes `fallback` when
 * `required` is false; otherwise it is an error. `object` NULL = the root. */
td_status td_config_int (const td_model_config *config, JsonObject *object, const char *key, bool required,
                         long long fallback, long long min, long long max, long long *out, td_error *err);
td_status td_config_double (const td_model_config *config, JsonObject *object, const char *key, bool required,
                            double fallback, double *out, td_error *err);
td_status td_config_bool (const td_model_config *config, JsonObject *object, const char *key, bool required,
                          bool fallback, bool *out, td_error *err);
/* The string stays owned by the config. */
td_status td_config_string (const td_model_config *config, JsonObject *object, const char *key, bool required,
                            const char *fallback, const char **out, td_error *err);
/* A nested object, or NULL when absent. */
JsonObject *td_config_object (const td_model_config *config, JsonObject *object, const char *key);
/* Reads an array of up to `max` integers; *count receives the length. */
td_status td_config_int_array (const td_model_config *config, JsonObject *object, const char *key,
                               long long *values, int max, int *count, td_error *err);
