/* Qwen2-VL beyond the golden: smart_resize and M-RoPE positions against values worked
 * out by hand from transformers' formulas, both config.json forms, image isolation in
 * the vision tower, the key/value cache against full recomputation, and decoding
 * (seeded sampling, EOS, min_new_tokens, cancelling). The model is the tiny golden one. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif
#include "io/safetensors.h"
#include "models/qwen2vl.h"
#include "models/qwen2vl_image.h"
#include "pipeline/verify.h"

#define IMAGE 290 /* the golden config's image_token_id */
#define START 288
#define END 289

static char *
golden_dir (void)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "qwen2_vl", NULL);
}

/* ---- smart_resize ------------------------------------------------------- */

static void
test_smart_resize (void)
{
  static const struct {
    int h, w;
    int64_t min, max;
    int eh, ew;
  } cases[] = {
    /* round(60/28) = 2, round(90/28) = 3: 4704 pixels, inside the budget. */
    { 60, 90, 3136, 50176, 56, 84 },
    /* 42/28 = 1.5 and 70/28 = 2.5 both round to 2 (halves to even). */
    { 42, 70, 3136, 50176, 56, 56 },
    /* 1008·504 > 50176: beta = sqrt(500000/50176) = 3.1567; floor(11.31)·28, floor(5.66)·28. */
    { 1000, 500, 3136, 50176, 308, 140 },
    /* 28·28 < 3136: beta = sqrt(3136/600) = 2.2862; ceil(1.63)·28, ceil(2.45)·28. */
    { 20, 30, 3136, 50176, 56, 84 },
    /* Full HD under the default budget 28·28·1280: beta = 1.43747; floor(26.83)·28, floor(47.70)·28. */
    { 1080, 1920, 56 * 56, 28 * 28 * 1280, 728, 1316 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      td_error err = { 0 };
      int h = 0, w = 0;
      g_assert_cmpint (td_qwen2vl_smart_resize (cases[i].h, cases[i].w, 28, cases[i].min, cases[i].max, &h, &w, &err),
                       ==, TD_OK);
      g_assert_cmpint (h, ==, cases[i].eh);
      g_assert_cmpint (w, ==, cases[i].ew);
    }

  td_error err = { 0 };
  int h, w;
  g_assert_cmpint (td_qwen2vl_smart_resize (10, 2100, 28, 3136, 50176, &h, &w, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "aspect ratio"));
  g_assert_cmpint (td_qwen2vl_smart_resize (0, 100, 28, 3136, 50176, &h, &w, &err), ==, TD_ERR_INVALID_ARG);
}

/* An image already of a valid size is not resampled: every pixel comes through,
 * normalised, at its place in the patch order. */
static void
test_preprocess_layout (void)
{
  td_qwen2vl_image_params params;
  td_qwen2vl_image_params_default (&params);
  const int H = 56, W = 84;
  uint8_t *rgb = g_malloc ((size_t) H * W * 3);
  for (int i = 0; i < H * W * 3; i++)
    rgb[i] = (uint8_t) ((i * 7 + i / 5) % 256);
  float *pixels = NULL;
  int grid[3];
  td_error err = { 0 };
  g_assert_cmpint (td_qwen2vl_image_preprocess (rgb, H, W, &params, &pixels, grid, &err), ==, TD_OK);
  g_assert_cmpint (grid[0], ==, 1);
  g_assert_cmpint (grid[1], ==, 4);
  g_assert_cmpint (grid[2], ==, 6);

  /* Row of patch (py, px): 2×2 blocks row-major, then row-major inside the block.
   * Column: (channel, frame, y, x) of 3 × 2 × 14 × 14. */
  for (int y = 0; y < H; y += 5)
    for (int x = 0; x < W; x += 3)
      for (int c = 0; c < 3; c++)
        for (int t = 0; t < 2; t++)
          {
            int py = y / 14, px = x / 14;
            int row = ((py / 2) * 3 + px / 2) * 4 + (py % 2) * 2 + px % 2;
            int col = ((c * 2 + t) * 14 + y % 14) * 14 + x % 14;
            float expected = ((float) rgb[(y * W + x) * 3 + c] / 255.0f - params.mean[c]) / params.std[c];
            g_assert_cmpfloat_with_epsilon (pixels[row * 1176 + col], expected, 1e-5);
          }
  free (pixels);
  g_free (rgb);
}

/* ---- M-RoPE positions --------------------------------------------------- */

static void
load_golden_config (td_qwen2vl_config *config)
{
  g_autofree char *dir = golden_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  td_error err = { 0 };
  g_assert_cmpint (td_qwen2vl_config_read (path, config, &err), ==, TD_OK);
}

static void
test_rope_index_text (void)
{
  td_qwen2vl_config config;
  load_golden_config (&config);
  const int32_t ids[5] = { 1, 2, 3, 4, 5 };
  int64_t positions[15], delta = 99;
  td_error err = { 0 };
  g_assert_cmpint (td_qwen2vl_rope_index (&config, ids, 5, NULL, 0, positions, &delta, &err), ==, TD_OK);
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < 5; i++)
      g_assert_cmpint (positions[s * 5 + i], ==, i);
  g_assert_cmpint (delta, ==, 0);
}

static void
test_rope_index_two_images (void)
{
  td_qwen2vl_config config;
  load_golden_config (&config);
  /* Image 1: grid 1×4×6 → 1×2×3 merged tokens; image 2: grid 1×2×4 → 1×1×2. */
  const int32_t ids[16] = { 5, START, IMAGE, IMAGE, IMAGE, IMAGE, IMAGE, IMAGE, END, 7, START, IMAGE, IMAGE, END, 9,
                            10 };
  const int grids[2][3] = { { 1, 4, 6 }, { 1, 2, 4 } };
  /* Text 0, 1; image 1 starts at 2 and spans rows 2..3, columns 2..4 (max 4); text
   * resumes at 5, 6, 7; image 2 starts at 8, columns 8..9; text resumes at 10. */
  const int64_t expected[3][16] = {
    { 0, 1, 2, 2, 2, 2, 2, 2, 5, 6, 7, 8, 8, 10, 11, 12 },
    { 0, 1, 2, 2, 2, 3, 3, 3, 5, 6, 7, 8, 8, 10, 11, 12 },
    { 0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 },
  };
  int64_t positions[48], delta = 0;
  td_error err = { 0 };
  g_assert_cmpint (td_qwen2vl_rope_index (&config, ids, 16, grids, 2, positions, &delta, &err), ==, TD_OK);
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < 16; i++)
      g_assert_cmpint (positions[s * 16 + i], ==, expected[s][i]);
  g_assert_cmpint (delta, ==, 13 - 16);

  /* A grid that needs more image tokens than the run holds, and image tokens left over. */
  const int big[2][3] = { { 1, 4, 6 }, { 1, 4, 4 } };
  g_assert_cmpint (td_qwen2vl_rope_index (&config, ids, 16, big, 2, positions, &delta, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_qwen2vl_rope_index (&config, ids, 16, grids, 1, positions, &delta, &err), ==,
                   TD_ERR_INVALID_ARG);
  const int odd[2][3] = { { 1, 4, 6 }, { 1, 3, 4 } };
  g_assert_cmpint (td_qwen2vl_rope_index (&config, ids, 16, odd, 2, positions, &delta, &err), ==, TD_ERR_INVALID_ARG);
}

