#include "net/file_hash.h"
#include "io/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define HASH_CHUNK (1u << 20)

void
td_hasher_init (td_hasher *h, const td_hub_file *expect)
{
  memset (h, 0, sizeof *h);
  if (expect->sha256[0] != '\0')
    {
      h->checksum = g_checksum_new (G_CHECKSUM_SHA256);
      h->is_sha256 = true;
    }
  else if (expect->git_sha1[0] != '\0')
    {
      h->checksum = g_checksum_new (G_CHECKSUM_SHA1);
      char header[64];
      int n = g_snprintf (header, sizeof header, "blob %" G_GUINT64_FORMAT, expect->size);
      /* The NUL after the size is part of git's object header. */
      g_checksum_update (h->checksum, (const guchar *) header, (gssize) n + 1);
    }
}

void
td_hasher_update (td_hasher *h, const void *data, size_t n)
{
  if (h->checksum != NULL && n > 0)
    g_checksum_update (h->checksum, data, (gssize) n);
  h->fed += n;
}

void
td_hasher_clear (td_hasher *h)
{
  g_clear_pointer (&h->checksum, g_checksum_free);
}

td_status
td_hasher_feed_file (td_hasher *h, const char *path, uint64_t limit, GCancellable *cancellable,
                     td_hash_progress_fn progress, void *user_data, td_error *err)
{
  td_error local;
  int fd = td_file_open_regular (path, "file", NULL, err != NULL ? err : &local);
  if (fd < 0)
    return err != NULL ? err->status : local.status;
  g_autofree guchar *buf = g_malloc (HASH_CHUNK);
  uint64_t done = 0;
  td_status st = TD_OK;
  while (done < limit)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          st = td_error_set (err, TD_ERR_CANCELLED, "%s: hashing cancelled", path);
          break;
        }
      size_t want = limit - done < HASH_CHUNK ? (size_t) (limit - done) : HASH_CHUNK;
      ssize_t got = read (fd, buf, want);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          st = td_error_set (err, TD_ERR_IO, "%s: read failed: %s", path, g_strerror (errno));
          break;
        }
      if (got == 0)
        break;
      td_hasher_update (h, buf, (size_t) got);
      done += (uint64_t) got;
      if (progress != NULL)
        progress (done, user_data);
    }
  close (fd);
  return st;
}

td_status
td_hasher_finish (td_hasher *h, const td_hub_file *expect, const char *what, td_error *err)
{
  td_status st = TD_OK;
  if (h->fed != expect->size)
    st = td_error_set (err, TD_ERR_MISMATCH,
                       "%s: size mismatch: expected %" G_GUINT64_FORMAT " bytes, got %"
                       G_GUINT64_FORMAT, what, expect->size, h->fed);
  else if (h->checksum != NULL)
    {
      const char *want = h->is_sha256 ? expect->sha256 : expect->git_sha1;
      const char *got = g_checksum_get_string (h->checksum);
      if (strcmp (want, got) != 0)
        st = td_error_set (err, TD_ERR_MISMATCH, "%s: %s mismatch: expected %s, got %s", what,
                           h->is_sha256 ? "SHA-256" : "git SHA-1", want, got);
    }
  td_hasher_clear (h);
  return st;
}

td_status
td_file_verify (const char *path, const td_hub_file *expect, GCancellable *cancellable,
                td_hash_progress_fn progress, void *user_data, td_error *err)
{
  td_hasher h;
  td_hasher_init (&h, expect);
  /* Read one byte past the expected size so a longer file is caught. */
  td_status st = td_hasher_feed_file (&h, path, expect->size + 1, cancellable, progress,
                                      user_data, err);
  if (st != TD_OK)
    {
      td_hasher_clear (&h);
      return st;
    }
  return td_hasher_finish (&h, expect, path, err);
}
