/* The verify framework (engine/pipeline/verify.[ch]) with test-only components
 * registered here: comparison, FAIL lines, exit codes. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/verify.h"

static char *io_dir;
static char *io_path;

/* x = [[1, 2, 3], [4, 5, 6]] in f32; xb the same in bf16 (exact). */
static void
write_io_file (void)
{
  GError *error = NULL;
  io_dir = g_dir_make_tmp ("td-verify-XXXXXX", &error);
  g_assert_no_error (error);
  io_path = g_build_filename (io_dir, "io.safetensors", NULL);
  const float x[6] = { 1, 2, 3, 4, 5, 6 };
  uint16_t xb[6];
  for (int i = 0; i < 6; i++)
    xb[i] = td_f32_to_bf16 (x[i]);
  const int64_t shape[2] = { 2, 3 };
  const td_safetensors_entry entries[] = {
    { "x", TD_F32, 2, shape, x, sizeof x },
    { "xb", TD_BF16, 2, shape, xb, sizeof xb },
  };
  td_error err = { 0 };
  g_assert_cmpint (td_safetensors_write (io_path, entries, 2, NULL, &err), ==, TD_OK);
}

/* Returns io["x"] × scale with `delta` added to element 2. */
static td_status
scaled_x (td_safetensors *io, td_verify_outputs *outputs, const char *name, float scale, float delta,
          int ndim, const int64_t *shape, td_error *err)
{
  td_tensor *x = td_safetensors_tensor (io, "x", err);
  if (x == NULL)
    return err->status;
  float *v = td_tensor_to_f32 (x, err);
  td_tensor_free (x);
  for (int i = 0; i < 6; i++)
    v[i] *= scale;
  v[2] += delta;
  td_status status = td_verify_outputs_add_f32 (outputs, name, ndim, shape, v, err);
  free (v);
  return status;
}

static const int64_t shape_2x3[2] = { 2, 3 };
static const int64_t shape_3x2[2] = { 3, 2 };

static td_status
run_identity (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
              td_error *err)
{
  g_assert_nonnull (backend);
  g_assert_cmpstr (model_dir, ==, "model-dir");
  td_status status = scaled_x (io, outputs, "x", 1.0f, 0.0f, 2, shape_2x3, err);
  /* the bf16 reference is compared through f32 */
  return status == TD_OK ? scaled_x (io, outputs, "xb", 1.0f, 0.0f, 2, shape_2x3, err) : status;
}

static td_status
run_perturbed (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
               td_error *err)
{
  td_status status = scaled_x (io, outputs, "xb", 1.0f, 0.0f, 2, shape_2x3, err);
  return status == TD_OK ? scaled_x (io, outputs, "x", 1.0f, 0.5f, 2, shape_2x3, err) : status;
}

static td_status
run_close_enough (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                  td_error *err)
{
  return scaled_x (io, outputs, "x", 1.0f, 3e-5f, 2, shape_2x3, err); /* rel 5e-6 */
}

static td_status
run_loose (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
           td_error *err)
{
  return scaled_x (io, outputs, "x", 1.0f, 0.06f, 2, shape_2x3, err); /* rel 1e-2 */
}

static td_status
run_wrong_shape (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                 td_error *err)
{
  return scaled_x (io, outputs, "x", 1.0f, 0.0f, 2, shape_3x2, err);
}

static td_status
run_no_reference (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                  td_error *err)
{
  return scaled_x (io, outputs, "y", 1.0f, 0.0f, 2, shape_2x3, err);
}

static td_status
run_broken (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
            td_error *err)
{
  return td_error_set (err, TD_ERR_NOT_FOUND, "%s/config.json: no such file", model_dir);
}

static td_status
run_loose_one (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
               td_error *err)
{
  td_status status = scaled_x (io, outputs, "x", 1.0f, 3e-5f, 2, shape_2x3, err);
  if (status == TD_OK)
    status = scaled_x (io, outputs, "xb", 1.0f, 0.06f, 2, shape_2x3, err);
  td_verify_outputs_set_tolerance (outputs, "xb", 2e-2);
  return status;
}

