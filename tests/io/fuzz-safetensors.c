/* libFuzzer target: parse arbitrary bytes as a safetensors file image, then
 * touch every tensor the parser accepted. */
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open_memory (data, size, "fuzz", &err);
  if (st == NULL)
    return 0;
  for (size_t i = 0; i < td_safetensors_count (st); i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      td_tensor *t = td_safetensors_tensor_of (st, info, &err);
      if (t == NULL)
        continue;
      /* Reads every byte, so ASan sees any span outside the image. */
      float *values = td_tensor_to_f32 (t, &err);
      free (values);
      td_tensor_free (t);
    }
  for (size_t i = 0; i < td_safetensors_metadata_count (st); i++)
    {
      const char *key, *value;
      td_safetensors_metadata_at (st, i, &key, &value);
    }
  td_safetensors_close (st);
  return 0;
}
