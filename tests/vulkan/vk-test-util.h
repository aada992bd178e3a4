/* vk-test-util.h — helpers for the Vulkan tests: a backend on lavapipe (or any
 * device), tensors with random contents and guard sentinels, and comparisons
 * with a normalised error bound. */
#pragma once

#include <glib.h>

#include "backend/backend.h"
#include "backend/vulkan/vulkan_backend.h"

/* The backend under test, created once; exits 77 (skip) when the machine has no
 * Vulkan device at all. */
td_backend *vk_test_backend (void);
/* Fails the test when the validation layer reported anything. */
void vk_test_assert_no_validation_messages (void);

/* A device tensor whose buffer has VK_GUARD elements of a known pattern on both
 * sides, so writes outside the tensor are caught by vk_guarded_check. */
#define VK_GUARD 67
typedef struct vk_guarded {
  td_tensor *t;
  td_tensor *whole; /* the tensor plus guards, as raw bytes of the same dtype */
} vk_guarded;

vk_guarded vk_guarded_new (td_backend *b, td_dtype dtype, int ndim, const int64_t *shape);
void vk_guarded_check (const vk_guarded *g);
void vk_guarded_free (vk_guarded *g);

/* Random floats in [lo, hi) from a fixed-seed generator. */
void vk_random_fill (float *values, int64_t n, float lo, float hi);
/* Rounds values to what a tensor of `dtype` stores (so references see the same numbers). */
void vk_round_to_dtype (float *values, int64_t n, td_dtype dtype);
/* A device tensor holding `values` (converted to dtype). */
td_tensor *vk_tensor_from (td_backend *b, td_dtype dtype, int ndim, const int64_t *shape, const float *values);
td_tensor *vk_tensor_i32 (td_backend *b, int ndim, const int64_t *shape, const int32_t *values);

/* max|a - ref| / max|ref| (absolute when ref is all zero). */
double vk_normalised_error (const float *a, const double *ref, int64_t n);
/* Asserts the normalised error of t (downloaded) against ref is within tol. */
void vk_assert_close (const td_tensor *t, const double *ref, double tol, const char *what);

/* Runs op on b, skipping validation only where the validator is still a stub. */
td_status vk_run (td_backend *b, const td_op *op, td_error *err);