/* ---- config.json forms -------------------------------------------------- */

/* Qwen2-VL-7B-Instruct's published config.json (flat form). */
static const char published_config[] =
  "{\"architectures\": [\"Qwen2VLForConditionalGeneration\"], \"attention_dropout\": 0.0,"
  " \"bos_token_id\": 151643, \"eos_token_id\": 151645, \"vision_start_token_id\": 151652,"
  " \"vision_end_token_id\": 151653, \"vision_token_id\": 151654, \"image_token_id\": 151655,"
  " \"video_token_id\": 151656, \"hidden_act\": \"silu\", \"hidden_size\": 3584, \"initializer_range\": 0.02,"
  " \"intermediate_size\": 18944, \"max_position_embeddings\": 32768, \"max_window_layers\": 28,"
  " \"model_type\": \"qwen2_vl\", \"num_attention_heads\": 28, \"num_hidden_layers\": 28,"
  " \"num_key_value_heads\": 4, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"sliding_window\": 32768,"
  " \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\", \"transformers_version\": \"4.41.2\","
  " \"use_cache\": true, \"use_sliding_window\": false,"
  " \"vision_config\": {\"depth\": 32, \"embed_dim\": 1280, \"mlp_ratio\": 4, \"num_heads\": 16, \"in_chans\": 3,"
  " \"hidden_size\": 3584, \"patch_size\": 14, \"spatial_merge_size\": 2, \"spatial_patch_size\": 14,"
  " \"temporal_patch_size\": 2},"
  " \"rope_scaling\": {\"type\": \"mrope\", \"mrope_section\": [16, 24, 24]}, \"vocab_size\": 152064}";

static td_status
read_config_text (const char *text, td_qwen2vl_config *config, td_error *err)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("qwen2vl-config-XXXXXX.json", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  td_status st = td_qwen2vl_config_read (path, config, err);
  g_unlink (path);
  return st;
}

static void
test_config_forms (void)
{
  td_qwen2vl_config c;
  td_error err = { 0 };
  g_assert_cmpint (read_config_text (published_config, &c, &err), ==, TD_OK);
  g_assert_cmpint (c.hidden_size, ==, 3584);
  g_assert_cmpint (c.num_layers, ==, 28);
  g_assert_cmpint (c.num_heads, ==, 28);
  g_assert_cmpint (c.num_kv_heads, ==, 4);
  g_assert_cmpint (c.head_dim, ==, 128);
  g_assert_cmpint (c.intermediate_size, ==, 18944);
  g_assert_cmpint (c.vocab_size, ==, 152064);
  g_assert_cmpint (c.mrope_section[0], ==, 16);
  g_assert_cmpint (c.mrope_section[1], ==, 24);
  g_assert_cmpint (c.mrope_section[2], ==, 24);
  g_assert_cmpfloat (c.rope_theta, ==, 1e6);
  g_assert_false (c.tie_embeddings);
  g_assert_cmpint (c.image_token_id, ==, 151655);
  g_assert_cmpint (c.vision_start_token_id, ==, 151652);
  g_assert_cmpint (c.eos_token_id, ==, 151645);
  g_assert_cmpint (c.vision.depth, ==, 32);
  g_assert_cmpint (c.vision.embed_dim, ==, 1280);
  g_assert_cmpint (c.vision.mlp_dim, ==, 5120);
  g_assert_cmpint (c.vision.out_dim, ==, 3584);
  g_assert_cmpint (c.vision.in_channels, ==, 3);
  g_assert_cmpint (c.vision.activation, ==, TD_UNARY_QUICK_GELU);
  g_assert_cmpfloat (c.vision.rope_theta, ==, 10000.0);

  /* The nested form the golden was saved in. */
  load_golden_config (&c);
  g_assert_cmpint (c.hidden_size, ==, 64);
  g_assert_cmpint (c.num_kv_heads, ==, 2);
  g_assert_cmpint (c.mrope_section[0] + c.mrope_section[1] + c.mrope_section[2], ==, 8);
  g_assert_cmpint (c.mrope_section[0], ==, 2);
  g_assert_cmpint (c.image_token_id, ==, IMAGE);
  g_assert_cmpint (c.vision.embed_dim, ==, 32);
  g_assert_cmpint (c.vision.mlp_dim, ==, 64);

  /* Broken configs name what is wrong. */
  g_autofree char *no_section = g_strdup (published_config);
  char *at = strstr (no_section, "\"mrope_section\"");
  memcpy (at, "\"mrope_sectiox\"", 15);
  g_assert_cmpint (read_config_text (no_section, &c, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "mrope_section"));
  g_autofree char *bad_sum = g_strdup (published_config);
  at = strstr (bad_sum, "[16, 24, 24]");
  memcpy (at, "[16, 24, 25]", 12);
  g_assert_cmpint (read_config_text (bad_sum, &c, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "adds up to 65"));
  g_autofree char *merger = g_strdup (published_config);
  at = strstr (merger, "\"hidden_size\": 3584, \"patch_size\"");
  memcpy (at, "\"hidden_size\": 3585", 19);
  g_assert_cmpint (read_config_text (merger, &c, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "merger gives 3585"));
  g_autofree char *type = g_strdup (published_config);
  at = strstr (type, "\"num_key_value_heads\": 4");
  memcpy (at, "\"num_key_value_heads\": 5", 24);
  g_assert_cmpint (read_config_text (type, &c, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "key/value heads"));
  g_assert_cmpint (read_config_text ("{\"vision_config\": {}}", &c, &err), ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "vocab_size"));
}

/* ---- the model ---------------------------------------------------------- */

typedef struct {
  td_backend *backend;
  td_qwen2vl *model;
  td_safetensors *io;
  td_tensor *pixels;
  td_tensor *features;
  int32_t prompt[64];
  int n_prompt;
  int grid[1][3];
} fixture;

