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

/* A candidate merge of the symbol at POS with the one after it. */
typedef struct pair_entry {
  uint32_t rank;
  int pos;
  int32_t left, right, merged;
} pair_entry;

typedef struct pair_heap {
  pair_entry *items;
  size_t len, cap;
} pair_heap;

static inline bool
pair_before (const pair_entry *a, const pair_entry *b)
{
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void
heap_push (pair_heap *h, pair_entry e)
{
  if (h->len == h->cap)
    {
      h->cap = h->cap ? h->cap * 2 : 64;
      h->items = g_renew (pair_entry, h->items, h->cap);
    }
  size_t i = h->len++;
  while (i > 0 && pair_before (&e, &h->items[(i - 1) / 2]))
    {
      h->items[i] = h->items[(i - 1) / 2];
      i = (i - 1) / 2;
    }
  h->items[i] = e;
}

static bool
heap_pop (pair_heap *h, pair_entry *out)
{
  if (h->len == 0)
    return false;
  *out = h->items[0];
  pair_entry last = h->items[--h->len];
  size_t i = 0;
  for (;;)
    {
      size_t child = 2 * i + 1;
      if (child >= h->len)
        break;
      if (child + 1 < h->len && pair_before (&h->items[child + 1], &h->items[child]))
        child++;
      if (!pair_before (&h->items[child], &last))
        break;
      h->items[i] = h->items[child];
      i = child;
    }
  if (h->len > 0)
    h->items[i] = last;
  return true;
}

static void
push_pair (const td_bpe *bpe, pair_heap *heap, const symbol *s, int pos)
{
  int next = s[pos].next;
  if (next < 0)
    return;
  const merge_slot *m = merge_find (bpe, merge_key (s[pos].id, s[next].id));
  if (m->key != 0)
    heap_push (heap, (pair_entry) { m->rank, pos, s[pos].id, s[next].id, m->merged });
}

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
  /* Merge the lowest-ranked adjacent pair, leftmost first, until none is left. Candidate
   * pairs wait in a heap ordered by (rank, position); an entry whose pair has changed
   * since it was pushed is dropped when it comes up, so a word of n symbols takes
   * O(n log n) rather than a rescan of the word per merge. */
  pair_heap heap = { 0 };
  for (int i = 0; i + 1 < n; i++)
    push_pair (bpe, &heap, s, i);
  pair_entry top;
  while (heap_pop (&heap, &top))
    {
      int gone = s[top.pos].next;
      if (s[top.pos].id < 0 || gone < 0 || s[top.pos].id != top.left || s[gone].id != top.right)
        continue; /* stale: one side was merged since */
      s[top.pos].id = top.merged;
      s[top.pos].next = s[gone].next;
      s[gone].id = -1;
      if (s[gone].next >= 0)
        s[s[gone].next].prev = top.pos;
      if (s[top.pos].prev >= 0)
        push_pair (bpe, &heap, s, s[top.pos].prev);
      push_pair (bpe, &heap, s, top.pos);
    }
  g_free (heap.items);
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
      if (count > 0)
        memcpy (entry + 1, &g_array_index (ids, int32_t, before), count * sizeof (int32_t));
      g_mutex_lock (&bpe->cache_lock);
      if (g_hash_table_size (bpe->cache) >= CACHE_MAX_ENTRIES)
        g_hash_table_remove_all (bpe->cache);
      g_hash_table_replace (bpe->cache, g_strndup (word, len), entry);
      g_mutex_unlock (&bpe->cache_lock);
    }
}
