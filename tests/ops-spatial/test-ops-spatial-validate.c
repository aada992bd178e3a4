/* Validation of the spatial ops: well-formed ops pass, and each malformed one is
 * rejected with TD_ERR_INVALID_ARG and a message naming what was wrong. */
#include "spatial-test-util.h"

#include "backend/op.h"

static td_tensor *
make (td_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
  const int64_t shape[4] = { d0, d1, d2, d3 };
  return test_tensor (dtype, ndim, shape, NULL);
}

/* Expects op to be rejected with a message containing `needle`. */
static void
expect_invalid (const td_op *op, const char *needle)
{
  td_error err = { 0 };
  td_status status = td_op_validate (op, &err);
  if (status != TD_ERR_INVALID_ARG || strstr (err.message, needle) == NULL)
    g_error ("expected invalid-argument mentioning \"%s\", got %s: \"%s\"", needle, td_status_name (status),
             err.message);
}

static void
expect_valid (const td_op *op)
{
  td_error err = { 0 };
  if (td_op_validate (op, &err) != TD_OK)
    g_error ("expected a valid op, got: %s", err.message);
}

static void
test_rope (void)
{
  td_tensor *x = make (TD_F32, 4, 2, 5, 3, 8), *y = make (TD_F32, 4, 2, 5, 3, 8);
  td_tensor *c = make (TD_F32, 2, 5, 3, 0, 0), *s = make (TD_F32, 2, 5, 3, 0, 0);
  td_tensor *wide = make (TD_F32, 2, 5, 5, 0, 0), *rows = make (TD_F32, 2, 4, 3, 0, 0);
  td_tensor *x16 = make (TD_F16, 4, 2, 5, 3, 8), *flat = make (TD_F32, 2, 5, 8, 0, 0);
  td_tensor *y_bad = make (TD_F32, 4, 2, 5, 3, 7);
  const int perm[4] = { 0, 2, 1, 3 };
  td_tensor *square = make (TD_F32, 4, 2, 5, 5, 8);
  td_tensor *strided = td_tensor_permute (square, perm, NULL);

  td_op op = { .type = TD_OP_ROPE, .dst = y, .src = { x, c, s }, .p.rope.mode = TD_ROPE_INTERLEAVED };
  expect_valid (&op);
  op.src[0] = x16;
  expect_invalid (&op, "x must be f32");
  op.src[0] = flat, op.dst = flat;
  expect_invalid (&op, "at least 3 dims");
  op.src[0] = x, op.dst = y, op.src[1] = rows;
  expect_invalid (&op, "same shape");
  op.src[1] = rows, op.src[2] = rows;
  expect_invalid (&op, "T = 5 positions");
  op.src[1] = wide, op.src[2] = wide;
  expect_invalid (&op, "head dim D = 8");
  op.src[1] = c, op.src[2] = s, op.dst = y_bad;
  expect_invalid (&op, "output must have shape");
  op.dst = y, op.src[2] = NULL;
  expect_invalid (&op, "sin (input 2) is missing");
  op.src[2] = s, op.src[3] = x;
  expect_invalid (&op, "must be NULL");
  op.src[3] = NULL, op.p.rope.mode = (td_rope_mode) 7;
  expect_invalid (&op, "unknown mode");
  op.p.rope.mode = TD_ROPE_HALF_SPLIT, op.src[0] = strided;
  expect_invalid (&op, "contiguous");

  /* The run path reports the same status. */
  td_error err = { 0 };
  g_assert_cmpint (td_backend_run (test_backend (), &op, &err), ==, TD_ERR_INVALID_ARG);

  td_tensor *all[] = { x, y, c, s, wide, rows, x16, flat, y_bad, square, strided };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_attention (void)
{
  td_tensor *q = make (TD_F32, 4, 2, 5, 6, 8), *k = make (TD_F32, 4, 2, 7, 3, 8), *v = make (TD_F32, 4, 2, 7, 3, 4);
  td_tensor *out = make (TD_F32, 4, 2, 5, 6, 4), *bias = make (TD_F32, 4, 1, 6, 5, 7);
  td_tensor *q3 = make (TD_F32, 3, 2, 5, 48, 0), *k_batch = make (TD_F32, 4, 1, 7, 3, 8);
  td_tensor *k_dim = make (TD_F32, 4, 2, 7, 3, 9), *v_len = make (TD_F32, 4, 2, 6, 3, 4);
  td_tensor *k_heads = make (TD_F32, 4, 2, 7, 4, 8), *v_heads = make (TD_F32, 4, 2, 7, 4, 4);
  td_tensor *bias_b = make (TD_F32, 4, 3, 1, 5, 7), *bias16 = make (TD_F16, 4, 1, 1, 5, 7);
  td_tensor *bias2 = make (TD_F32, 2, 5, 7, 0, 0), *out_bad = make (TD_F32, 4, 2, 5, 6, 8);
  td_tensor *k16 = make (TD_F16, 4, 2, 7, 3, 8), *v16 = make (TD_F16, 4, 2, 7, 3, 4);
  td_tensor *vbf16 = make (TD_BF16, 4, 2, 7, 3, 4), *k_int = make (TD_I32, 4, 2, 7, 3, 8);
  td_tensor *q16 = make (TD_F16, 4, 2, 5, 6, 8);

  td_op op = { .type = TD_OP_ATTENTION, .dst = out, .src = { q, k, v, bias }, .p.attention = { 0.3f, true } };
  expect_valid (&op);
  op.src[3] = NULL;
  expect_valid (&op);
  op.src[0] = q3;
  expect_invalid (&op, "q must have 4 dims");
  op.src[0] = q, op.src[1] = k_batch;
  expect_invalid (&op, "k [1, 7, 3, 8] must be [B=2");
  op.src[1] = k_dim;
  expect_invalid (&op, "D=8");
  op.src[1] = k, op.src[2] = v_len;
  expect_invalid (&op, "Tk=7");
  op.src[1] = k_heads, op.src[2] = v_heads;
  expect_invalid (&op, "not a multiple");
  op.src[1] = k, op.src[2] = v, op.src[3] = bias_b;
  expect_invalid (&op, "1 or B=2");
  op.src[3] = bias16;
  expect_invalid (&op, "bias must be f32");
  op.src[3] = bias2;
  expect_invalid (&op, "bias must have 4 dims");
  op.src[3] = NULL, op.dst = out_bad;
  expect_invalid (&op, "[2, 5, 6, 4]");
  /* A key/value cache in 16 bits: k and v in one dtype; q stays f32. */
  op.dst = out, op.src[1] = k16, op.src[2] = v16;
  expect_valid (&op);
  op.src[2] = vbf16;
  expect_invalid (&op, "v (bf16) must have k's dtype (f16)");
  op.src[2] = v;
  expect_invalid (&op, "v (f32) must have k's dtype (f16)");
  op.src[1] = k_int;
  expect_invalid (&op, "k must be f32, f16 or bf16, got i32");
  op.src[0] = q16, op.src[1] = k16, op.src[2] = v16;
  expect_invalid (&op, "q must be f32");

  td_tensor *all[] = { q, k, v, out, bias, q3, k_batch, k_dim, v_len, k_heads, v_heads, bias_b, bias16, bias2,
                       out_bad, k16, v16, vbf16, k_int, q16 };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_conv2d (void)
{
  /* x [1, 3, 9, 8], w [4, 3, 3, 2], stride (2, 1), pad (1, 0): Ho = (9+2−3)/2+1 = 5, Wo = 8−2+1 = 7. */
  td_tensor *x = make (TD_F32, 4, 1, 3, 9, 8), *w = make (TD_BF16, 4, 4, 3, 3, 2), *y = make (TD_F32, 4, 1, 4, 5, 7);
  td_tensor *bias = make (TD_F16, 1, 4, 0, 0, 0), *bias_int = make (TD_I32, 1, 4, 0, 0, 0);
  td_tensor *bias_len = make (TD_F32, 1, 5, 0, 0, 0), *w_int = make (TD_I8, 4, 4, 3, 3, 2);
  td_tensor *w_cin = make (TD_F32, 4, 4, 2, 3, 2), *w_big = make (TD_F32, 4, 4, 3, 12, 2);
  td_tensor *y_bad = make (TD_F32, 4, 1, 4, 5, 8);

  td_op op = { .type = TD_OP_CONV2D, .dst = y, .src = { x, w, bias }, .p.conv2d = { 2, 1, 1, 0 } };
  expect_valid (&op);
  op.src[2] = NULL;
  expect_valid (&op);
  op.src[2] = bias_int;
  expect_invalid (&op, "bias must be a float dtype");
  op.src[2] = bias_len;
  expect_invalid (&op, "[Cout=4]");
  op.src[2] = NULL, op.src[1] = w_int;
  expect_invalid (&op, "weight must be f32, f16 or bf16");
  op.src[1] = w_cin;
  expect_invalid (&op, "input channels");
  op.src[1] = w_big;
  expect_invalid (&op, "larger than the padded input");
  op.src[1] = w, op.p.conv2d.stride_h = 0;
  expect_invalid (&op, "strides");
  op.p.conv2d.stride_h = 2, op.p.conv2d.pad_w = -1;
  expect_invalid (&op, "padding");
  op.p.conv2d.pad_w = 0, op.dst = y_bad;
  expect_invalid (&op, "[1, 4, 5, 7]");
  op.dst = y, op.src[3] = x;
  expect_invalid (&op, "must be NULL");

  td_tensor *all[] = { x, w, y, bias, bias_int, bias_len, w_int, w_cin, w_big, y_bad };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_resizes (void)
{
  td_tensor *x = make (TD_F32, 4, 1, 3, 5, 7), *up = make (TD_F32, 4, 1, 3, 10, 14);
  td_tensor *small = make (TD_F32, 4, 1, 3, 2, 9);
  td_tensor *x3 = make (TD_F32, 3, 3, 5, 7, 0), *channels = make (TD_F32, 4, 1, 4, 2, 9);
  td_tensor *up_bad = make (TD_F32, 4, 1, 3, 10, 13), *empty = make (TD_F32, 4, 1, 3, 0, 7);
  td_tensor *out16 = make (TD_F16, 4, 1, 3, 2, 9);

  td_op op = { .type = TD_OP_UPSAMPLE_NEAREST2X, .dst = up, .src = { x } };
  expect_valid (&op);
  op.dst = up_bad;
  expect_invalid (&op, "[1, 3, 10, 14]");
  op.dst = up, op.src[1] = x;
  expect_invalid (&op, "must be NULL");

  const td_op_type types[2] = { TD_OP_RESIZE_BILINEAR, TD_OP_RESIZE_BICUBIC };
  for (int i = 0; i < 2; i++)
    {
      td_op r = { .type = types[i], .dst = small, .src = { x } };
      expect_valid (&r);
      r.dst = up;
      expect_valid (&r);
      r.dst = channels;
      expect_invalid (&r, "batch and channels");
      r.dst = small, r.src[0] = x3;
      expect_invalid (&r, "x must have 4 dims");
      r.src[0] = empty;
      expect_invalid (&r, "empty image");
      r.src[0] = x, r.dst = out16;
      expect_invalid (&r, "output must be f32");
    }

  td_tensor *all[] = { x, up, small, x3, channels, up_bad, empty, out16 };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-spatial/validate/rope", test_rope);
  g_test_add_func ("/ops-spatial/validate/attention", test_attention);
  g_test_add_func ("/ops-spatial/validate/conv2d", test_conv2d);
  g_test_add_func ("/ops-spatial/validate/resizes", test_resizes);
  return g_test_run ();
}