/* Opens the golden model on BACKEND, which the fixture then owns. */
static void
fixture_open_on (fixture *f, td_backend *backend)
{
  td_error err = { 0 };
  g_autofree char *dir = golden_dir ();
  g_autofree char *io_path = g_build_filename (dir, "io.safetensors", NULL);
  f->backend = backend;
  g_assert_nonnull (f->backend);
  f->model = td_qwen2vl_load (dir, f->backend, &err);
  g_assert_nonnull (f->model);
  f->io = td_safetensors_open (io_path, &err);
  g_assert_nonnull (f->io);

  td_tensor *ids = td_safetensors_tensor (f->io, "input_ids", &err);
  g_assert_nonnull (ids);
  f->n_prompt = (int) td_tensor_numel (ids);
  g_assert_cmpint (f->n_prompt, <=, 64);
  memcpy (f->prompt, td_tensor_host_data (ids), (size_t) f->n_prompt * sizeof (int32_t));
  td_tensor_free (ids);

  td_tensor *grid = td_safetensors_tensor (f->io, "image_grid_thw", &err);
  for (int i = 0; i < 3; i++)
    f->grid[0][i] = ((const int32_t *) td_tensor_host_data (grid))[i];
  td_tensor_free (grid);
  td_tensor *pixels = td_safetensors_tensor (f->io, "pixel_values", &err);
  f->pixels = td_tensor_new (f->backend, TD_F32, 2, pixels->shape, &err);
  g_assert_cmpint (td_tensor_upload (f->pixels, td_tensor_host_data (pixels), td_tensor_nbytes (pixels), &err), ==,
                   TD_OK);
  td_tensor_free (pixels);
  f->features = td_qwen2vl_encode_images (f->model, f->pixels, (const int (*)[3]) f->grid, 1, &err);
  g_assert_nonnull (f->features);
}

static void
fixture_open (fixture *f)
{
  fixture_open_on (f, td_backend_cpu_new (NULL));
}

static void
fixture_close (fixture *f)
{
  td_tensor_free (f->features);
  td_tensor_free (f->pixels);
  td_safetensors_close (f->io);
  td_qwen2vl_free (f->model);
  td_backend_free (f->backend);
}

/* Logits of the last row of hidden [1, n, hidden], as host floats (free()). */
static float *
last_logits (fixture *f, const td_tensor *hidden)
{
  td_error err = { 0 };
  td_tensor *row = td_tensor_slice (hidden, 1, hidden->shape[1] - 1, 1, &err);
  td_tensor *logits = td_qwen2vl_logits (f->model, row, &err);
  g_assert_nonnull (logits);
  float *values = td_tensor_to_f32 (logits, &err);
  td_tensor_free (row);
  td_tensor_free (logits);
  return values;
}

static void
assert_close (const float *a, const float *b, int n, double tolerance)
{
  double worst = 0.0, scale = 0.0;
  for (int i = 0; i < n; i++)
    {
      worst = fmax (worst, fabs ((double) a[i] - b[i]));
      scale = fmax (scale, fabs ((double) b[i]));
    }
  g_assert_cmpfloat (scale, >, 0.0);
  g_assert_cmpfloat (worst / scale, <=, tolerance);
}

/* Logits of the sequence prompt + extra by one prefill of all of it. */
static float *
recompute (fixture *f, const int32_t *extra, int n_extra)
{
  td_error err = { 0 };
  int32_t ids[80];
  memcpy (ids, f->prompt, (size_t) f->n_prompt * sizeof *ids);
  memcpy (ids + f->n_prompt, extra, (size_t) n_extra * sizeof *ids);
  td_qwen2vl_session *s = td_qwen2vl_session_new (f->model, f->n_prompt + n_extra, &err);
  td_tensor *hidden = td_qwen2vl_session_prefill (s, ids, f->n_prompt + n_extra, f->features,
                                                  (const int (*)[3]) f->grid, 1, &err);
  g_assert_nonnull (hidden);
  float *logits = last_logits (f, hidden);
  td_tensor_free (hidden);
  td_qwen2vl_session_free (s);
  return logits;
}

