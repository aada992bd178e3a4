#include "net/download.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file_read.h"
#include "net/file_hash.h"
#include "net/model_store.h"

#define READ_CHUNK (256u << 10)
#define MAX_TOTAL_ATTEMPTS 100

typedef struct {
  td_hub_client *client;
  const td_hub_file *file;
  const td_download_options *options;
  GCancellable *cancellable;
  char *part;
  char *etag_path;
  char *etag;           /* validator of the bytes in the part, or NULL */
  uint64_t have;        /* bytes in the part */
  td_hasher hasher;
} download;

char *
td_download_etag_path (const char *part_path)
{
  return g_strconcat (part_path, ".etag", NULL);
}

static void
report (download *d)
{
  if (d->options->progress != NULL)
    d->options->progress (d->have, d->options->user_data);
}

/* Drops the part and its validator; the next request fetches everything. */
static void
restart (download *d)
{
  g_unlink (d->part);
  g_unlink (d->etag_path);
  g_clear_pointer (&d->etag, g_free);
  d->have = 0;
  td_hasher_clear (&d->hasher);
  td_hasher_init (&d->hasher, d->file);
  report (d);
}

static void
remember_etag (download *d, const char *etag)
{
  if (etag == NULL || (d->etag != NULL && strcmp (d->etag, etag) == 0))
    return;
  g_free (d->etag);
  d->etag = g_strdup (etag);
  g_file_set_contents (d->etag_path, etag, -1, NULL);
}

/* Takes over an existing part: hashes its bytes and loads its validator. */
static td_status
adopt_part (download *d, td_error *err)
{
  td_hasher_init (&d->hasher, d->file);
  struct stat st;
  if (stat (d->part, &st) != 0 || !S_ISREG (st.st_mode))
    {
      restart (d);
      return TD_OK;
    }
  if ((uint64_t) st.st_size > d->file->size)
    {
      restart (d);
      return TD_OK;
    }
  g_autofree char *etag = NULL;
  size_t etag_len = 0;
  if (td_file_read_bounded (d->etag_path, "ETag", 255, &etag, &etag_len, NULL) == TD_OK && strlen (etag) < 256
      && strchr (etag, '\n') == NULL && strchr (etag, '\r') == NULL)
    d->etag = g_steal_pointer (&etag);
  /* Without a validator a resume is only safe when a digest will catch a
   * changed file; otherwise start over. */
  if (d->etag == NULL && d->file->sha256[0] == '\0' && d->file->git_sha1[0] == '\0')
    {
      restart (d);
      return TD_OK;
    }
  td_status s = td_hasher_feed_file (&d->hasher, d->part, (uint64_t) st.st_size, d->cancellable,
                                     NULL, NULL, err);
  if (s != TD_OK)
    return s;
  d->have = (uint64_t) st.st_size;
  report (d);
  return TD_OK;
}

