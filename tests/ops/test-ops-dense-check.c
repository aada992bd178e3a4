/* Validation of the dense ops: wrong shapes, dtypes, contiguity, broadcasting and
 * aliasing are refused with TD_ERR_INVALID_ARG and a message naming what was wrong,
 * and nothing is written to the output. */
#include "dense-test-util.h"

static td_tensor *
f32 (int ndim, const int64_t *shape)
{
  return tensor_of (TD_F32, ndim, shape, NULL);
}

static td_tensor *
typed (td_dtype dtype, int ndim, const int64_t *shape)
{
  return tensor_of (dtype, ndim, shape, NULL);
}

static void
test_matmul (void)
{
  td_error err = { 0 };
  const int64_t s35[] = { 3, 5 }, s74[] = { 7, 4 }, s75[] = { 7, 5 }, s37[] = { 3, 7 }, s36[] = { 3, 6 };
  const int64_t s6[] = { 6 }, s53[] = { 5, 3 }, batched[] = { 4, 7, 5 }, x3[] = { 2, 3, 5 };
  td_tensor *x = f32 (2, s35), *w_bad_k = f32 (2, s74), *w = typed (TD_BF16, 2, s75), *y = f32 (2, s37);
  td_tensor *y_bad = f32 (2, s36), *bias_bad = f32 (1, s6), *w_i32 = typed (TD_I32, 2, s75);
  td_tensor *x_f16 = typed (TD_F16, 2, s35), *w_batched = f32 (3, batched), *x3d = f32 (3, x3);
  td_tensor *x_source = f32 (2, s53);
  const int perm[] = { 1, 0 };
  td_tensor *x_view = td_tensor_permute (x_source, perm, &err); /* [3, 5], not contiguous */

  assert_invalid (td_matmul (test_backend, y, x, w_bad_k, NULL, &err), err, "matmul: x [3, 5] and w [7, 4] disagree on K");
  assert_invalid (td_matmul (test_backend, y_bad, x, w, NULL, &err), err, "matmul: y is [3, 6] but should be [3, 7]");
  assert_invalid (td_matmul (test_backend, y, x, w, bias_bad, &err), err, "bias [6] should be [7]");
  assert_invalid (td_matmul (test_backend, y, x, w_i32, NULL, &err), err, "w must be f32, f16, bf16, fp8 or a ggml block type, not i32");
  assert_invalid (td_matmul (test_backend, y, x_f16, w, NULL, &err), err, "x must be f32, not f16");
  assert_invalid (td_matmul (test_backend, y, x_view, w, NULL, &err), err, "must be contiguous");
  const int64_t y3[] = { 2, 3, 7 };
  td_tensor *y3d = f32 (3, y3);
  assert_invalid (td_matmul (test_backend, y3d, x3d, w_batched, NULL, &err), err, "leading dims to multiply to 4");
  assert_invalid (td_matmul (test_backend, x, x, w, NULL, &err), err, "y is [3, 5]");
  /* The output shares memory with the input. */
  const int64_t s77[] = { 7, 7 };
  td_tensor *square_x = f32 (2, s77), *square_w = f32 (2, s77);
  assert_invalid (td_matmul (test_backend, square_x, square_x, square_w, NULL, &err), err, "overlaps input 0");
  /* The valid call goes through. */
  g_assert_cmpint (td_matmul (test_backend, y, x, w, NULL, &err), ==, TD_OK);

  td_tensor *all[] = { x, w_bad_k, w, y, y_bad, bias_bad, w_i32, x_f16, w_batched, x3d, x_source, x_view, y3d,
                       square_x, square_w };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_elementwise (void)
{
  td_error err = { 0 };
  const int64_t s24[] = { 2, 4 }, s3[] = { 3 }, s14[] = { 1, 4 }, s124[] = { 1, 2, 4 }, s42[] = { 4, 2 };
  td_tensor *x = f32 (2, s24), *y = f32 (2, s24), *other_bad = f32 (1, s3), *other_ok = typed (TD_F16, 2, s14);
  td_tensor *other_rank = f32 (3, s124), *other_i32 = typed (TD_I32, 2, s14), *y_bad = f32 (2, s42);

  assert_invalid (td_add (test_backend, y, x, other_bad, &err), err, "add: other [3] does not broadcast to x [2, 4]");
  assert_invalid (td_mul (test_backend, y, x, other_rank, &err), err, "mul: other [1, 2, 4] does not broadcast");
  assert_invalid (td_add (test_backend, y, x, other_i32, &err), err, "other must be f32, f16 or bf16");
  assert_invalid (td_add (test_backend, y, x, NULL, &err), err, "add: other is missing");
  assert_invalid (td_scale (test_backend, y_bad, x, 1, 0, &err), err, "scale: y is [4, 2] but should be [2, 4]");
  assert_invalid (td_unary (test_backend, y, x, TD_UNARY_COUNT, &err), err, "unknown activation");
  assert_invalid (td_unary (test_backend, y, other_i32, TD_UNARY_RELU, &err), err, "x must be f32, not i32");
  /* A partial overlap (not the same tensor) is refused; an exact alias is in place and fine. */
  const int64_t s8[] = { 8 };
  td_tensor *x_flat = td_tensor_reshape (x, 1, s8, &err);
  td_tensor *x_shifted = td_tensor_slice (x_flat, 0, 1, 7, &err), *x_front = td_tensor_slice (x_flat, 0, 0, 7, &err);
  assert_invalid (td_scale (test_backend, x_shifted, x_front, 2, 0, &err), err, "scale: y overlaps input 0");
  assert_invalid (td_mul (test_backend, x_shifted, x_shifted, x_front, &err), err, "mul: y overlaps input 1");
  g_assert_cmpint (td_add (test_backend, x, x, other_ok, &err), ==, TD_OK);
  g_assert_cmpint (td_mul (test_backend, x_flat, x_flat, x_flat, &err), ==, TD_OK);
  g_assert_cmpint (td_unary (test_backend, x_flat, x_flat, TD_UNARY_SILU, &err), ==, TD_OK);

  td_tensor *all[] = { x, y, other_bad, other_ok, other_rank, other_i32, y_bad, x_flat, x_shifted, x_front };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_norms (void)
{
  td_error err = { 0 };
  const int64_t s24[] = { 2, 4 }, s5[] = { 5 }, s4[] = { 4 }, s264[] = { 2, 6, 4 }, s6[] = { 6 }, s14[] = { 1, 4 };
  td_tensor *x = f32 (2, s24), *y = f32 (2, s24), *w5 = typed (TD_BF16, 1, s5), *w4 = typed (TD_F16, 1, s4);
  td_tensor *w14 = f32 (2, s14), *gx = f32 (3, s264), *gy = f32 (3, s264), *g6 = f32 (1, s6);
  td_tensor *w_i32 = typed (TD_I32, 1, s4);

  assert_invalid (td_layer_norm (test_backend, y, x, w5, NULL, 1e-5f, &err), err,
                  "layer_norm: weight [5] should be [4] to match the last dim of x");
  assert_invalid (td_layer_norm (test_backend, y, x, w4, w5, 1e-5f, &err), err, "layer_norm: bias [5] should be [4]");
  assert_invalid (td_rms_norm (test_backend, y, x, w14, 1e-6f, &err), err, "rms_norm: weight [1, 4] should be [4]");
  assert_invalid (td_rms_norm (test_backend, y, x, w_i32, 1e-6f, &err), err, "weight must be f32, f16 or bf16");
  assert_invalid (td_rms_norm (test_backend, y, x, w4, -1.0f, &err), err, "eps -1 must be finite and non-negative");
  assert_invalid (td_rms_norm (test_backend, y, x, w4, NAN, &err), err, "must be finite");
  assert_invalid (td_group_norm (test_backend, gy, gx, NULL, NULL, 4, 1e-5f, &err), err,
                  "group_norm: 4 groups do not divide the 6 channels of x [2, 6, 4]");
  assert_invalid (td_group_norm (test_backend, gy, gx, NULL, NULL, 0, 1e-5f, &err), err, "0 groups");
  assert_invalid (td_group_norm (test_backend, gy, gx, w4, NULL, 3, 1e-5f, &err), err,
                  "weight [4] should be [6] to match the channels of x");
  assert_invalid (td_group_norm (test_backend, g6, g6, NULL, NULL, 1, 1e-5f, &err), err, "must be [B, C, ...]");
  assert_invalid (td_softmax (test_backend, gy, x, 1.0f, &err), err, "softmax: y is [2, 6, 4] but should be [2, 4]");
  g_assert_cmpint (td_layer_norm (test_backend, x, x, w4, w4, 1e-5f, &err), ==, TD_OK);
  g_assert_cmpint (td_group_norm (test_backend, gy, gx, g6, g6, 3, 1e-5f, &err), ==, TD_OK);

  td_tensor *all[] = { x, y, w5, w4, w14, gx, gy, g6, w_i32 };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_gather (void)
{
  td_error err = { 0 };
  const int64_t s3[] = { 3 }, s10_4[] = { 10, 4 }, s3_4[] = { 3, 4 }, s3_5[] = { 3, 5 }, s23[] = { 2, 3 };
  const int64_t s25[] = { 2, 5 }, s22[] = { 2, 2 }, s43[] = { 4, 3 }, s10[] = { 10 };
  const int32_t ids_values[] = { 1, 2, 9 };
  td_tensor *ids = tensor_i32 (1, s3, ids_values), *ids_f32 = f32 (1, s3), *table = typed (TD_BF16, 2, s10_4);
  td_tensor *table_1d = f32 (1, s10), *emb = f32 (2, s3_4), *emb_bad = f32 (2, s3_5);

  assert_invalid (td_embedding (test_backend, emb, ids_f32, table, &err), err, "embedding: ids must be i32, not f32");
  assert_invalid (td_embedding (test_backend, emb, ids, table_1d, &err), err, "table [10] must be [V, D]");
  assert_invalid (td_embedding (test_backend, emb_bad, ids, table, &err), err, "y is [3, 5] but should be [3, 4]");
  g_assert_cmpint (td_embedding (test_backend, emb, ids, table, &err), ==, TD_OK);
  /* Block tables are read as stored (tensors hold whole blocks per row); fp8 ones are not read. */
  const int64_t s10_64[] = { 10, 64 }, s3_64[] = { 3, 64 };
  td_tensor *q_whole = typed (TD_Q4_0, 2, s10_64), *emb64 = f32 (2, s3_64), *fp8 = typed (TD_F8_E4M3, 2, s10_4);
  assert_invalid (td_embedding (test_backend, emb, ids, fp8, &err), err,
                  "embedding: table must be f32, f16, bf16 or a ggml block type, not f8_e4m3");
  g_assert_cmpint (td_embedding (test_backend, emb64, ids, q_whole, &err), ==, TD_OK);
  td_tensor *block_cases[] = { q_whole, emb64, fp8 };
  for (size_t i = 0; i < G_N_ELEMENTS (block_cases); i++)
    td_tensor_free (block_cases[i]);

  td_tensor *a = f32 (2, s23), *b = f32 (2, s22), *b_f16 = typed (TD_F16, 2, s22), *cat = f32 (2, s25);
  td_tensor *cat_bad = f32 (2, s43);
  assert_invalid (td_concat (test_backend, cat, a, b, 0, &err), err, "concat: x0 [2, 3] and x1 [2, 2] differ outside dim 0");
  assert_invalid (td_concat (test_backend, cat, a, b, 2, &err), err, "concat: dim 2 is outside x0 [2, 3]");
  assert_invalid (td_concat (test_backend, cat, a, b_f16, 1, &err), err, "concat: x0 is f32 but x1 is f16");
  assert_invalid (td_concat (test_backend, cat_bad, a, b, -1, &err), err, "y is [4, 3] but should be [2, 5]");
  g_assert_cmpint (td_concat (test_backend, cat, a, b, -1, &err), ==, TD_OK);

  /* COPY takes strided views but converts only between float dtypes. */
  const int perm[] = { 1, 0 };
  td_tensor *view = td_tensor_permute (a, perm, &err); /* [3, 2] */
  const int64_t s32[] = { 3, 2 };
  td_tensor *copy_f16 = typed (TD_F16, 2, s32), *copy_i32 = typed (TD_I32, 2, s32), *copy_bad = f32 (2, s23);
  assert_invalid (td_copy (test_backend, copy_i32, view, &err), err, "copy: cannot convert f32 to i32");
  assert_invalid (td_copy (test_backend, copy_bad, view, &err), err, "copy: y is [2, 3] but should be [3, 2]");
  assert_invalid (td_copy (test_backend, view, a, &err), err, "output must be contiguous");
  g_assert_cmpint (td_copy (test_backend, copy_f16, view, &err), ==, TD_OK);

  td_tensor *all[] = { ids, ids_f32, table, table_1d, emb, emb_bad, a, b, b_f16, cat, cat_bad, view, copy_f16,
                       copy_i32, copy_bad };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_pick (void)
{
  td_error err = { 0 };
  const int64_t s25[] = { 2, 5 }, s2[] = { 2 }, s21[] = { 2, 1 }, s3[] = { 3 }, s20[] = { 2, 0 };
  td_tensor *logits = f32 (2, s25), *out = typed (TD_I32, 1, s2), *out_keep = typed (TD_I32, 2, s21);
  td_tensor *out_f32 = f32 (1, s2), *out_bad = typed (TD_I32, 1, s3), *empty = f32 (2, s20);

  assert_invalid (td_argmax (test_backend, out_f32, logits, &err), err, "argmax: y must be i32, not f32");
  assert_invalid (td_argmax (test_backend, out_bad, logits, &err), err, "argmax: y is [3] but should be [2]");
  assert_invalid (td_argmax (test_backend, out, empty, &err), err, "x [2, 0] has no last dim");
  assert_invalid (td_sample (test_backend, out, logits, 1.0f, 1.5f, 1, 0, &err), err, "sample: top_p 1.5 is outside [0, 1]");
  assert_invalid (td_sample (test_backend, out, logits, NAN, 0.9f, 1, 0, &err), err, "temperature nan is not finite");
  g_assert_cmpint (td_argmax (test_backend, out, logits, &err), ==, TD_OK);
  g_assert_cmpint (td_argmax (test_backend, out_keep, logits, &err), ==, TD_OK);
  g_assert_cmpint (td_sample (test_backend, out, logits, 0.6f, 0.9f, 1, 0, &err), ==, TD_OK);

  td_tensor *all[] = { logits, out, out_keep, out_f32, out_bad, empty };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

/* A rejected op leaves its output untouched. */
static void
test_output_untouched (void)
{
  td_error err = { 0 };
  const int64_t s35[] = { 3, 5 }, s74[] = { 7, 4 }, s37[] = { 3, 7 };
  float sentinel[21];
  for (int i = 0; i < 21; i++)
    sentinel[i] = 1234.5f;
  td_tensor *x = f32 (2, s35), *w = f32 (2, s74), *y = tensor_of (TD_F32, 2, s37, sentinel);
  g_assert_cmpint (td_matmul (test_backend, y, x, w, NULL, &err), ==, TD_ERR_INVALID_ARG);
  float *v = values_of (y);
  for (int i = 0; i < 21; i++)
    g_assert_cmpfloat (v[i], ==, 1234.5f);
  g_free (v);
  td_tensor_free (x);
  td_tensor_free (w);
  td_tensor_free (y);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/check/matmul", test_matmul);
  g_test_add_func ("/ops/dense/check/elementwise", test_elementwise);
  g_test_add_func ("/ops/dense/check/norms", test_norms);
  g_test_add_func ("/ops/dense/check/gather", test_gather);
  g_test_add_func ("/ops/dense/check/pick", test_pick);
  g_test_add_func ("/ops/dense/check/output-untouched", test_output_untouched);
  int status = g_test_run ();
  td_backend_free (test_backend);
  return status;
}
