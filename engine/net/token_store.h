/* token_store.h — where the hub access token lives between runs.
 *
 * Tokens are kept per endpoint host in the desktop keyring (libsecret,
 * schema io.github.thinkdiff.Studio.HubToken), never in plain files. The
 * interface lets tests and headless machines use an in-memory store. */
#pragma once

#include "thinkdiff.h"

#define TD_TOKEN_SCHEMA_NAME "io.github.thinkdiff.Studio.HubToken"

typedef struct td_token_store td_token_store;

typedef struct td_token_store_vtable {
  /* *token_out is NULL (and TD_OK) when nothing is stored for host. */
  td_status (*lookup) (td_token_store *store, const char *host, char **token_out, td_error *err);
  td_status (*save) (td_token_store *store, const char *host, const char *token, td_error *err);
  td_status (*clear) (td_token_store *store, const char *host, td_error *err);
  void (*free) (td_token_store *store);
} td_token_store_vtable;

struct td_token_store {
  const td_token_store_vtable *vtable;
};

/* The store functions are public: see thinkdiff-models.h. */
