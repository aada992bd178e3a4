/* libFuzzer target: model.safetensors.index.json shard selection. */
#include <glib.h>
#include <stdint.h>

#include "net/shard_index.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GPtrArray *shards = g_ptr_array_new_with_free_func (g_free);
  td_error err;
  td_shard_index_select ((const char *) data, size, "vision_model.", "fuzz", shards, &err);
  g_ptr_array_unref (shards);
  return 0;
}
