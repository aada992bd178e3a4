/* PyTorch checkpoints: the golden .pth files against an independent reading
 * (tests/data/pth/expected.json from gen_pth_expected.py), a hand-made file
 * with strided views, the bad-input corpus (tests/data/pth-bad, MANIFEST from
 * gen_pth_bad.py), td_weights on .pth files and `thinkdiff convert`. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "io/pth.h"
#include "io/safetensors.h"
#include "models/weights.h"

/* What the bad corpus's payloads would create if anything ran them. */
#define PAYLOAD_MARKER "/tmp/thinkdiff-pth-payload-ran"

static char *
data_path (const char *relative)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), relative, NULL);
}

static void
check_tensor (const char *file, const td_tensor *t, JsonObject *want)
{
  const char *name = json_object_get_string_member (want, "name");
  g_assert_nonnull (t);
  g_assert_cmpstr (td_dtype_name (t->dtype), ==, json_object_get_string_member (want, "dtype"));
  JsonArray *shape = json_object_get_array_member (want, "shape");
  g_assert_cmpint (t->ndim, ==, json_array_get_length (shape));
  for (int d = 0; d < t->ndim; d++)
    g_assert_cmpint (t->shape[d], ==, json_array_get_int_element (shape, d));
  td_error err = { 0 };
  float *values = td_tensor_to_f32 (t, &err);
  g_assert_nonnull (values);
  int64_t n = td_tensor_numel (t);
  double sum = 0;
  for (int64_t i = 0; i < n; i++)
    sum += values[i];
  /* The stored values are exactly representable in f32: first/middle/last match exactly. */
  g_assert_cmpfloat (values[0], ==, json_object_get_double_member (want, "first"));
  g_assert_cmpfloat (values[n / 2], ==, json_object_get_double_member (want, "middle"));
  g_assert_cmpfloat (values[n - 1], ==, json_object_get_double_member (want, "last"));
  double want_sum = json_object_get_double_member (want, "sum");
  if (fabs (sum - want_sum) > 1e-9 * (1 + fabs (want_sum)))
    g_error ("%s: %s sums to %.17g, expected %.17g", file, name, sum, want_sum);
  free (values);
}

static void
test_expected (void)
{
  g_autofree char *json_path = data_path ("pth/expected.json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *error = NULL;
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  JsonObject *files = json_node_get_object (json_parser_get_root (parser));
  g_autoptr (GList) names = json_object_get_members (files);
  g_assert_cmpuint (g_list_length (names), ==, 5);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *expected = json_object_get_object_member (files, l->data);
      g_autofree char *path = data_path (l->data);
      td_error err = { 0 };
      td_pth *pth = td_pth_open (path, &err);
      if (pth == NULL)
        g_error ("%s", err.message);
      g_assert_cmpstr (td_pth_dict_key (pth), ==, json_object_get_string_member (expected, "dict_key"));
      JsonArray *tensors = json_object_get_array_member (expected, "tensors");
      g_assert_cmpuint (td_pth_count (pth), ==, json_array_get_length (tensors));
      for (guint i = 0; i < json_array_get_length (tensors); i++)
        {
          JsonObject *want = json_array_get_object_element (tensors, i);
          const char *name = json_object_get_string_member (want, "name");
          g_assert_cmpstr (td_pth_name_at (pth, i), ==, name);
          g_assert_true (td_pth_at (pth, i) == td_pth_find (pth, name));
          check_tensor (path, td_pth_find (pth, name), want);
        }
      g_assert_null (td_pth_find (pth, "epoch"));
      g_assert_null (td_pth_find (pth, "config"));
      td_pth_close (pth);
    }
}

static void
test_golden_aligner_layout (void)
{
  /* Hand-checked against gen_goldens.py: an nn.Sequential(Linear, GELU, Linear, T5LayerNorm)
   * saved as {"model": {"mm_projector." + k: v}, "epoch": …}; LVLM in bf16, CLIP in f32. */
  g_autofree char *path = data_path ("golden/qwen2_vl/thinkdiff_lvlm_aligner.pth");
  td_error err = { 0 };
  td_pth *pth = td_pth_open (path, &err);
  g_assert_nonnull (pth);
  g_assert_cmpstr (td_pth_dict_key (pth), ==, "model");
  const char *const names[] = { "mm_projector.0.weight", "mm_projector.0.bias", "mm_projector.2.weight",
                                "mm_projector.2.bias", "mm_projector.3.weight" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const td_tensor *t = td_pth_find (pth, names[i]);
      g_assert_nonnull (t);
      g_assert_cmpint (t->dtype, ==, TD_BF16);
      g_assert_true (td_tensor_is_contiguous (t));
      /* Zero copy: the view points into the mapped file, 64-byte aligned as torch writes it. */
      g_assert_cmpuint (t->offset % 64, ==, 0);
    }
  g_assert_cmpint (td_pth_find (pth, "mm_projector.0.weight")->ndim, ==, 2);
  td_tensor *missing = td_pth_tensor (pth, "mm_projector.1.weight", &err);
  g_assert_null (missing);
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, path));
  td_pth_close (pth);
}