static void
test_kv_cache (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  const int vocab = td_qwen2vl_config_of (f.model)->vocab_size;
  const int32_t extra[4] = { 7, 123, 299, 40 };
  td_error err = { 0 };

  /* One token at a time after the prompt. */
  td_qwen2vl_session *s = td_qwen2vl_session_new (f.model, f.n_prompt + 8, &err);
  td_tensor *hidden = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features,
                                                  (const int (*)[3]) f.grid, 1, &err);
  g_assert_nonnull (hidden);
  td_tensor_free (hidden);
  for (int step = 0; step < 4; step++)
    {
      hidden = td_qwen2vl_session_append (s, &extra[step], NULL, 1, &err);
      g_assert_nonnull (hidden);
      g_assert_cmpint (td_qwen2vl_session_length (s), ==, f.n_prompt + step + 1);
      float *cached = last_logits (&f, hidden);
      float *full = recompute (&f, extra, step + 1);
      assert_close (cached, full, vocab, 1e-5);
      free (cached);
      free (full);
      td_tensor_free (hidden);
    }

  /* Several tokens at once (queries offset inside a longer cache). */
  td_qwen2vl_session_reset (s);
  hidden = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features, (const int (*)[3]) f.grid, 1, &err);
  td_tensor_free (hidden);
  hidden = td_qwen2vl_session_append (s, extra, NULL, 3, &err);
  g_assert_nonnull (hidden);
  float *cached = last_logits (&f, hidden);
  float *full = recompute (&f, extra, 3);
  assert_close (cached, full, vocab, 1e-5);
  free (cached);
  free (full);
  td_tensor_free (hidden);

  /* 8 places after the prompt: 3 used, 4 more fit, then no more. */
  hidden = td_qwen2vl_session_append (s, extra, NULL, 4, &err);
  g_assert_nonnull (hidden);
  td_tensor_free (hidden);
  g_assert_null (td_qwen2vl_session_append (s, extra, NULL, 4, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  td_qwen2vl_session_free (s);
  fixture_close (&f);
}

/* Two images encoded together give each the features it gets alone. */
static void
test_images_isolated (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  td_error err = { 0 };
  const int64_t rows = f.pixels->shape[0], cols = f.pixels->shape[1];
  float *one = td_tensor_to_f32 (f.pixels, &err);
  float *two = malloc ((size_t) (2 * rows * cols) * sizeof *two);
  memcpy (two, one, (size_t) (rows * cols) * sizeof *two);
  for (int64_t i = 0; i < rows * cols; i++)
    two[rows * cols + i] = -0.5f * one[(i * 7) % (rows * cols)];
  const int64_t shape[2] = { 2 * rows, cols };
  td_tensor *both = td_tensor_new (f.backend, TD_F32, 2, shape, &err);
  g_assert_cmpint (td_tensor_upload (both, two, td_tensor_nbytes (both), &err), ==, TD_OK);
  const int grids[2][3] = { { f.grid[0][0], f.grid[0][1], f.grid[0][2] }, { f.grid[0][0], f.grid[0][1], f.grid[0][2] } };
  td_tensor *features = td_qwen2vl_encode_images (f.model, both, grids, 2, &err);
  g_assert_nonnull (features);
  g_assert_cmpint (features->shape[0], ==, 2 * f.features->shape[0]);

  float *together = td_tensor_to_f32 (features, &err);
  float *alone = td_tensor_to_f32 (f.features, &err);
  const int n = (int) td_tensor_numel (f.features);
  assert_close (together, alone, n, 1e-6);
  /* The second image differs, so its features must too. */
  double diff = 0.0;
  for (int i = 0; i < n; i++)
    diff = fmax (diff, fabs (together[n + i] - alone[i]));
  g_assert_cmpfloat (diff, >, 1e-3);
  free (together);
  free (alone);
  free (one);
  free (two);
  td_tensor_free (features);
  td_tensor_free (both);
  fixture_close (&f);
}

typedef struct {
  int calls;
  int stop_after;
} token_log;

static bool
on_token (void *user, int index, int32_t token)
{
  token_log *log = user;
  g_assert_cmpint (index, ==, log->calls);
  log->calls++;
  return log->stop_after == 0 || log->calls < log->stop_after;
}

/* Runs a fresh prefill and decodes with params; returns the token count. */
static int
generate (fixture *f, td_qwen2vl_generate_params *params, int32_t *tokens, td_status expected)
{
  td_error err = { 0 };
  td_qwen2vl_session *s = td_qwen2vl_session_new (f->model, f->n_prompt + params->max_new_tokens, &err);
  td_tensor *hidden = td_qwen2vl_session_prefill (s, f->prompt, f->n_prompt, f->features,
                                                  (const int (*)[3]) f->grid, 1, &err);
  g_assert_nonnull (hidden);
  int n = 0;
  td_tensor *generated_hidden = NULL;
  g_assert_cmpint (td_qwen2vl_generate (s, hidden, params, tokens, &n, &generated_hidden, &err), ==, expected);
  if (expected == TD_OK)
    {
      g_assert_cmpint (generated_hidden->shape[1], ==, n);
      td_tensor_free (generated_hidden);
    }
  td_tensor_free (hidden);
  td_qwen2vl_session_free (s);
  return n;
}

static void
test_sampling (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  td_qwen2vl_generate_params params = {
    .max_new_tokens = 8, .temperature = 0.8f, .top_p = 0.9f, .seed = 1234, .ignore_eos = true,
  };
  int32_t first[8], again[8], other[8];
  g_assert_cmpint (generate (&f, &params, first, TD_OK), ==, 8);
  g_assert_cmpint (generate (&f, &params, again, TD_OK), ==, 8);
  g_assert_cmpmem (first, sizeof first, again, sizeof again);

  /* The tiny model's distribution is nearly flat: other seeds draw other tokens. */
  bool differs = false;
  for (uint64_t seed = 1; seed <= 4 && !differs; seed++)
    {
      params.seed = seed;
      generate (&f, &params, other, TD_OK);
      differs = memcmp (first, other, sizeof first) != 0;
    }
  g_assert_true (differs);

  /* The callback sees every token in order, and can cancel. */
  token_log log = { 0, 3 };
  params.on_token = on_token;
  params.user = &log;
  generate (&f, &params, other, TD_ERR_CANCELLED);
  g_assert_cmpint (log.calls, ==, 3);
  fixture_close (&f);
}

/* What a streaming callback received, in order. */
typedef struct streamed_ids {
  int32_t ids[12];
  int count;
} streamed_ids;

static bool
keep_streamed (void *user, int index, int32_t token)
{
  streamed_ids *got = user;
  g_assert_cmpint (index, ==, got->count);
  g_assert_cmpint (index, <, (int) G_N_ELEMENTS (got->ids));
  got->ids[got->count++] = token;
  return true;
}

/* Sampled decoding with ids read once at the end (ignore_eos, no callback) or
 * streamed to a callback (read asynchronously on Vulkan, a few tokens behind): the
 * callback gets every final id once, in order; the same ids both ways, and on Vulkan
 * (its sampler on the GPU) the same ids as on the CPU for the same seed. */
static void
sample_both_ways (td_backend *backend, int32_t *ids_at_end)
{
  fixture f = { 0 };
  fixture_open_on (&f, backend);
  td_qwen2vl_generate_params params = {
    .max_new_tokens = 12, .temperature = 0.8f, .top_p = 0.9f, .seed = 77, .ignore_eos = true,
  };
  int32_t streamed[12];
  streamed_ids got = { .count = 0 };
  g_assert_cmpint (generate (&f, &params, ids_at_end, TD_OK), ==, 12);
  params.on_token = keep_streamed;
  params.user = &got;
  g_assert_cmpint (generate (&f, &params, streamed, TD_OK), ==, 12);
  g_assert_cmpint (got.count, ==, 12);
  g_assert_cmpmem (got.ids, sizeof got.ids, streamed, sizeof streamed);
  g_assert_cmpmem (ids_at_end, 12 * sizeof *ids_at_end, streamed, sizeof streamed);
  fixture_close (&f);
}

static void
test_ids_read_at_end (void)
{
  int32_t on_cpu[12], on_vulkan[12];
  sample_both_ways (td_backend_cpu_new (NULL), on_cpu);
  td_error err = { 0 };
  td_backend *vulkan = td_verify_backend_new ("vulkan", &err);
  if (vulkan == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  sample_both_ways (vulkan, on_vulkan);
  g_assert_cmpmem (on_cpu, sizeof on_cpu, on_vulkan, sizeof on_vulkan);
}

#ifdef TD_HAVE_VULKAN
/* Full device waits (syncs and blocking reads) during a greedy ThinkDiff-style decode
 * of N tokens with EOS ignored, the prefill excluded. */
static uint64_t
decode_full_syncs (fixture *f, int n, bool (*on_token_fn) (void *, int, int32_t), void *user)
{
  td_error err = { 0 };
  td_qwen2vl_generate_params params = { .max_new_tokens = n, .temperature = 0.0f, .top_p = 1.0f,
                                        .ignore_eos = true, .on_token = on_token_fn, .user = user };
  td_qwen2vl_session *s = td_qwen2vl_session_new (f->model, f->n_prompt + n, &err);
  td_tensor *prefill = td_qwen2vl_session_prefill (s, f->prompt, f->n_prompt, f->features,
                                                   (const int (*)[3]) f->grid, 1, &err);
  g_assert_nonnull (prefill);
  g_assert_cmpint (td_backend_sync (f->backend, &err), ==, TD_OK);
  int32_t tokens[32];
  int got = 0;
  td_tensor *thought = NULL;
  td_vulkan_upload_stats before, after;
  td_vulkan_upload_stats_get (f->backend, &before);
  g_assert_cmpint (td_qwen2vl_generate (s, prefill, &params, tokens, &got, &thought, &err), ==, TD_OK);
  td_vulkan_upload_stats_get (f->backend, &after);
  g_assert_cmpint (got, ==, n);
  td_tensor_free (thought);
  td_tensor_free (prefill);
  td_qwen2vl_session_free (s);
  return after.full_syncs - before.full_syncs;
}
#endif

/* No host round trip per token: decoding 24 tokens waits for the device no more
 * often than decoding 3 (and only a few times), with and without streaming. */
static void
test_decode_without_round_trips (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  td_backend *vulkan = td_verify_backend_new ("vulkan", &err);
  if (vulkan == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  fixture f = { 0 };
  fixture_open_on (&f, vulkan);
  uint64_t short_run = decode_full_syncs (&f, 3, NULL, NULL);
  uint64_t long_run = decode_full_syncs (&f, 24, NULL, NULL);
  g_test_message ("full syncs: %" G_GUINT64_FORMAT " for 3 tokens, %" G_GUINT64_FORMAT " for 24",
                  short_run, long_run);
  g_assert_cmpuint (long_run, ==, short_run);
  g_assert_cmpuint (long_run, <=, 2);
  token_log log = { 0 };
  uint64_t streamed = decode_full_syncs (&f, 24, on_token, &log);
  g_assert_cmpint (log.calls, ==, 24);
  g_assert_cmpuint (streamed, <=, 2);
  fixture_close (&f);
#else
  g_test_skip ("built without Vulkan");
#endif
}

/* EOS ends decoding unless ignored, and cannot be picked before min_new_tokens. */
static void
test_eos (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  td_error err = { 0 };
  td_qwen2vl_generate_params params = { .max_new_tokens = 6, .temperature = 0.0f, .top_p = 1.0f };
  int32_t greedy[6], tokens[6];
  params.ignore_eos = true;
  g_assert_cmpint (generate (&f, &params, greedy, TD_OK), ==, 6);
  fixture_close (&f);

  /* A copy of the golden model whose EOS is the first greedy token. */
  g_autofree char *dir = golden_dir ();
  g_autofree char *tmp = g_dir_make_tmp ("qwen2vl-eos-XXXXXX", NULL);
  g_autofree char *config_in = g_build_filename (dir, "config.json", NULL);
  g_autofree char *weights_in = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *config_out = g_build_filename (tmp, "config.json", NULL);
  g_autofree char *weights_out = g_build_filename (tmp, "model.safetensors", NULL);
  /* Set eos_token_id where the reader looks (configs must not repeat a key). */
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, config_in, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  json_object_set_int_member (root, "eos_token_id", greedy[0]);
  if (json_object_has_member (root, "text_config"))
    json_object_set_int_member (json_object_get_object_member (root, "text_config"), "eos_token_id", greedy[0]);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (generator, config_out, NULL));
  g_assert_cmpint (symlink (weights_in, weights_out), ==, 0);

  fixture e = { 0 };
  e.backend = td_backend_cpu_new (&err);
  e.model = td_qwen2vl_load (tmp, e.backend, &err);
  if (e.model == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_qwen2vl_config_of (e.model)->eos_token_id, ==, greedy[0]);
  fixture_open (&f);
  memcpy (&e.prompt, &f.prompt, sizeof f.prompt);
  e.n_prompt = f.n_prompt;
  memcpy (e.grid, f.grid, sizeof f.grid);
  e.features = f.features;

  params.ignore_eos = false;
  g_assert_cmpint (generate (&e, &params, tokens, TD_OK), ==, 1);
  g_assert_cmpint (tokens[0], ==, greedy[0]);
  params.min_new_tokens = 2;
  int n = generate (&e, &params, tokens, TD_OK);
  g_assert_cmpint (n, >=, 2);
  g_assert_cmpint (tokens[0], !=, greedy[0]);
  g_assert_cmpint (tokens[1], !=, greedy[0]);

  td_qwen2vl_free (e.model);

  /* generation_config.json adds its EOS ids; before min_new_tokens none of them is
   * picked, with ignore_eos too (as vLLM's min_tokens). */
  g_autofree char *generation_out = g_build_filename (tmp, "generation_config.json", NULL);
  g_autofree char *generation_text = g_strdup_printf ("{\"eos_token_id\": [%d, %d]}", greedy[0], greedy[1]);
  g_assert_true (g_file_set_contents (generation_out, generation_text, -1, NULL));
  e.model = td_qwen2vl_load (tmp, e.backend, &err);
  if (e.model == NULL)
    g_error ("%s", err.message);
  const td_qwen2vl_config *c = td_qwen2vl_config_of (e.model);
  g_assert_cmpint (c->n_eos_token_ids, ==, greedy[1] != greedy[0] ? 2 : 1);
  g_assert_cmpint (c->eos_token_ids[c->n_eos_token_ids - 1], ==, greedy[1]);
  params.ignore_eos = true;
  params.min_new_tokens = 6;
  g_assert_cmpint (generate (&e, &params, tokens, TD_OK), ==, 6);
  for (int i = 0; i < 6; i++)
    g_assert_true (tokens[i] != greedy[0] && tokens[i] != greedy[1]);
  params.min_new_tokens = 0;
  g_assert_cmpint (generate (&e, &params, tokens, TD_OK), ==, 6);
  g_assert_cmpint (tokens[0], ==, greedy[0]);
  g_assert_true (g_file_set_contents (generation_out, "{\"eos_token_id\": \"x\"}", -1, NULL));
  g_assert_null (td_qwen2vl_load (tmp, e.backend, &err));
  g_assert_nonnull (strstr (err.message, "generation_config.json"));

  td_qwen2vl_free (e.model);
  td_backend_free (e.backend);
  fixture_close (&f);
  g_unlink (generation_out);
  g_unlink (weights_out);
  g_unlink (config_out);
  g_rmdir (tmp);
}

/* The hidden states generate keeps are those the tokens were picked from: the last
 * prompt position, then generated tokens 1 … n−1, as a single pass over the prompt
 * and the fed-back tokens computes them. */
static void
test_thought_hidden (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  td_error err = { 0 };
  enum { N = 5 };
  td_qwen2vl_generate_params params = { .max_new_tokens = N, .temperature = 0.0f, .top_p = 1.0f, .ignore_eos = true };
  td_qwen2vl_session *s = td_qwen2vl_session_new (f.model, f.n_prompt + N, &err);
  td_tensor *prefill = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features, (const int (*)[3]) f.grid, 1,
                                                   &err);
  g_assert_nonnull (prefill);
  int32_t tokens[N];
  int n = 0;
  td_tensor *thought = NULL;
  g_assert_cmpint (td_qwen2vl_generate (s, prefill, &params, tokens, &n, &thought, &err), ==, TD_OK);
  g_assert_cmpint (n, ==, N);
  g_assert_cmpint (thought->shape[1], ==, N);
  /* The last token was not fed back. */
  g_assert_cmpint (td_qwen2vl_session_length (s), ==, f.n_prompt + N - 1);

  int32_t all[64 + N];
  memcpy (all, f.prompt, (size_t) f.n_prompt * sizeof *all);
  memcpy (all + f.n_prompt, tokens, sizeof tokens);
  td_qwen2vl_session_reset (s);
  td_tensor *full = td_qwen2vl_session_prefill (s, all, f.n_prompt + N - 1, f.features, (const int (*)[3]) f.grid, 1,
                                                &err);
  g_assert_nonnull (full);
  td_tensor *expected = td_tensor_slice (full, 1, f.n_prompt - 1, N, &err);
  float *want = td_tensor_to_f32 (expected, &err);
  float *got = td_tensor_to_f32 (thought, &err);
  const int hidden = (int) thought->shape[2];
  assert_close (got, want, N * hidden, 1e-4);
  /* Off by one (the states of tokens 1 … n) would not match. */
  double shifted = 0.0;
  for (int i = 0; i < (N - 1) * hidden; i++)
    shifted = fmax (shifted, fabs (got[i] - want[hidden + i]));
  g_assert_cmpfloat (shifted, >, 1e-2);
  free (want);
  free (got);
  td_tensor_free (expected);
  td_tensor_free (full);
  td_tensor_free (thought);
  td_tensor_free (prefill);
  td_qwen2vl_session_free (s);
  fixture_close (&f);
}

/* The golden model saved as a 7B checkpoint ships (bf16) under the names newer
 * transformers writes (model.language_model.*, model.visual.*): it loads, computes
 * with the bf16 weights in place, and stays within bf16 accuracy of the reference. */
static void
test_bf16_new_names (void)
{
  td_error err = { 0 };
  g_autofree char *dir = golden_dir ();
  g_autofree char *tmp = g_dir_make_tmp ("qwen2vl-bf16-XXXXXX", NULL);
  g_autofree char *weights_in = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *config_in = g_build_filename (dir, "config.json", NULL);
  g_autofree char *weights_out = g_build_filename (tmp, "model.safetensors", NULL);
  g_autofree char *config_out = g_build_filename (tmp, "config.json", NULL);
  g_autofree char *config_text = NULL;
  g_assert_true (g_file_get_contents (config_in, &config_text, NULL, NULL));
  g_assert_true (g_file_set_contents (config_out, config_text, -1, NULL));

  td_safetensors *st = td_safetensors_open (weights_in, &err);
  g_assert_nonnull (st);
  size_t n = td_safetensors_count (st);
  td_safetensors_entry *entries = g_new0 (td_safetensors_entry, n);
  char **names = g_new0 (char *, n + 1);
  uint16_t **data = g_new0 (uint16_t *, n);
  for (size_t i = 0; i < n; i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      td_tensor *t = td_safetensors_tensor_of (st, info, &err);
      float *values = td_tensor_to_f32 (t, &err);
      int64_t count = td_tensor_numel (t);
      data[i] = g_new (uint16_t, count);
      for (int64_t j = 0; j < count; j++)
        data[i][j] = td_f32_to_bf16 (values[j]);
      if (g_str_has_prefix (info->name, "visual."))
        names[i] = g_strconcat ("model.", info->name, NULL);
      else if (g_str_has_prefix (info->name, "model."))
        names[i] = g_strconcat ("model.language_model.", info->name + 6, NULL);
      else
        names[i] = g_strdup (info->name);
      entries[i] = (td_safetensors_entry) { names[i], TD_BF16, t->ndim, info->shape, data[i],
                                            (size_t) count * sizeof (uint16_t) };
      free (values);
      td_tensor_free (t);
    }
  g_assert_cmpint (td_safetensors_write (weights_out, entries, n, NULL, &err), ==, TD_OK);
  for (size_t i = 0; i < n; i++)
    g_free (data[i]);
  g_free (data);
  g_free (entries);
  g_strfreev (names);
  td_safetensors_close (st);

  fixture f = { 0 };
  fixture_open (&f);
  td_qwen2vl *bf16 = td_qwen2vl_load (tmp, f.backend, &err);
  g_assert_nonnull (bf16);
  td_tensor *features = td_qwen2vl_encode_images (bf16, f.pixels, (const int (*)[3]) f.grid, 1, &err);
  g_assert_nonnull (features);
  td_qwen2vl_session *s = td_qwen2vl_session_new (bf16, f.n_prompt, &err);
  td_tensor *hidden = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, features, (const int (*)[3]) f.grid, 1,
                                                  &err);
  g_assert_nonnull (hidden);
  td_tensor *logits = td_qwen2vl_logits (bf16, hidden, &err);
  g_assert_nonnull (logits);
  td_tensor *reference = td_safetensors_tensor (f.io, "logits", &err);
  float *actual = td_tensor_to_f32 (logits, &err);
  float *expected = td_tensor_to_f32 (reference, &err);
  assert_close (actual, expected, (int) td_tensor_numel (reference), 2e-2);
  free (actual);
  free (expected);
  td_tensor_free (reference);
  td_tensor_free (logits);
  td_tensor_free (hidden);
  td_tensor_free (features);
  td_qwen2vl_session_free (s);
  td_qwen2vl_free (bf16);
  fixture_close (&f);
  g_unlink (weights_out);
  g_unlink (config_out);
  g_rmdir (tmp);
}

