#include "hub-server.h"

#include <gio/gio.h>
#include <stdint.h>
#include <libsoup/soup.h>
#include <string.h>

typedef struct {
  char *repo;
  char *path;
  GBytes *content;
  bool lfs;
  body_mode mode;
  char *sha256;
  char *git_sha1;
  uint64_t declared_size; /* the size listed; 0: the content's */
  unsigned served;   /* CDN responses so far */
} served_file;

typedef struct {
  char *name;
  char *token;       /* NULL: public */
  char *raw_listing;
} served_repo;

struct hub_server {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *hub;
  SoupServer *cdn;
  char *endpoint;
  char *cdn_base;
  GMutex lock;
  GCond ready;
  bool started;
  GPtrArray *repos;   /* served_repo* */
  GPtrArray *files;   /* served_file* */
  unsigned page_size;
  unsigned cdn_requests, cdn_auth, hub_auth, ranges, pages;
};

GBytes *
make_content (size_t size, unsigned seed)
{
  guint8 *data = g_malloc (size ? size : 1);
  guint32 x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < size; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      data[i] = (guint8) x;
    }
  return g_bytes_new_take (data, size);
}

char *
sha256_hex (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

char *
git_blob_sha1_hex (GBytes *bytes)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA1);
  char header[64];
  int n = g_snprintf (header, sizeof header, "blob %zu", g_bytes_get_size (bytes));
  g_checksum_update (sum, (const guchar *) header, n + 1);
  g_checksum_update (sum, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes));
  char *hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

static served_repo *
find_repo (hub_server *s, const char *name)
{
  for (guint i = 0; i < s->repos->len; i++)
    {
      served_repo *r = g_ptr_array_index (s->repos, i);
      if (strcmp (r->name, name) == 0)
        return r;
    }
  return NULL;
}

static served_file *
find_file (hub_server *s, const char *repo, const char *path)
{
  for (guint i = 0; i < s->files->len; i++)
    {
      served_file *f = g_ptr_array_index (s->files, i);
      if (strcmp (f->repo, repo) == 0 && strcmp (f->path, path) == 0)
        return f;
    }
  return NULL;
}

static served_file *
find_blob (hub_server *s, const char *sha)
{
  for (guint i = 0; i < s->files->len; i++)
    {
      served_file *f = g_ptr_array_index (s->files, i);
      if (f->lfs && strcmp (f->sha256, sha) == 0)
        return f;
    }
  return NULL;
}

static bool
authorized (served_repo *r, SoupServerMessage *msg)
{
  if (r->token == NULL)
    return true;
  const char *auth
      = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");
  g_autofree char *want = g_strdup_printf ("Bearer %s", r->token);
  return auth != NULL && strcmp (auth, want) == 0;
}

static void
set_text (SoupServerMessage *msg, unsigned status, const char *type, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, text, strlen (text));
}

static void
append_entry (GString *json, served_file *f)
{
  if (json->len > 1)
    g_string_append_c (json, ',');
  uint64_t size = f->declared_size ? f->declared_size : g_bytes_get_size (f->content);
  g_string_append_printf (json, "{\"type\":\"file\",\"path\":\"%s\",\"size\":%" G_GUINT64_FORMAT ",\"oid\":\"%s\"",
                          f->path, size, f->git_sha1);
  if (f->lfs)
    g_string_append_printf (json, ",\"lfs\":{\"oid\":\"%s\",\"size\":%" G_GUINT64_FORMAT ",\"pointerSize\":134}",
                            f->sha256, size);
  g_string_append_c (json, '}');
}

/* GET /api/models/{org}/{name}/tree/main?recursive=true[&cursor=N] */
static void
serve_listing (hub_server *s, SoupServerMessage *msg, const char *repo, GHashTable *query)
{
  served_repo *r = find_repo (s, repo);
  if (r == NULL)
    {
      set_text (msg, 404, "application/json", "{\"error\":\"Repository not found\"}");
      return;
    }
  if (!authorized (r, msg))
    {
      set_text (msg, 401, "application/json", "{\"error\":\"Access restricted\"}");
      return;
    }
  s->pages++;
  if (r->raw_listing != NULL)
    {
      set_text (msg, 200, "application/json", r->raw_listing);
      return;
    }
  unsigned cursor = 0;
  const char *c = query ? g_hash_table_lookup (query, "cursor") : NULL;
  if (c != NULL)
    cursor = (unsigned) g_ascii_strtoull (c, NULL, 10);
  GString *json = g_string_new ("[");
  if (cursor == 0)
    g_string_append (json, "{\"type\":\"directory\",\"path\":\"sub\",\"size\":0,\"oid\":"
                           "\"0000000000000000000000000000000000000000\"}");
  unsigned index = 0, emitted = 0;
  bool more = false;
  for (guint i = 0; i < s->files->len; i++)
    {
      served_file *f = g_ptr_array_index (s->files, i);
      if (strcmp (f->repo, repo) != 0)
        continue;
      if (index++ < cursor)
        continue;
      if (emitted == s->page_size)
        {
          more = true;
          break;
        }
      append_entry (json, f);
      emitted++;
    }
  g_string_append_c (json, ']');
  if (more)
    {
      g_autofree char *link = g_strdup_printf ("<%s/api/models/%s/tree/main?recursive=true&cursor=%u>;"
                                               " rel=\"next\"", s->endpoint, repo, cursor + emitted);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Link", link);
    }
  set_text (msg, 200, "application/json", json->str);
  g_string_free (json, TRUE);
}

