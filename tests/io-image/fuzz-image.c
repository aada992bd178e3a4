/* libFuzzer: any bytes through the image loader (PNG and JPEG sniffing, EXIF, limits). */
#include <stddef.h>
#include <stdint.h>

#include "io/image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_image_limits limits = td_image_limits_default ();
  limits.max_side = 4096;
  limits.max_decoded_bytes = 32u << 20;
  td_image image;
  td_error err;
  if (td_image_load_memory (data, size, "fuzz", &limits, &image, &err) == TD_OK)
    td_image_clear (&image);
  return 0;
}
