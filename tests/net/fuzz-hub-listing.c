/* libFuzzer target: one page of a hub tree listing. */
#include <stddef.h>
#include <stdint.h>

#include "net/hub_listing.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_hub_listing listing = { 0 };
  td_error err;
  td_hub_listing_parse_page (&listing, (const char *) data, size, "fuzz", &err);
  td_hub_listing_clear (&listing);
  return 0;
}
