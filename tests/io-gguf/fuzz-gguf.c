/* libFuzzer target: parse arbitrary bytes as a GGUF image, then touch every
 * metadata value and decode every tensor the parser accepted. */
#include <stdint.h>
#include <stdlib.h>

#include "io/gguf.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_error err = { 0 };
  td_gguf *g = td_gguf_open_memory (data, size, "fuzz", &err);
  if (g == NULL)
    return 0;
  unsigned sum = 0;
  for (size_t i = 0; i < td_gguf_kv_count (g); i++)
    {
      const td_gguf_kv *kv = td_gguf_kv_at (g, i);
      for (uint64_t j = 0; j < kv->count && j < 4096; j++)
        {
          uint64_t length;
          const uint8_t *s = td_gguf_kv_array_string (g, kv, j, &length);
          for (uint64_t c = 0; s != NULL && c < length; c++)
            sum += s[c];
          double d;
          sum += (unsigned) td_gguf_kv_number (kv, j, &d);
        }
      for (uint64_t c = 0; kv->type == TD_GGUF_STRING && c < kv->length; c++)
        sum += kv->data[c];
    }
  for (size_t i = 0; i < td_gguf_tensor_count (g); i++)
    {
      td_tensor *t = td_gguf_tensor_of (g, td_gguf_tensor_at (g, i), &err);
      if (t == NULL)
        continue;
      /* Reads every byte, so ASan sees any span outside the image. */
      if (td_tensor_numel (t) <= (1 << 22))
        free (td_tensor_to_f32 (t, &err));
      td_tensor_free (t);
    }
  td_gguf_close (g);
  return (int) (sum & 0);
}
