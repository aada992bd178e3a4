/* `thinkdiff bench WORKLOAD --small --json`: each workload runs (the Qwen2-VL ones on
 * random weights, no folder needed) and reports one JSON object whose figures are
 * consistent (min ≤ median, both positive, the asked run count, a peak of held memory,
 * work per unit and the rates it gives); bad requests fail with a message. The figures
 * themselves are not asserted. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct {
  int status;
  char *out, *err;
} run_result;

static run_result
run_cli (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("TD_CLI"));
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  run_result r = { 0 };
  int wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                               &wait_status, NULL));
  g_assert_true (WIFEXITED (wait_status));
  r.status = WEXITSTATUS (wait_status);
  return r;
}

static char *
qwen_dir (void)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "qwen2_vl", NULL);
}

/* Runs one workload with --json --steps 3 and checks the object it prints; returns
 * its "weights" member (g_free). */
static char *
check_workload (const char *workload, const char *unit, const char *const *extra)
{
  const char *backend = g_getenv ("TD_TEST_BACKEND") ? g_getenv ("TD_TEST_BACKEND") : "cpu";
  const char *args[32] = { "bench", workload, "--small", "--json", "--steps", "3", "--backend", backend };
  int n = 8;
  for (int i = 0; extra != NULL && extra[i] != NULL; i++)
    {
      g_assert_cmpint (n, <, (int) G_N_ELEMENTS (args) - 1);
      args[n++] = extra[i];
    }
  args[n] = NULL;
  run_result r = run_cli (args);
  if (r.status != 0)
    g_error ("bench %s exited %d: %s", workload, r.status, r.err);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (parser, r.out, -1, &error))
    g_error ("bench %s printed no JSON (%s): %s", workload, error->message, r.out);
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_nonnull (o);
  g_assert_cmpstr (json_object_get_string_member (o, "workload"), ==, workload);
  g_assert_cmpstr (json_object_get_string_member (o, "unit"), ==, unit);
  g_assert_cmpstr (json_object_get_string_member (o, "backend"), ==, backend);
  g_assert_true (json_object_get_boolean_member (o, "small"));
  g_assert_cmpint (json_object_get_int_member (o, "runs"), ==, 3);
  double median = json_object_get_double_member (o, "median_ms"), min = json_object_get_double_member (o, "min_ms");
  g_test_message ("%s on %s: median %.3f ms, min %.3f ms per %s", workload, backend, median, min, unit);
  g_assert_cmpfloat (min, >, 0.0);
  g_assert_cmpfloat (min, <=, median);
  /* The weights stay held through the timed runs, so the peak cannot be zero. */
  g_assert_cmpfloat (json_object_get_double_member (o, "peak_mib"), >, 0.0);
  /* Every workload multiplies matrices and moves tensors; the rates follow from the work
   * per unit and the median time. */
  double gflop = json_object_get_double_member (o, "gflop_per_unit");
  double gbytes = json_object_get_double_member (o, "gbytes_per_unit");
  g_assert_cmpfloat (gflop, >, 0.0);
  g_assert_cmpfloat (gbytes, >, 0.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "tflops"), gflop / median, 1e-5 + 1e-3 * gflop / median);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "gbytes_per_s"), gbytes / (median * 1e-3),
                                  1e-3 + 1e-3 * gbytes / (median * 1e-3));
  /* The device and, on Vulkan, the kernel paths; GPU timestamps only with --profile. */
  const char *device = json_object_get_string_member (o, "device");
  g_assert_nonnull (device);
  g_assert_cmpuint (strlen (device), >, 0);
  if (strcmp (backend, "vulkan") == 0)
    {
      JsonObject *paths = json_object_get_object_member (o, "paths");
      g_assert_nonnull (paths);
      const char *coopmat = json_object_get_string_member (paths, "coopmat");
      g_assert_true (g_strv_contains ((const char *const[]) { "nv", "khr", "emulated", "off", NULL }, coopmat));
      const char *emulate = g_getenv ("TD_VULKAN_EMULATE_COOPMAT");
      if (emulate != NULL && strcmp (emulate, "1") == 0 && strcmp (coopmat, "off") != 0)
        g_assert_cmpstr (coopmat, ==, "emulated");
      g_assert_cmpuint (strlen (json_object_get_string_member (paths, "tile")), >, 0);
      g_assert_cmpint (json_object_get_int_member (paths, "tile_m"), >, 0);
    }
  else
    g_assert_false (json_object_has_member (o, "paths"));
  g_assert_false (json_object_has_member (o, "kernels"));
  char *weights = g_strdup (json_object_get_string_member (o, "weights"));
  g_free (r.out);
  g_free (r.err);
  return weights;
}

