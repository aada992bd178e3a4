/* The libsecret implementation of td_token_store: one secret per endpoint
 * host, in the default collection, labelled so users recognise it in Seahorse. */
#include "net/token_store.h"

#include <libsecret/secret.h>

static const SecretSchema *
hub_token_schema (void)
{
  static const SecretSchema schema = {
    TD_TOKEN_SCHEMA_NAME,
    SECRET_SCHEMA_NONE,
    {
      { "host", SECRET_SCHEMA_ATTRIBUTE_STRING },
    },
  };
  return &schema;
}

static td_status
keyring_error (td_error *err, const char *what, GError *error)
{
  return td_error_set (err, TD_ERR_IO, "keyring: %s: %s", what,
                       error != NULL ? error->message : "unknown error");
}

static td_status
keyring_lookup (td_token_store *store, const char *host, char **token_out, td_error *err)
{
  g_autoptr (GError) error = NULL;
  char *secret = secret_password_lookup_sync (hub_token_schema (), NULL, &error, "host", host,
                                              NULL);
  if (error != NULL)
    return keyring_error (err, "lookup failed", error);
  *token_out = secret != NULL ? g_strdup (secret) : NULL;
  secret_password_free (secret);
  return TD_OK;
}

static td_status
keyring_save (td_token_store *store, const char *host, const char *token, td_error *err)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *label = g_strdup_printf ("ThinkDiff Studio: model hub token for %s", host);
  if (!secret_password_store_sync (hub_token_schema (), SECRET_COLLECTION_DEFAULT, label, token,
                                   NULL, &error, "host", host, NULL))
    return keyring_error (err, "storing the token failed", error);
  return TD_OK;
}

static td_status
keyring_clear (td_token_store *store, const char *host, td_error *err)
{
  g_autoptr (GError) error = NULL;
  secret_password_clear_sync (hub_token_schema (), NULL, &error, "host", host, NULL);
  if (error != NULL)
    return keyring_error (err, "removing the token failed", error);
  return TD_OK;
}

static void
keyring_free (td_token_store *store)
{
  g_free (store);
}

static const td_token_store_vtable keyring_vtable = {
  keyring_lookup, keyring_save, keyring_clear, keyring_free,
};

td_token_store *
td_token_store_new_keyring (td_error *err)
{
  td_token_store *store = g_new0 (td_token_store, 1);
  store->vtable = &keyring_vtable;
  return store;
}
