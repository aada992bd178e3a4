/* hub_client.h — HTTP access to a Hugging Face-compatible hub (libsoup 3).
 *
 * Redirects are followed by hand so the token goes only to the endpoint's
 * own origin (scheme, host, port): the hub redirects LFS downloads to CDN
 * hosts that must never see it. Blocking calls, meant for a worker thread;
 * a client is used from one thread at a time. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>

#include "net/hub_listing.h"

#define TD_HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define TD_HUB_MAX_REDIRECTS 10
#define TD_HUB_MAX_PAGES 1000

typedef struct td_hub_client td_hub_client;

typedef struct td_hub_client_options {
  const char *endpoint;     /* NULL: $HF_ENDPOINT, else TD_HUB_DEFAULT_ENDPOINT */
  const char *token;        /* NULL: anonymous */
  unsigned timeout_s;       /* connect and idle timeout; 0: 60 s */
  bool no_proxy;            /* ignore the system proxy settings (tests) */
  unsigned retry_base_ms;   /* first retry delay, doubled each time; 0: 1000 ms */
} td_hub_client_options;

/* An open response body (status 200 or 206). */
typedef struct td_hub_response {
  void *msg;                /* SoupMessage */
  GInputStream *body;
  unsigned status;
  int64_t content_length;   /* -1 when not given */
  int64_t range_start;      /* from Content-Range on 206, else 0 */
  int64_t range_total;      /* from Content-Range on 206, else -1 */
  char *etag;               /* strong ETag of the final response, or NULL */
} td_hub_response;

td_hub_client *td_hub_client_new (const td_hub_client_options *options, td_error *err);
void td_hub_client_free (td_hub_client *client);

/* The normalised endpoint ("https://huggingface.co", no trailing slash). */
const char *td_hub_client_endpoint (const td_hub_client *client);
/* Its host name, the key tokens are stored under. */
const char *td_hub_client_host (const td_hub_client *client);
bool td_hub_client_has_token (const td_hub_client *client);

/* {endpoint}/{repo}/resolve/{revision}/{path}, path segments escaped. */
char *td_hub_client_resolve_url (const td_hub_client *client, const char *repo_id,
                                 const char *revision, const char *path);

/* GET url. range_from > 0 asks for bytes from there on; if_range (an ETag)
 * makes the server send the whole file when it changed. Sets *retryable for
 * failures worth another try (connection errors, timeouts, 5xx, 429).
 * 401/403 give TD_ERR_AUTH, 404 TD_ERR_NOT_FOUND, 416 TD_ERR_LIMIT. */
td_status td_hub_client_get (td_hub_client *client, const char *url, uint64_t range_from,
                             const char *if_range, td_hub_response *response, bool *retryable,
                             GCancellable *cancellable, td_error *err);
void td_hub_response_clear (td_hub_response *response);

/* Sleeps retry_base_ms × 2^attempt (at most 30 s), waking early on cancel. */
void td_hub_client_backoff (const td_hub_client *client, unsigned attempt,
                            GCancellable *cancellable);

/* Lists every file of repo_id at revision (all pages), retrying passing
 * failures up to max_retries times. */
td_status td_hub_client_list (td_hub_client *client, const char *repo_id, const char *revision,
                              unsigned max_retries, td_hub_listing *listing,
                              GCancellable *cancellable, td_error *err);

/* Rewrites an AUTH failure into the message users need: accept the licence
 * at <endpoint>/<repo> and give a token. Other statuses pass through. */
td_status td_hub_explain_auth (const td_hub_client *client, const char *repo_id, td_status st,
                               td_error *err);
