#include "thinkdiff.h"

#include "core/i18n.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[TD_STATUS_COUNT] = {
  [TD_OK] = "ok",
  [TD_ERR_INVALID_ARG] = "invalid-argument",
  [TD_ERR_IO] = "io-error",
  [TD_ERR_FORMAT] = "bad-format",
  [TD_ERR_UNSUPPORTED] = "unsupported",
  [TD_ERR_LIMIT] = "over-limit",
  [TD_ERR_NO_MEMORY] = "out-of-memory",
  [TD_ERR_NOT_FOUND] = "not-found",
  [TD_ERR_DEVICE] = "device-error",
  [TD_ERR_DEVICE_LOST] = "device-lost",
  [TD_ERR_DEVICE_OOM] = "out-of-device-memory",
  [TD_ERR_CANCELLED] = "cancelled",
  [TD_ERR_NETWORK] = "network-error",
  [TD_ERR_AUTH] = "authorization-required",
  [TD_ERR_MISMATCH] = "mismatch",
};

const char *
td_status_name (td_status status)
{
  if ((unsigned) status >= TD_STATUS_COUNT)
    return "unknown";
  return status_names[status];
}

td_status
td_error_setv (td_error *err, td_status status, const char *fmt, va_list ap)
{
  if (err != NULL)
    {
      err->status = status;
      /* Every message is looked up in the catalogue: td_error_set's format is
       * extracted for translators (po/meson.build), so callers need no _(). */
      vsnprintf (err->message, sizeof err->message, td_gettext (fmt), ap);
    }
  return status;
}

td_status
td_error_set (td_error *err, td_status status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  td_error_setv (err, status, fmt, ap);
  va_end (ap);
  return status;
}

td_status
td_error_prefix (td_error *err, const char *fmt, ...)
{
  if (err == NULL)
    return TD_OK;
  char prefix[TD_ERROR_MESSAGE_MAX];
  char old[TD_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  memcpy (old, err->message, sizeof old);
  snprintf (err->message, sizeof err->message, "%s: %s", prefix, old);
  return err->status;
}

void
td_error_clear (td_error *err)
{
  if (err != NULL)
    {
      err->status = TD_OK;
      err->message[0] = '\0';
    }
}

const char *
td_version (void)
{
  return TD_VERSION_STRING;
}
