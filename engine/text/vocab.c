/* vocab.c — token string ↔ id table: an open-addressing hash over (bytes, length). */
#include "text/tokenizer_private.h"

#include <string.h>

static uint64_t
hash_bytes (const char *s, size_t len)
{
  /* FNV-1a, 64-bit. */
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++)
    {
      h ^= (uint8_t) s[i];
      h *= 0x100000001b3ull;
    }
  return h;
}

void
td_vocab_init (td_vocab *v)
{
  memset (v, 0, sizeof *v);
  v->strings = g_string_chunk_new (1 << 16);
}

void
td_vocab_clear (td_vocab *v)
{
  g_free (v->tokens);
  g_free (v->lengths);
  g_free (v->slots);
  if (v->strings != NULL)
    g_string_chunk_free (v->strings);
  memset (v, 0, sizeof *v);
}

static size_t
find_slot (const td_vocab *v, const char *token, size_t len)
{
  size_t mask = v->n_slots - 1;
  size_t i = hash_bytes (token, len) & mask;
  for (;;)
    {
      uint32_t s = v->slots[i];
      if (s == 0)
        return i;
      uint32_t id = s - 1;
      if (v->lengths[id] == len && memcmp (v->tokens[id], token, len) == 0)
        return i;
      i = (i + 1) & mask;
    }
}

static void
grow_slots (td_vocab *v)
{
  uint32_t *old = v->slots;
  size_t old_n = v->n_slots;
  v->n_slots = old_n ? old_n * 2 : 1024;
  v->slots = g_new0 (uint32_t, v->n_slots);
  for (size_t i = 0; i < old_n; i++)
    if (old[i] != 0)
      {
        uint32_t id = old[i] - 1;
        v->slots[find_slot (v, v->tokens[id], v->lengths[id])] = old[i];
      }
  g_free (old);
}

td_vocab_result
td_vocab_add (td_vocab *v, const char *token, size_t len, int64_t id)
{
  if (id < 0 || id >= TD_VOCAB_MAX_IDS)
    return TD_VOCAB_BAD_ID;
  if (len > TD_TOKEN_MAX_BYTES)
    return TD_VOCAB_TOO_LONG;
  if ((size_t) id < v->n_ids && v->tokens[id] != NULL)
    return TD_VOCAB_DUPLICATE_ID;
  if ((v->count + 1) * 2 > v->n_slots)
    grow_slots (v);
  size_t slot = find_slot (v, token, len);
  if (v->slots[slot] != 0)
    return TD_VOCAB_DUPLICATE_TOKEN;
  if ((size_t) id >= v->capacity)
    {
      size_t cap = MAX (v->capacity * 2, (size_t) id + 1);
      cap = MAX (cap, 256);
      v->tokens = g_renew (char *, v->tokens, cap);
      v->lengths = g_renew (uint32_t, v->lengths, cap);
      memset (v->tokens + v->capacity, 0, (cap - v->capacity) * sizeof (char *));
      memset (v->lengths + v->capacity, 0, (cap - v->capacity) * sizeof (uint32_t));
      v->capacity = cap;
    }
  v->tokens[id] = g_string_chunk_insert_len (v->strings, token, len);
  v->lengths[id] = len;
  if ((size_t) id >= v->n_ids)
    v->n_ids = id + 1;
  v->slots[slot] = id + 1;
  v->count++;
  return TD_VOCAB_ADDED;
}

int32_t
td_vocab_find (const td_vocab *v, const char *token, size_t len)
{
  if (v->n_slots == 0)
    return -1;
  uint32_t s = v->slots[find_slot (v, token, len)];
  return s == 0 ? -1 : (int32_t) (s - 1);
}

const char *
td_vocab_token (const td_vocab *v, int32_t id, size_t *len)
{
  if (id < 0 || (size_t) id >= v->n_ids || v->tokens[id] == NULL)
    return NULL;
  if (len != NULL)
    *len = v->lengths[id];
  return v->tokens[id];
}

td_status
td_vocab_add_error (td_error *err, const char *where, td_vocab_result r, const char *token,
                    size_t len, int64_t id)
{
  int shown = (int) MIN (len, 40);
  switch (r)
    {
    case TD_VOCAB_DUPLICATE_TOKEN:
      return td_error_set (err, TD_ERR_FORMAT, "%s: token '%.*s' appears twice", where, shown, token);
    case TD_VOCAB_DUPLICATE_ID:
      return td_error_set (err, TD_ERR_FORMAT, "%s: id %" G_GINT64_FORMAT " is given to two tokens (second: '%.*s')",
                           where, id, shown, token);
    case TD_VOCAB_BAD_ID:
      return td_error_set (err, TD_ERR_FORMAT, "%s: id %" G_GINT64_FORMAT " of token '%.*s' is out of range (0…%u)",
                           where, id, shown, token, TD_VOCAB_MAX_IDS - 1);
    case TD_VOCAB_TOO_LONG:
      return td_error_set (err, TD_ERR_LIMIT, "%s: token '%.*s…' is %zu bytes long (limit %d)",
                           where, shown, token, len, TD_TOKEN_MAX_BYTES);
    case TD_VOCAB_ADDED:
      break;
    }
  return TD_OK;
}
