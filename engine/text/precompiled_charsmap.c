/* precompiled_charsmap.c — SentencePiece's compiled normalisation rules.
 *
 * The blob is: a little-endian u32 byte size of a darts-clone double-array trie, the trie
 * (u32 units), then a pool of NUL-terminated UTF-8 replacement strings. A trie key is the
 * UTF-8 of a source sequence; its value is the offset of its replacement in the pool.
 *
 * Two lookups exist and both are needed: SentencePiece itself takes the longest match at
 * each position; Hugging Face's `Precompiled` normaliser walks grapheme clusters and takes
 * the shortest match of a whole cluster (shorter than 6 bytes), else of each character.
 */
#include "text/tokenizer_private.h"

#include <string.h>

struct td_charsmap {
  uint32_t *units;
  size_t n_units;
  char *pool;
  size_t pool_size;
};

/* darts-clone unit layout */
static inline bool unit_has_leaf (uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value (uint32_t u) { return u & 0x7fffffffu; }
static inline uint32_t unit_label (uint32_t u) { return u & (0x80000000u | 0xffu); }
static inline uint32_t unit_offset (uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

td_status
td_charsmap_new (const char *name, const uint8_t *blob, size_t size, td_charsmap **out,
                 td_error *err)
{
  *out = NULL;
  if (size < 4)
    return td_error_set (err, TD_ERR_FORMAT, "%s: precompiled_charsmap is %zu bytes, too short for its header",
                         name, size);
  uint32_t trie_size = blob[0] | blob[1] << 8 | blob[2] << 16 | (uint32_t) blob[3] << 24;
  if (trie_size % 4 != 0 || trie_size > size - 4 || trie_size == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: precompiled_charsmap trie size %u does not fit its %zu bytes",
                         name, trie_size, size);
  td_charsmap *map = g_new0 (td_charsmap, 1);
  map->n_units = trie_size / 4;
  map->units = g_new (uint32_t, map->n_units);
  for (size_t i = 0; i < map->n_units; i++)
    {
      const uint8_t *p = blob + 4 + 4 * i;
      map->units[i] = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t) p[3] << 24;
    }
  map->pool_size = size - 4 - trie_size;
  map->pool = g_malloc (map->pool_size + 1);
  memcpy (map->pool, blob + 4 + trie_size, map->pool_size);
  map->pool[map->pool_size] = '\0';
  /* Every replacement must be valid UTF-8. */
  for (size_t off = 0; off < map->pool_size;)
    {
      size_t n = strlen (map->pool + off);
      if (!g_utf8_validate_len (map->pool + off, n, NULL))
        {
          td_charsmap_free (map);
          return td_error_set (err, TD_ERR_FORMAT, "%s: precompiled_charsmap replacement at offset %zu is not valid UTF-8",
                               name, off);
        }
      off += n + 1;
    }
  *out = map;
  return TD_OK;
}

void
td_charsmap_free (td_charsmap *map)
{
  if (map == NULL)
    return;
  g_free (map->units);
  g_free (map->pool);
  g_free (map);
}

/* Walks the trie along KEY; calls back for each key that is a prefix, shortest first.
 * Returns the byte length of the chosen match (shortest or longest), 0 for none. */
static size_t
prefix_search (const td_charsmap *map, const char *key, size_t len, bool longest, uint32_t *value)
{
  size_t found = 0;
  size_t pos = unit_offset (map->units[0]);
  for (size_t i = 0; i < len; i++)
    {
      uint8_t c = (uint8_t) key[i];
      if (c == 0)
        break;
      pos ^= c;
      if (pos >= map->n_units)
        break;
      uint32_t u = map->units[pos];
      if (unit_label (u) != c)
        break;
      pos ^= unit_offset (u);
      if (pos >= map->n_units)
        break;
      if (unit_has_leaf (u))
        {
          uint32_t v = unit_value (map->units[pos]);
          if (v < map->pool_size)
            {
              *value = v;
              found = i + 1;
              if (!longest)
                break;
            }
        }
    }
  return found;
}

size_t
td_charsmap_normalize_prefix (const td_charsmap *map, const char *text, size_t len,
                              const char **repl, size_t *repl_len)
{
  uint32_t value = 0;
  size_t n = map != NULL ? prefix_search (map, text, len, true, &value) : 0;
  if (n > 0)
    {
      *repl = map->pool + value;
      *repl_len = strlen (*repl);
      return n;
    }
  /* No rule: one character as it is, or U+FFFD for a malformed byte. */
  gunichar c = g_utf8_get_char_validated (text, len);
  if (c == (gunichar) -1 || c == (gunichar) -2)
    {
      *repl = "\xef\xbf\xbd";
      *repl_len = 3;
      return 1;
    }
  *repl = text;
  *repl_len = g_utf8_skip[(uint8_t) text[0]];
  return *repl_len;
}

/* ---- grapheme clusters (the parts of UAX #29 that matter for normalisation) ---- */

typedef enum { GB_OTHER, GB_CR, GB_LF, GB_CONTROL, GB_EXTEND, GB_ZWJ, GB_RI, GB_SPACING,
               GB_L, GB_V, GB_T, GB_LV, GB_LVT, GB_PICTO } gb_class;

static gb_class
grapheme_class (gunichar c)
{
  if (c == '\r')
    return GB_CR;
  if (c == '\n')
    return GB_LF;
  if (c == 0x200d)
    return GB_ZWJ;
  if (c == 0x200c || (c >= 0x1f3fb && c <= 0x1f3ff) || (c >= 0xe0020 && c <= 0xe007f))
    return GB_EXTEND;
  if (c >= 0x1f1e6 && c <= 0x1f1ff)
    return GB_RI;
  if ((c >= 0x1100 && c <= 0x115f) || (c >= 0xa960 && c <= 0xa97c))
    return GB_L;
  if ((c >= 0x1160 && c <= 0x11a7) || (c >= 0xd7b0 && c <= 0xd7c6))
    return GB_V;
  if ((c >= 0x11a8 && c <= 0x11ff) || (c >= 0xd7cb && c <= 0xd7fb))
    return GB_T;
  if (c >= 0xac00 && c <= 0xd7a3)
    return (c - 0xac00) % 28 == 0 ? GB_LV : GB_LVT;
  if ((c >= 0x1f000 && c <= 0x1faff) || (c >= 0x2600 && c <= 0x27bf) || c == 0x00a9 || c == 0x00ae
      || (c >= 0x2190 && c <= 0x21ff) || (c >= 0x2300 && c <= 0x23ff) || (c >= 0x2b00 && c <= 0x2bff))
    return GB_PICTO;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return GB_CONTROL;
    case G_UNICODE_FORMAT:
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
      return GB_EXTEND;
    case G_UNICODE_SPACING_MARK:
      return GB_SPACING;
    default:
      return GB_OTHER;
    }
}

