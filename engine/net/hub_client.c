#include "net/hub_client.h"

#include <libsoup/soup.h>
#include <string.h>

#include "net/repo_path.h"
#include "net/token_store.h"

#define LISTING_PAGE_MAX_BYTES (64u << 20)

struct td_hub_client {
  SoupSession *session;
  char *endpoint;   /* no trailing slash */
  GUri *endpoint_uri;
  char *token;      /* NULL: anonymous */
  unsigned retry_base_ms;
};

static bool
is_http_scheme (const char *scheme)
{
  return scheme != NULL && (g_ascii_strcasecmp (scheme, "http") == 0
                            || g_ascii_strcasecmp (scheme, "https") == 0);
}

static int
effective_port (GUri *uri)
{
  int port = g_uri_get_port (uri);
  if (port > 0)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

static bool
same_origin (GUri *a, GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0
         && g_uri_get_host (a) != NULL && g_uri_get_host (b) != NULL
         && g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0
         && effective_port (a) == effective_port (b);
}

td_hub_client *
td_hub_client_new (const td_hub_client_options *o, td_error *err)
{
  const char *endpoint = o->endpoint;
  if (endpoint == NULL || endpoint[0] == '\0')
    endpoint = g_getenv ("HF_ENDPOINT");
  if (endpoint == NULL || endpoint[0] == '\0')
    endpoint = TD_HUB_DEFAULT_ENDPOINT;
  g_autofree char *trimmed = g_strdup (endpoint);
  for (size_t n = strlen (trimmed); n > 0 && trimmed[n - 1] == '/'; n--)
    trimmed[n - 1] = '\0';
  g_autoptr (GError) error = NULL;
  GUri *uri = g_uri_parse (trimmed, G_URI_FLAGS_ENCODED, &error);
  if (uri == NULL || !is_http_scheme (g_uri_get_scheme (uri)) || g_uri_get_host (uri) == NULL
      || g_uri_get_host (uri)[0] == '\0' || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL || g_uri_get_userinfo (uri) != NULL)
    {
      if (uri != NULL)
        g_uri_unref (uri);
      td_error_set (err, TD_ERR_INVALID_ARG,
                    "endpoint '%s' is not an http(s) URL without query or credentials", endpoint);
      return NULL;
    }
  if (o->token != NULL && !td_token_is_valid (o->token))
    {
      g_uri_unref (uri);
      td_error_set (err, TD_ERR_INVALID_ARG,
                    "the token has spaces, control or non-ASCII characters");
      return NULL;
    }
  td_hub_client *c = g_new0 (td_hub_client, 1);
  c->endpoint = g_steal_pointer (&trimmed);
  c->endpoint_uri = uri;
  c->token = g_strdup (o->token);
  c->retry_base_ms = o->retry_base_ms ? o->retry_base_ms : 1000;
  unsigned timeout = o->timeout_s ? o->timeout_s : 60;
  c->session = soup_session_new_with_options ("timeout", timeout, "idle-timeout", timeout,
                                              "user-agent", "thinkdiff-studio/" TD_VERSION_STRING,
                                              NULL);
  /* Bytes on disk must be the bytes of the file: no transparent gunzip. */
  soup_session_remove_feature_by_type (c->session, SOUP_TYPE_CONTENT_DECODER);
  if (o->no_proxy)
    soup_session_set_proxy_resolver (c->session, NULL);
  return c;
}

void
td_hub_client_free (td_hub_client *c)
{
  if (c == NULL)
    return;
  g_clear_object (&c->session);
  g_uri_unref (c->endpoint_uri);
  g_free (c->endpoint);
  if (c->token != NULL)
    memset (c->token, 0, strlen (c->token));
  g_free (c->token);
  g_free (c);
}

const char *
td_hub_client_endpoint (const td_hub_client *c)
{
  return c->endpoint;
}

const char *
td_hub_client_host (const td_hub_client *c)
{
  return g_uri_get_host (c->endpoint_uri);
}

bool
td_hub_client_has_token (const td_hub_client *c)
{
  return c->token != NULL;
}

static char *
escape_path (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (size_t i = 0; parts[i] != NULL; i++)
    {
      char *escaped = g_uri_escape_string (parts[i], NULL, FALSE);
      g_free (parts[i]);
      parts[i] = escaped;
    }
  return g_strjoinv ("/", parts);
}

char *
td_hub_client_resolve_url (const td_hub_client *c, const char *repo_id, const char *revision,
                           const char *path)
{
  g_autofree char *rev = g_uri_escape_string (revision, NULL, FALSE);
  g_autofree char *p = escape_path (path);
  return g_strdup_printf ("%s/%s/resolve/%s/%s", c->endpoint, repo_id, rev, p);
}

void
td_hub_response_clear (td_hub_response *r)
{
  if (r->body != NULL)
    g_input_stream_close (r->body, NULL, NULL);
  g_clear_object (&r->body);
  g_clear_object ((SoupMessage **) &r->msg);
  g_clear_pointer (&r->etag, g_free);
  memset (r, 0, sizeof *r);
}

static bool
is_redirect (unsigned status)
{
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static SoupMessage *
build_request (td_hub_client *c, GUri *uri, uint64_t range_from, const char *if_range)
{
  SoupMessage *msg = soup_message_new_from_uri ("GET", uri);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  SoupMessageHeaders *h = soup_message_get_request_headers (msg);
  soup_message_headers_replace (h, "Accept-Encoding", "identity");
  if (c->token != NULL && same_origin (uri, c->endpoint_uri))
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", c->token);
      soup_message_headers_replace (h, "Authorization", auth);
    }
  if (range_from > 0)
    {
      soup_message_headers_set_range (h, (goffset) range_from, -1);
      if (if_range != NULL)
        soup_message_headers_replace (h, "If-Range", if_range);
    }
  return msg;
}

static td_status
status_error (unsigned status, const char *reason, const char *url, bool *retryable,
              td_error *err)
{
  *retryable = status == 429 || status >= 500;
  td_status st = TD_ERR_NETWORK;
  if (status == 401 || status == 403)
    st = TD_ERR_AUTH;
  else if (status == 404)
    st = TD_ERR_NOT_FOUND;
  else if (status == 416)
    st = TD_ERR_LIMIT;
  return td_error_set (err, st, "%s: HTTP %u %s", url, status, reason ? reason : "");
}

static void
fill_response (td_hub_response *r, SoupMessage *msg, GInputStream *body)
{
  SoupMessageHeaders *h = soup_message_get_response_headers (msg);
  r->msg = msg;
  r->body = body;
  r->status = soup_message_get_status (msg);
  r->content_length = soup_message_headers_get_encoding (h) == SOUP_ENCODING_CONTENT_LENGTH
                          ? soup_message_headers_get_content_length (h)
                          : -1;
  r->range_start = 0;
  r->range_total = -1;
  goffset start, end, total;
  if (r->status == 206 && soup_message_headers_get_content_range (h, &start, &end, &total))
    {
      r->range_start = start;
      r->range_total = total;
    }
  const char *etag = soup_message_headers_get_one (h, "ETag");
  /* Weak validators may not be used with If-Range. */
  if (etag != NULL && !g_str_has_prefix (etag, "W/") && strlen (etag) < 256)
    r->etag = g_strdup (etag);
}

td_status
td_hub_client_get (td_hub_client *c, const char *url, uint64_t range_from, const char *if_range,
                   td_hub_response *r, bool *retryable, GCancellable *cancellable, td_error *err)
{
  memset (r, 0, sizeof *r);
  *retryable = false;
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, &error);
  if (uri == NULL || !is_http_scheme (g_uri_get_scheme (uri)))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: not an http(s) URL", url);

  for (int hop = 0; hop <= TD_HUB_MAX_REDIRECTS; hop++)
    {
      g_autofree char *current = g_uri_to_string (uri);
      SoupMessage *msg = build_request (c, uri, range_from, if_range);
      GInputStream *body = soup_session_send (c->session, msg, cancellable, &error);
      if (body == NULL)
        {
          g_object_unref (msg);
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return td_error_set (err, TD_ERR_CANCELLED, "%s: cancelled", current);
          *retryable = true;
          return td_error_set (err, TD_ERR_NETWORK, "%s: %s", current, error->message);
        }
      unsigned status = soup_message_get_status (msg);
      if (status == 200 || status == 206)
        {
          fill_response (r, msg, body);
          return TD_OK;
        }
      const char *location
          = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Location");
      g_autofree char *location_copy = g_strdup (location);
      g_autofree char *reason = g_strdup (soup_message_get_reason_phrase (msg));
      g_input_stream_close (body, NULL, NULL);
      g_object_unref (body);
      g_object_unref (msg);
      if (!is_redirect (status))
        return status_error (status, reason, current, retryable, err);
      if (location_copy == NULL)
        return td_error_set (err, TD_ERR_NETWORK, "%s: redirect without a Location", current);
      GUri *next = g_uri_parse_relative (uri, location_copy, G_URI_FLAGS_ENCODED, &error);
      if (next == NULL || !is_http_scheme (g_uri_get_scheme (next))
          || (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0
              && g_ascii_strcasecmp (g_uri_get_scheme (next), "https") != 0))
        {
          if (next != NULL)
            g_uri_unref (next);
          return td_error_set (err, TD_ERR_NETWORK, "%s: refusing redirect to '%s'", current,
                               location_copy);
        }
      g_uri_unref (uri);
      uri = next;
    }
  return td_error_set (err, TD_ERR_NETWORK, "%s: more than %d redirects", url,
                       TD_HUB_MAX_REDIRECTS);
}