static const char *const x_input[] = { "x", NULL };
static const char *const both_inputs[] = { "x", "xb", NULL };
static const td_verify_elsewhere xb_by_identity[] = { { "xb", "test-identity" }, { NULL, NULL } };
static const td_verify_elsewhere xb_by_nobody[] = { { "x*", "no-such-component" }, { NULL, NULL } };

static const td_verify_component components[] = {
  { "test-identity", "io x × 1", 0, run_identity },
  { "test-perturbed", "io x with one element off by 0.5", 0, run_perturbed },
  { "test-close-enough", "io x off by 3e-5", 0, run_close_enough, both_inputs },
  { "test-loose", "off by 1e-2 with a 2e-2 tolerance", 2e-2, run_loose, both_inputs },
  { "test-wrong-shape", "io x reshaped", 0, run_wrong_shape, both_inputs },
  { "test-no-reference", "an output the io file lacks", 0, run_no_reference, both_inputs },
  { "test-broken", "fails to run", 0, run_broken },
  { "test-unlisted", "outputs x; xb is neither input nor output", 0, run_close_enough, x_input },
  { "test-elsewhere", "outputs x; xb is test-identity's", 0, run_close_enough, NULL, xb_by_identity },
  { "test-bad-elsewhere", "names an unknown component", 0, run_close_enough, NULL, xb_by_nobody },
  { "test-loose-one", "x at the default tolerance, xb at 2e-2", 0, run_loose_one },
};

typedef struct verify_run {
  int code;
  char *out;
  char *err;
} verify_run;

static verify_run
run_verify (const char *component, const char *backend)
{
  char *argv[] = {
    (char *) "verify", (char *) "--component", (char *) component, (char *) "--model", (char *) "model-dir",
    (char *) "--io", io_path, (char *) "--backend", (char *) backend, NULL,
  };
  verify_run r = { 0 };
  size_t out_len = 0, err_len = 0;
  FILE *out = open_memstream (&r.out, &out_len);
  FILE *errout = open_memstream (&r.err, &err_len);
  r.code = td_verify_main (9, argv, out, errout);
  fclose (out);
  fclose (errout);
  g_test_message ("%s: exit %d\n%s%s", component, r.code, r.out, r.err);
  return r;
}

static void
verify_run_clear (verify_run *r)
{
  free (r->out);
  free (r->err);
}

static void
test_identity_ok (void)
{
  verify_run r = run_verify ("test-identity", "cpu");
  g_assert_cmpint (r.code, ==, 0);
  g_assert_cmpstr (r.out, ==, "x 0.000e+00 0.000e+00 1.0e-05 ok\nxb 0.000e+00 0.000e+00 1.0e-05 ok\n");
  g_assert_nonnull (strstr (r.err, "2 of 2 outputs within tolerance (rel_err <= 1.0e-05)"));
  verify_run_clear (&r);
}

