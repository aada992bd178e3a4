/* ThinkDiff aligners against the goldens: the CLIP one (f32 weights) maps BLIP-2's
 * downsampled features, the LVLM one (bf16 weights) the hidden states of Qwen2-VL's thought. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pth.h"
#include "io/safetensors.h"
#include "models/aligner.h"
#include "pipeline/model_paths.h"
#include "pipeline/verify.h"

static char *
golden (const char *relative)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", relative, NULL);
}

/* Runs the aligner at weights_path on io[input] and compares with io["aligned"]. */
static void
check_against (const char *weights_path, const char *io_name, const char *input, int in_dim, double tolerance)
{
  td_error err = { 0 };
  g_autofree char *io_path = golden (io_name);
  td_safetensors *io = td_safetensors_open (io_path, &err);
  g_assert_nonnull (io);
  td_aligner *aligner = td_aligner_load (weights_path, NULL, &err);
  if (aligner == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_aligner_in_dim (aligner), ==, in_dim);
  g_assert_cmpint (td_aligner_out_dim (aligner), ==, 64);
  td_tensor *x_stored = td_safetensors_tensor (io, input, &err);
  float *x_values = td_tensor_to_f32 (x_stored, &err);
  td_tensor *x = td_tensor_new (NULL, TD_F32, x_stored->ndim, x_stored->shape, &err);
  g_assert_cmpint (td_tensor_upload (x, x_values, td_tensor_nbytes (x), &err), ==, TD_OK);
  td_tensor *y = td_aligner_forward (aligner, x, &err);
  if (y == NULL)
    g_error ("%s", err.message);
  td_tensor *reference = td_safetensors_tensor (io, "aligned", &err);
  td_verify_result result;
  g_assert_cmpint (td_verify_compare ("aligned", y, reference, tolerance, &result, &err), ==, TD_OK);
  g_test_message ("%s: max_abs_err %.3g rel_err %.3g", weights_path, result.max_abs_err, result.rel_err);
  g_assert_true (result.ok);
  /* The wrong input width is refused, not read out of bounds. */
  const int64_t narrow_shape[3] = { 1, 2, in_dim - 1 };
  td_tensor *narrow = td_tensor_new (NULL, TD_F32, 3, narrow_shape, &err);
  g_assert_null (td_aligner_forward (aligner, narrow, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  td_tensor_free (narrow);
  td_tensor_free (reference);
  td_tensor_free (y);
  td_tensor_free (x);
  free (x_values);
  td_tensor_free (x_stored);
  td_aligner_free (aligner);
  td_safetensors_close (io);
}

static void
test_clip_aligner (void)
{
  g_autofree char *path = golden ("blip2_vision/thinkdiff_clip_aligner.pth");
  check_against (path, "blip2_vision/io.safetensors", "downsampled", 48, 1e-4);
}

static void
test_lvlm_aligner (void)
{
  /* The reference applies the stored bf16 weights in float64 to the thought's hidden
   * states (the last prompt position, then generated tokens 1 … n−1): fp32 tolerance. */
  g_autofree char *path = golden ("qwen2_vl/thinkdiff_lvlm_aligner.pth");
  check_against (path, "qwen2_vl/io.safetensors", "thought_hidden", 64, 1e-4);
}

static void
test_safetensors_aligner (void)
{
  /* The same weights as a safetensors file with bare Sequential keys ("0.weight" …). */
  td_error err = { 0 };
  g_autofree char *pth_path = golden ("blip2_vision/thinkdiff_clip_aligner.pth");
  td_pth *pth = td_pth_open (pth_path, &err);
  g_assert_nonnull (pth);
  size_t n = td_pth_count (pth);
  td_safetensors_entry *entries = g_new0 (td_safetensors_entry, n);
  for (size_t i = 0; i < n; i++)
    {
      const td_tensor *t = td_pth_at (pth, i);
      entries[i] = (td_safetensors_entry) { td_pth_name_at (pth, i) + strlen ("mm_projector."), t->dtype, t->ndim,
                                            t->shape, td_tensor_host_data (t), td_tensor_nbytes (t) };
    }
  g_autofree char *dir = g_dir_make_tmp ("td-aligner-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "aligner.safetensors", NULL);
  g_assert_cmpint (td_safetensors_write (path, entries, n, NULL, &err), ==, TD_OK);
  g_free (entries);
  td_pth_close (pth);
  check_against (path, "blip2_vision/io.safetensors", "downsampled", 48, 1e-4);
  g_remove (path);
  g_rmdir (dir);
}

static void
test_training_checkpoint_in_release (void)
{
  /* Mifucius/ThinkDiff keeps the aligners under release/ as training checkpoints
   * (weights under "model", next to optimizer, config, scaler, epoch); the file is
   * made by tests/io-pth/gen_training_checkpoint.py from the golden weights. */
  td_error err = { 0 };
  g_autofree char *fixture = g_build_filename (g_getenv ("TD_TEST_DATA"), "pth", "thinkdiff_clip_training.pth", NULL);
  td_pth *pth = td_pth_open (fixture, &err);
  if (pth == NULL)
    g_error ("%s", err.message);
  g_assert_cmpstr (td_pth_dict_key (pth), ==, "model");
  g_assert_cmpuint (td_pth_count (pth), ==, 5); /* the optimizer's moments are not weights */
  td_pth_close (pth);

  g_autofree char *root = g_dir_make_tmp ("td-models-XXXXXX", NULL);
  g_autofree char *release = g_build_filename (root, "thinkdiff-clip", "release", NULL);
  g_assert_cmpint (g_mkdir_with_parents (release, 0755), ==, 0);
  g_autofree char *path = g_build_filename (release, "thinkdiff_clip.pth", NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (fixture, &bytes, &len, NULL));
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
  td_model_paths paths;
  g_assert_cmpint (td_model_paths_find (root, &paths, &err), ==, TD_OK);
  g_assert_cmpstr (paths.path[TD_PART_ALIGNER_CLIP], ==, path);
  check_against (paths.path[TD_PART_ALIGNER_CLIP], "blip2_vision/io.safetensors", "downsampled", 48, 1e-4);
  td_model_paths_clear (&paths);
  g_remove (path);
  g_rmdir (release);
  g_autofree char *component = g_path_get_dirname (release);
  g_rmdir (component);
  g_rmdir (root);
}

static void
test_missing_weights (void)
{
  td_error err = { 0 };
  g_autofree char *path = golden ("taef2/taef2_encoder.pth");
  g_assert_null (td_aligner_load (path, NULL, &err));
  g_assert_nonnull (strstr (err.message, "aligner"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/aligner/clip", test_clip_aligner);
  g_test_add_func ("/aligner/lvlm", test_lvlm_aligner);
  g_test_add_func ("/aligner/safetensors", test_safetensors_aligner);
  g_test_add_func ("/aligner/training-checkpoint-in-release", test_training_checkpoint_in_release);
  g_test_add_func ("/aligner/not-an-aligner", test_missing_weights);
  return g_test_run ();
}
