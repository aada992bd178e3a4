/* libFuzzer target: arbitrary bytes as a Qwen2-VL preprocessor_config.json. The reader
 * takes the model folder, so each input is written into one temporary folder first. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>

#include "models/qwen2vl_image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *dir = NULL, *path = NULL;
  if (dir == NULL)
    {
      dir = g_dir_make_tmp ("fuzz-qwen2vl-preprocessor-XXXXXX", NULL);
      if (dir == NULL)
        return 0;
      path = g_build_filename (dir, "preprocessor_config.json", NULL);
    }
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    return 0;
  td_qwen2vl_image_params params;
  td_error err = { 0 };
  if (td_qwen2vl_image_params_read (dir, &params, &err) == TD_OK)
    {
      /* What a successful read promises the preprocessing. */
      g_assert (params.min_pixels >= 1 && params.min_pixels <= params.max_pixels);
      g_assert (params.patch_size >= 1 && params.merge_size >= 1 && params.temporal_patch_size >= 1);
      for (int c = 0; c < 3; c++)
        g_assert (params.std[c] > 0.0f);
    }
  return 0;
}
