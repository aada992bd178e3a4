#include "op-check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A host copy of a device tensor with the same dtype, shape and strides: the
 * bytes its view can reach are copied to a CPU buffer and the view rebuilt over
 * them, so strided (permuted, sliced) inputs reach the CPU kernel as views too. */
static td_tensor *
mirror_on (td_backend *cpu, const td_tensor *t)
{
  td_error err;
  if (td_tensor_numel (t) == 0)
    return td_tensor_new (cpu, t->dtype, t->ndim, t->shape, &err);
  int64_t low = 0, high = 0;
  for (int i = 0; i < t->ndim; i++)
    {
      int64_t reach = (t->shape[i] - 1) * t->stride[i];
      *(reach < 0 ? &low : &high) += reach;
    }
  size_t elem = td_dtype_size (t->dtype);
  int64_t span = high - low + 1;
  td_tensor *reach = td_tensor_new_in (t->buffer, t->offset - (size_t) (-low) * elem, t->dtype, 1, &span, &err);
  g_assert_nonnull (reach);
  td_tensor *copy = td_tensor_new (cpu, t->dtype, 1, &span, &err);
  g_assert_nonnull (copy);
  size_t bytes = td_tensor_nbytes (reach);
  void *raw = g_malloc (bytes + 1);
  g_assert_cmpint (td_tensor_download (reach, raw, bytes, &err), ==, TD_OK);
  g_assert_cmpint (td_tensor_upload (copy, raw, bytes, &err), ==, TD_OK);
  g_free (raw);
  td_tensor *m = td_tensor_new_in (copy->buffer, (size_t) (-low) * elem, t->dtype, t->ndim, t->shape, &err);
  g_assert_nonnull (m);
  memcpy (m->stride, t->stride, sizeof m->stride);
  g_assert_cmpint (td_tensor_is_contiguous (m), ==, td_tensor_is_contiguous (t));
  td_tensor_free (copy);
  td_tensor_free (reach);
  return m;
}

typedef struct cpu_copy {
  td_backend *cpu;
  td_op op;
  td_tensor *srcs[TD_OP_MAX_SRC];
} cpu_copy;

/* Host copies of op's inputs, views kept, taken before the device runs (dst may alias src[0]). */
static void
mirror_inputs (const td_op *op, cpu_copy *c)
{
  memset (c, 0, sizeof *c);
  td_error err;
  c->cpu = td_backend_cpu_new (&err);
  c->op = *op;
  for (int i = 0; i < TD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL)
      c->op.src[i] = c->srcs[i] = mirror_on (c->cpu, op->src[i]);
}

/* The same op on the CPU backend; returns false when its kernel is not there yet. */
static bool
compare_with_cpu (const td_op *op, cpu_copy *c, double tol, const char *what)
{
  td_error err;
  td_backend *cpu = c->cpu;
  td_op cpu_op = c->op;
  td_tensor **srcs = c->srcs;
  td_tensor *dst = td_tensor_new (cpu, op->dst->dtype, op->dst->ndim, op->dst->shape, &err);
  g_assert_nonnull (dst);
  cpu_op.dst = dst;
  /* In-place on the device means in-place on the CPU too. */
  if (op->src[0] == op->dst)
    {
      td_tensor_free (dst);
      cpu_op.dst = dst = mirror_on (cpu, srcs[0]);
      td_tensor_free (srcs[0]);
      cpu_op.src[0] = srcs[0] = td_tensor_reshape (dst, dst->ndim, dst->shape, &err);
    }
  td_status status = td_backend_run (cpu, &cpu_op, &err);
  bool ran = status == TD_OK;
  if (status == TD_ERR_UNSUPPORTED)
    g_test_message ("%s: no CPU kernel yet (%s)", what, err.message);
  else
    {
      g_assert_cmpint (status, ==, TD_OK);
      float *want = td_tensor_to_f32 (dst, &err);
      float *got = td_tensor_to_f32 (op->dst, &err);
      int64_t n = td_tensor_numel (dst);
      double *ref = g_new (double, n);
      for (int64_t i = 0; i < n; i++)
        ref[i] = want[i];
      double e = vk_normalised_error (got, ref, n);
      if (!(e <= tol))
        g_error ("%s: Vulkan vs CPU normalised error %.3g over %.3g", what, e, tol);
      free (want);
      free (got);
      g_free (ref);
    }
  for (int i = 0; i < TD_OP_MAX_SRC; i++)
    td_tensor_free (srcs[i]);
  td_tensor_free (dst);
  td_backend_free (cpu);
  return ran;
}

void
op_check (td_op *op, vk_guarded *g, const double *ref, double tol, const char *what)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  op->dst = g->t;
  cpu_copy c;
  mirror_inputs (op, &c);
  td_status status = vk_run (b, op, &err);
  if (status != TD_OK)
    g_error ("%s: %s", what, err.message);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  vk_guarded_check (g);
  if (ref != NULL)
    vk_assert_close (g->t, ref, tol, what);
  compare_with_cpu (op, &c, tol, what);
  vk_test_assert_no_validation_messages ();
}
