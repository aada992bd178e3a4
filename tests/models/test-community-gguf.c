/* Community GGUF files: the golden T5 encoder, FLUX transformer and Qwen2-VL written
 * by make-community-ggufs.py in llama.cpp's and Black Forest Labs' naming (the
 * script renames on its own, from those projects' layouts), loaded and run against
 * the safetensors originals and the goldens; missing and unknown tensors are
 * errors that name the file and the tensor.
 *
 * TD_TEST_BACKEND=vulkan runs the golden comparisons on Vulkan. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "models/flux_dit.h"
#include "models/qwen2vl.h"
#include "models/t5_encoder.h"
#include "pipeline/flux_files.h"
#include "pipeline/verify.h"
#include "td-test-models.h"

static char *out_dir;
static const char *backend_name = "cpu";

static char *
golden (const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  g_autofree char *tail = g_build_filename_valist (first, &ap);
  va_end (ap);
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", tail, NULL);
}

static char *
written (const char *name)
{
  return g_build_filename (out_dir, name, NULL);
}

/* `thinkdiff verify` in-process: its exit code and the per-output lines. */
static int
run_verify (const char *component, const char *model, const char *io, char **text)
{
  const char *argv[] = { "verify", "--component", component, "--model", model, "--io", io, "--backend", backend_name };
  char *errors = NULL;
  size_t text_size = 0, errors_size = 0;
  *text = NULL;
  FILE *out = open_memstream (text, &text_size);
  FILE *errout = open_memstream (&errors, &errors_size);
  int rc = td_verify_main (G_N_ELEMENTS (argv), (char **) argv, out, errout);
  fclose (out);
  fclose (errout);
  g_test_message ("verify %s on %s:\n%s%s", component, model, *text, errors);
  free (errors);
  return rc;
}

/* Every output within the component's tolerance. */
static void
assert_verify_passes (const char *component, const char *model, const char *io)
{
  char *text = NULL;
  g_assert_cmpint (run_verify (component, model, io, &text), ==, 0);
  g_assert_nonnull (strstr (text, " ok"));
  g_assert_null (strstr (text, "FAIL"));
  free (text);
}

/* Quantised weights: every output within `bound` (the Q8_0 tolerance of issue 11),
 * and the listed outputs exact (decoded token ids). */
static void
assert_verify_within (const char *component, const char *model, const char *io, double bound,
                      const char *const *exact)
{
  char *text = NULL;
  run_verify (component, model, io, &text);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  int outputs = 0;
  for (char **line = lines; *line != NULL; line++)
    {
      char name[64];
      double max_abs, rel;
      if (sscanf (*line, "%63s %lf %lf", name, &max_abs, &rel) != 3)
        continue;
      outputs++;
      g_assert_cmpfloat (rel, <=, bound);
      for (const char *const *e = exact; e != NULL && *e != NULL; e++)
        if (strcmp (name, *e) == 0)
          g_assert_cmpfloat (max_abs, ==, 0.0);
    }
  g_assert_cmpint (outputs, >, 0);
  free (text);
}

static void
assert_error_names (const td_error *err, const char *file, const char *tensor)
{
  g_test_message ("%s", err->message);
  g_assert_cmpint (err->status, !=, TD_OK);
  g_assert_nonnull (strstr (err->message, file));
  g_assert_nonnull (strstr (err->message, tensor));
}

/* ---- T5 ------------------------------------------------------------------ */

static const int32_t t5_ids[] = { 0, 5, 17, 42, 100, 383, 1, 250, 3 };

static float *
t5_run (const char *dir, int64_t *numel, td_t5_config *config)
{
  td_error err = { 0 };
  td_t5_encoder *encoder = td_t5_encoder_load (dir, NULL, &err);
  if (encoder == NULL)
    g_error ("%s", err.message);
  *config = *td_t5_encoder_config (encoder);
  td_tensor *hidden = td_t5_encoder_forward (encoder, t5_ids, G_N_ELEMENTS (t5_ids), &err);
  g_assert_nonnull (hidden);
  float *values = td_tensor_to_f32 (hidden, &err);
  *numel = td_tensor_numel (hidden);
  td_tensor_free (hidden);
  td_t5_encoder_free (encoder);
  return values;
}

