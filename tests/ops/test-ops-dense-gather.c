/* EMBEDDING, CONCAT and COPY on the CPU backend, against index arithmetic. */
#include <math.h>

#include "dense-test-util.h"

static void
test_embedding (void)
{
  td_error err = { 0 };
  /* table [5, 3]: row v is (v, 10 v, -v) + 0.5 */
  float table_values[15];
  for (int v = 0; v < 5; v++)
    {
      table_values[v * 3 + 0] = v + 0.5f;
      table_values[v * 3 + 1] = 10 * v + 0.5f;
      table_values[v * 3 + 2] = -v + 0.5f;
    }
  const int32_t ids_values[] = { 2, 0, 4, 4 };
  const int64_t table_shape[] = { 5, 3 }, ids_shape[] = { 2, 2 }, y_shape[] = { 2, 2, 3 };
  const td_dtype dtypes[] = { TD_F32, TD_F16, TD_BF16 };
  td_tensor *ids = tensor_i32 (2, ids_shape, ids_values);
  td_tensor *y = tensor_of (TD_F32, 3, y_shape, NULL);
  for (int d = 0; d < 3; d++)
    {
      td_tensor *table = tensor_of (dtypes[d], 2, table_shape, table_values);
      g_assert_cmpint (td_embedding (test_backend, y, ids, table, &err), ==, TD_OK);
      float *v = values_of (y);
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
          g_assert_cmpfloat (v[i * 3 + j], ==, table_values[ids_values[i] * 3 + j]); /* all exact in bf16 */
      g_free (v);
      td_tensor_free (table);
    }

  /* Out-of-range ids are refused with their position, and y is not written. */
  float sentinel[12];
  for (int i = 0; i < 12; i++)
    sentinel[i] = -7;
  td_tensor *table = tensor_of (TD_BF16, 2, table_shape, table_values);
  const int32_t too_big[] = { 1, 2, 5, 0 }, negative[] = { -1, 0, 0, 0 };
  td_tensor *bad = tensor_i32 (2, ids_shape, too_big), *bad_negative = tensor_i32 (2, ids_shape, negative);
  td_tensor *untouched = tensor_of (TD_F32, 3, y_shape, sentinel);
  assert_invalid (td_embedding (test_backend, untouched, bad, table, &err), err,
                  "embedding: id 5 at position 2 is outside the table's 5 rows");
  assert_invalid (td_embedding (test_backend, untouched, bad_negative, table, &err), err, "id -1 at position 0");
  float *v = values_of (untouched);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (v[i], ==, -7);
  g_free (v);

  td_tensor_free (table);
  td_tensor_free (bad);
  td_tensor_free (bad_negative);
  td_tensor_free (untouched);
  td_tensor_free (ids);
  td_tensor_free (y);
}

/* A Q8_0 table read as stored: row r, block b has scale (b + 1) / 4 and quants
 * r·10 − i, so value [r, 32 b + i] = (b + 1) (10 r − i) / 4, exact in f32. */