static void
test_t5 (void)
{
  g_free (check_workload ("t5", "encode", (const char *const[]) { "--tokens", "16", NULL }));
}

/* --weights q8_0 / q4_k: linear layers in ggml blocks (the matmul family's quantised
 * kernels), the rest bf16; the JSON names the format. */
static void
test_t5_quantised (void)
{
  const char *formats[][2] = { { "q8_0", "q8_0" }, { "q4_k", "q4_K" } };
  for (size_t i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *weights = check_workload (
        "t5", "encode", (const char *const[]) { "--tokens", "16", "--weights", formats[i][0], NULL });
      g_assert_cmpstr (weights, ==, formats[i][1]);
    }
}

static void
test_vae_decode (void)
{
  g_free (check_workload ("vae-decode", "decode", (const char *const[]) { "--size", "32", NULL }));
  /* In tiles, --json still prints nothing but the object. */
  g_free (check_workload ("vae-decode", "decode", (const char *const[]) { "--size", "64", "--tile", "4", NULL }));
}

/* The FLUX transformer step in the small shapes (the pipeline's capture and replay on
 * the timed runs where the backend has them). */
static void
test_flux_step (void)
{
  g_free (check_workload ("flux-step", "step", (const char *const[]) { "--size", "32", "--tokens", "8", NULL }));
}

/* Qwen2-VL on random weights of the small shapes: the vision tower on the two-image
 * board, then the prompt through the language model; no folder needed. */
static void
test_qwen_prefill (void)
{
  g_autofree char *weights = check_workload ("qwen-prefill", "prefill", NULL);
  g_assert_cmpstr (weights, ==, "bf16");
}

/* Every weight format the bench offers, linear layers in ggml blocks for q8_0 / q4_k. */
static void
test_qwen_prefill_formats (void)
{
  const char *formats[][2] = { { "q8_0", "q8_0" }, { "q4_k", "q4_K" }, { "f16", "f16" }, { "f32", "f32" } };
  for (size_t i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *weights
        = check_workload ("qwen-prefill", "prefill", (const char *const[]) { "--weights", formats[i][0], NULL });
      g_assert_cmpstr (weights, ==, formats[i][1]);
    }
}

/* A Qwen2-VL folder instead of random weights (--model): the same board on its config. */
static void
test_qwen_prefill_folder (void)
{
  g_autofree char *dir = qwen_dir ();
  g_free (check_workload ("qwen-prefill", "prefill", (const char *const[]) { "--model", dir, NULL }));
}

static void
test_qwen_decode (void)
{
  g_free (check_workload ("qwen-decode", "token", (const char *const[]) { "--new-tokens", "4", NULL }));
}

/* Qwen2-VL prefill of the board and thought, the aligner, FLUX steps and the VAE in one
 * image, all on random weights; then with the golden folder's model and aligner. */
static void
test_lvlm_e2e (void)
{
  g_free (check_workload ("lvlm-e2e", "image",
                          (const char *const[]) { "--size", "32", "--flux-steps", "1", "--new-tokens", "4",
                                                  "--weights", "q4_k", NULL }));
  g_autofree char *dir = qwen_dir ();
  g_free (check_workload ("lvlm-e2e", "image",
                          (const char *const[]) { "--model", dir, "--size", "32", "--flux-steps", "1", "--new-tokens",
                                                  "4", NULL }));
}

/* The text output names the board: two images and the prompt's length. */
static void
test_qwen_text (void)
{
  const char *backend = g_getenv ("TD_TEST_BACKEND") ? g_getenv ("TD_TEST_BACKEND") : "cpu";
  run_result r = run_cli ((const char *const[]) { "bench", "qwen-prefill", "--small", "--steps", "1", "--backend",
                                                  backend, NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "32 prompt tokens with 2 images of 56×56 pixels (4 tokens each)"));
  g_assert_nonnull (strstr (r.out, "random weights"));
  g_assert_nonnull (strstr (r.out, " ms per prefill"));
  g_free (r.out);
  g_free (r.err);
}

