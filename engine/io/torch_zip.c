/* torch_zip.c — see torch_zip.h. Layout per PKWARE APPNOTE 6.3 (§4.3). */
#include "io/torch_zip.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define LOCAL_SIZE 30
#define CENTRAL_SIZE 46
#define EOCD_SIZE 22
#define EOCD64_SIZE 56
#define LOCATOR64_SIZE 20
#define MAX_COMMENT 65535

#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DATA_DESCRIPTOR 0x0008u
#define FLAG_STRONG_ENCRYPTION 0x0040u
#define FLAG_MASKED_HEADERS 0x2000u

typedef struct zip_item {
  td_zip_entry entry;
  uint64_t local_offset;
} zip_item;

struct td_zip {
  char *name;
  const uint8_t *data;
  size_t size;
  zip_item *items;
  size_t count;
  GHashTable *by_name; /* name → item */
  GStringChunk *strings;
};

static uint16_t
le16 (const uint8_t *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t
le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t
le64 (const uint8_t *p)
{
  return (uint64_t) le32 (p) | (uint64_t) le32 (p + 4) << 32;
}

/* The end-of-central-directory values we use, after zip64 is applied. */
typedef struct directory {
  uint64_t entries;
  uint64_t cd_offset;
  uint64_t cd_size;
  uint64_t cd_limit; /* the central directory must end here or before */
} directory;

static td_status
find_eocd (td_zip *zip, size_t *eocd_pos, td_error *err)
{
  if (zip->size < EOCD_SIZE)
    return td_error_set (err, TD_ERR_FORMAT, "%s: %zu bytes is too short for a zip archive", zip->name, zip->size);
  size_t lowest = zip->size > EOCD_SIZE + MAX_COMMENT ? zip->size - EOCD_SIZE - MAX_COMMENT : 0;
  for (size_t pos = zip->size - EOCD_SIZE + 1; pos-- > lowest;)
    {
      const uint8_t *p = zip->data + pos;
      /* The comment must run exactly to the end of the file. */
      if (le32 (p) == SIG_EOCD && pos + EOCD_SIZE + le16 (p + 20) == zip->size)
        {
          *eocd_pos = pos;
          return TD_OK;
        }
    }
  return td_error_set (err, TD_ERR_FORMAT,
                       "%s: not a zip archive (no end-of-central-directory record); "
                       "only checkpoints written by torch.save since PyTorch 1.6 are supported", zip->name);
}

/* Fills dir from the zip64 end record when a locator precedes the classic one. */
static td_status
read_zip64 (td_zip *zip, size_t eocd_pos, bool *present, directory *dir, td_error *err)
{
  *present = false;
  if (eocd_pos < LOCATOR64_SIZE || le32 (zip->data + eocd_pos - LOCATOR64_SIZE) != SIG_LOCATOR64)
    return TD_OK;
  size_t locator = eocd_pos - LOCATOR64_SIZE;
  const uint8_t *l = zip->data + locator;
  uint64_t record = le64 (l + 8);
  if (le32 (l + 4) != 0 || le32 (l + 16) > 1)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", zip->name);
  if (record > locator || locator - record < EOCD64_SIZE)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the zip64 end record at %" PRIu64 " is out of bounds", zip->name,
                         record);
  const uint8_t *r = zip->data + record;
  uint64_t record_size = le64 (r + 4);
  if (le32 (r) != SIG_EOCD64 || record_size < EOCD64_SIZE - 12 || record_size > locator - record - 12)
    return td_error_set (err, TD_ERR_FORMAT, "%s: malformed zip64 end-of-central-directory record", zip->name);
  if (le32 (r + 16) != 0 || le32 (r + 20) != 0 || le64 (r + 24) != le64 (r + 32))
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", zip->name);
  dir->entries = le64 (r + 32);
  dir->cd_size = le64 (r + 40);
  dir->cd_offset = le64 (r + 48);
  dir->cd_limit = record;
  *present = true;
  return TD_OK;
}