/* Honours "Range: bytes=N-" (with If-Range) itself, and removes the request's
 * Range header so SoupServer does not apply it a second time. */
static uint64_t
requested_offset (hub_server *s, SoupServerMessage *msg, const char *etag, size_t size)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const char *range = soup_message_headers_get_one (h, "Range");
  uint64_t from = 0;
  if (range != NULL && g_str_has_prefix (range, "bytes="))
    {
      s->ranges++;
      from = g_ascii_strtoull (range + 6, NULL, 10);
      const char *if_range = soup_message_headers_get_one (h, "If-Range");
      if ((if_range != NULL && strcmp (if_range, etag) != 0) || from > size)
        from = 0;
    }
  soup_message_headers_remove (h, "Range");
  return from;
}

static void
serve_bytes (SoupServerMessage *msg, const guint8 *data, size_t size, uint64_t from,
             const char *etag)
{
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (rh, "ETag", etag);
  soup_message_headers_replace (rh, "Accept-Ranges", "bytes");
  if (from > 0)
    {
      soup_server_message_set_status (msg, 206, NULL);
      soup_message_headers_set_content_range (rh, (goffset) from, (goffset) size - 1,
                                              (goffset) size);
    }
  else
    soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    (const char *) data + from, size - from);
}

/* Writes a response head announcing the whole file and half of it, then
 * closes the connection: a download dropped mid-file. */
static void
drop_midway (SoupServerMessage *msg, GBytes *content, const char *etag)
{
  size_t size = g_bytes_get_size (content);
  GIOStream *io = soup_server_message_steal_connection (msg);
  GOutputStream *out = g_io_stream_get_output_stream (io);
  g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nETag: %s\r\n"
                                           "Accept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                                           size, etag);
  g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
  g_output_stream_write_all (out, g_bytes_get_data (content, NULL), size / 2, NULL, NULL, NULL);
  g_output_stream_flush (out, NULL, NULL);
  g_io_stream_close (io, NULL, NULL);
  g_object_unref (io);
}

typedef struct {
  SoupServerMessage *msg;
  GBytes *content;
  size_t sent;
  bool finished;
} slow_body;

static void
on_slow_finished (SoupServerMessage *msg, gpointer data)
{
  ((slow_body *) data)->finished = true;
}

static gboolean
slow_tick (gpointer data)
{
  slow_body *b = data;
  if (b->finished)
    return G_SOURCE_REMOVE;
  size_t size = g_bytes_get_size (b->content);
  size_t n = MIN ((size_t) 4096, size - b->sent);
  SoupMessageBody *body = soup_server_message_get_response_body (b->msg);
  soup_message_body_append (body, SOUP_MEMORY_COPY,
                            (const guint8 *) g_bytes_get_data (b->content, NULL) + b->sent, n);
  b->sent += n;
  if (b->sent == size)
    soup_message_body_complete (body);
  soup_server_message_unpause (b->msg);
  return b->sent == size ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
free_slow_body (gpointer data)
{
  slow_body *b = data;
  g_signal_handlers_disconnect_by_data (b->msg, b);
  g_object_unref (b->msg);
  g_free (b);
}

static void
serve_slowly (hub_server *s, SoupServerMessage *msg, GBytes *content, const char *etag)
{
  slow_body *b = g_new0 (slow_body, 1);
  b->msg = g_object_ref (msg);
  b->content = content;
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (rh, "ETag", etag);
  soup_message_headers_set_content_length (rh, (goffset) g_bytes_get_size (content));
  soup_server_message_set_status (msg, 200, NULL);
  g_signal_connect (msg, "finished", G_CALLBACK (on_slow_finished), b);
  soup_server_message_pause (msg);
  GSource *tick = g_timeout_source_new (20);
  g_source_set_callback (tick, slow_tick, b, free_slow_body);
  g_source_attach (tick, s->context);
  g_source_unref (tick);
}

static void
serve_content (hub_server *s, SoupServerMessage *msg, served_file *f, const char *etag)
{
  size_t size = g_bytes_get_size (f->content);
  unsigned nth = f->served++;
  if (f->mode == BODY_ERROR_ONCE && nth == 0)
    {
      set_text (msg, 503, "text/plain", "busy");
      return;
    }
  if (f->mode == BODY_DROP_ONCE && nth == 0)
    {
      drop_midway (msg, f->content, etag);
      return;
    }
  uint64_t from = requested_offset (s, msg, etag, size);
  if (f->mode == BODY_SLOW)
    {
      serve_slowly (s, msg, f->content, etag);
      return;
    }
  if (f->mode == BODY_CORRUPT)
    {
      g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (f->content, NULL), size);
      copy[size / 3] ^= 0x40;
      {
      serve_bytes (msg, copy, size, from, etag);
      return;
    }
    }
  serve_bytes (msg, g_bytes_get_data (f->content, NULL), size, from, etag);
}