/* ---- a 16-bit key/value cache with keys and values beyond f16's range ------- */

/* Writes the golden model into DIR with layer 0's key and value projections (weights
 * and biases) multiplied by SCALE, so that its keys and values pass 65504. */
static void
write_loud_kv_model (const char *dir, float scale)
{
  td_error err = { 0 };
  g_autofree char *golden = golden_dir ();
  g_autofree char *weights_in = g_build_filename (golden, "model.safetensors", NULL);
  g_autofree char *config_in = g_build_filename (golden, "config.json", NULL);
  g_autofree char *weights_out = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *config_out = g_build_filename (dir, "config.json", NULL);
  g_autofree char *config_text = NULL;
  g_assert_true (g_file_get_contents (config_in, &config_text, NULL, NULL));
  g_assert_true (g_file_set_contents (config_out, config_text, -1, NULL));

  td_safetensors *st = td_safetensors_open (weights_in, &err);
  g_assert_nonnull (st);
  size_t n = td_safetensors_count (st);
  td_safetensors_entry *entries = g_new0 (td_safetensors_entry, n);
  float **data = g_new0 (float *, n);
  int scaled = 0;
  for (size_t i = 0; i < n; i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      td_tensor *t = td_safetensors_tensor_of (st, info, &err);
      g_assert_nonnull (t);
      data[i] = td_tensor_to_f32 (t, &err);
      int64_t count = td_tensor_numel (t);
      if (g_str_has_prefix (info->name, "model.layers.0.self_attn.k_proj.")
          || g_str_has_prefix (info->name, "model.layers.0.self_attn.v_proj."))
        {
          for (int64_t j = 0; j < count; j++)
            data[i][j] *= scale;
          scaled++;
        }
      entries[i] = (td_safetensors_entry) { info->name, TD_F32, t->ndim, info->shape, data[i],
                                            (size_t) count * sizeof (float) };
      td_tensor_free (t);
    }
  g_assert_cmpint (scaled, ==, 4);
  g_assert_cmpint (td_safetensors_write (weights_out, entries, n, NULL, &err), ==, TD_OK);
  for (size_t i = 0; i < n; i++)
    free (data[i]);
  g_free (data);
  g_free (entries);
  td_safetensors_close (st);
}

