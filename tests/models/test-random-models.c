/* Models built in memory with random weights of the real shapes (for benchmarks):
 * the declared parameter counts match the published checkpoints, the weights are
 * deterministic, the small shapes run, and `thinkdiff bench-models` prints figures. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/random_models.h"

/* Elements declared on w (freed), checking the dtype's bytes. */
static int64_t
declared_elements (td_weights *weights, td_status status)
{
  g_assert_cmpint (status, ==, TD_OK);
  int64_t elements, bytes;
  td_weights_declared_size (weights, &elements, &bytes);
  g_assert_cmpint (bytes, ==, 2 * elements);
  td_weights_free (weights);
  return elements;
}

/* Declaring is lazy: no values are made up, so the full sizes cost nothing here. The
 * counts are those of the published checkpoints (sum of numel over their tensors). */
static void
test_parameter_counts (void)
{
  td_flux_config flux = td_flux_config_dev ();
  td_vae_config vae = td_vae_config_flux ();
  td_t5_config t5 = td_t5_config_xxl ();
  td_weights *w[3] = { td_weights_new_random (NULL, 1), td_weights_new_random (NULL, 1),
                       td_weights_new_random (NULL, 1) };
  g_assert_cmpint (declared_elements (w[0], td_flux_dit_declare_weights (&flux, w[0], TD_BF16, NULL)), ==,
                   11901408320);
  g_assert_cmpint (declared_elements (w[1], td_flux_vae_declare_weights (&vae, w[1], TD_BF16, NULL)), ==, 83819683);
  g_assert_cmpint (declared_elements (w[2], td_t5_encoder_declare_weights (&t5, w[2], TD_BF16, NULL)), ==,
                   4762310656);

  /* Qwen2-VL-7B: the language model of Qwen2-7B (7 615 616 512 with its untied lm_head)
   * and the 675 M vision tower: patch kernel 1280 × 1176, 32 blocks of 19 677 440,
   * the merger's LayerNorm and two linears of 26 219 520 and 18 353 664. */
  td_qwen2vl_config qwen = td_qwen2vl_config_7b ();
  td_weights *qw = td_weights_new_random (NULL, 1);
  g_assert_cmpint (declared_elements (qw, td_qwen2vl_declare_weights (&qwen, qw, TD_BF16, NULL)), ==,
                   7615616512 + 1505280 + 32 * 19677440 + 2560 + 26219520 + 18353664);
  /* The LVLM aligner: 3584 → 4096 → 4096 and the RMS norm's scale. */
  td_weights *aw = td_weights_new_random (NULL, 1);
  g_assert_cmpint (declared_elements (aw, td_aligner_declare_weights (3584, 4096, aw, TD_BF16, NULL)), ==,
                   4096 * 3584 + 4096 + 4096 * 4096 + 4096 + 4096);
}