static td_status
read_directory (td_zip *zip, directory *dir, td_error *err)
{
  size_t eocd_pos = 0;
  td_status st = find_eocd (zip, &eocd_pos, err);
  if (st != TD_OK)
    return st;
  const uint8_t *e = zip->data + eocd_pos;
  uint16_t disk = le16 (e + 4), cd_disk = le16 (e + 6), on_disk = le16 (e + 8), total = le16 (e + 10);
  uint32_t cd_size = le32 (e + 12), cd_offset = le32 (e + 16);
  bool zip64;
  if ((st = read_zip64 (zip, eocd_pos, &zip64, dir, err)) != TD_OK)
    return st;
  if (!zip64)
    {
      if (disk != 0 || cd_disk != 0 || on_disk != total)
        return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", zip->name);
      if (total == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu)
        return td_error_set (err, TD_ERR_FORMAT, "%s: the zip needs zip64 records but has none", zip->name);
      dir->entries = total;
      dir->cd_size = cd_size;
      dir->cd_offset = cd_offset;
      dir->cd_limit = eocd_pos;
    }
  else if ((total != 0xffff && total != dir->entries) || (cd_size != 0xffffffffu && cd_size != dir->cd_size)
           || (cd_offset != 0xffffffffu && cd_offset != dir->cd_offset))
    return td_error_set (err, TD_ERR_FORMAT, "%s: the zip and zip64 end records disagree", zip->name);

  if (dir->cd_offset > dir->cd_limit || dir->cd_size > dir->cd_limit - dir->cd_offset)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the central directory (%" PRIu64 " bytes at %" PRIu64
                         ") lies outside the file", zip->name, dir->cd_size, dir->cd_offset);
  if (dir->entries > TD_ZIP_MAX_ENTRIES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: %" PRIu64 " zip entries, more than the limit of %d", zip->name,
                         dir->entries, TD_ZIP_MAX_ENTRIES);
  if (dir->entries * CENTRAL_SIZE > dir->cd_size)
    return td_error_set (err, TD_ERR_FORMAT, "%s: %" PRIu64 " entries cannot fit a %" PRIu64
                         "-byte central directory", zip->name, dir->entries, dir->cd_size);
  return TD_OK;
}

/* A relative path of non-empty components, none "." or "..", printable UTF-8. */
static bool
name_is_valid (const uint8_t *name, size_t length)
{
  if (length == 0 || length > TD_ZIP_MAX_NAME || name[0] == '/' || name[length - 1] == '/')
    return false;
  if (!g_utf8_validate ((const char *) name, (gssize) length, NULL))
    return false;
  size_t start = 0;
  for (size_t i = 0; i <= length; i++)
    {
      if (i < length && (name[i] < 0x20 || name[i] == 0x7f || name[i] == '\\'))
        return false;
      if (i == length || name[i] == '/')
        {
          size_t n = i - start;
          if (n == 0 || (n == 1 && name[start] == '.') || (n == 2 && name[start] == '.' && name[start + 1] == '.'))
            return false;
          start = i + 1;
        }
    }
  return true;
}

/* Applies the zip64 extra field (id 1) to the fields that hold their sentinel. */
static td_status
apply_extra (td_zip *zip, const uint8_t *extra, size_t length, zip_item *item, uint32_t usize, uint32_t csize,
             uint32_t offset, const char *name, td_error *err)
{
  bool need_usize = usize == 0xffffffffu, need_csize = csize == 0xffffffffu, need_offset = offset == 0xffffffffu;
  bool seen = false;
  size_t pos = 0;
  while (pos < length)
    {
      if (length - pos < 4 || le16 (extra + pos + 2) > length - pos - 4)
        return td_error_set (err, TD_ERR_FORMAT, "%s: entry '%s' has a malformed extra field", zip->name, name);
      uint16_t id = le16 (extra + pos), n = le16 (extra + pos + 2);
      const uint8_t *field = extra + pos + 4;
      if (id == 1)
        {
          size_t want = 8 * ((size_t) need_usize + need_csize + need_offset);
          if (seen || n < want)
            return td_error_set (err, TD_ERR_FORMAT, "%s: entry '%s' has a malformed zip64 field", zip->name, name);
          seen = true;
          if (need_usize)
            item->entry.size = le64 (field), field += 8;
          if (need_csize)
            item->entry.csize = le64 (field), field += 8;
          if (need_offset)
            item->local_offset = le64 (field);
        }
      pos += 4 + (size_t) n;
    }
  if ((need_usize || need_csize || need_offset) && !seen)
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry '%s' lacks its zip64 sizes", zip->name, name);
  return TD_OK;
}

