/* thinkdiff.h — the public C API of the ThinkDiff engine (libthinkdiff).
 *
 * A front end includes this header only; it pulls in the thinkdiff-*.h headers
 * beside it:
 *   thinkdiff-engine.h  compute devices, the engine, generating, the result
 *   thinkdiff-board.h   the prompt board (images, texts, settings)
 *   thinkdiff-models.h  models folders, bundles, downloads, demo models
 *   thinkdiff-image.h   reading and writing PNG/JPEG images
 *   thinkdiff-files.h   checkpoints, GGUF files and tokenizers (inspect, convert,
 *                       quantize, tokenize)
 *   thinkdiff-plan.h    the memory plan: each stage's device memory and the strategy
 * Build with `pkg-config --cflags --libs thinkdiff`.
 *
 * Conventions, for every header:
 * - Every fallible call returns a td_status and, when given a td_error (err may
 *   be NULL), fills it with a message that names what was wrong (and which file,
 *   for parsers). The engine never exits or aborts on bad input or device failure.
 * - Strings and arrays the engine returns as `char *` (not const) belong to the
 *   caller and are freed with td_free () unless a function says otherwise;
 *   `const` results belong to the object they come from and live as long as it.
 * - Threads: functions without objects (errors, names, devices, images, files)
 *   may be called from any thread. An object (td_engine, td_board, td_output,
 *   td_checkpoint, td_gguf_file, td_tokenizer, td_token_store) may be used from one thread at
 *   a time; different objects from different threads at once. Long calls
 *   (td_engine_generate, td_models_pull, td_models_check, td_quantize) are meant for a worker
 *   thread: their callbacks run on that thread, and their cancel flag may be set
 *   from any thread.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions libthinkdiff exports; everything else stays inside. */
#if defined(__GNUC__) || defined(__clang__)
#define TD_API __attribute__ ((visibility ("default")))
#else
#define TD_API
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
TD_API const char *td_status_name (td_status status);

/* Sets err (when non-NULL) and returns status, so callers can write
 *   return td_error_set (err, TD_ERR_FORMAT, "%s: header too long", path); */
TD_API td_status td_error_set (td_error *err, td_status status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
TD_API td_status td_error_setv (td_error *err, td_status status, const char *fmt, va_list ap);

/* Prepends context to an already-set message: "loading T5: <old message>". */
TD_API td_status td_error_prefix (td_error *err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

TD_API void td_error_clear (td_error *err);

TD_API const char *td_version (void);

/* Frees what the engine returned as an owned string or array. NULL is ignored. */
TD_API void td_free (void *memory);

#ifdef __cplusplus
}
#endif

/* In the order their types depend on each other. */
#define TD_INSIDE_THINKDIFF_H
#include "thinkdiff-image.h"
#include "thinkdiff-board.h"
#include "thinkdiff-models.h"
#include "thinkdiff-engine.h"
#include "thinkdiff-files.h"
#include "thinkdiff-plan.h"
#undef TD_INSIDE_THINKDIFF_H