/* --profile: the GPU timestamps per kernel class of each synchronised run. */
static void
test_profile (void)
{
  if (g_strcmp0 (g_getenv ("TD_TEST_BACKEND"), "vulkan") != 0)
    {
      g_test_skip ("GPU timestamps are a Vulkan feature");
      return;
    }
  run_result r = run_cli ((const char *const[]) { "bench", "t5", "--small", "--steps", "1", "--tokens", "16",
                                                  "--backend", "vulkan", "--profile", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "vulkan profile"));
  g_assert_nonnull (strstr (r.err, "matmul"));
  g_assert_nonnull (strstr (r.err, "attention"));
  g_free (r.out);
  g_free (r.err);

  /* In --json, GPU time per token by kernel class: Qwen2-VL decodes with the one-row
   * attention over its cache. */
  g_autofree char *dir = qwen_dir ();
  r = run_cli ((const char *const[]) { "bench", "qwen-decode", "--small", "--json", "--steps", "1", "--new-tokens",
                                       "4", "--model", dir, "--backend", "vulkan", "--profile", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  JsonObject *kernels = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "kernels");
  g_assert_nonnull (kernels);
  const char *expected[] = { "matmul", "attention_decode", "sample" };
  for (size_t i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      JsonObject *k = json_object_get_object_member (kernels, expected[i]);
      g_assert_nonnull (k);
      g_assert_cmpfloat (json_object_get_double_member (k, "ms"), >, 0.0);
      g_assert_cmpfloat (json_object_get_double_member (k, "dispatches"), >, 0.0);
    }
  g_assert_false (json_object_has_member (kernels, "attention")); /* no prefill kernel in the decoding's time */
  g_free (r.out);
  g_free (r.err);
}

static void
check_fails (const char *const *args, int status, const char *message)
{
  run_result r = run_cli (args);
  g_assert_cmpint (r.status, ==, status);
  if (strstr (r.err, message) == NULL)
    g_error ("expected '%s' in: %s", message, r.err);
  g_free (r.out);
  g_free (r.err);
}

static void
test_bad_requests (void)
{
  check_fails ((const char *const[]) { "bench", "warp-drive", NULL }, 1, "unknown workload 'warp-drive'");
  /* The board needs room for its two images and some text. */
  check_fails ((const char *const[]) { "bench", "qwen-prefill", "--small", "--tokens", "12", NULL }, 1,
              "cannot hold 2 images of 4 tokens");
  check_fails ((const char *const[]) { "bench", "lvlm-e2e", "--small", "--tokens", "5", NULL }, 1, "cannot hold");
  check_fails ((const char *const[]) { "bench", "lvlm-e2e", "--small", "--model", "/nonexistent-folder", NULL }, 1,
              "/nonexistent-folder");
  check_fails ((const char *const[]) { "bench", "qwen-decode", "--new-tokens", "0", NULL }, 2, "'--new-tokens'");
  check_fails ((const char *const[]) { "bench", "qwen-prefill", "--small", "--model", "/nonexistent-folder", NULL }, 1,
              "/nonexistent-folder");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bench/t5", test_t5);
  g_test_add_func ("/bench/t5-quantised", test_t5_quantised);
  g_test_add_func ("/bench/vae-decode", test_vae_decode);
  g_test_add_func ("/bench/flux-step", test_flux_step);
  g_test_add_func ("/bench/qwen-prefill", test_qwen_prefill);
  g_test_add_func ("/bench/qwen-prefill-formats", test_qwen_prefill_formats);
  g_test_add_func ("/bench/qwen-prefill-folder", test_qwen_prefill_folder);
  g_test_add_func ("/bench/qwen-text", test_qwen_text);
  g_test_add_func ("/bench/qwen-decode", test_qwen_decode);
  g_test_add_func ("/bench/lvlm-e2e", test_lvlm_e2e);
  g_test_add_func ("/bench/profile", test_profile);
  g_test_add_func ("/bench/bad-requests", test_bad_requests);
  return g_test_run ();
}
