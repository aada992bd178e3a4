/* libFuzzer target: arbitrary bytes as a model's config.json and as a scheduler
 * config, through the strict readers. Every accessor is tried on every member:
 * each either fails with a message naming the file or returns a value of the
 * promised type and range. The readers take a path, so each input is written to
 * one temporary file first. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "models/model_config.h"
#include "pipeline/flow_scheduler.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
try_member (const td_model_config *config, JsonObject *object, const char *key, const char *path)
{
  td_error err = { 0 };
  long long integer = 0;
  if (td_config_int (config, object, key, true, 0, -1000, 1000, &integer, &err) == TD_OK)
    g_assert_true (integer >= -1000 && integer <= 1000);
  else
    g_assert_nonnull (strstr (err.message, path));
  double number = 0;
  if (td_config_double (config, object, key, true, 0, &number, &err) == TD_OK)
    g_assert_true (isfinite (number));
  bool flag;
  td_config_bool (config, object, key, true, false, &flag, &err);
  const char *text = NULL;
  if (td_config_string (config, object, key, true, NULL, &text, &err) == TD_OK)
    g_assert_nonnull (text);
  long long values[4];
  int count = -1;
  if (td_config_int_array (config, object, key, values, 4, &count, &err) == TD_OK)
    g_assert_true (count >= 0 && count <= 4);
  JsonObject *child = td_config_object (config, object, key);
  if (child != NULL)
    {
      g_autoptr (GList) names = json_object_get_members (child);
      for (GList *l = names; l != NULL; l = l->next)
        {
          td_error inner = { 0 };
          long long v;
          td_config_int (config, child, l->data, false, 0, 0, 10, &v, &inner);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *path = NULL;
  if (path == NULL)
    {
      int fd = g_file_open_tmp ("fuzz-model-config-XXXXXX.json", &path, NULL);
      if (fd < 0)
        return 0;
      close (fd);
    }
  /* A plain write: g_file_set_contents syncs to disk on every input. */
  FILE *file = fopen (path, "wb");
  if (file == NULL)
    return 0;
  bool written = fwrite (data, 1, size, file) == size;
  if (fclose (file) != 0 || !written)
    return 0;
  td_error err = { 0 };
  td_model_config *config = td_model_config_load (path, &err);
  if (config == NULL)
    g_assert_nonnull (strstr (err.message, path));
  else
    {
      g_autoptr (GList) names = json_object_get_members (config->root);
      for (GList *l = names; l != NULL; l = l->next)
        try_member (config, NULL, l->data, path);
      td_model_config_free (config);
    }
  td_flow_schedule_config schedule;
  td_flow_schedule_config_load (path, &schedule, NULL);
  return 0;
}
