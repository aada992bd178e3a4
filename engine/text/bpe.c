/* bpe.c — byte-pair encoding by merge rank (as tokenizers' BPE model), with a per-word cache. */
#include "text/tokenizer_private.h"

#include <stdio.h>
#include <string.h>

#define CACHE_MAX_ENTRIES 200000
#define CACHE_MAX_WORD 256

/* (left id, right id) → (rank, merged id), open addressing. */
typedef struct merge_slot {
  uint64_t key;     /* left << 32 | right, plus one bit so that 0 means empty */
  uint32_t rank;
  int32_t merged;
} merge_slot;

struct td_bpe {
  const td_vocab *vocab;
  char *suffix;           /* end_of_word_suffix ("</w>" for CLIP) */
  char *prefix;           /* continuing_subword_prefix */
  int32_t unk_id;
  bool fuse_unk, byte_fallback, ignore_merges;

  merge_slot *slots;
  size_t n_slots, n_merges;

  GMutex cache_lock;
  GHashTable *cache;      /* word → int32 array, element 0 the count */
};

static inline uint64_t
merge_key (int32_t left, int32_t right)
{
  return ((uint64_t) (uint32_t) left << 32 | (uint32_t) right) | (1ull << 63);
}

static inline size_t
merge_hash (uint64_t key, size_t mask)
{
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return key & mask;
}

static merge_slot *
merge_find (const td_bpe *bpe, uint64_t key)
{
  size_t mask = bpe->n_slots - 1;
  for (size_t i = merge_hash (key, mask);; i = (i + 1) & mask)
    if (bpe->slots[i].key == key || bpe->slots[i].key == 0)
      return &bpe->slots[i];
}

static void
merge_grow (td_bpe *bpe)
{
  merge_slot *old = bpe->slots;
  size_t old_n = bpe->n_slots;
  bpe->n_slots = old_n ? old_n * 2 : 4096;
  bpe->slots = g_new0 (merge_slot, bpe->n_slots);
  for (size_t i = 0; i < old_n; i++)
    if (old[i].key != 0)
      *merge_find (bpe, old[i].key) = old[i];
  g_free (old);
}

td_bpe *
td_bpe_new (const td_vocab *vocab, const char *end_of_word_suffix,
            const char *continuing_subword_prefix, int32_t unk_id, bool fuse_unk,
            bool byte_fallback, bool ignore_merges)
{
  td_bpe *bpe = g_new0 (td_bpe, 1);
  bpe->vocab = vocab;
  bpe->suffix = g_strdup (end_of_word_suffix ? end_of_word_suffix : "");
  bpe->prefix = g_strdup (continuing_subword_prefix ? continuing_subword_prefix : "");
  bpe->unk_id = unk_id;
  bpe->fuse_unk = fuse_unk;
  bpe->byte_fallback = byte_fallback;
  bpe->ignore_merges = ignore_merges;
  g_mutex_init (&bpe->cache_lock);
  bpe->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  merge_grow (bpe);
  return bpe;
}

void
td_bpe_free (td_bpe *bpe)
{
  if (bpe == NULL)
    return;
  g_free (bpe->suffix);
  g_free (bpe->prefix);
  g_free (bpe->slots);
  g_hash_table_unref (bpe->cache);
  g_mutex_clear (&bpe->cache_lock);
  g_free (bpe);
}

const char *
td_bpe_end_of_word_suffix (const td_bpe *bpe)
{
  return bpe->suffix;
}

td_status
td_bpe_add_merge (td_bpe *bpe, const char *where, const char *left, size_t left_len,
                  const char *right, size_t right_len, td_error *err)
{
  int32_t l = td_vocab_find (bpe->vocab, left, left_len);
  if (l < 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s names unknown token '%.*s'", where,
                         (int) MIN (left_len, 60), left);
  int32_t r = td_vocab_find (bpe->vocab, right, right_len);
  if (r < 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s names unknown token '%.*s'", where,
                         (int) MIN (right_len, 60), right);
  /* The merged token drops the right part's continuing-subword prefix. */
  size_t plen = strlen (bpe->prefix);
  if (plen > 0 && right_len >= plen && memcmp (right, bpe->prefix, plen) == 0)
    right += plen, right_len -= plen;
  size_t len = left_len + right_len;
  if (len > TD_TOKEN_MAX_BYTES)
    return td_error_set (err, TD_ERR_LIMIT, "%s: merged token is %zu bytes long", where, len);
  char merged[TD_TOKEN_MAX_BYTES];
  memcpy (merged, left, left_len);
  memcpy (merged + left_len, right, right_len);
  int32_t m = td_vocab_find (bpe->vocab, merged, len);
  if (m < 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: the merge of '%.*s' and '%.*s' is not in the vocabulary",
                         where, (int) MIN (left_len, 60), left, (int) MIN (right_len, 60), right);
  if ((bpe->n_merges + 1) * 2 > bpe->n_slots)
    merge_grow (bpe);
  merge_slot *slot = merge_find (bpe, merge_key (l, r));
  /* A repeated pair takes its later rank, as tokenizers does. */
  slot->key = merge_key (l, r);
  slot->rank = (uint32_t) bpe->n_merges++;
  slot->merged = m;
  return TD_OK;
}

