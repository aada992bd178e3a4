/* libFuzzer target: arbitrary bytes as a Qwen2-VL config.json. The reader takes a
 * path, so each input is written to one temporary file first. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <unistd.h>

#include "models/qwen2vl.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *path = NULL;
  if (path == NULL)
    {
      int fd = g_file_open_tmp ("fuzz-qwen2vl-config-XXXXXX.json", &path, NULL);
      if (fd < 0)
        return 0;
      close (fd);
    }
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    return 0;
  td_qwen2vl_config config;
  td_error err = { 0 };
  if (td_qwen2vl_config_read (path, &config, &err) == TD_OK)
    {
      /* What a successful read promises the model code. */
      g_assert (config.head_dim * config.num_heads == config.hidden_size);
      g_assert (config.mrope_section[0] + config.mrope_section[1] + config.mrope_section[2] == config.head_dim / 2);
      g_assert (config.num_heads % config.num_kv_heads == 0);
      g_assert (config.vision.out_dim == config.hidden_size);
    }
  return 0;
}