static void
test_embedding_q8_0 (void)
{
  td_error err = { 0 };
  enum { VOCAB = 5, BLOCKS = 3, DIM = BLOCKS * 32, BLOCK_BYTES = 34 };
  guint8 raw[VOCAB * BLOCKS * BLOCK_BYTES];
  for (int r = 0; r < VOCAB; r++)
    for (int b = 0; b < BLOCKS; b++)
      {
        guint8 *block = raw + (r * BLOCKS + b) * BLOCK_BYTES;
        uint16_t scale = td_f32_to_f16 ((b + 1) / 4.0f);
        memcpy (block, &scale, 2);
        for (int i = 0; i < 32; i++)
          block[2 + i] = (guint8) (int8_t) (r * 10 - i);
      }
  const int64_t table_shape[] = { VOCAB, DIM }, ids_shape[] = { 3 }, y_shape[] = { 3, DIM };
  td_tensor *table = td_tensor_new (test_backend, TD_Q8_0, 2, table_shape, &err);
  g_assert_nonnull (table);
  g_assert_cmpint (td_tensor_nbytes (table), ==, sizeof raw);
  g_assert_cmpint (td_tensor_upload (table, raw, sizeof raw, &err), ==, TD_OK);
  const int32_t ids_values[] = { 4, 0, 2 };
  td_tensor *ids = tensor_i32 (1, ids_shape, ids_values), *y = tensor_of (TD_F32, 2, y_shape, NULL);
  g_assert_cmpint (td_embedding (test_backend, y, ids, table, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int k = 0; k < 3; k++)
    for (int c = 0; c < DIM; c++)
      g_assert_cmpfloat (v[k * DIM + c], ==, (c / 32 + 1) * (10.0f * ids_values[k] - c % 32) / 4);
  g_free (v);
  td_tensor_free (table);
  td_tensor_free (ids);
  td_tensor_free (y);
}

/* concat of random a [3, 4, 5] and b (same but `extra` along dim) against indices. */
static void
check_concat (GRand *rng, int dim, int64_t extra, td_dtype dtype)
{
  td_error err = { 0 };
  int64_t a_shape[] = { 3, 4, 5 }, b_shape[] = { 3, 4, 5 }, y_shape[] = { 3, 4, 5 };
  int d = dim < 0 ? dim + 3 : dim;
  b_shape[d] = extra;
  y_shape[d] = a_shape[d] + extra;
  int64_t a_n = 60, b_n = 60 / a_shape[d] * extra;
  float *a_values = random_floats (rng, (size_t) a_n, -5, 5), *b_values = random_floats (rng, (size_t) b_n, -5, 5);
  round_to_dtype (a_values, (size_t) a_n, dtype);
  round_to_dtype (b_values, (size_t) b_n, dtype);
  td_tensor *a = tensor_of (dtype, 3, a_shape, a_values), *b = tensor_of (dtype, 3, b_shape, b_values);
  td_tensor *y = tensor_of (dtype, 3, y_shape, NULL);

  g_assert_cmpint (td_concat (test_backend, y, a, b, dim, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int64_t i = 0; i < y_shape[0]; i++)
    for (int64_t j = 0; j < y_shape[1]; j++)
      for (int64_t k = 0; k < y_shape[2]; k++)
        {
          int64_t index[3] = { i, j, k };
          float expected;
          if (index[d] < a_shape[d])
            expected = a_values[(i * a_shape[1] + j) * a_shape[2] + k];
          else
            {
              index[d] -= a_shape[d];
              expected = b_values[(index[0] * b_shape[1] + index[1]) * b_shape[2] + index[2]];
            }
          g_assert_cmpfloat (v[(i * y_shape[1] + j) * y_shape[2] + k], ==, expected);
        }
  g_free (v);
  g_free (a_values);
  g_free (b_values);
  td_tensor_free (a);
  td_tensor_free (b);
  td_tensor_free (y);
}

static void
test_concat (void)
{
  GRand *rng = g_rand_new_with_seed (31);
  check_concat (rng, 0, 2, TD_F32);
  check_concat (rng, 1, 7, TD_F32);
  check_concat (rng, 2, 1, TD_BF16);
  check_concat (rng, -1, 3, TD_F16);
  check_concat (rng, -3, 0, TD_F32); /* an empty b */
  g_rand_free (rng);
}

/* COPY of a permuted and sliced view of x [4, 5, 6, 7] (values = their flat index,
 * exact in every dtype) into each float dtype, against index arithmetic. */
static void
test_copy_views (void)
{
  td_error err = { 0 };
  const int64_t shape[] = { 4, 5, 6, 7 };
  float values[840];
  for (int i = 0; i < 840; i++)
    values[i] = (float) (i % 256) - 100; /* within f16/bf16's exact integers */
  const td_dtype dtypes[] = { TD_F32, TD_F16, TD_BF16, TD_F64 };
  for (int s = 0; s < 4; s++)
    {
      td_tensor *x = tensor_of (dtypes[s], 4, shape, values);
      /* view[a, b, c, d] = x[d', c, a, b'] with perm (2, 3, 1, 0), then slices
       * dim 1 (x's dim 3) to [2, 6) and dim 3 (x's dim 0) to [1, 4). */
      const int perm[] = { 2, 3, 1, 0 };
      td_tensor *permuted = td_tensor_permute (x, perm, &err);
      td_tensor *sliced = td_tensor_slice (permuted, 1, 2, 4, &err);
      td_tensor *view = td_tensor_slice (sliced, 3, 1, 3, &err);
      g_assert_nonnull (view);
      g_assert_false (td_tensor_is_contiguous (view));
      const int64_t view_shape[] = { 6, 4, 5, 3 };
      for (int t = 0; t < 4; t++)
        {
          td_tensor *y = tensor_of (dtypes[t], 4, view_shape, NULL);
          g_assert_cmpint (td_copy (test_backend, y, view, &err), ==, TD_OK);
          float *v = values_of (y);
          int64_t flat = 0;
          for (int64_t a = 0; a < 6; a++)
            for (int64_t b = 0; b < 4; b++)
              for (int64_t c = 0; c < 5; c++)
                for (int64_t d = 0; d < 3; d++)
                  {
                    int64_t x0 = d + 1, x1 = c, x2 = a, x3 = b + 2; /* undo the slices and the perm */
                    g_assert_cmpfloat (v[flat++], ==, values[((x0 * 5 + x1) * 6 + x2) * 7 + x3]);
                  }
          g_free (v);
          td_tensor_free (y);
        }
      td_tensor_free (view);
      td_tensor_free (sliced);
      td_tensor_free (permuted);
      td_tensor_free (x);
    }
}

/* A slice that keeps rows contiguous but skips between them: x [4, 5, 6, 7] sliced to
 * [4, 5, 3, 7] at dim 2 from 2, copied into each dtype (same dtype copies whole rows). */
static void
test_copy_row_slices (void)
{
  td_error err = { 0 };
  const int64_t shape[] = { 4, 5, 6, 7 }, view_shape[] = { 4, 5, 3, 7 };
  float values[840];
  for (int i = 0; i < 840; i++)
    values[i] = (float) (i % 200) - 50;
  const td_dtype dtypes[] = { TD_F32, TD_F16, TD_BF16, TD_F64 };
  for (int s = 0; s < 4; s++)
    {
      td_tensor *x = tensor_of (dtypes[s], 4, shape, values);
      td_tensor *view = td_tensor_slice (x, 2, 2, 3, &err);
      g_assert_false (td_tensor_is_contiguous (view));
      for (int t = 0; t < 4; t++)
        {
          td_tensor *y = tensor_of (dtypes[t], 4, view_shape, NULL);
          g_assert_cmpint (td_copy (test_backend, y, view, &err), ==, TD_OK);
          float *v = values_of (y);
          int64_t flat = 0;
          for (int64_t a = 0; a < 4; a++)
            for (int64_t b = 0; b < 5; b++)
              for (int64_t c = 0; c < 3; c++)
                for (int64_t d = 0; d < 7; d++)
                  g_assert_cmpfloat (v[flat++], ==, values[((a * 5 + b) * 6 + c + 2) * 7 + d]);
          g_free (v);
          td_tensor_free (y);
        }
      td_tensor_free (view);
      td_tensor_free (x);
    }
}

/* Conversions round as the dtype does: f32 → bf16 → f32 equals the scalar conversion. */
static void
test_copy_converts (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (32);
  const int64_t shape[] = { 3, 20011 }; /* long rows: several parallel pieces */
  size_t n = 3 * 20011;
  float *values = random_floats (rng, n, -1000, 1000);
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  const td_dtype targets[] = { TD_F16, TD_BF16 };
  for (int t = 0; t < 2; t++)
    {
      td_tensor *y = tensor_of (targets[t], 2, shape, NULL);
      g_assert_cmpint (td_copy (test_backend, y, x, &err), ==, TD_OK);
      float *v = values_of (y);
      for (size_t i = 0; i < n; i++)
        {
          float expected = targets[t] == TD_F16 ? td_f16_to_f32 (td_f32_to_f16 (values[i]))
                                                : td_bf16_to_f32 (td_f32_to_bf16 (values[i]));
          g_assert_cmpfloat (v[i], ==, expected);
        }
      g_free (v);
      td_tensor_free (y);
    }
  g_free (values);
  td_tensor_free (x);
  g_rand_free (rng);
}

/* An f16 destination saturates: beyond ±65504 (infinities too) gives ±65504, NaN stays
 * NaN, what fits rounds as before (a 16-bit key/value cache relies on it). */
static void
test_copy_f16_saturates (void)
{
  td_error err = { 0 };
  const float in[] = { 1e5f, -1e5f, 65504.0f, 65519.0f, 65520.0f, -7e4f, INFINITY, -INFINITY, NAN, 1.0f, -2.5e38f,
                       6e4f, -0.0f };
  const float want[] = { 65504.0f, -65504.0f, 65504.0f, 65504.0f, 65504.0f, -65504.0f, 65504.0f, -65504.0f, NAN,
                         1.0f, -65504.0f, 60000.0f, -0.0f };
  const int64_t shape[] = { (int64_t) G_N_ELEMENTS (in) };
  td_tensor *x = tensor_of (TD_F32, 1, shape, in);
  td_tensor *y = tensor_of (TD_F16, 1, shape, NULL);
  g_assert_cmpint (td_copy (test_backend, y, x, &err), ==, TD_OK);
  float *v = values_of (y);
  for (size_t i = 0; i < G_N_ELEMENTS (in); i++)
    if (isnan (want[i]))
      g_assert_true (isnan (v[i]));
    else
      g_assert_cmpfloat (v[i], ==, want[i]);
  g_assert_true (signbit (v[12]));
  g_free (v);
  td_tensor_free (y);
  td_tensor_free (x);
}

/* A transposed view with rows longer than one parallel piece: x [20011, 3] seen as
 * [3, 20011], so each row is read with stride 3 from several starting points. */
static void
test_copy_long_strided_rows (void)
{
  td_error err = { 0 };
  const int64_t n = 20011, shape[] = { n, 3 }, view_shape[] = { 3, n };
  float *values = g_new (float, n * 3);
  for (int64_t i = 0; i < n * 3; i++)
    values[i] = (float) (i % 2000) * 0.5f;
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  const int perm[] = { 1, 0 };
  td_tensor *view = td_tensor_permute (x, perm, &err);
  td_tensor *y = tensor_of (TD_F32, 2, view_shape, NULL);
  g_assert_cmpint (td_copy (test_backend, y, view, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int64_t c = 0; c < 3; c++)
    for (int64_t i = 0; i < n; i++)
      g_assert_cmpfloat (v[c * n + i], ==, values[i * 3 + c]);
  g_free (v);
  g_free (values);
  td_tensor_free (y);
  td_tensor_free (view);
  td_tensor_free (x);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/embedding/known", test_embedding);
  g_test_add_func ("/ops/dense/embedding/q8_0", test_embedding_q8_0);
  g_test_add_func ("/ops/dense/concat/random", test_concat);
  g_test_add_func ("/ops/dense/copy/views", test_copy_views);
  g_test_add_func ("/ops/dense/copy/row-slices", test_copy_row_slices);
  g_test_add_func ("/ops/dense/copy/converts", test_copy_converts);
  g_test_add_func ("/ops/dense/copy/f16-saturates", test_copy_f16_saturates);
  g_test_add_func ("/ops/dense/copy/long-strided-rows", test_copy_long_strided_rows);
  int status = g_test_run ();
  td_backend_free (test_backend);
  return status;
}