/* Logits after a prefill of the golden prompt with the model in DIR and the cache
 * in CACHE_DTYPE, on the fixture's backend (free()). */
static float *
prefill_logits (fixture *f, const char *dir, td_dtype cache_dtype)
{
  td_error err = { 0 };
  td_qwen2vl *model = td_qwen2vl_load (dir, f->backend, &err);
  g_assert_nonnull (model);
  td_tensor *features = td_qwen2vl_encode_images (model, f->pixels, (const int (*)[3]) f->grid, 1, &err);
  g_assert_nonnull (features);
  td_qwen2vl_session *s = td_qwen2vl_session_new_cache (model, f->n_prompt, cache_dtype, &err);
  g_assert_nonnull (s);
  td_tensor *hidden = td_qwen2vl_session_prefill (s, f->prompt, f->n_prompt, features, (const int (*)[3]) f->grid,
                                                  1, &err);
  g_assert_nonnull (hidden);
  td_tensor *logits = td_qwen2vl_logits (model, hidden, &err);
  g_assert_nonnull (logits);
  float *values = td_tensor_to_f32 (logits, &err);
  g_assert_nonnull (values);
  td_tensor_free (logits);
  td_tensor_free (hidden);
  td_qwen2vl_session_free (s);
  td_tensor_free (features);
  td_qwen2vl_free (model);
  return values;
}