static void
test_perturbed_fails (void)
{
  verify_run r = run_verify ("test-perturbed", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  /* max error 0.5, max |reference| 6 → 0.0833 */
  g_assert_cmpstr (r.out, ==, "xb 0.000e+00 0.000e+00 1.0e-05 ok\nx 5.000e-01 8.333e-02 1.0e-05 FAIL\n");
  g_assert_nonnull (strstr (r.err, "1 of 2 outputs"));
  verify_run_clear (&r);
}

static void
test_tolerances (void)
{
  verify_run r = run_verify ("test-close-enough", "cpu");
  g_assert_cmpint (r.code, ==, 0);
  g_assert_cmpstr (r.out, ==, "x 3.004e-05 5.007e-06 1.0e-05 ok\n");
  g_assert_nonnull (strstr (r.err, "  inputs: xb\n")); /* x is compared, not listed as an input */
  verify_run_clear (&r);
  r = run_verify ("test-loose", "cpu");
  g_assert_cmpint (r.code, ==, 0);
  g_assert_cmpstr (r.out, ==, "x 6.000e-02 1.000e-02 2.0e-02 ok\n");
  g_assert_nonnull (strstr (r.err, "1 of 1 outputs within tolerance (rel_err <= 2.0e-02)"));
  verify_run_clear (&r);
  /* A per-output tolerance is printed on its line and in the summary. */
  r = run_verify ("test-loose-one", "cpu");
  g_assert_cmpint (r.code, ==, 0);
  g_assert_cmpstr (r.out, ==, "x 3.004e-05 5.007e-06 1.0e-05 ok\nxb 6.000e-02 1.000e-02 2.0e-02 ok\n");
  g_assert_nonnull (strstr (r.err, "(rel_err <= 1.0e-05, xb <= 2.0e-02)"));
  verify_run_clear (&r);
}

static void
test_wrong_shape_and_missing (void)
{
  verify_run r = run_verify ("test-wrong-shape", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  g_assert_cmpstr (r.out, ==, "x - - 1.0e-05 FAIL (shape [3, 2] but the reference is [2, 3])\n");
  verify_run_clear (&r);
  r = run_verify ("test-no-reference", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  g_assert_true (g_str_has_prefix (r.out, "y - - 1.0e-05 FAIL (no reference tensor 'y' in "));
  verify_run_clear (&r);
}

/* Every io tensor is an input, an output, or another component's; anything else fails. */
static void
test_every_io_tensor (void)
{
  verify_run r = run_verify ("test-unlisted", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  g_assert_cmpstr (r.out, ==, "x 3.004e-05 5.007e-06 1.0e-05 ok\n"
                              "xb - - - FAIL (io tensor 'xb' is neither an input of test-unlisted nor an output it "
                              "computes)\n");
  g_assert_nonnull (strstr (r.err, "1 of 1 outputs within tolerance"));
  g_assert_nonnull (strstr (r.err, "neither input nor output of test-unlisted: xb"));
  verify_run_clear (&r);

  r = run_verify ("test-elsewhere", "cpu");
  g_assert_cmpint (r.code, ==, 0);
  g_assert_cmpstr (r.out, ==, "x 3.004e-05 5.007e-06 1.0e-05 ok\n");
  g_assert_nonnull (strstr (r.err, "handled by other components: xb (test-identity)"));
  verify_run_clear (&r);

  r = run_verify ("test-bad-elsewhere", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "'no-such-component'"));
  verify_run_clear (&r);
}

static void
test_errors (void)
{
  verify_run r = run_verify ("test-broken", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "test-broken: model-dir/config.json: no such file"));
  verify_run_clear (&r);

  /* On a machine with a Vulkan device (lavapipe in CI) the component runs there too;
   * without one the error says so. CI must have the device. */
  r = run_verify ("test-identity", "vulkan");
  if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
    g_assert_cmpint (r.code, ==, 0);
  if (r.code == 0)
    g_assert_nonnull (strstr (r.out, "x 0.000e+00 0.000e+00 1.0e-05 ok"));
  else
    g_assert_nonnull (strstr (r.err, "Vulkan"));
  verify_run_clear (&r);

  r = run_verify ("no-such", "cpu");
  g_assert_cmpint (r.code, ==, 1);
  g_assert_nonnull (strstr (r.err, "unknown component 'no-such'"));
  g_assert_nonnull (strstr (r.err, "test-identity")); /* the list of known ones */
  verify_run_clear (&r);
}

static void
test_compare_nan (void)
{
  td_error err = { 0 };
  const int64_t shape[1] = { 2 };
  td_tensor *a = td_tensor_new (NULL, TD_F32, 1, shape, &err);
  td_tensor *b = td_tensor_new (NULL, TD_F32, 1, shape, &err);
  const float av[2] = { 1.0f, NAN }, bv[2] = { 1.0f, 2.0f };
  td_tensor_upload (a, av, sizeof av, &err);
  td_tensor_upload (b, bv, sizeof bv, &err);
  td_verify_result result;
  g_assert_cmpint (td_verify_compare ("n", a, b, 1.0, &result, &err), ==, TD_OK);
  g_assert_false (result.ok);
  g_assert_nonnull (strstr (result.note, "NaN"));
  /* An all-zero reference: only an exact match passes. */
  const float zero[2] = { 0, 0 }, tiny[2] = { 0, 1e-30f };
  td_tensor_upload (a, tiny, sizeof tiny, &err);
  td_tensor_upload (b, zero, sizeof zero, &err);
  g_assert_cmpint (td_verify_compare ("z", a, b, 1.0, &result, &err), ==, TD_OK);
  g_assert_false (result.ok);
  g_assert_true (isinf (result.rel_err));
  td_tensor_free (a);
  td_tensor_free (b);
}

/* The same framework on the golden FLUX io file: an output equal to one of
 * its tensors passes. */
static td_status
run_golden_echo (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs,
                 td_error *err)
{
  td_tensor *t = td_safetensors_tensor (io, "prompt_embeds", err);
  if (t == NULL)
    return err->status;
  td_verify_outputs_add (outputs, "prompt_embeds", t);
  return TD_OK;
}

static void
test_golden_io (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "flux", "io.safetensors", NULL);
  static const char *const inputs[] = { "pooled_prompt_embeds", NULL };
  static const td_verify_elsewhere others[] = { { "*", "test-identity" }, { NULL, NULL } };
  static const td_verify_component echo = {
    "test-golden-echo", "prompt_embeds back", 0, run_golden_echo, inputs, others,
  };
  td_backend *backend = td_verify_backend_new ("cpu", NULL);
  g_assert_nonnull (backend);
  td_verify_result *results = NULL;
  size_t n = 0;
  td_error err = { 0 };
  g_assert_cmpint (td_verify_run (&echo, "unused", path, backend, &results, &n, &err), ==, TD_OK);
  /* The output first, then the io file's 15 other tensors, each accounted for. */
  g_assert_cmpuint (n, ==, 16);
  g_assert_cmpstr (results[0].name, ==, "prompt_embeds");
  g_assert_cmpint (results[0].kind, ==, TD_VERIFY_OUTPUT);
  g_assert_true (results[0].ok);
  g_assert_cmpfloat (results[0].max_abs_err, ==, 0.0);
  g_assert_cmpfloat (results[0].tolerance, ==, TD_VERIFY_DEFAULT_TOLERANCE);
  size_t inputs_seen = 0;
  for (size_t i = 1; i < n; i++)
    {
      g_assert_true (results[i].ok);
      g_assert_cmpstr (results[i].name, !=, "prompt_embeds");
      if (strcmp (results[i].name, "pooled_prompt_embeds") == 0)
        {
          g_assert_cmpint (results[i].kind, ==, TD_VERIFY_INPUT);
          inputs_seen++;
        }
      else
        g_assert_cmpint (results[i].kind, ==, TD_VERIFY_ELSEWHERE);
    }
  g_assert_cmpuint (inputs_seen, ==, 1);
  free (results);
  td_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  write_io_file ();
  for (size_t i = 0; i < G_N_ELEMENTS (components); i++)
    td_verify_register (&components[i]);
  g_assert_true (td_verify_find ("test-perturbed") == &components[1]);

  g_test_add_func ("/verify/identity-ok", test_identity_ok);
  g_test_add_func ("/verify/perturbed-fails", test_perturbed_fails);
  g_test_add_func ("/verify/tolerances", test_tolerances);
  g_test_add_func ("/verify/wrong-shape-and-missing", test_wrong_shape_and_missing);
  g_test_add_func ("/verify/every-io-tensor", test_every_io_tensor);
  g_test_add_func ("/verify/errors", test_errors);
  g_test_add_func ("/verify/compare-nan", test_compare_nan);
  g_test_add_func ("/verify/golden-io", test_golden_io);
  int code = g_test_run ();
  g_unlink (io_path);
  g_rmdir (io_dir);
  g_free (io_path);
  g_free (io_dir);
  return code;
}
