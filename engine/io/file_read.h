/* file_read.h — opening and reading input files defensively.
 *
 * Every file the engine reads comes from the user or the internet: it may be
 * a folder, a FIFO that blocks forever, /dev/zero, or far larger than any
 * real input. These helpers refuse anything but a regular file before the
 * first read, check the size before reading, and name the file and the
 * reason (strerror) in every message.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "thinkdiff.h"

/* Opens path read-only (never blocking on a FIFO) and checks with fstat that it
 * is a regular file. `what` names the file's role in messages ("board",
 * "image"). Returns the descriptor (close it) and its size, or -1 with err set:
 * TD_ERR_NOT_FOUND for a missing file, TD_ERR_IO otherwise. */
int td_file_open_regular (const char *path, const char *what, uint64_t *size, td_error *err);

/* Reads a whole regular file of at most max_bytes (checked before reading)
 * into a NUL-terminated buffer (g_free it). TD_ERR_LIMIT when larger. */
td_status td_file_read_bounded (const char *path, const char *what, size_t max_bytes, char **data, size_t *length,
                                td_error *err);