/* ‖a − b‖ / ‖b‖ */
static double
relative_error (const float *a, const float *b, int64_t n)
{
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < n; i++)
    {
      diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      ref += (double) b[i] * b[i];
    }
  return sqrt (diff / ref);
}

static void
test_t5_matches_safetensors (void)
{
  g_autofree char *original = golden ("t5_encoder", NULL);
  g_autofree char *gguf_dir = written ("t5");
  g_autofree char *f16_dir = written ("t5-f16");
  td_t5_config want, got, got_f16;
  int64_t n_want = 0, n_got = 0, n_f16 = 0;
  float *a = t5_run (original, &n_want, &want);
  float *b = t5_run (gguf_dir, &n_got, &got); /* a folder with no config.json: the metadata's */
  float *c = t5_run (f16_dir, &n_f16, &got_f16);
  g_autofree char *whole_dir = written ("t5-whole"); /* arch "t5", decoder tensors beside */
  td_t5_config got_whole;
  int64_t n_whole = 0;
  float *d = t5_run (whole_dir, &n_whole, &got_whole);
  g_assert_cmpint (n_whole, ==, n_want);
  for (int64_t i = 0; i < n_want; i++)
    g_assert_cmpfloat (d[i], ==, a[i]);
  free (d);
  g_assert_cmpint (got.d_model, ==, want.d_model);
  g_assert_cmpint (got.d_kv, ==, want.d_kv);
  g_assert_cmpint (got.d_ff, ==, want.d_ff);
  g_assert_cmpint (got.num_heads, ==, want.num_heads);
  g_assert_cmpint (got.num_layers, ==, want.num_layers);
  g_assert_cmpint (got.num_buckets, ==, want.num_buckets);
  g_assert_cmpint (got.max_distance, ==, want.max_distance);
  g_assert_cmpint (got.vocab_size, ==, want.vocab_size);
  g_assert_cmpint (got.gated, ==, want.gated);
  g_assert_cmpint (got.activation, ==, want.activation);
  g_assert_cmpfloat (got.eps, ==, want.eps);
  g_assert_cmpint (n_got, ==, n_want);
  g_assert_cmpint (n_f16, ==, n_want);
  for (int64_t i = 0; i < n_want; i++)
    g_assert_cmpfloat (b[i], ==, a[i]); /* the same f32 values under other names */
  double f16_error = relative_error (c, a, n_want);
  g_test_message ("T5 with f16 weights: relative error %.3e", f16_error);
  g_assert_cmpfloat (f16_error, >, 0.0); /* really the f16 file */
  g_assert_cmpfloat (f16_error, <, 1e-2);
  free (a);
  free (b);
  free (c);
}

static void
test_t5_verify (void)
{
  g_autofree char *dir = written ("t5");
  g_autofree char *io = golden ("t5_encoder", "io.safetensors", NULL);
  assert_verify_passes ("t5-encoder", dir, io);
  /* Q8_0, the token embeddings included (read as stored by the lookup). */
  g_autofree char *q8 = written ("t5-q8");
  assert_verify_within ("t5-encoder", q8, io, 5e-2, NULL);
}

static void
test_t5_missing_and_unknown (void)
{
  td_error err = { 0 };
  g_autofree char *missing = written ("t5-missing");
  g_assert_null (td_t5_encoder_load (missing, NULL, &err));
  assert_error_names (&err, "t5-missing/t5-v1_1-xxl-encoder-f32.gguf", "'enc.blk.1.ffn_down.weight'");

  td_error err2 = { 0 };
  g_autofree char *unknown = written ("t5-unknown");
  g_assert_null (td_t5_encoder_load (unknown, NULL, &err2));
  assert_error_names (&err2, "t5-unknown/t5-v1_1-xxl-encoder-f32.gguf", "unknown tensor 'enc.blk.0.attn_x.weight'");
}