static td_status
write_all (int fd, const guint8 *data, size_t n, const char *path, td_error *err)
{
  while (n > 0)
    {
      ssize_t w = write (fd, data, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return td_error_set (err, TD_ERR_IO, "%s: cannot write: %s", path, g_strerror (errno));
      data += w;
      n -= (size_t) w;
    }
  return TD_OK;
}

/* Copies the response body into the part. Sets *retryable when the
 * connection broke (the bytes so far stay and the next attempt resumes). */
static td_status
receive_body (download *d, td_hub_response *r, bool *retryable, td_error *err)
{
  int fd = open (d->part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot open: %s", d->part, g_strerror (errno));
  g_autofree guint8 *buf = g_malloc (READ_CHUNK);
  td_status st = TD_OK;
  while (d->have < d->file->size)
    {
      g_autoptr (GError) error = NULL;
      size_t want = MIN ((uint64_t) READ_CHUNK, d->file->size - d->have);
      gssize n = g_input_stream_read (r->body, buf, want, d->cancellable, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            st = td_error_set (err, TD_ERR_CANCELLED, "%s: cancelled", d->file->path);
          else
            {
              *retryable = true;
              st = td_error_set (err, TD_ERR_NETWORK, "%s: %s", d->file->path, error->message);
            }
          break;
        }
      if (n == 0)
        {
          *retryable = true;
          st = td_error_set (err, TD_ERR_NETWORK,
                             "%s: connection closed after %" G_GUINT64_FORMAT " of %"
                             G_GUINT64_FORMAT " bytes", d->file->path, d->have, d->file->size);
          break;
        }
      st = write_all (fd, buf, (size_t) n, d->part, err);
      if (st != TD_OK)
        break;
      td_hasher_update (&d->hasher, buf, (size_t) n);
      d->have += (uint64_t) n;
      report (d);
    }
  if (st == TD_OK && fsync (fd) != 0)
    st = td_error_set (err, TD_ERR_IO, "%s: cannot write: %s", d->part, g_strerror (errno));
  if (close (fd) != 0 && st == TD_OK)
    st = td_error_set (err, TD_ERR_IO, "%s: cannot write: %s", d->part, g_strerror (errno));
  return st;
}

/* One request and its body. */
static td_status
attempt (download *d, const char *url, bool *retryable, td_error *err)
{
  td_hub_response r;
  uint64_t from = d->have;
  td_status st = td_hub_client_get (d->client, url, from, from > 0 ? d->etag : NULL, &r,
                                    retryable, d->cancellable, err);
  if (st == TD_ERR_LIMIT && from > 0)
    {
      /* 416: the part is not a prefix of what the server has. */
      restart (d);
      *retryable = true;
      return td_error_set (err, TD_ERR_NETWORK, "%s: range refused; restarting", d->file->path);
    }
  if (st != TD_OK)
    return st;
  if (r.status == 200 && from > 0)
    restart (d);  /* the file changed (If-Range) or the server ignores ranges */
  else if (r.status == 206
           && (r.range_start != (int64_t) from
               || (r.range_total >= 0 && (uint64_t) r.range_total != d->file->size)))
    {
      td_hub_response_clear (&r);
      restart (d);
      *retryable = true;
      return td_error_set (err, TD_ERR_NETWORK, "%s: server sent another range; restarting",
                           d->file->path);
    }
  uint64_t remaining = d->file->size - d->have;
  if (r.content_length >= 0 && (uint64_t) r.content_length != remaining)
    {
      td_hub_response_clear (&r);
      restart (d);
      return td_error_set (err, TD_ERR_MISMATCH,
                           "%s: server announces %" G_GINT64_FORMAT " bytes, the listing %"
                           G_GUINT64_FORMAT " (the download was removed)",
                           d->file->path, r.content_length, remaining);
    }
  remember_etag (d, r.etag);
  st = receive_body (d, &r, retryable, err);
  td_hub_response_clear (&r);
  return st;
}

static td_status
finish (download *d, const char *dest_path, td_error *err)
{
  td_status st = td_hasher_finish (&d->hasher, d->file, d->file->path, err);
  if (st != TD_OK)
    {
      g_unlink (d->part);
      g_unlink (d->etag_path);
      return td_error_prefix (err, "download removed: ");
    }
  if (g_rename (d->part, dest_path) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot rename into place: %s", dest_path,
                         g_strerror (errno));
  g_unlink (d->etag_path);
  return TD_OK;
}

td_status
td_hub_download (td_hub_client *client, const char *repo_id, const char *revision,
                 const td_hub_file *file, const char *dest_path,
                 const td_download_options *options, GCancellable *cancellable, td_error *err)
{
  static const td_download_options defaults = { 0 };
  download d = {
    .client = client,
    .file = file,
    .options = options ? options : &defaults,
    .cancellable = cancellable,
    .part = td_models_part_path (dest_path),
    .etag_path = NULL,
  };
  d.etag_path = td_download_etag_path (d.part);
  unsigned max_retries = d.options->max_retries ? d.options->max_retries : 5;
  g_autofree char *url = td_hub_client_resolve_url (client, repo_id, revision, file->path);
  g_autofree char *dir = g_path_get_dirname (dest_path);

  td_status st = TD_OK;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    st = td_error_set (err, TD_ERR_IO, "%s: cannot create folder: %s", dir, g_strerror (errno));
  if (st == TD_OK)
    st = adopt_part (&d, err);
  unsigned failures = 0;
  for (unsigned total = 0; st == TD_OK && d.have < file->size; total++)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          st = td_error_set (err, TD_ERR_CANCELLED, "%s: cancelled", file->path);
          break;
        }
      uint64_t before = d.have;
      bool retryable = false;
      st = attempt (&d, url, &retryable, err);
      if (st == TD_OK || !retryable)
        break;
      failures = d.have > before ? 0 : failures + 1;
      if (failures > max_retries || total + 1 >= MAX_TOTAL_ATTEMPTS)
        {
          td_error_prefix (err, "giving up after %u attempts: ", total + 1);
          break;
        }
      td_hub_client_backoff (client, failures, cancellable);
      st = TD_OK;
    }
  if (st == TD_OK && file->size == 0)
    {
      /* Nothing to fetch; an empty part still has to exist for the rename. */
      int fd = open (d.part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0)
        st = td_error_set (err, TD_ERR_IO, "%s: %s", d.part, g_strerror (errno));
      else
        close (fd);
    }
  if (st == TD_OK)
    st = finish (&d, dest_path, err);
  else
    {
      td_hasher_clear (&d.hasher);
      st = td_hub_explain_auth (client, repo_id, st, err);
    }
  g_free (d.part);
  g_free (d.etag_path);
  g_free (d.etag);
  return st;
}