static void
test_synthetic_views (void)
{
  g_autofree char *path = data_path ("pth/synthetic.pth");
  td_error err = { 0 };
  td_pth *pth = td_pth_open (path, &err);
  g_assert_nonnull (pth);
  g_assert_cmpstr (td_pth_dict_key (pth), ==, "state_dict");
  /* wt is the transpose of w = [[0, 1, 2], [3, 4, 5]], saved as a strided view of the same storage. */
  const td_tensor *w = td_pth_find (pth, "w"), *wt = td_pth_find (pth, "wt");
  g_assert_true (td_tensor_is_contiguous (w));
  g_assert_false (td_tensor_is_contiguous (wt));
  g_assert_cmpint (wt->stride[0], ==, 1);
  g_assert_cmpint (wt->stride[1], ==, 3);
  g_assert_true (td_tensor_host_data (w) == td_tensor_host_data (wt));
  td_tensor *dense = td_pth_tensor_contiguous (pth, "wt", &err);
  g_assert_true (td_tensor_is_contiguous (dense));
  const float want[6] = { 0, 3, 1, 4, 2, 5 };
  g_assert_cmpmem (td_tensor_host_data (dense), sizeof want, want, sizeof want);
  /* A view handed out keeps the file mapped after close. */
  td_tensor *h = td_pth_tensor (pth, "h", &err);
  td_pth_close (pth);
  float *hv = td_tensor_to_f32 (h, &err);
  g_assert_cmpfloat (hv[0], ==, 1.5f);
  g_assert_cmpfloat (hv[1], ==, -2.0f);
  free (hv);
  td_tensor_free (h);
  td_tensor_free (dense);
}

static void
test_memory (void)
{
  g_autofree char *path = data_path ("golden/taef2/taef2_encoder.pth");
  g_autofree char *bytes = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
  td_error err = { 0 };
  td_pth *from_memory = td_pth_open_memory (bytes, size, "encoder", &err);
  td_pth *from_file = td_pth_open (path, &err);
  g_assert_nonnull (from_memory);
  g_assert_nonnull (from_file);
  g_assert_cmpuint (td_pth_count (from_memory), ==, td_pth_count (from_file));
  for (size_t i = 0; i < td_pth_count (from_file); i++)
    {
      const td_tensor *a = td_pth_at (from_memory, i), *b = td_pth_at (from_file, i);
      g_assert_cmpmem (td_tensor_host_data (a), td_tensor_nbytes (a), td_tensor_host_data (b), td_tensor_nbytes (b));
    }
  td_pth_close (from_memory);
  td_pth_close (from_file);
}