static void
test_t5_bad_metadata (void)
{
  static const struct { const char *name, *key; } cases[] = {
    { "no-block-count", "'t5encoder.block_count'" },
    { "zero-heads", "'t5encoder.attention.head_count'" },
    { "odd-buckets", "t5encoder.attention.relative_buckets_count 31" },
    { "huge-width", "'t5encoder.embedding_length'" },
    { "string-key-length", "'t5encoder.attention.key_length'" },
    { "negative-eps", "'t5encoder.attention.layer_norm_rms_epsilon'" },
    { "wrong-arch", "general.architecture" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      td_error err = { 0 };
      g_autofree char *dir = g_build_filename (out_dir, "t5-bad", cases[i].name, NULL);
      g_autofree char *file = g_build_filename (cases[i].name, "t5-v1_1-xxl-encoder-f32.gguf", NULL);
      g_assert_null (td_t5_encoder_load (dir, NULL, &err));
      assert_error_names (&err, file, cases[i].key);
    }
}

/* ---- FLUX ---------------------------------------------------------------- */

static float *
flux_run (const char *path, int64_t *numel)
{
  td_error err = { 0 };
  g_autofree char *io_path = golden ("flux", "io.safetensors", NULL);
  td_safetensors *io = td_safetensors_open (io_path, &err);
  g_assert_nonnull (io);
  td_flux_dit *model = td_flux_dit_load (path, NULL, &err);
  if (model == NULL)
    g_error ("%s", err.message);
  td_tensor *latents = td_safetensors_tensor (io, "noise_packed", &err);
  td_tensor *txt = td_safetensors_tensor (io, "prompt_embeds", &err);
  td_tensor *pooled = td_safetensors_tensor (io, "pooled_prompt_embeds", &err);
  td_tensor *img_ids = td_safetensors_tensor (io, "img_ids", &err);
  td_tensor *txt_ids = td_safetensors_tensor (io, "txt_ids", &err);
  td_tensor *cos = NULL, *sin = NULL;
  g_assert_cmpint (td_flux_dit_rope (model, td_tensor_host_data (txt_ids), (int) txt_ids->shape[0],
                                     td_tensor_host_data (img_ids), (int) img_ids->shape[0], &cos, &sin, &err),
                   ==, TD_OK);
  td_tensor *out = td_flux_dit_forward (model, latents, txt, pooled, 0.73f, 3.5f, cos, sin, &err);
  if (out == NULL)
    g_error ("%s", err.message);
  float *values = td_tensor_to_f32 (out, &err);
  *numel = td_tensor_numel (out);
  td_tensor *tensors[] = { out, cos, sin, latents, txt, pooled, img_ids, txt_ids };
  for (size_t i = 0; i < G_N_ELEMENTS (tensors); i++)
    td_tensor_free (tensors[i]);
  td_flux_dit_free (model);
  td_safetensors_close (io);
  return values;
}

static void
test_flux_matches_diffusers (void)
{
  g_autofree char *diffusers = golden ("flux", "transformer", NULL);
  g_autofree char *bfl = written ("flux/transformer");
  g_autofree char *q8 = written ("flux-q8/transformer");
  int64_t n_a = 0, n_b = 0, n_c = 0;
  float *a = flux_run (diffusers, &n_a);
  float *b = flux_run (bfl, &n_b);
  float *c = flux_run (q8, &n_c); /* Q8_0, every name under model.diffusion_model. */
  g_assert_cmpint (n_a, >, 0);
  g_assert_cmpint (n_b, ==, n_a);
  g_assert_cmpint (n_c, ==, n_a);
  for (int64_t i = 0; i < n_a; i++)
    g_assert_cmpfloat (b[i], ==, a[i]);
  double q8_error = relative_error (c, a, n_a);
  g_test_message ("FLUX with Q8_0 weights: relative error %.3e", q8_error);
  g_assert_cmpfloat (q8_error, >, 0.0);
  g_assert_cmpfloat (q8_error, <, 5e-2);
  free (a);
  free (b);
  free (c);
}

static void
test_flux_verify (void)
{
  g_autofree char *dir = written ("flux");
  g_autofree char *io = golden ("flux", "io.safetensors", NULL);
  assert_verify_passes ("flux-transformer", dir, io);
  /* Q8_0 under model.diffusion_model.: q, k and v are row views into the packed qkv. */
  g_autofree char *q8 = written ("flux-q8");
  assert_verify_within ("flux-transformer", q8, io, 5e-2, NULL);
}

static void
test_flux_unknown (void)
{
  td_error err = { 0 };
  g_autofree char *dir = written ("flux-unknown/transformer");
  g_assert_null (td_flux_dit_load (dir, NULL, &err));
  assert_error_names (&err, "flux1-dev-F32.gguf", "unknown tensor 'double_blocks.0.img_attn.extra.weight'");
}

/* ComfyUI's models/ folder with GGUFs for the transformer and T5: found, and each
 * loads from its single file. */
static void
test_comfyui_layout (void)
{
  g_autofree char *root = written ("comfyui");
  g_autofree char *vae_dir = g_build_filename (root, "vae", NULL);
  g_autofree char *vae = g_build_filename (vae_dir, "ae.safetensors", NULL);
  g_autofree char *clip = g_build_filename (root, "text_encoders", "clip_l.safetensors", NULL);
  g_assert_cmpint (g_mkdir_with_parents (vae_dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (vae, "", 0, NULL)); /* only looked for here, never read */
  g_assert_true (g_file_set_contents (clip, "", 0, NULL));

  td_error err = { 0 };
  td_flux_files files;
  g_assert_cmpint (td_flux_files_find (root, &files, &err), ==, TD_OK);
  g_assert_true (files.single_files);
  g_assert_true (g_str_has_suffix (files.transformer, "diffusion_models/flux1-dev-Q8_0.gguf"));
  g_assert_true (g_str_has_suffix (files.t5, "text_encoders/t5-v1_1-xxl-encoder-f32.gguf"));

  g_autofree char *original = golden ("t5_encoder", NULL);
  td_t5_config want, got;
  int64_t n_want = 0, n_got = 0;
  float *a = t5_run (original, &n_want, &want);
  float *b = t5_run (files.t5, &n_got, &got);
  g_assert_cmpint (n_got, ==, n_want);
  for (int64_t i = 0; i < n_want; i++)
    g_assert_cmpfloat (b[i], ==, a[i]);
  free (a);
  free (b);

  td_flux_dit *model = td_flux_dit_load (files.transformer, NULL, &err);
  if (model == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_flux_dit_config (model)->num_single_layers, ==, 2);
  td_flux_dit_free (model);
  td_flux_files_clear (&files);

  /* A .safetensors of the same part is preferred to the GGUF. */
  g_autofree char *t5_safetensors = g_build_filename (root, "text_encoders", "t5xxl_fp8_e4m3fn.safetensors", NULL);
  g_assert_true (g_file_set_contents (t5_safetensors, "", 0, NULL));
  g_assert_cmpint (td_flux_files_find (root, &files, &err), ==, TD_OK);
  g_assert_true (g_str_has_suffix (files.t5, "text_encoders/t5xxl_fp8_e4m3fn.safetensors"));
  g_assert_true (g_str_has_suffix (files.transformer, "diffusion_models/flux1-dev-Q8_0.gguf"));
  td_flux_files_clear (&files);
}

/* ---- Qwen2-VL ------------------------------------------------------------ */

static void
test_qwen2vl_verify (void)
{
  g_autofree char *dir = written ("qwen2_vl");
  g_autofree char *io = golden ("qwen2_vl", "io.safetensors", NULL);
  assert_verify_passes ("qwen2-vl", dir, io);
  static const char *const exact[] = { "pixel_values", "image_grid_thw", "generated_ids", NULL };
  g_autofree char *q8 = written ("qwen2_vl-q8");
  assert_verify_within ("qwen2-vl", q8, io, 5e-2, exact);
}

/* The Q8_0 token tables stay Q8_0: the embedding lookup decodes the rows it picks. */
static void
test_token_tables_stay_quantized (void)
{
  td_error err = { 0 };
  g_autofree char *t5_dir = written ("t5-q8"), *qwen_dir = written ("qwen2_vl-q8");
  td_t5_encoder *encoder = td_t5_encoder_load (t5_dir, NULL, &err);
  if (encoder == NULL)
    g_error ("%s", err.message);
  const td_tensor *t5_table = td_weights_get (td_t5_encoder_weights (encoder), "shared.weight", &err);
  g_assert_nonnull (t5_table);
  g_assert_cmpint (t5_table->dtype, ==, TD_Q8_0);
  td_t5_encoder_free (encoder);

  td_qwen2vl *model = td_qwen2vl_load (qwen_dir, NULL, &err);
  if (model == NULL)
    g_error ("%s", err.message);
  const td_tensor *qwen_table = td_weights_get (td_qwen2vl_weights (model), "embed_tokens.weight", &err);
  g_assert_nonnull (qwen_table);
  g_assert_cmpint (qwen_table->dtype, ==, TD_Q8_0);
  td_qwen2vl_free (model);
}

static void
test_qwen2vl_refusals (void)
{
  td_error err = { 0 };
  g_autofree char *missing = written ("qwen2_vl-missing");
  g_assert_null (td_qwen2vl_load (missing, NULL, &err));
  assert_error_names (&err, "qwen2_vl-missing/mmproj-Qwen2-VL-Golden-f32.gguf", "'v.blk.1.ln2.bias'");

  td_error err2 = { 0 };
  g_autofree char *unknown = written ("qwen2_vl-unknown");
  g_assert_null (td_qwen2vl_load (unknown, NULL, &err2));
  assert_error_names (&err2, "qwen2_vl-unknown/Qwen2-VL-Golden-F32.gguf", "unknown tensor 'blk.0.attn_x.weight'");

  td_error err3 = { 0 };
  g_autofree char *alone = written ("qwen2_vl-no-mmproj");
  g_assert_null (td_qwen2vl_load (alone, NULL, &err3));
  assert_error_names (&err3, "qwen2_vl-no-mmproj", "mmproj*.gguf");
}

/* ---- setup ----------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("TD_TEST_BACKEND") != NULL)
    backend_name = g_getenv ("TD_TEST_BACKEND");
  out_dir = td_test_community_ggufs_new ("td-community-gguf-XXXXXX");
  if (out_dir == NULL)
    g_error ("TD_PYTHON and TD_MAKE_COMMUNITY_GGUFS name the script that writes the files under test");

  g_test_add_func ("/community-gguf/t5/matches-safetensors", test_t5_matches_safetensors);
  g_test_add_func ("/community-gguf/t5/verify", test_t5_verify);
  g_test_add_func ("/community-gguf/t5/missing-and-unknown", test_t5_missing_and_unknown);
  g_test_add_func ("/community-gguf/t5/bad-metadata", test_t5_bad_metadata);
  g_test_add_func ("/community-gguf/flux/matches-diffusers", test_flux_matches_diffusers);
  g_test_add_func ("/community-gguf/flux/verify", test_flux_verify);
  g_test_add_func ("/community-gguf/flux/unknown", test_flux_unknown);
  g_test_add_func ("/community-gguf/comfyui-layout", test_comfyui_layout);
  g_test_add_func ("/community-gguf/qwen2vl/verify", test_qwen2vl_verify);
  g_test_add_func ("/community-gguf/qwen2vl/refusals", test_qwen2vl_refusals);
  g_test_add_func ("/community-gguf/token-tables-stay-quantized", test_token_tables_stay_quantized);
  int rc = g_test_run ();
  td_test_remove_tree (out_dir);
  g_free (out_dir);
  return rc;
}
