/* thinkdiff.h — the public C API of the ThinkDiff engine.
 *
 * Every fallible call returns a td_status and, when given a td_error, fills it
 * with a message that names what was wrong (and which file, for parsers).
 * The engine never exits or aborts on bad input or device failure.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TD_VERSION_STRING "0.1.0"

typedef enum td_status {
  TD_OK = 0,
  TD_ERR_INVALID_ARG,   /* caller passed something malformed (shapes, dtypes, options) */
  TD_ERR_IO,            /* reading or writing a file failed */
  TD_ERR_FORMAT,        /* a file's contents are malformed */
  TD_ERR_UNSUPPORTED,   /* well-formed but not handled (dtype, feature, layout) */
  TD_ERR_LIMIT,         /* a size or count is over a safety limit */
  TD_ERR_NO_MEMORY,     /* host allocation failed */
  TD_ERR_NOT_FOUND,     /* a named tensor, file or device does not exist */
  TD_ERR_DEVICE,        /* generic GPU/driver failure */
  TD_ERR_DEVICE_LOST,   /* VK_ERROR_DEVICE_LOST: the engine must be recreated */
  TD_ERR_DEVICE_OOM,    /* out of device memory */
  TD_ERR_CANCELLED,     /* the caller's cancel flag was set */
  TD_ERR_NETWORK,       /* a download failed */
  TD_ERR_AUTH,          /* a gated resource needs a token or licence acceptance */
  TD_ERR_MISMATCH,      /* a verification did not match (hash, golden output) */
  TD_STATUS_COUNT
} td_status;

#define TD_ERROR_MESSAGE_MAX 1024

typedef struct td_error {
  td_status status;
  char message[TD_ERROR_MESSAGE_MAX];
} td_error;

/* A short stable name for a status ("invalid-argument", "device-lost", …). */
const char *td_status_name (td_status status);

/* Sets err (when non-NULL) and returns status, so callers can write
 *   return td_error_set (err, TD_ERR_FORMAT, "%s: header too long", path); */
td_status td_error_set (td_error *err, td_status status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
td_status td_error_setv (td_error *err, td_status status, const char *fmt, va_list ap);

/* Prepends context to an already-set message: "loading T5: <old message>". */
td_status td_error_prefix (td_error *err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

void td_error_clear (td_error *err);

const char *td_version (void);

#ifdef __cplusplus
}
#endif
