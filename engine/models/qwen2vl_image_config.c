/* qwen2vl_image_config.c — the image processor settings of a Qwen2-VL model folder
 * (preprocessor_config.json), so images are sized as the published processor sizes
 * them: Qwen2-VL-7B-Instruct allows 3136 to 12845056 pixels. */
#include <glib.h>
#include <math.h>

#include "models/model_config.h"
#include "models/qwen2vl_image.h"

#define MAX_PIXELS_READ ((long long) 1 << 30)

/* image_mean / image_std: three finite numbers. */
static td_status
read_triple (const td_model_config *config, const char *key, float out[3], td_error *err)
{
  JsonNode *node = json_object_get_member (config->root, key);
  if (node == NULL)
    return TD_OK;
  JsonArray *array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (array == NULL || json_array_get_length (array) != 3)
    return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be an array of 3 numbers", config->path, key);
  for (guint i = 0; i < 3; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      GType type = JSON_NODE_HOLDS_VALUE (element) ? json_node_get_value_type (element) : G_TYPE_INVALID;
      if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" should be an array of 3 numbers", config->path, key);
      double v = type == G_TYPE_DOUBLE ? json_node_get_double (element) : (double) json_node_get_int (element);
      if (!isfinite (v) || fabs (v) > 1e6)
        return td_error_set (err, TD_ERR_FORMAT, "%s: \"%s\" holds an out-of-range number", config->path, key);
      out[i] = (float) v;
    }
  return TD_OK;
}

static td_status
read_params (const td_model_config *config, td_qwen2vl_image_params *p, td_error *err)
{
  /* Older saves name the budget min_pixels / max_pixels, newer ones size {shortest_edge, longest_edge}. */
  JsonObject *size = td_config_object (config, NULL, "size");
  bool flat = json_object_has_member (config->root, "min_pixels") || json_object_has_member (config->root, "max_pixels");
  JsonObject *where = flat || size == NULL ? NULL : size;
  const char *min_key = where ? "shortest_edge" : "min_pixels", *max_key = where ? "longest_edge" : "max_pixels";
  long long min_pixels, max_pixels, patch, temporal, merge;
  td_status st;
  if ((st = td_config_int (config, where, min_key, false, p->min_pixels, 1, MAX_PIXELS_READ, &min_pixels, err))
      || (st = td_config_int (config, where, max_key, false, p->max_pixels, 1, MAX_PIXELS_READ, &max_pixels, err))
      || (st = td_config_int (config, NULL, "patch_size", false, p->patch_size, 1, 64, &patch, err))
      || (st = td_config_int (config, NULL, "temporal_patch_size", false, p->temporal_patch_size, 1, 8, &temporal, err))
      || (st = td_config_int (config, NULL, "merge_size", false, p->merge_size, 1, 8, &merge, err))
      || (st = read_triple (config, "image_mean", p->mean, err)) || (st = read_triple (config, "image_std", p->std, err)))
    return st;
  if (max_pixels < min_pixels)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the pixel budget %lld..%lld is empty", config->path, min_pixels,
                         max_pixels);
  for (int c = 0; c < 3; c++)
    if (!(p->std[c] > 0.0f))
      return td_error_set (err, TD_ERR_FORMAT, "%s: \"image_std\" must be positive", config->path);
  p->min_pixels = min_pixels;
  p->max_pixels = max_pixels;
  p->patch_size = (int) patch;
  p->temporal_patch_size = (int) temporal;
  p->merge_size = (int) merge;
  return TD_OK;
}

td_status
td_qwen2vl_image_params_read (const char *model_dir, td_qwen2vl_image_params *params, td_error *err)
{
  td_qwen2vl_image_params_default (params);
  g_autofree char *path = g_build_filename (model_dir, "preprocessor_config.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TD_OK;
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  td_qwen2vl_image_params read = *params;
  td_status st = read_params (config, &read, err);
  td_model_config_free (config);
  if (st == TD_OK)
    *params = read;
  return st;
}
