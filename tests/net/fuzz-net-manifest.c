/* libFuzzer target: the download manifest. */
#include <stdint.h>

#include "net/manifest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_manifest m;
  td_error err;
  if (td_manifest_parse (&m, (const char *) data, size, "fuzz", &err) == TD_OK)
    td_manifest_clear (&m);
  return 0;
}