static bool
grapheme_break (gb_class prev, gb_class next, bool picto_before_zwj, int ri_count)
{
  if (prev == GB_CR && next == GB_LF)
    return false;
  if (prev == GB_CR || prev == GB_LF || prev == GB_CONTROL)
    return true;
  if (next == GB_CR || next == GB_LF || next == GB_CONTROL)
    return true;
  if (prev == GB_L && (next == GB_L || next == GB_V || next == GB_LV || next == GB_LVT))
    return false;
  if ((prev == GB_LV || prev == GB_V) && (next == GB_V || next == GB_T))
    return false;
  if ((prev == GB_LVT || prev == GB_T) && next == GB_T)
    return false;
  if (next == GB_EXTEND || next == GB_ZWJ || next == GB_SPACING)
    return false;
  if (prev == GB_ZWJ && next == GB_PICTO && picto_before_zwj)
    return false;
  if (prev == GB_RI && next == GB_RI && ri_count % 2 == 1)
    return false;
  return true;
}

/* Byte length of the grapheme cluster at TEXT (valid UTF-8). */
static size_t
grapheme_length (const char *text, size_t len)
{
  const char *p = text, *end = text + len;
  gunichar c = g_utf8_get_char (p);
  gb_class prev = grapheme_class (c);
  bool picto = prev == GB_PICTO;
  int ri_count = prev == GB_RI;
  p = g_utf8_next_char (p);
  while (p < end)
    {
      gb_class next = grapheme_class (g_utf8_get_char (p));
      if (grapheme_break (prev, next, picto, ri_count))
        break;
      if (next == GB_PICTO)
        picto = true;
      else if (next != GB_EXTEND && next != GB_ZWJ)
        picto = false;
      ri_count = next == GB_RI ? ri_count + 1 : 0;
      prev = next;
      p = g_utf8_next_char (p);
    }
  return p - text;
}

bool
td_charsmap_normalize_hf (const td_charsmap *map, const char *text, size_t len, size_t max_bytes, GString *out)
{
  const char *p = text, *end = text + len;
  uint32_t value;
  while (p < end)
    {
      if (out->len > max_bytes)
        return false;
      size_t glen = grapheme_length (p, end - p);
      if (glen < 6 && prefix_search (map, p, glen, false, &value) > 0)
        {
          g_string_append (out, map->pool + value);
          p += glen;
          continue;
        }
      for (const char *q = p; q < p + glen; q = g_utf8_next_char (q))
        {
          size_t clen = g_utf8_skip[(uint8_t) *q];
          if (prefix_search (map, q, clen, false, &value) > 0)
            g_string_append (out, map->pool + value);
          else
            g_string_append_len (out, q, clen);
        }
      p += glen;
    }
  return out->len <= max_bytes;
}
