/* `thinkdiff quantize` (run as the built TD_CLI): a small safetensors file to
 * GGUF Q8_0 and Q4_K. The Q8_0 file is read back by a reader written here from
 * the format alone (header, metadata skipped by type, tensor infos, blocks of
 * 2 bytes of f16 scale + 32 int8), not by the engine's; the Q4_K/Q5_K/Q6_K
 * ones through td_gguf, with the error bounds the quantizer documents. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "io/gguf.h"
#include "io/safetensors.h"

#define ROWS 5
#define COLS 256

static float source[ROWS * COLS];

static char *
write_source (const char *dir)
{
  GRand *rng = g_rand_new_with_seed (3);
  for (int i = 0; i < ROWS * COLS; i++)
    source[i] = (float) g_rand_double_range (rng, -1, 1) * (i / COLS == 2 ? 20.0f : 1.0f);
  g_rand_free (rng);
  static float norm[COLS];
  static uint16_t odd[3 * 40], embed[4 * 64];
  for (int i = 0; i < COLS; i++)
    norm[i] = 1.0f + (float) i / COLS;
  memset (odd, 0x3c, sizeof odd);
  memset (embed, 0x3c, sizeof embed);
  const int64_t w_shape[2] = { ROWS, COLS }, n_shape[1] = { COLS }, o_shape[2] = { 3, 40 }, e_shape[2] = { 4, 64 };
  td_safetensors_entry entries[] = {
    { "blk.weight", TD_F32, 2, w_shape, source, sizeof source },
    { "norm.weight", TD_F32, 1, n_shape, norm, sizeof norm },
    { "odd.weight", TD_BF16, 2, o_shape, odd, sizeof odd },
    { "tok_embed.weight", TD_F16, 2, e_shape, embed, sizeof embed },
  };
  char *path = g_build_filename (dir, "in.safetensors", NULL);
  td_error err = { 0 };
  g_assert_cmpint (td_safetensors_write (path, entries, G_N_ELEMENTS (entries), NULL, &err), ==, TD_OK);
  return path;
}

static int
run_quantize (const char *in, const char *out, const char *type)
{
  const char *argv[] = { g_getenv ("TD_CLI"), "quantize", in, out, "--type", type, NULL };
  g_assert_nonnull (argv[0]);
  int status = 0;
  g_autofree char *stdout_text = NULL, *stderr_text = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &stdout_text, &stderr_text,
                               &status, NULL));
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_test_message ("quantize: %s", stderr_text);
  else
    g_assert_nonnull (strstr (stderr_text, "quantize: 4/4 tensors"));
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* ---- the independent reader ---- */

typedef struct reader {
  const guint8 *p;
  gsize size, pos;
} reader;

static guint64
take (reader *r, int bytes)
{
  g_assert_cmpuint (r->pos + (gsize) bytes, <=, r->size);
  guint64 v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (guint64) r->p[r->pos + i] << (8 * i);
  r->pos += (gsize) bytes;
  return v;
}

static float
half (guint16 h)
{
  int e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? ldexpf ((float) m, -24) : ldexpf (1.0f + m / 1024.0f, e - 15);
  return (h & 0x8000) ? -v : v;
}

typedef struct found {
  guint32 type;
  guint64 ne[4], offset;
  guint32 n_dims;
} found;

/* Parses the file and returns the info of tensor `name` and the data start. */
static found
find (const guint8 *p, gsize size, const char *name, gsize *data_start)
{
  reader r = { p, size, 0 };
  g_assert_cmpuint (take (&r, 4), ==, 0x46554747);
  g_assert_cmpuint (take (&r, 4), ==, 3);
  guint64 n_tensors = take (&r, 8), n_kv = take (&r, 8);
  bool saw_file_type = false;
  for (guint64 i = 0; i < n_kv; i++)
    {
      guint64 len = take (&r, 8);
      bool file_type = len == 17 && memcmp (p + r.pos, "general.file_type", 17) == 0;
      r.pos += len;
      guint32 type = (guint32) take (&r, 4);
      if (type == 8)
        r.pos += take (&r, 8);
      else
        {
          g_assert_cmpuint (type, ==, 4); /* the writer uses strings and uint32 */
          guint32 v = (guint32) take (&r, 4);
          if (file_type)
            saw_file_type = v == 7 || v == 15;
        }
    }
  g_assert_true (saw_file_type);
  found result = { 0 };
  bool hit = false;
  for (guint64 i = 0; i < n_tensors; i++)
    {
      guint64 len = take (&r, 8);
      bool match = len == strlen (name) && memcmp (p + r.pos, name, len) == 0;
      r.pos += len;
      found f = { 0 };
      f.n_dims = (guint32) take (&r, 4);
      for (guint32 d = 0; d < f.n_dims; d++)
        f.ne[d] = take (&r, 8);
      f.type = (guint32) take (&r, 4);
      f.offset = take (&r, 8);
      if (match)
        {
          result = f;
          hit = true;
        }
    }
  g_assert_true (hit);
  *data_start = (r.pos + 31) / 32 * 32;
  return result;
}