/* Reads a whole (small) body, refusing more than max bytes. */
static td_status
read_body (td_hub_response *r, size_t max, GBytes **out, const char *what,
           GCancellable *cancellable, bool *retryable, td_error *err)
{
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[16384];
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_input_stream_read (r->body, chunk, sizeof chunk, cancellable, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return td_error_set (err, TD_ERR_CANCELLED, "%s: cancelled", what);
          *retryable = true;
          return td_error_set (err, TD_ERR_NETWORK, "%s: %s", what, error->message);
        }
      if (n == 0)
        break;
      if (buf->len + (size_t) n > max)
        return td_error_set (err, TD_ERR_LIMIT, "%s: response over %zu bytes", what, max);
      g_byte_array_append (buf, chunk, (guint) n);
    }
  *out = g_byte_array_free_to_bytes (g_steal_pointer (&buf));
  return TD_OK;
}

/* The rel="next" target of a Link header, or NULL. */
static char *
next_link (const char *link)
{
  const char *p = link;
  while (p != NULL && (p = strchr (p, '<')) != NULL)
    {
      const char *close = strchr (p, '>');
      if (close == NULL)
        return NULL;
      const char *params_end = strchr (close, ',');
      g_autofree char *params = params_end ? g_strndup (close + 1, (gsize) (params_end - close - 1))
                                           : g_strdup (close + 1);
      if (strstr (params, "rel=\"next\"") != NULL || strstr (params, "rel=next") != NULL)
        return g_strndup (p + 1, (gsize) (close - p - 1));
      p = params_end;
    }
  return NULL;
}

