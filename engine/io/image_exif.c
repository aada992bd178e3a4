/* The EXIF orientation tag of a JPEG's APP1 segment, read strictly: every offset
 * is checked against the segment before use. */
#include "io/image_private.h"

#include <string.h>

static unsigned
read16 (const uint8_t *p, bool little)
{
  return little ? (unsigned) (p[0] | p[1] << 8) : (unsigned) (p[0] << 8 | p[1]);
}

static uint32_t
read32 (const uint8_t *p, bool little)
{
  return little ? (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24
                : (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

int
td_image_exif_orientation (const uint8_t *app1, size_t size)
{
  /* "Exif\0\0" then a TIFF header: byte order, 42, offset of IFD0. */
  if (size < 14 || memcmp (app1, "Exif\0\0", 6) != 0)
    return 1;
  const uint8_t *tiff = app1 + 6;
  size_t tiff_size = size - 6;
  bool little;
  if (memcmp (tiff, "II", 2) == 0)
    little = true;
  else if (memcmp (tiff, "MM", 2) == 0)
    little = false;
  else
    return 1;
  if (read16 (tiff + 2, little) != 42)
    return 1;
  uint32_t ifd = read32 (tiff + 4, little);
  if (ifd < 8 || ifd > tiff_size - 2)
    return 1;
  unsigned entries = read16 (tiff + ifd, little);
  if ((size_t) entries * 12 > tiff_size - ifd - 2)
    return 1;
  for (unsigned i = 0; i < entries; i++)
    {
      const uint8_t *entry = tiff + ifd + 2 + (size_t) i * 12;
      /* tag 0x0112, type SHORT (3), count 1: the value sits in the first two bytes of the field */
      if (read16 (entry, little) == 0x0112 && read16 (entry + 2, little) == 3 && read32 (entry + 4, little) == 1)
        {
          unsigned value = read16 (entry + 8, little);
          return value >= 1 && value <= 8 ? (int) value : 1;
        }
    }
  return 1;
}