/* Keys and values above 65504 saturate into the f16 cache instead of becoming inf
 * (whose attention would be NaN): the logits stay finite, and the CPU and Vulkan
 * agree. The f32 cache gives other logits, so the values did pass f16's range. */
static void
test_f16_cache_saturates (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("qwen2vl-loud-kv-XXXXXX", NULL);
  write_loud_kv_model (tmp, 1e6f);
  fixture f = { 0 };
  fixture_open (&f);
  const int vocab = td_qwen2vl_config_of (f.model)->vocab_size;
  const int n = f.n_prompt * vocab;
  float *on_cpu = prefill_logits (&f, tmp, TD_F16);
  float *with_f32 = prefill_logits (&f, tmp, TD_F32);
  for (int i = 0; i < n; i++)
    g_assert_true (isfinite (on_cpu[i]));
  double diff = 0.0, scale = 0.0;
  for (int i = 0; i < n; i++)
    {
      diff = fmax (diff, fabs ((double) on_cpu[i] - with_f32[i]));
      scale = fmax (scale, fabs ((double) with_f32[i]));
    }
  g_assert_cmpfloat (diff / scale, >, 1e-2);
  fixture_close (&f);

  td_error err = { 0 };
  td_backend *vulkan = td_verify_backend_new ("vulkan", &err);
  if (vulkan != NULL)
    {
      fixture_open_on (&f, vulkan);
      float *on_vulkan = prefill_logits (&f, tmp, TD_F16);
      for (int i = 0; i < n; i++)
        g_assert_true (isfinite (on_vulkan[i]));
      assert_close (on_vulkan, on_cpu, n, 1e-3);
      free (on_vulkan);
      fixture_close (&f);
    }
  free (with_f32);
  free (on_cpu);
  g_autofree char *weights = g_build_filename (tmp, "model.safetensors", NULL);
  g_autofree char *config = g_build_filename (tmp, "config.json", NULL);
  g_unlink (weights);
  g_unlink (config);
  g_rmdir (tmp);
  if (vulkan == NULL)
    g_test_skip (err.message);
}

/* preprocessor_config.json sets the pixel budget: absent → 3136..12845056, both
 * published spellings read, bad files refused with the file named. */
