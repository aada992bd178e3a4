/* op-check.h — runs one op on the Vulkan backend and checks it against a
 * double-precision reference computed by the test and, once its kernel exists,
 * against the CPU backend. */
#pragma once

#include "vk-test-util.h"

/* op's dst must be the guarded tensor g.t. Checks guards, the reference (when
 * ref != NULL) and the CPU backend's result, each within tol. */
void op_check (td_op *op, vk_guarded *g, const double *ref, double tol, const char *what);