/* Parses the central entry at *pos (advancing it) into item. */
static td_status
read_central (td_zip *zip, const directory *dir, uint64_t *pos, zip_item *item, td_error *err)
{
  uint64_t end = dir->cd_offset + dir->cd_size;
  if (end - *pos < CENTRAL_SIZE || le32 (zip->data + *pos) != SIG_CENTRAL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: malformed central directory entry at %" PRIu64, zip->name, *pos);
  const uint8_t *c = zip->data + *pos;
  uint16_t flags = le16 (c + 8), method = le16 (c + 10);
  size_t name_len = le16 (c + 28), extra_len = le16 (c + 30), comment_len = le16 (c + 32);
  if (end - *pos - CENTRAL_SIZE < name_len + extra_len + comment_len)
    return td_error_set (err, TD_ERR_FORMAT, "%s: central directory entry at %" PRIu64 " overruns the directory",
                         zip->name, *pos);
  const uint8_t *name = c + CENTRAL_SIZE;
  if (!name_is_valid (name, name_len))
    return td_error_set (err, TD_ERR_FORMAT, "%s: zip entry name '%.*s' is not a plain relative path", zip->name,
                         (int) MIN (name_len, 200), (const char *) name);
  item->entry.name = g_string_chunk_insert_len (zip->strings, (const char *) name, (gssize) name_len);
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS))
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: entry '%s' is encrypted", zip->name, item->entry.name);
  if (method != TD_ZIP_STORED && method != TD_ZIP_DEFLATED)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: entry '%s' uses compression method %u (only stored and "
                         "deflated are supported)", zip->name, item->entry.name, method);
  if (le16 (c + 34) != 0 && le16 (c + 34) != 0xffff)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", zip->name);
  item->entry.method = method;
  item->entry.crc32 = le32 (c + 16);
  item->entry.csize = le32 (c + 20);
  item->entry.size = le32 (c + 24);
  item->local_offset = le32 (c + 42);
  td_status st = apply_extra (zip, name + name_len, extra_len, item, le32 (c + 24), le32 (c + 20), le32 (c + 42),
                              item->entry.name, err);
  if (st != TD_OK)
    return st;
  if (method == TD_ZIP_STORED && item->entry.csize != item->entry.size)
    return td_error_set (err, TD_ERR_FORMAT, "%s: stored entry '%s' has different sizes (%" PRIu64 " and %" PRIu64 ")",
                         zip->name, item->entry.name, item->entry.csize, item->entry.size);
  *pos += CENTRAL_SIZE + name_len + extra_len + comment_len;
  return TD_OK;
}