void
td_hub_client_backoff (const td_hub_client *c, unsigned attempt, GCancellable *cancellable)
{
  uint64_t ms = MIN ((uint64_t) c->retry_base_ms << MIN (attempt, 8u), UINT64_C (30000));
  for (uint64_t slept = 0; slept < ms && !g_cancellable_is_cancelled (cancellable); slept += 10)
    g_usleep (10000);
}

static td_status
fetch_page (td_hub_client *c, const char *url, unsigned max_retries, GBytes **body,
            char **next, GCancellable *cancellable, td_error *err)
{
  for (unsigned attempt = 0;; attempt++)
    {
      td_hub_response r;
      bool retryable = false;
      td_status st = td_hub_client_get (c, url, 0, NULL, &r, &retryable, cancellable, err);
      if (st == TD_OK)
        {
          const char *link
              = soup_message_headers_get_one (soup_message_get_response_headers (r.msg), "Link");
          *next = link ? next_link (link) : NULL;
          st = read_body (&r, LISTING_PAGE_MAX_BYTES, body, url, cancellable, &retryable, err);
          td_hub_response_clear (&r);
          if (st == TD_OK)
            return TD_OK;
          g_clear_pointer (next, g_free);
        }
      if (!retryable || attempt >= max_retries)
        return st;
      td_hub_client_backoff (c, attempt, cancellable);
    }
}