static void
test_bad_corpus (void)
{
  g_remove (PAYLOAD_MARKER);
  g_autofree char *manifest_path = data_path ("pth-bad/MANIFEST");
  g_autofree char *manifest = NULL;
  g_assert_true (g_file_get_contents (manifest_path, &manifest, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (manifest, "\n", -1);
  int checked = 0, inert = 0;
  for (int i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_auto (GStrv) fields = g_strsplit (lines[i], " ", 3);
      g_assert_nonnull (fields[1]);
      g_autofree char *relative = g_build_filename ("pth-bad", fields[0], NULL);
      g_autofree char *path = data_path (relative);
      td_error err = { 0 };
      td_pth *pth = td_pth_open (path, &err);
      if (strcmp (fields[1], "inert") == 0)
        {
          if (pth == NULL)
            g_error ("%s should load with its payload inert: %s", fields[0], err.message);
          g_assert_cmpuint (td_pth_count (pth), >=, 1);
          g_assert_nonnull (td_pth_find (pth, "w"));
          inert++;
        }
      else
        {
          if (pth != NULL)
            g_error ("%s was accepted", fields[0]);
          g_assert_cmpstr (td_status_name (err.status), ==, fields[1]);
          g_assert_true (g_str_has_prefix (err.message, path));
          if (strstr (err.message, fields[2]) == NULL)
            g_error ("%s: message '%s' lacks '%s'", fields[0], err.message, fields[2]);
        }
      /* Also through td_weights, as a model would open it. */
      td_weights *weights = td_weights_open (path, NULL, &err);
      g_assert_true ((weights != NULL) == (pth != NULL));
      td_weights_free (weights);
      td_pth_close (pth);
      checked++;
    }
  g_assert_cmpint (checked, >=, 60);
  g_assert_cmpint (inert, ==, 4);
  g_assert_false (g_file_test (PAYLOAD_MARKER, G_FILE_TEST_EXISTS));
}

static void
test_weights (void)
{
  g_autofree char *path = data_path ("golden/blip2_vision/thinkdiff_clip_aligner.pth");
  td_error err = { 0 };
  td_weights *weights = td_weights_open (path, NULL, &err);
  g_assert_nonnull (weights);
  g_assert_cmpstr (td_weights_path (weights), ==, path);
  const int64_t shape[2] = { 64, 48 };
  g_assert_cmpint (td_weights_expect_shape (weights, "mm_projector.0.weight", 2, shape, &err), ==, TD_OK);
  td_weights_add_prefix (weights, "mm_projector.");
  g_assert_true (td_weights_has (weights, "3.weight"));
  const td_tensor *w = td_weights_get (weights, "2.bias", &err);
  g_assert_nonnull (w);
  g_assert_cmpint (w->dtype, ==, TD_F32);
  g_assert_null (td_weights_get (weights, "epoch", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  td_weights_free (weights);

  /* Strided tensors come out contiguous. */
  g_autofree char *synthetic = data_path ("pth/synthetic.pth");
  weights = td_weights_open (synthetic, NULL, &err);
  g_assert_nonnull (weights);
  const td_tensor *wt = td_weights_get (weights, "wt", &err);
  g_assert_true (td_tensor_is_contiguous (wt));
  const float want[6] = { 0, 3, 1, 4, 2, 5 };
  g_assert_cmpmem (td_tensor_host_data (wt), sizeof want, want, sizeof want);
  td_weights_free (weights);
}

static void
test_convert_cli (void)
{
  g_autofree char *in = data_path ("golden/qwen2_vl/thinkdiff_lvlm_aligner.pth");
  g_autofree char *dir = g_dir_make_tmp ("td-pth-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "aligner.safetensors", NULL);
  const char *argv[] = { g_getenv ("TD_CLI"), "convert", in, out, NULL };
  int wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                               &wait_status, NULL));
  g_assert_true (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0);
  td_error err = { 0 };
  td_pth *pth = td_pth_open (in, &err);
  td_safetensors *st = td_safetensors_open (out, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, td_pth_count (pth));
  for (size_t i = 0; i < td_pth_count (pth); i++)
    {
      const td_tensor *a = td_pth_at (pth, i);
      const td_safetensors_info *info = td_safetensors_find (st, td_pth_name_at (pth, i));
      g_assert_nonnull (info);
      g_assert_cmpint (info->dtype, ==, TD_BF16);
      g_assert_cmpmem (td_safetensors_data (st, info), info->nbytes, td_tensor_host_data (a), td_tensor_nbytes (a));
    }
  td_safetensors_close (st);
  td_pth_close (pth);

  /* A hostile file fails with the reader's message. */
  g_autofree char *bad = data_path ("pth-bad/view-past-storage.pth");
  const char *argv_bad[] = { g_getenv ("TD_CLI"), "convert", bad, out, NULL };
  g_autofree char *errout = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv_bad, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &errout,
                               &wait_status, NULL));
  g_assert_true (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 1);
  g_assert_nonnull (strstr (errout, "reaches past"));
  g_remove (out);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pth/expected", test_expected);
  g_test_add_func ("/pth/golden-aligner-layout", test_golden_aligner_layout);
  g_test_add_func ("/pth/synthetic-views", test_synthetic_views);
  g_test_add_func ("/pth/memory", test_memory);
  g_test_add_func ("/pth/bad-corpus", test_bad_corpus);
  g_test_add_func ("/pth/weights", test_weights);
  g_test_add_func ("/pth/convert-cli", test_convert_cli);
  return g_test_run ();
}
