#include "net/token_store.h"

#include <glib.h>
#include <string.h>

bool
td_token_is_valid (const char *token)
{
  if (token == NULL)
    return false;
  size_t len = strlen (token);
  if (len == 0 || len > TD_TOKEN_MAX_LEN)
    return false;
  for (size_t i = 0; i < len; i++)
    if (token[i] <= 0x20 || token[i] >= 0x7f)
      return false;
  return true;
}

static bool
host_is_valid (const char *host)
{
  return host != NULL && host[0] != '\0' && strlen (host) <= 255;
}

td_status
td_token_store_lookup (td_token_store *store, const char *host, char **token_out, td_error *err)
{
  *token_out = NULL;
  if (!host_is_valid (host))
    return td_error_set (err, TD_ERR_INVALID_ARG, "token store: invalid host");
  td_status st = store->vtable->lookup (store, host, token_out, err);
  if (st == TD_OK && *token_out != NULL && !td_token_is_valid (*token_out))
    {
      g_clear_pointer (token_out, g_free);
      return td_error_set (err, TD_ERR_FORMAT, "token store: the stored token for %s is malformed",
                           host);
    }
  return st;
}

td_status
td_token_store_save (td_token_store *store, const char *host, const char *token, td_error *err)
{
  if (!host_is_valid (host))
    return td_error_set (err, TD_ERR_INVALID_ARG, "token store: invalid host");
  if (!td_token_is_valid (token))
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "token store: a token is 1-%d printable characters without spaces",
                         TD_TOKEN_MAX_LEN);
  return store->vtable->save (store, host, token, err);
}

td_status
td_token_store_clear (td_token_store *store, const char *host, td_error *err)
{
  if (!host_is_valid (host))
    return td_error_set (err, TD_ERR_INVALID_ARG, "token store: invalid host");
  return store->vtable->clear (store, host, err);
}

void
td_token_store_free (td_token_store *store)
{
  if (store != NULL)
    store->vtable->free (store);
}

/* In-memory store: for tests and for machines without a keyring. Tokens are
 * wiped before their memory is released. */
typedef struct {
  td_token_store parent;
  GHashTable *tokens;   /* host → token */
} memory_store;

static void
wipe_and_free (gpointer data)
{
  char *s = data;
  memset (s, 0, strlen (s));
  g_free (s);
}

static td_status
memory_lookup (td_token_store *store, const char *host, char **token_out, td_error *err)
{
  memory_store *m = (memory_store *) store;
  *token_out = g_strdup (g_hash_table_lookup (m->tokens, host));
  return TD_OK;
}

static td_status
memory_save (td_token_store *store, const char *host, const char *token, td_error *err)
{
  memory_store *m = (memory_store *) store;
  g_hash_table_replace (m->tokens, g_strdup (host), g_strdup (token));
  return TD_OK;
}

static td_status
memory_clear (td_token_store *store, const char *host, td_error *err)
{
  memory_store *m = (memory_store *) store;
  g_hash_table_remove (m->tokens, host);
  return TD_OK;
}

static void
memory_free (td_token_store *store)
{
  memory_store *m = (memory_store *) store;
  g_hash_table_destroy (m->tokens);
  g_free (m);
}

static const td_token_store_vtable memory_vtable = {
  memory_lookup, memory_save, memory_clear, memory_free,
};

td_token_store *
td_token_store_new_memory (void)
{
  memory_store *m = g_new0 (memory_store, 1);
  m->parent.vtable = &memory_vtable;
  m->tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, wipe_and_free);
  return &m->parent;
}

#ifndef TD_HAVE_LIBSECRET
td_token_store *
td_token_store_new_keyring (td_error *err)
{
  td_error_set (err, TD_ERR_UNSUPPORTED, "this build has no keyring support (libsecret)");
  return NULL;
}
#endif