static void
test_preprocessor_config (void)
{
  td_error err = { 0 };
  td_qwen2vl_image_params p;
  g_autofree char *tmp = g_dir_make_tmp ("qwen2vl-preprocessor-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "preprocessor_config.json", NULL);
  g_assert_cmpint (td_qwen2vl_image_params_read (tmp, &p, &err), ==, TD_OK);
  g_assert_cmpint (p.min_pixels, ==, 3136);
  g_assert_cmpint (p.max_pixels, ==, 12845056);

  g_assert_true (g_file_set_contents (path, "{\"min_pixels\": 3136, \"max_pixels\": 50176, \"patch_size\": 14, "
                                      "\"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.25, 0.5, 1]}", -1, NULL));
  g_assert_cmpint (td_qwen2vl_image_params_read (tmp, &p, &err), ==, TD_OK);
  g_assert_cmpint (p.max_pixels, ==, 50176);
  g_assert_cmpfloat (p.std[0], ==, 0.25f);
  g_assert_true (g_file_set_contents (path, "{\"size\": {\"shortest_edge\": 1000, \"longest_edge\": 2000000}}", -1,
                                      NULL));
  g_assert_cmpint (td_qwen2vl_image_params_read (tmp, &p, &err), ==, TD_OK);
  g_assert_cmpint (p.min_pixels, ==, 1000);
  g_assert_cmpint (p.max_pixels, ==, 2000000);

  const char *bad[] = {
    "{\"max_pixels\": \"many\"}", "{\"min_pixels\": 0}", "{\"min_pixels\": 5000, \"max_pixels\": 4000}",
    "{\"max_pixels\": 1e30}", "{\"image_mean\": [1, 2]}", "{\"image_std\": [1, 0, 1]}", "{\"merge_size\": 99}",
    "[1]", "{\"min_pixels\": 3136", "",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
      err = (td_error) { 0 };
      g_assert_cmpint (td_qwen2vl_image_params_read (tmp, &p, &err), !=, TD_OK);
      g_assert_nonnull (strstr (err.message, "preprocessor_config.json"));
    }
  g_unlink (path);
  g_rmdir (tmp);
}

/* ---- teacher forcing ---------------------------------------------------- */

/* Forcing the golden's generated ids as the answer gives its thought_hidden (the
 * official selection: last prompt position, then generated tokens 1 … n−1). */
static void
test_teacher_force_golden (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  td_error err = { 0 };
  int64_t n_total = 0;
  int32_t *all_ids = td_verify_io_ints (f.io, "generated_ids", &n_total, &err);
  g_assert_nonnull (all_ids);
  const int n = (int) n_total - f.n_prompt;
  g_assert_cmpint (n, >, 1);
  td_qwen2vl_session *s = td_qwen2vl_session_new_cache (f.model, (int) n_total, TD_F32, &err);
  td_tensor *prefill = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features,
                                                   (const int (*)[3]) f.grid, 1, &err);
  g_assert_nonnull (prefill);
  td_tensor *forced = NULL;
  if (td_qwen2vl_teacher_force (s, prefill, all_ids + f.n_prompt, n, &forced, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_cmpint (forced->shape[1], ==, n);
  /* The last answer token is not fed. */
  g_assert_cmpint (td_qwen2vl_session_length (s), ==, f.n_prompt + n - 1);
  td_tensor *reference = td_safetensors_tensor (f.io, "thought_hidden", &err);
  g_assert_nonnull (reference);
  td_verify_result result;
  g_assert_cmpint (td_verify_compare ("thought_hidden", forced, reference, TD_VERIFY_DEFAULT_TOLERANCE, &result, &err),
                   ==, TD_OK);
  g_test_message ("teacher-forced thought_hidden: rel_err %.3g", result.rel_err);
  g_assert_true (result.ok);

  /* A different answer changes every row after the first, and only those. */
  int32_t *other = g_memdup2 (all_ids + f.n_prompt, (size_t) n * sizeof *other);
  other[0] = (other[0] + 1) % td_qwen2vl_config_of (f.model)->vocab_size;
  td_qwen2vl_session_reset (s);
  td_tensor_free (prefill);
  prefill = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features, (const int (*)[3]) f.grid, 1, &err);
  td_tensor *changed = NULL;
  g_assert_cmpint (td_qwen2vl_teacher_force (s, prefill, other, n, &changed, &err), ==, TD_OK);
  g_assert_cmpint (td_verify_compare ("thought_hidden", changed, reference, TD_VERIFY_DEFAULT_TOLERANCE, &result, &err),
                   ==, TD_OK);
  g_assert_false (result.ok);
  td_tensor *row0 = td_tensor_slice (changed, 1, 0, 1, &err);
  td_tensor *ref0 = td_tensor_slice (reference, 1, 0, 1, &err);
  g_assert_cmpint (td_verify_compare ("row 0", row0, ref0, TD_VERIFY_DEFAULT_TOLERANCE, &result, &err), ==, TD_OK);
  g_assert_true (result.ok);
  td_tensor_free (row0);
  td_tensor_free (ref0);
  td_tensor_free (changed);
  g_free (other);
  td_tensor_free (reference);
  td_tensor_free (forced);
  td_tensor_free (prefill);
  td_qwen2vl_session_free (s);
  free (all_ids);
  fixture_close (&f);
}

/* Forcing what sampling picked reproduces the states sampling kept. */
static void
test_teacher_force_matches_sampling (void)
{
  fixture f = { 0 };
  fixture_open (&f);
  td_error err = { 0 };
  enum { N = 7 };
  td_qwen2vl_session *s = td_qwen2vl_session_new (f.model, f.n_prompt + N, &err);
  td_tensor *prefill = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features,
                                                   (const int (*)[3]) f.grid, 1, &err);
  td_qwen2vl_generate_params params = {
    .max_new_tokens = N, .temperature = 0.9f, .top_p = 0.95f, .seed = 11, .ignore_eos = true,
  };
  int32_t tokens[N];
  int count = 0;
  td_tensor *sampled = NULL;
  g_assert_cmpint (td_qwen2vl_generate (s, prefill, &params, tokens, &count, &sampled, &err), ==, TD_OK);
  g_assert_cmpint (count, ==, N);
  td_qwen2vl_session_reset (s);
  td_tensor_free (prefill);
  prefill = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features, (const int (*)[3]) f.grid, 1, &err);
  td_tensor *forced = NULL;
  g_assert_cmpint (td_qwen2vl_teacher_force (s, prefill, tokens, N, &forced, &err), ==, TD_OK);
  td_verify_result result;
  g_assert_cmpint (td_verify_compare ("forced", forced, sampled, 1e-5, &result, &err), ==, TD_OK);
  g_assert_true (result.ok);
  td_tensor_free (forced);

  /* Refused: an id outside the vocabulary, no tokens, more than the session holds. */
  const int32_t bad[2] = { 1, td_qwen2vl_config_of (f.model)->vocab_size };
  td_qwen2vl_session_reset (s);
  td_tensor_free (prefill);
  prefill = td_qwen2vl_session_prefill (s, f.prompt, f.n_prompt, f.features, (const int (*)[3]) f.grid, 1, &err);
  g_assert_cmpint (td_qwen2vl_teacher_force (s, prefill, bad, 2, &forced, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_null (forced);
  g_assert_cmpint (td_qwen2vl_teacher_force (s, prefill, tokens, 0, &forced, &err), ==, TD_ERR_INVALID_ARG);
  int32_t many[N + 2] = { 0 };
  g_assert_cmpint (td_qwen2vl_teacher_force (s, prefill, many, N + 2, &forced, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "do not fit"));
  td_tensor_free (sampled);
  td_tensor_free (prefill);
  td_qwen2vl_session_free (s);
  fixture_close (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qwen2vl/smart-resize", test_smart_resize);
  g_test_add_func ("/qwen2vl/preprocess-layout", test_preprocess_layout);
  g_test_add_func ("/qwen2vl/rope-index/text", test_rope_index_text);
  g_test_add_func ("/qwen2vl/rope-index/two-images", test_rope_index_two_images);
  g_test_add_func ("/qwen2vl/config-forms", test_config_forms);
  g_test_add_func ("/qwen2vl/images-isolated", test_images_isolated);
  g_test_add_func ("/qwen2vl/kv-cache", test_kv_cache);
  g_test_add_func ("/qwen2vl/sampling", test_sampling);
  g_test_add_func ("/qwen2vl/eos", test_eos);
  g_test_add_func ("/qwen2vl/thought-hidden", test_thought_hidden);
  g_test_add_func ("/qwen2vl/teacher-force/golden", test_teacher_force_golden);
  g_test_add_func ("/qwen2vl/teacher-force/matches-sampling", test_teacher_force_matches_sampling);
  g_test_add_func ("/qwen2vl/ids-read-at-end", test_ids_read_at_end);
  g_test_add_func ("/qwen2vl/decode-without-round-trips", test_decode_without_round_trips);
  g_test_add_func ("/qwen2vl/preprocessor-config", test_preprocessor_config);
  g_test_add_func ("/qwen2vl/bf16-new-names", test_bf16_new_names);
  g_test_add_func ("/qwen2vl/f16-cache-saturates", test_f16_cache_saturates);
  return g_test_run ();
}