static void
test_weights_deterministic (void)
{
  td_error err = { 0 };
  td_weights *a = td_weights_new_random (NULL, 42), *b = td_weights_new_random (NULL, 42);
  const int64_t shape[2] = { 3, 5 };
  for (int i = 0; i < 2; i++)
    {
      td_weights *w = i ? b : a;
      g_assert_cmpint (td_weights_declare (w, "x.weight", TD_F32, 2, shape, 0.5f, 1.0f, &err), ==, TD_OK);
      g_assert_cmpint (td_weights_declare (w, "y.weight", TD_F32, 2, shape, 0.5f, 1.0f, &err), ==, TD_OK);
    }
  g_assert_cmpint (td_weights_declare (a, "x.weight", TD_F32, 2, shape, 1, 0, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "twice"));
  g_assert_true (td_weights_has (a, "x.weight"));
  g_assert_false (td_weights_has (a, "z.weight"));
  g_assert_null (td_weights_get (a, "z.weight", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_cmpint (td_weights_expect_shape (a, "x.weight", 2, shape, &err), ==, TD_OK);

  const td_tensor *ax = td_weights_get (a, "x.weight", &err), *bx = td_weights_get (b, "x.weight", &err);
  const td_tensor *ay = td_weights_get (a, "y.weight", &err);
  g_assert_nonnull (ax);
  g_assert_cmpint (ax->shape[0], ==, 3);
  g_assert_cmpint (ax->shape[1], ==, 5);
  const float *x = td_tensor_host_data (ax), *x2 = td_tensor_host_data (bx), *y = td_tensor_host_data (ay);
  g_assert_cmpmem (x, 15 * sizeof (float), x2, 15 * sizeof (float));
  g_assert_true (memcmp (x, y, 15 * sizeof (float)) != 0);
  for (int i = 0; i < 15; i++)
    {
      g_assert_cmpfloat (x[i], >=, 0.5f);
      g_assert_cmpfloat (x[i], <=, 1.5f);
    }
  g_assert_true (td_weights_get (a, "x.weight", &err) == ax); /* made up once, then cached */
  td_weights_free (a);
  td_weights_free (b);
}

static bool
all_finite (const td_tensor *t)
{
  float *v = td_tensor_to_f32 (t, NULL);
  bool ok = true;
  for (int64_t i = 0; i < td_tensor_numel (t); i++)
    ok = ok && isfinite (v[i]);
  free (v);
  return ok;
}

static void
test_small_models_run (void)
{
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  td_vae_config vae_config = td_vae_config_small ();
  td_flux_vae *vae = td_flux_vae_new_random (&vae_config, backend, TD_BF16, 3, &err);
  g_assert_nonnull (vae);
  const int64_t z_shape[4] = { 1, 16, 4, 6 };
  td_tensor *z = td_tensor_new (backend, TD_F32, 4, z_shape, &err);
  memset (td_tensor_host_data (z), 0, td_tensor_nbytes (z));
  td_tensor *image = td_flux_vae_decode (vae, z, &err);
  if (image == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (image->shape[2], ==, 32);
  g_assert_cmpint (image->shape[3], ==, 48);
  g_assert_true (all_finite (image));
  td_tensor *back = td_flux_vae_encode_mean (vae, image, &err);
  g_assert_nonnull (back);
  g_assert_cmpint (back->shape[1], ==, 16);
  g_assert_cmpint (back->shape[2], ==, 4);
  td_tensor_free (back);
  td_tensor_free (image);
  td_tensor_free (z);
  td_flux_vae_free (vae);

  td_t5_config t5_config = td_t5_config_small ();
  td_t5_encoder *t5 = td_t5_encoder_new_random (&t5_config, backend, TD_BF16, 4, &err);
  g_assert_nonnull (t5);
  const int32_t ids[5] = { 1, 7, 300, 32000, 0 };
  td_tensor *hidden = td_t5_encoder_forward (t5, ids, 5, &err);
  if (hidden == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (hidden->shape[2], ==, t5_config.d_model);
  g_assert_true (all_finite (hidden));
  td_tensor_free (hidden);
  td_t5_encoder_free (t5);

  /* A config that does not add up is refused, and the weights are freed with it. */
  td_flux_config bad = td_flux_config_small ();
  bad.axes_dim[0] += 2;
  g_assert_null (td_flux_dit_new_random (&bad, backend, TD_BF16, 1, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  td_backend_free (backend);
}

/* The benchmarks' prompt at Qwen2-VL-7B's shapes is the reference's: 586 tokens, two 448²
 * images of 256 merged tokens each, whose runs the M-RoPE indexing accepts; text ids stay
 * below the special tokens. Sizes that cannot make such a prompt are refused. */
static void
test_qwen_board_prompt (void)
{
  const td_qwen2vl_config configs[2] = { td_qwen2vl_config_7b (), td_qwen2vl_config_small () };
  const int sizes[2][2] = { { 586, 448 }, { 32, 56 } }, image_tokens[2] = { 256, 4 };
  for (int c = 0; c < 2; c++)
    {
      const td_qwen2vl_config *config = &configs[c];
      const int n = sizes[c][0];
      int32_t *ids = g_new (int32_t, n);
      int grids[TD_QWEN2VL_BOARD_IMAGES][3];
      td_error err = { 0 };
      g_assert_cmpint (td_qwen2vl_board_prompt (config, n, sizes[c][1], ids, grids, &err), ==, TD_OK);
      int images = 0, starts = 0, ends = 0;
      for (int i = 0; i < n; i++)
        {
          images += ids[i] == config->image_token_id;
          starts += ids[i] == config->vision_start_token_id;
          ends += ids[i] == config->vision_end_token_id;
          g_assert_cmpint (ids[i], >=, 0);
          if (ids[i] != config->image_token_id && ids[i] != config->vision_start_token_id
              && ids[i] != config->vision_end_token_id)
            g_assert_cmpint (ids[i], <, config->vision_start_token_id);
        }
      g_assert_cmpint (images, ==, TD_QWEN2VL_BOARD_IMAGES * image_tokens[c]);
      g_assert_cmpint (starts, ==, TD_QWEN2VL_BOARD_IMAGES);
      g_assert_cmpint (ends, ==, TD_QWEN2VL_BOARD_IMAGES);
      for (int i = 0; i < TD_QWEN2VL_BOARD_IMAGES; i++)
        {
          g_assert_cmpint (grids[i][0], ==, 1);
          g_assert_cmpint (grids[i][1] * grids[i][2] / 4, ==, image_tokens[c]);
        }
      int64_t *positions = g_new (int64_t, 3 * n), delta = 0;
      g_assert_cmpint (td_qwen2vl_rope_index (config, ids, n, (const int (*)[3]) grids, TD_QWEN2VL_BOARD_IMAGES,
                                              positions, &delta, &err), ==, TD_OK);
      /* Each image spans grid/merge positions, not its token count: the prompt ends earlier. */
      g_assert_cmpint (delta, <, 0);
      g_free (positions);

      g_assert_cmpint (td_qwen2vl_board_prompt (config, n, sizes[c][1] + 14, ids, grids, &err), ==,
                       TD_ERR_INVALID_ARG);
      g_assert_nonnull (strstr (err.message, "multiple of 28"));
      g_assert_cmpint (td_qwen2vl_board_prompt (config, 2 * image_tokens[c] + 4, sizes[c][1], ids, grids, &err), ==,
                       TD_ERR_INVALID_ARG);
      g_assert_nonnull (strstr (err.message, "some text"));
      g_free (ids);
    }
}

/* Random Qwen2-VL at the small shapes runs the board: the vision tower on both images,
 * the prefill with the features spliced in, a few greedy tokens; the aligner maps the
 * thought. Everything stays finite. */
static void
test_small_qwen_runs (void)
{
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  const td_qwen2vl_config config = td_qwen2vl_config_small ();
  td_qwen2vl *model = td_qwen2vl_new_random (&config, backend, TD_BF16, 12, &err);
  if (model == NULL)
    g_error ("%s", err.message);
  const int n = 32;
  int32_t ids[32];
  int grids[TD_QWEN2VL_BOARD_IMAGES][3];
  g_assert_cmpint (td_qwen2vl_board_prompt (&config, n, 56, ids, grids, &err), ==, TD_OK);
  const int64_t pixel_shape[2] = { 2 * 16, 3 * 2 * 14 * 14 };
  td_tensor *pixels = td_tensor_new (backend, TD_F32, 2, pixel_shape, &err);
  float *p = td_tensor_host_data (pixels);
  for (int64_t i = 0; i < td_tensor_numel (pixels); i++)
    p[i] = td_rng_uniform (3, (uint64_t) i) - 0.5f;
  td_tensor *features = td_qwen2vl_encode_images (model, pixels, (const int (*)[3]) grids, 2, &err);
  if (features == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (features->shape[features->ndim - 2], ==, 8);
  g_assert_cmpint (features->shape[features->ndim - 1], ==, config.hidden_size);
  g_assert_true (all_finite (features));
  td_qwen2vl_session *session = td_qwen2vl_session_new (model, n + 4, &err);
  g_assert_nonnull (session);
  td_tensor *hidden = td_qwen2vl_session_prefill (session, ids, n, features, (const int (*)[3]) grids, 2, &err);
  if (hidden == NULL)
    g_error ("%s", err.message);
  g_assert_true (all_finite (hidden));
  td_qwen2vl_generate_params params = { .max_new_tokens = 3, .temperature = 0.0f, .top_p = 1.0f, .ignore_eos = true };
  int32_t tokens[3];
  int generated = 0;
  td_tensor *thought = NULL;
  g_assert_cmpint (td_qwen2vl_generate (session, hidden, &params, tokens, &generated, &thought, &err), ==, TD_OK);
  g_assert_cmpint (generated, ==, 3);
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (tokens[i], <, config.vocab_size);
  td_aligner *aligner = td_aligner_new_random (config.hidden_size, 96, backend, TD_BF16, 13, &err);
  g_assert_nonnull (aligner);
  td_tensor *aligned = td_aligner_forward (aligner, thought, &err);
  g_assert_nonnull (aligned);
  g_assert_cmpint (aligned->shape[aligned->ndim - 1], ==, 96);
  g_assert_true (all_finite (aligned));

  /* A config whose width the declared weights do not have is refused (and freed). */
  td_qwen2vl_config other = config;
  td_weights *weights = td_weights_new_random (backend, 1);
  g_assert_cmpint (td_qwen2vl_declare_weights (&config, weights, TD_BF16, &err), ==, TD_OK);
  other.intermediate_size += 64;
  g_assert_null (td_qwen2vl_new_from_config (&other, weights, &err));
  g_assert_cmpint (err.status, !=, TD_OK);
  /* So is an aligner whose middle layer is not square. */
  td_weights *bad_aligner = td_weights_new_random (backend, 1);
  const int64_t wide[2] = { 8, 4 };
  g_assert_cmpint (td_weights_declare (bad_aligner, "2.weight", TD_BF16, 2, wide, 1.0f, 0.0f, &err), ==, TD_OK);
  g_assert_null (td_aligner_new_from_weights (bad_aligner, &err));
  g_assert_nonnull (strstr (err.message, "square"));

  td_tensor_free (aligned);
  td_aligner_free (aligner);
  td_tensor_free (thought);
  td_tensor_free (hidden);
  td_qwen2vl_session_free (session);
  td_tensor_free (features);
  td_tensor_free (pixels);
  td_qwen2vl_free (model);
  td_backend_free (backend);
}

static void
test_bench_cli (void)
{
  const char *cli = g_getenv ("TD_CLI");
  if (cli == NULL)
    {
      g_test_skip ("TD_CLI is not set");
      return;
    }
  const char *argv[] = { cli, "bench-models", "flux", "--small", "--steps", "1", NULL };
  g_autofree char *out = NULL, *errors = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errors, &status, NULL));
  g_test_message ("%s%s", out, errors);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "backend cpu"));
  const char *figure = strstr (out, " ms per step");
  g_assert_nonnull (figure);
  /* The number before it is a positive time. */
  const char *start = figure;
  while (start > out && (g_ascii_isdigit (start[-1]) || start[-1] == '.'))
    start--;
  g_assert_cmpfloat (g_ascii_strtod (start, NULL), >, 0.0);

  const char *bad_argv[] = { cli, "bench-models", "flux", "--size", "100", NULL };
  g_autofree char *bad_out = NULL, *bad_errors = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) bad_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &bad_out, &bad_errors,
                               &status, NULL));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (bad_errors, "--size"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/random-models/parameter-counts", test_parameter_counts);
  g_test_add_func ("/random-models/weights-deterministic", test_weights_deterministic);
  g_test_add_func ("/random-models/small-models-run", test_small_models_run);
  g_test_add_func ("/random-models/qwen-board-prompt", test_qwen_board_prompt);
  g_test_add_func ("/random-models/small-qwen-runs", test_small_qwen_runs);
  g_test_add_func ("/random-models/bench-cli", test_bench_cli);
  return g_test_run ();
}