static void
hub_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
             gpointer data)
{
  hub_server *s = data;
  g_mutex_lock (&s->lock);
  if (soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization"))
    s->hub_auth++;
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", 5);
  guint n = g_strv_length (parts);
  if (n >= 5 && strcmp (parts[0], "api") == 0 && strcmp (parts[1], "models") == 0
      && g_str_has_prefix (parts[4], "tree/"))
    {
      g_autofree char *repo = g_strdup_printf ("%s/%s", parts[2], parts[3]);
      serve_listing (s, msg, repo, query);
    }
  else if (n == 5 && strcmp (parts[2], "resolve") == 0)
    {
      g_autofree char *repo = g_strdup_printf ("%s/%s", parts[0], parts[1]);
      g_autofree char *file_path = g_uri_unescape_string (parts[4], NULL);
      served_repo *r = find_repo (s, repo);
      served_file *f = r ? find_file (s, repo, file_path) : NULL;
      if (r != NULL && !authorized (r, msg))
        set_text (msg, 401, "text/plain", "gated");
      else if (f == NULL)
        set_text (msg, 404, "text/plain", "Entry not found");
      else if (f->lfs)
        {
          g_autofree char *location = g_strdup_printf ("%s/blobs/%s?signature=x", s->cdn_base,
                                                       f->sha256);
          soup_server_message_set_redirect (msg, 302, location);
        }
      else
        {
          g_autofree char *etag = g_strdup_printf ("\"%s\"", f->git_sha1);
          serve_content (s, msg, f, etag);
        }
    }
  else
    set_text (msg, 404, "text/plain", "no such endpoint");
  g_mutex_unlock (&s->lock);
}

static void
cdn_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
             gpointer data)
{
  hub_server *s = data;
  g_mutex_lock (&s->lock);
  s->cdn_requests++;
  if (soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization"))
    s->cdn_auth++;
  served_file *f = g_str_has_prefix (path, "/blobs/") ? find_blob (s, path + 7) : NULL;
  if (f == NULL)
    set_text (msg, 404, "text/plain", "no blob");
  else
    {
      g_autofree char *etag = g_strdup_printf ("\"%s\"", f->sha256);
      serve_content (s, msg, f, etag);
    }
  g_mutex_unlock (&s->lock);
}

static char *
listen_local (SoupServer *server)
{
  g_autoptr (GError) error = NULL;
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("cannot listen on 127.0.0.1: %s", error->message);
  GSList *uris = soup_server_get_uris (server);
  char *text = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  for (size_t n = strlen (text); n > 0 && text[n - 1] == '/'; n--)
    text[n - 1] = '\0';
  return text;
}

static gpointer
server_thread (gpointer data)
{
  hub_server *s = data;
  g_main_context_push_thread_default (s->context);
  s->hub = soup_server_new ("server-header", "fake-hub", NULL);
  s->cdn = soup_server_new ("server-header", "fake-cdn", NULL);
  soup_server_add_handler (s->hub, NULL, hub_handler, s, NULL);
  soup_server_add_handler (s->cdn, NULL, cdn_handler, s, NULL);
  g_mutex_lock (&s->lock);
  s->endpoint = listen_local (s->hub);
  s->cdn_base = listen_local (s->cdn);
  s->started = true;
  g_cond_signal (&s->ready);
  g_mutex_unlock (&s->lock);
  g_main_loop_run (s->loop);
  soup_server_disconnect (s->hub);
  soup_server_disconnect (s->cdn);
  g_clear_object (&s->hub);
  g_clear_object (&s->cdn);
  /* Let pending sources (slow bodies) release their messages. */
  while (g_main_context_iteration (s->context, FALSE))
    ;
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

static void
free_repo (gpointer data)
{
  served_repo *r = data;
  g_free (r->name);
  g_free (r->token);
  g_free (r->raw_listing);
  g_free (r);
}

static void
free_file (gpointer data)
{
  served_file *f = data;
  g_free (f->repo);
  g_free (f->path);
  g_bytes_unref (f->content);
  g_free (f->sha256);
  g_free (f->git_sha1);
  g_free (f);
}

hub_server *
hub_server_new (void)
{
  hub_server *s = g_new0 (hub_server, 1);
  g_mutex_init (&s->lock);
  g_cond_init (&s->ready);
  s->repos = g_ptr_array_new_with_free_func (free_repo);
  s->files = g_ptr_array_new_with_free_func (free_file);
  s->page_size = 2;
  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->thread = g_thread_new ("fake-hub", server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->started)
    g_cond_wait (&s->ready, &s->lock);
  g_mutex_unlock (&s->lock);
  return s;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
hub_server_free (hub_server *s)
{
  g_main_context_invoke (s->context, quit_loop, s->loop);
  g_thread_join (s->thread);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  g_ptr_array_unref (s->repos);
  g_ptr_array_unref (s->files);
  g_free (s->endpoint);
  g_free (s->cdn_base);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->ready);
  g_free (s);
}

const char *
hub_server_endpoint (hub_server *s)
{
  return s->endpoint;
}

void
hub_server_add_repo (hub_server *s, const char *repo, const char *token)
{
  served_repo *r = g_new0 (served_repo, 1);
  r->name = g_strdup (repo);
  r->token = g_strdup (token);
  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->repos, r);
  g_mutex_unlock (&s->lock);
}

void
hub_server_add_file (hub_server *s, const char *repo, const char *path, GBytes *content, bool lfs,
                     body_mode mode)
{
  served_file *f = g_new0 (served_file, 1);
  f->repo = g_strdup (repo);
  f->path = g_strdup (path);
  f->content = g_bytes_ref (content);
  f->lfs = lfs;
  f->mode = mode;
  f->sha256 = sha256_hex (content);
  f->git_sha1 = git_blob_sha1_hex (content);
  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->files, f);
  g_mutex_unlock (&s->lock);
}

