#include "io/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *
kind_of (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

int
td_file_open_regular (const char *path, const char *what, uint64_t *size, td_error *err)
{
  if (path == NULL || path[0] == '\0')
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "no %s file given", what);
      return -1;
    }
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      td_error_set (err, e == ENOENT ? TD_ERR_NOT_FOUND : TD_ERR_IO, "%s: cannot open the %s: %s", path, what,
                    g_strerror (e));
      return -1;
    }
  struct stat sb;
  if (fstat (fd, &sb) != 0)
    {
      int e = errno;
      close (fd);
      td_error_set (err, TD_ERR_IO, "%s: cannot read the %s: %s", path, what, g_strerror (e));
      return -1;
    }
  if (!S_ISREG (sb.st_mode))
    {
      close (fd);
      td_error_set (err, TD_ERR_IO, "%s: the %s is %s, not a regular file", path, what, kind_of (sb.st_mode));
      return -1;
    }
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  if (size != NULL)
    *size = (uint64_t) sb.st_size;
  return fd;
}

td_status
td_file_read_bounded (const char *path, const char *what, size_t max_bytes, char **data, size_t *length,
                      td_error *err)
{
  *data = NULL;
  *length = 0;
  td_error local;
  uint64_t size = 0;
  int fd = td_file_open_regular (path, what, &size, err != NULL ? err : &local);
  if (fd < 0)
    return err != NULL ? err->status : local.status;
  if (size > max_bytes)
    {
      close (fd);
      return td_error_set (err, TD_ERR_LIMIT, "%s: the %s is %llu bytes, over the limit of %zu", path, what,
                           (unsigned long long) size, max_bytes);
    }
  char *buffer = g_try_malloc ((size_t) size + 1);
  if (buffer == NULL)
    {
      close (fd);
      return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of host memory reading the %s (%llu bytes)", path, what,
                           (unsigned long long) size);
    }
  size_t done = 0;
  while (done < size)
    {
      ssize_t n = read (fd, buffer + done, (size_t) size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          close (fd);
          g_free (buffer);
          return td_error_set (err, TD_ERR_IO, "%s: cannot read the %s: %s", path, what, g_strerror (e));
        }
      if (n == 0)
        break; /* shrank while reading: take what is there */
      done += (size_t) n;
    }
  close (fd);
  buffer[done] = '\0';
  *data = buffer;
  *length = done;
  return TD_OK;
}
