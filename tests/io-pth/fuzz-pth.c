/* libFuzzer target: a PyTorch checkpoint from memory (zip + restricted pickle). */
#include <stddef.h>
#include <stdint.h>

#include "io/pth.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_error err = { 0 };
  td_pth *pth = td_pth_open_memory (data, size, "fuzz.pth", &err);
  if (pth != NULL)
    {
      /* Touch every view's first and last element. */
      for (size_t i = 0; i < td_pth_count (pth); i++)
        {
          td_tensor *t = td_pth_tensor_contiguous (pth, td_pth_name_at (pth, i), &err);
          if (t != NULL && td_tensor_nbytes (t) > 0)
            {
              volatile const uint8_t *bytes = td_tensor_host_data (t);
              (void) bytes[0];
              (void) bytes[td_tensor_nbytes (t) - 1];
            }
          td_tensor_free (t);
        }
      td_pth_close (pth);
    }
  return 0;
}