static void
test_q8_0 (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-quantize-XXXXXX", NULL);
  g_autofree char *in = write_source (dir);
  g_autofree char *out = g_build_filename (dir, "out.gguf", NULL);
  g_assert_cmpint (run_quantize (in, out, "q8_0"), ==, 0);
  g_autofree guint8 *p = NULL;
  gsize size, data;
  g_assert_true (g_file_get_contents (out, (char **) &p, &size, NULL));

  found w = find (p, size, "blk.weight", &data);
  g_assert_cmpuint (w.type, ==, 8);
  g_assert_cmpuint (w.n_dims, ==, 2);
  g_assert_cmpuint (w.ne[0], ==, COLS);
  g_assert_cmpuint (w.ne[1], ==, ROWS);
  for (int b = 0; b < ROWS * COLS / 32; b++)
    {
      const guint8 *block = p + data + w.offset + (gsize) b * 34;
      float d = half ((guint16) (block[0] | block[1] << 8)), amax = 0;
      for (int j = 0; j < 32; j++)
        amax = fmaxf (amax, fabsf (source[b * 32 + j]));
      g_assert_cmpfloat (fabsf (d - amax / 127), <=, amax / 127 * 1e-3f); /* d is amax/127 in f16 */
      for (int j = 0; j < 32; j++)
        {
          float v = (float) (gint8) block[2 + j] * d;
          g_assert_cmpfloat (fabsf (v - source[b * 32 + j]), <=, 0.51f * d + 1e-3f * amax);
        }
    }
  g_assert_cmpuint (find (p, size, "norm.weight", &data).type, ==, 0);      /* 1-D: f32 */
  g_assert_cmpuint (find (p, size, "odd.weight", &data).type, ==, 30);      /* rows of 40: bf16 kept */
  g_assert_cmpuint (find (p, size, "tok_embed.weight", &data).type, ==, 1); /* embedding: f16 kept */

  /* The engine's reader agrees. */
  td_error err = { 0 };
  td_gguf *g = td_gguf_open (out, &err);
  g_assert_nonnull (g);
  g_assert_cmpuint (td_gguf_tensor_count (g), ==, 4);
  td_gguf_close (g);
  g_unlink (out);
  g_unlink (in);
  g_rmdir (dir);
}

/* K-quants: the decoded matrix within `bound` of each row's largest
 * magnitude (Q4_K 16 and Q5_K 32 levels per sub-block of 32 with 6-bit scales
 * and mins, Q6_K 64 levels per 16 with 8-bit scales), and the rms error over
 * the rms value within rms_bound: for the K-quants below what a plain
 * min/max (max|x|) fit reaches (q4_k 0.060, q5_k 0.030, q6_k 0.0147, q3_k
 * 0.129, q2_k 0.274), which the least-squares search must beat; figures are printed. */
static void
check_k_quant (const char *type, td_dtype dtype, double bound, double rms_bound)
{
  g_autofree char *dir = g_dir_make_tmp ("td-quantize-XXXXXX", NULL);
  g_autofree char *in = write_source (dir);
  g_autofree char *out = g_build_filename (dir, "out.gguf", NULL);
  g_assert_cmpint (run_quantize (in, out, type), ==, 0);
  td_error err = { 0 };
  td_gguf *g = td_gguf_open (out, &err);
  g_assert_nonnull (g);
  td_tensor *t = td_gguf_tensor (g, "blk.weight", &err);
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, dtype);
  float *v = td_tensor_to_f32 (t, &err);
  double worst = 0, squared = 0, energy = 0;
  for (int r = 0; r < ROWS; r++)
    {
      float amax = 0, max_err = 0;
      for (int c = 0; c < COLS; c++)
        amax = fmaxf (amax, fabsf (source[r * COLS + c]));
      for (int c = 0; c < COLS; c++)
        {
          float e = v[r * COLS + c] - source[r * COLS + c];
          max_err = fmaxf (max_err, fabsf (e));
          squared += (double) e * e;
          energy += (double) source[r * COLS + c] * source[r * COLS + c];
        }
      worst = fmax (worst, max_err / amax);
    }
  g_test_message ("%s: max abs error / max |row| = %.4f, rms error / rms = %.4f", type, worst, sqrt (squared / energy));
  g_assert_cmpfloat (worst, <=, bound);
  g_assert_cmpfloat (sqrt (squared / energy), <=, rms_bound);
  g_assert_cmpfloat (worst, >, 0.0);
  free (v);
  td_tensor_free (t);
  td_gguf_close (g);
  g_unlink (out);
  g_unlink (in);
  g_rmdir (dir);
}

static void
test_k_quants (void)
{
  check_k_quant ("q4_k", TD_Q4_K, 0.1, 0.056);
  check_k_quant ("q5_k", TD_Q5_K, 0.05, 0.029);
  check_k_quant ("q6_k", TD_Q6_K, 0.03, 0.0145);
}

/* The 32-value types and the 2-/3-bit K-quants (rows of 256 hold whole blocks of each). */
static void
test_other_types (void)
{
  check_k_quant ("q4_0", TD_Q4_0, 0.13, 0.065); /* the far side of the largest value clamps to 7·d: 1/8 */
  check_k_quant ("q4_1", TD_Q4_1, 0.07, 0.06);  /* half a step of the block range / 15 */
  check_k_quant ("q5_0", TD_Q5_0, 0.07, 0.032);  /* likewise 15·d: 1/16 */
  check_k_quant ("q5_1", TD_Q5_1, 0.035, 0.031); /* / 31 */
  check_k_quant ("q3_k", TD_Q3_K, 0.3, 0.125);   /* the far side clamps to 3 of 4 steps */
  check_k_quant ("q2_k", TD_Q2_K, 0.45, 0.24);  /* half of range / 3, 4-bit scales */
}

static void
test_bad_type (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-quantize-XXXXXX", NULL);
  g_autofree char *in = write_source (dir);
  g_autofree char *out = g_build_filename (dir, "out.gguf", NULL);
  g_assert_cmpint (run_quantize (in, out, "q3_z"), ==, 2);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_unlink (in);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quantize/q8_0-read-back", test_q8_0);
  g_test_add_func ("/quantize/k-quants", test_k_quants);
  g_test_add_func ("/quantize/other-types", test_other_types);
  g_test_add_func ("/quantize/bad-type", test_bad_type);
  return g_test_run ();
}
