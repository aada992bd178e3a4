/* error_optional.h — err is optional in every engine call (thinkdiff.h). A
 * function that reads err->status or err->message after a callee failed
 * starts with TD_ERROR_OPTIONAL (err): when the caller passed NULL, err then
 * points at a local for the rest of the call. */
#pragma once

#include "thinkdiff.h"

#define TD_ERROR_OPTIONAL(err)                                                                                   \
  td_error td_error_local_;                                                                                      \
  if ((err) == NULL)                                                                                             \
  (err) = &td_error_local_