void
hub_server_declare_size (hub_server *s, const char *repo, const char *path, uint64_t size)
{
  g_mutex_lock (&s->lock);
  served_file *found = NULL;
  for (guint i = 0; i < s->files->len && found == NULL; i++)
    {
      served_file *f = g_ptr_array_index (s->files, i);
      if (strcmp (f->repo, repo) == 0 && strcmp (f->path, path) == 0)
        found = f;
    }
  g_assert_nonnull (found);
  found->declared_size = size;
  g_mutex_unlock (&s->lock);
}

void
hub_server_set_raw_listing (hub_server *s, const char *repo, const char *json)
{
  g_mutex_lock (&s->lock);
  served_repo *r = find_repo (s, repo);
  g_assert_nonnull (r);
  g_free (r->raw_listing);
  r->raw_listing = g_strdup (json);
  g_mutex_unlock (&s->lock);
}

void
hub_server_set_mode (hub_server *s, const char *repo, const char *path, body_mode mode)
{
  g_mutex_lock (&s->lock);
  served_file *f = find_file (s, repo, path);
  g_assert_nonnull (f);
  f->mode = mode;
  g_mutex_unlock (&s->lock);
}

void
hub_server_set_page_size (hub_server *s, unsigned n)
{
  g_mutex_lock (&s->lock);
  s->page_size = n;
  g_mutex_unlock (&s->lock);
}

#define COUNTER(name, field)                                                                       \
  unsigned hub_server_##name (hub_server *s)                                                       \
  {                                                                                                \
    g_mutex_lock (&s->lock);                                                                       \
    unsigned v = s->field;                                                                         \
    g_mutex_unlock (&s->lock);                                                                     \
    return v;                                                                                      \
  }

COUNTER (cdn_requests, cdn_requests)
COUNTER (cdn_requests_with_auth, cdn_auth)
COUNTER (hub_requests_with_auth, hub_auth)
COUNTER (range_requests, ranges)
COUNTER (listing_pages, pages)