typedef struct symbol {
  int32_t id;
  int prev, next;    /* indices, -1 at the ends */
} symbol;

/* Appends the initial symbols of one character (UTF-8 C, CLEN bytes). */
static void
add_char_symbols (td_bpe *bpe, GArray *syms, const char *c, size_t clen, bool first, bool last,
                  bool *prev_unk)
{
  char buf[TD_TOKEN_MAX_BYTES];
  size_t n = 0, plen = first ? 0 : strlen (bpe->prefix), slen = last ? strlen (bpe->suffix) : 0;
  memcpy (buf, bpe->prefix, plen), n += plen;
  memcpy (buf + n, c, clen), n += clen;
  memcpy (buf + n, bpe->suffix, slen), n += slen;
  int32_t id = td_vocab_find (bpe->vocab, buf, n);
  if (id >= 0)
    {
      g_array_append_val (syms, ((symbol) { id, -1, -1 }));
      *prev_unk = false;
      return;
    }
  if (bpe->byte_fallback)
    {
      int32_t ids[4];
      size_t k = 0;
      for (; k < clen; k++)
        {
          char hex[8];
          snprintf (hex, sizeof hex, "<0x%02X>", (uint8_t) c[k]);
          if ((ids[k] = td_vocab_find (bpe->vocab, hex, 6)) < 0)
            break;
        }
      if (k == clen)
        {
          for (k = 0; k < clen; k++)
            g_array_append_val (syms, ((symbol) { ids[k], -1, -1 }));
          *prev_unk = false;
          return;
        }
    }
  if (bpe->unk_id < 0)
    return; /* no unknown token: the character is dropped, as tokenizers does */
  if (!(bpe->fuse_unk && *prev_unk))
    g_array_append_val (syms, ((symbol) { bpe->unk_id, -1, -1 }));
  *prev_unk = true;
}

static void
encode_uncached (td_bpe *bpe, const char *word, size_t len, GArray *ids)
{
  if (bpe->ignore_merges)
    {
      int32_t id = td_vocab_find (bpe->vocab, word, len);
      if (id >= 0)
        {
          g_array_append_val (ids, id);
          return;
        }
    }
  GArray *syms = g_array_new (FALSE, FALSE, sizeof (symbol));
  bool prev_unk = false;
  for (const char *p = word, *end = word + len; p < end;)
    {
      size_t clen = MIN ((size_t) g_utf8_skip[(uint8_t) *p], (size_t) (end - p));
      add_char_symbols (bpe, syms, p, clen, p == word, p + clen == end, &prev_unk);
      p += clen;
    }
  symbol *s = (symbol *) syms->data;
  int n = syms->len;
  for (int i = 0; i < n; i++)
    s[i].prev = i - 1, s[i].next = i + 1 < n ? i + 1 : -1;
  /* Merge the lowest-ranked adjacent pair, leftmost first, until none is left. */
  for (;;)
    {
      uint32_t best_rank = UINT32_MAX;
      int best = -1;
      int32_t best_merged = -1;
      for (int i = n > 0 ? 0 : -1; i >= 0 && s[i].next >= 0; i = s[i].next)
        {
          const merge_slot *m = merge_find (bpe, merge_key (s[i].id, s[s[i].next].id));
          if (m->key != 0 && m->rank < best_rank)
            best_rank = m->rank, best = i, best_merged = m->merged;
        }
      if (best < 0)
        break;
      int gone = s[best].next;
      s[best].id = best_merged;
      s[best].next = s[gone].next;
      if (s[gone].next >= 0)
        s[s[gone].next].prev = best;
    }
  for (int i = n > 0 ? 0 : -1; i >= 0; i = s[i].next)
    g_array_append_val (ids, s[i].id);
  g_array_unref (syms);
}

void
td_bpe_encode_word (td_bpe *bpe, const char *word, size_t len, GArray *ids)
{
  bool cacheable = len <= CACHE_MAX_WORD && memchr (word, 0, len) == NULL;
  if (cacheable)
    {
      g_autofree char *key = g_strndup (word, len);
      g_mutex_lock (&bpe->cache_lock);
      const int32_t *hit = g_hash_table_lookup (bpe->cache, key);
      if (hit != NULL)
        g_array_append_vals (ids, hit + 1, hit[0]);
      g_mutex_unlock (&bpe->cache_lock);
      if (hit != NULL)
        return;
    }
  guint before = ids->len;
  encode_uncached (bpe, word, len, ids);
  if (cacheable)
    {
      guint count = ids->len - before;
      int32_t *entry = g_new (int32_t, count + 1);
      entry[0] = count;
      memcpy (entry + 1, &g_array_index (ids, int32_t, before), count * sizeof (int32_t));
      g_mutex_lock (&bpe->cache_lock);
      if (g_hash_table_size (bpe->cache) >= CACHE_MAX_ENTRIES)
        g_hash_table_remove_all (bpe->cache);
      g_hash_table_replace (bpe->cache, g_strndup (word, len), entry);
      g_mutex_unlock (&bpe->cache_lock);
    }
}