td_status
td_hub_client_list (td_hub_client *c, const char *repo_id, const char *revision,
                    unsigned max_retries, td_hub_listing *listing, GCancellable *cancellable,
                    td_error *err)
{
  if (!td_repo_id_is_valid (repo_id) || !td_repo_revision_is_valid (revision))
    return td_error_set (err, TD_ERR_INVALID_ARG, "invalid repository '%s' or revision '%s'",
                         repo_id ? repo_id : "(null)", revision ? revision : "(null)");
  g_autofree char *rev = g_uri_escape_string (revision, NULL, FALSE);
  g_autofree char *url
      = g_strdup_printf ("%s/api/models/%s/tree/%s?recursive=true", c->endpoint, repo_id, rev);
  for (unsigned page = 0; url != NULL; page++)
    {
      if (page >= TD_HUB_MAX_PAGES)
        return td_error_set (err, TD_ERR_LIMIT, "%s: more than %d listing pages", repo_id,
                             TD_HUB_MAX_PAGES);
      g_autoptr (GBytes) body = NULL;
      char *next = NULL;
      td_status st = fetch_page (c, url, max_retries, &body, &next, cancellable, err);
      if (st != TD_OK)
        return td_hub_explain_auth (c, repo_id, st, err);
      gsize len = 0;
      const char *data = g_bytes_get_data (body, &len);
      g_autofree char *what = g_strdup_printf ("%s listing", repo_id);
      st = td_hub_listing_parse_page (listing, data ? data : "", len, what, err);
      g_free (url);
      url = NULL;
      if (st != TD_OK)
        {
          g_free (next);
          return st;
        }
      if (next != NULL)
        {
          /* Pages stay on the endpoint: a token must not follow a link elsewhere. */
          g_autoptr (GUri) next_uri = g_uri_parse_relative (c->endpoint_uri, next,
                                                            G_URI_FLAGS_ENCODED, NULL);
          g_free (next);
          if (next_uri == NULL || !same_origin (next_uri, c->endpoint_uri))
            return td_error_set (err, TD_ERR_NETWORK,
                                 "%s: listing continues on another host; refused", repo_id);
          url = g_uri_to_string (next_uri);
        }
    }
  return TD_OK;
}

td_status
td_hub_explain_auth (const td_hub_client *c, const char *repo_id, td_status st, td_error *err)
{
  if (st != TD_ERR_AUTH)
    return st;
  if (c->token == NULL)
    return td_error_set (err, TD_ERR_AUTH,
                         "%s is gated: accept its licence at %s/%s while logged in, then provide "
                         "an access token (HF_TOKEN environment variable, --token-stdin, or "
                         "'thinkdiff models login' to keep it in the keyring)",
                         repo_id, c->endpoint, repo_id);
  return td_error_set (err, TD_ERR_AUTH,
                       "%s refused the token: check that the licence is accepted at %s/%s for "
                       "this account and that the token has read access",
                       repo_id, c->endpoint, repo_id);
}
