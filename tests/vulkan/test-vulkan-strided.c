/* Non-contiguous (strided view) inputs on the Vulkan backend against the CPU path.
 *
 * COPY is the op that reads views: permuted, sliced with gaps between rows, sliced
 * inside a row, at odd sizes and between every pair of dtypes; op_check runs the
 * same view through the CPU kernel (the view rebuilt over a host copy of the bytes
 * it reaches) and compares. Every other op takes contiguous inputs only: a view
 * must be refused on Vulkan with the CPU's status and message, before any work is
 * recorded, and leave no validation message. */
#include <string.h>

#include "backend/ops.h"
#include "op-check.h"

/* x [d0, d1, d2, d3] holding v[i] = i·0.37 − 11 (rounded to `from`): distinct, signed. */
static float *
indexed_values (int64_t n, td_dtype from)
{
  float *x = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    x[i] = (float) i * 0.37f - 11.0f;
  vk_round_to_dtype (x, n, from);
  return x;
}

/* The element of view at flat (row-major) index i, read through its strides from
 * the host values of the tensor it views (offset in elements). */
static double
view_element (const td_tensor *view, const float *base, int64_t base_offset, int64_t i)
{
  int64_t at = base_offset;
  for (int d = view->ndim - 1; d >= 0; d--)
    {
      at += (i % view->shape[d]) * view->stride[d];
      i /= view->shape[d];
    }
  return base[at];
}

typedef enum { VIEW_PERMUTE_SLICE, VIEW_ROW_GAPS, VIEW_INSIDE_ROWS } view_kind;

static const char *const view_names[] = { "permuted+sliced", "rows with gaps", "inside rows" };

/* A view of tx [5, 3, 7, 9] (odd sizes everywhere) that is not contiguous. */
static td_tensor *
make_view (td_tensor *tx, view_kind kind)
{
  td_error err;
  td_tensor *view = NULL;
  if (kind == VIEW_PERMUTE_SLICE)
    {
      const int perm[4] = { 3, 1, 0, 2 };
      td_tensor *permuted = td_tensor_permute (tx, perm, &err); /* [9, 3, 5, 7] */
      g_assert_nonnull (permuted);
      view = td_tensor_slice (permuted, 2, 1, 3, &err); /* [9, 3, 3, 7] */
      td_tensor_free (permuted);
    }
  else if (kind == VIEW_ROW_GAPS)
    view = td_tensor_slice (tx, 2, 2, 3, &err); /* [5, 3, 3, 9]: whole rows, gaps between them */
  else
    view = td_tensor_slice (tx, 3, 3, 5, &err); /* [5, 3, 7, 5]: part of every row */
  g_assert_nonnull (view);
  g_assert_false (td_tensor_is_contiguous (view));
  return view;
}

static void
check_copy_view (view_kind kind, td_dtype from, td_dtype to)
{
  td_backend *b = vk_test_backend ();
  const int64_t shape[4] = { 5, 3, 7, 9 }, n = 5 * 3 * 7 * 9;
  float *x = indexed_values (n, from);
  td_tensor *tx = vk_tensor_from (b, from, 4, shape, x);
  td_tensor *view = make_view (tx, kind);
  int64_t count = td_tensor_numel (view);
  double *ref = g_new (double, count);
  int64_t offset = (int64_t) ((view->offset - tx->offset) / td_dtype_size (from));
  for (int64_t i = 0; i < count; i++)
    {
      float v = (float) view_element (view, x, offset, i);
      vk_round_to_dtype (&v, 1, to);
      ref[i] = v;
    }
  vk_guarded g = vk_guarded_new (b, to, view->ndim, view->shape);
  td_op op = { .type = TD_OP_COPY, .src = { view } };
  char what[96];
  g_snprintf (what, sizeof what, "copy of a %s view, %s -> %s", view_names[kind], td_dtype_name (from),
              td_dtype_name (to));
  op_check (&op, &g, ref, 0, what);
  vk_guarded_free (&g);
  td_tensor_free (view);
  td_tensor_free (tx);
  g_free (x);
  g_free (ref);
}

static void
test_copy_views (void)
{
  const td_dtype types[3] = { TD_F32, TD_F16, TD_BF16 };
  for (int kind = 0; kind < 3; kind++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++)
        check_copy_view ((view_kind) kind, types[i], types[j]);
}

/* Runs one op on both backends with a permuted input; both must refuse it alike. */
typedef td_status (*strided_op) (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square,
                                 td_error *err);

static td_status
run_matmul (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square, td_error *err)
{
  return td_matmul (b, y, view, square, NULL, err);
}

static td_status
run_matmul_weight (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square, td_error *err)
{
  return td_matmul (b, y, square, view, NULL, err);
}

static td_status
run_add (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square, td_error *err)
{
  return td_add (b, y, square, view, err);
}

static td_status
run_unary (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square, td_error *err)
{
  return td_unary (b, y, view, TD_UNARY_GELU, err);
}

static td_status
run_softmax (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square, td_error *err)
{
  return td_softmax (b, y, view, 1.0f, err);
}

static td_status
run_rms_norm (td_backend *b, td_tensor *y, const td_tensor *view, const td_tensor *square, td_error *err)
{
  return td_rms_norm (b, y, view, NULL, 1e-6f, err);
}

static void
test_views_refused_like_cpu (void)
{
  static const struct {
    const char *name;
    strided_op run;
  } ops[] = {
    { "matmul x", run_matmul }, { "matmul w", run_matmul_weight }, { "add", run_add },
    { "unary", run_unary },     { "softmax", run_softmax },        { "rms_norm", run_rms_norm },
  };
  td_backend *backends[2] = { vk_test_backend (), NULL };
  td_error err;
  backends[1] = td_backend_cpu_new (&err);
  g_assert_nonnull (backends[1]);
  const int64_t shape[2] = { 7, 7 };
  float values[49];
  vk_random_fill (values, 49, -1, 1);
  char messages[2][sizeof err.message];
  td_status statuses[2];
  for (size_t k = 0; k < G_N_ELEMENTS (ops); k++)
    {
      for (int bi = 0; bi < 2; bi++)
        {
          td_tensor *x = vk_tensor_from (backends[bi], TD_F32, 2, shape, values);
          td_tensor *square = vk_tensor_from (backends[bi], TD_F32, 2, shape, values);
          const int perm[2] = { 1, 0 };
          td_tensor *view = td_tensor_permute (x, perm, &err);
          g_assert_false (td_tensor_is_contiguous (view));
          td_tensor *y = td_tensor_new (backends[bi], TD_F32, 2, shape, &err);
          memset (&err, 0, sizeof err);
          statuses[bi] = ops[k].run (backends[bi], y, view, square, &err);
          g_strlcpy (messages[bi], err.message, sizeof messages[bi]);
          td_tensor_free (y);
          td_tensor_free (view);
          td_tensor_free (square);
          td_tensor_free (x);
        }
      g_test_message ("%s on a view: %s", ops[k].name, messages[0]);
      g_assert_cmpint (statuses[0], ==, TD_ERR_INVALID_ARG);
      g_assert_cmpint (statuses[1], ==, statuses[0]);
      g_assert_cmpstr (messages[0], ==, messages[1]);
      g_assert_nonnull (strstr (messages[0], "contiguous"));
    }
  g_assert_cmpint (td_backend_sync (backends[0], &err), ==, TD_OK);
  td_backend_free (backends[1]);
  vk_test_assert_no_validation_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/strided/copy-views", test_copy_views);
  g_test_add_func ("/vulkan/strided/views-refused-like-cpu", test_views_refused_like_cpu);
  return g_test_run ();
}