/* Checks the local header against the central entry and finds the data. */
static td_status
read_local (td_zip *zip, const directory *dir, zip_item *item, td_error *err)
{
  const char *name = item->entry.name;
  uint64_t at = item->local_offset;
  if (at > dir->cd_offset || dir->cd_offset - at < LOCAL_SIZE || le32 (zip->data + at) != SIG_LOCAL)
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry '%s' has no local header at %" PRIu64, zip->name, name, at);
  const uint8_t *l = zip->data + at;
  size_t name_len = le16 (l + 26), extra_len = le16 (l + 28);
  uint64_t data = at + LOCAL_SIZE + name_len + extra_len;
  if (data > dir->cd_offset)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the local header of '%s' overruns the archive", zip->name, name);
  if (name_len != strlen (name) || memcmp (l + LOCAL_SIZE, name, name_len) != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the local header of '%s' names another file", zip->name, name);
  uint16_t flags = le16 (l + 6);
  if (le16 (l + 8) != item->entry.method || (flags & FLAG_ENCRYPTED))
    return td_error_set (err, TD_ERR_FORMAT, "%s: the local header of '%s' disagrees with the central directory",
                         zip->name, name);
  if (!(flags & FLAG_DATA_DESCRIPTOR))
    {
      uint32_t crc = le32 (l + 14), csize = le32 (l + 18), usize = le32 (l + 22);
      if (crc != item->entry.crc32 || (csize != 0xffffffffu && csize != item->entry.csize)
          || (usize != 0xffffffffu && usize != item->entry.size))
        return td_error_set (err, TD_ERR_FORMAT, "%s: the local header of '%s' has other sizes or CRC than the "
                             "central directory", zip->name, name);
    }
  if (item->entry.csize > dir->cd_offset - data)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the data of '%s' (%" PRIu64 " bytes at %" PRIu64
                         ") runs past the end of the entries", zip->name, name, item->entry.csize, data);
  item->entry.data_offset = data;
  return TD_OK;
}

static int
compare_offset (const void *a, const void *b)
{
  uint64_t x = ((const zip_item *) a)->local_offset, y = ((const zip_item *) b)->local_offset;
  return x < y ? -1 : x > y;
}

/* Entries must not share bytes (a classic zip-bomb trick). */
static td_status
check_overlap (td_zip *zip, td_error *err)
{
  if (zip->count < 2)
    return TD_OK;
  zip_item *sorted = g_memdup2 (zip->items, zip->count * sizeof *sorted);
  qsort (sorted, zip->count, sizeof *sorted, compare_offset);
  td_status st = TD_OK;
  for (size_t i = 1; i < zip->count && st == TD_OK; i++)
    if (sorted[i - 1].entry.data_offset + sorted[i - 1].entry.csize > sorted[i].local_offset)
      st = td_error_set (err, TD_ERR_FORMAT, "%s: zip entries '%s' and '%s' overlap", zip->name,
                         sorted[i - 1].entry.name, sorted[i].entry.name);
  g_free (sorted);
  return st;
}

static td_status
parse (td_zip *zip, td_error *err)
{
  directory dir = { 0 };
  td_status st = read_directory (zip, &dir, err);
  if (st != TD_OK)
    return st;
  zip->items = g_try_new0 (zip_item, dir.entries > 0 ? dir.entries : 1);
  if (zip->items == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory for %" PRIu64 " zip entries", zip->name,
                         dir.entries);
  uint64_t pos = dir.cd_offset;
  for (uint64_t i = 0; i < dir.entries; i++)
    {
      zip_item *item = &zip->items[i];
      if ((st = read_central (zip, &dir, &pos, item, err)) != TD_OK || (st = read_local (zip, &dir, item, err)) != TD_OK)
        return st;
      zip->count++;
      if (g_hash_table_contains (zip->by_name, item->entry.name))
        return td_error_set (err, TD_ERR_FORMAT, "%s: the zip holds '%s' twice", zip->name, item->entry.name);
      g_hash_table_insert (zip->by_name, (gpointer) item->entry.name, item);
    }
  if (pos != dir.cd_offset + dir.cd_size)
    return td_error_set (err, TD_ERR_FORMAT, "%s: %" PRIu64 " unexplained bytes at the end of the central directory",
                         zip->name, dir.cd_offset + dir.cd_size - pos);
  return check_overlap (zip, err);
}

td_zip *
td_zip_open_memory (const void *data, size_t size, const char *name, td_error *err)
{
  td_zip *zip = g_new0 (td_zip, 1);
  zip->name = g_strdup (name != NULL ? name : "(memory)");
  zip->data = data;
  zip->size = size;
  zip->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  zip->strings = g_string_chunk_new (1024);
  if (parse (zip, err) != TD_OK)
    {
      td_zip_free (zip);
      return NULL;
    }
  return zip;
}

void
td_zip_free (td_zip *zip)
{
  if (zip == NULL)
    return;
  g_hash_table_unref (zip->by_name);
  g_string_chunk_free (zip->strings);
  g_free (zip->items);
  g_free (zip->name);
  g_free (zip);
}

size_t
td_zip_count (const td_zip *zip)
{
  return zip->count;
}

const td_zip_entry *
td_zip_at (const td_zip *zip, size_t index)
{
  return index < zip->count ? &zip->items[index].entry : NULL;
}

const td_zip_entry *
td_zip_find (const td_zip *zip, const char *name)
{
  zip_item *item = g_hash_table_lookup (zip->by_name, name);
  return item != NULL ? &item->entry : NULL;
}

const void *
td_zip_stored_data (const td_zip *zip, const td_zip_entry *entry, td_error *err)
{
  if (entry->method != TD_ZIP_STORED)
    {
      td_error_set (err, TD_ERR_UNSUPPORTED, "%s: entry '%s' is compressed; tensor data must be stored", zip->name,
                    entry->name);
      return NULL;
    }
  return zip->data + entry->data_offset;
}

/* Inflates exactly entry->size bytes of raw deflate data into out. */
static td_status
inflate_exact (const td_zip *zip, const td_zip_entry *entry, uint8_t *out, td_error *err)
{
  z_stream z = { 0 };
  if (inflateInit2 (&z, -MAX_WBITS) != Z_OK)
    return td_error_set (err, TD_ERR_NO_MEMORY, "%s: cannot start inflating '%s'", zip->name, entry->name);
  const uint8_t *in = zip->data + entry->data_offset;
  uint64_t in_left = entry->csize, out_done = 0;
  /* One spare output byte: anything written there means the data is longer than declared. */
  uint64_t out_room = entry->size + 1;
  int rc = Z_OK;
  while (rc == Z_OK)
    {
      uInt in_chunk = (uInt) MIN (in_left, (uint64_t) 1 << 30);
      uInt out_chunk = (uInt) MIN (out_room - out_done, (uint64_t) 1 << 30);
      z.next_in = (Bytef *) in;
      z.avail_in = in_chunk;
      z.next_out = out + out_done;
      z.avail_out = out_chunk;
      rc = inflate (&z, Z_NO_FLUSH);
      in += in_chunk - z.avail_in;
      in_left -= in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc == Z_BUF_ERROR && (in_left == 0 || out_done == out_room))
        break;
      if (rc == Z_BUF_ERROR)
        rc = Z_OK;
    }
  inflateEnd (&z);
  if (rc != Z_STREAM_END || out_done != entry->size || in_left != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: entry '%s' does not inflate to its declared %" PRIu64 " bytes",
                         zip->name, entry->name, entry->size);
  return TD_OK;
}

void *
td_zip_read (const td_zip *zip, const td_zip_entry *entry, size_t max_size, size_t *size, td_error *err)
{
  if (entry->size > max_size)
    {
      td_error_set (err, TD_ERR_LIMIT, "%s: entry '%s' declares %" PRIu64 " bytes, more than the limit of %zu",
                    zip->name, entry->name, entry->size, max_size);
      return NULL;
    }
  uint8_t *out = malloc ((size_t) entry->size + 2);
  if (out == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory reading '%s'", zip->name, entry->name);
      return NULL;
    }
  if (entry->method == TD_ZIP_STORED)
    memcpy (out, zip->data + entry->data_offset, (size_t) entry->size);
  else if (inflate_exact (zip, entry, out, err) != TD_OK)
    {
      free (out);
      return NULL;
    }
  uLong crc = crc32_z (0L, Z_NULL, 0);
  crc = crc32_z (crc, out, (size_t) entry->size);
  if ((uint32_t) crc != entry->crc32)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: entry '%s' fails its CRC-32 check", zip->name, entry->name);
      free (out);
      return NULL;
    }
  out[entry->size] = 0;
  *size = (size_t) entry->size;
  return out;
}
