/* `thinkdiff plan` on the real configurations and `generate --max-vram` on the demo
 * models: the table and strategy printed, bad options refused, per-stage peaks
 * reported, a cap below the run refused with nothing written, a cap below the VAE's
 * whole-image decode met by decoding in tiles. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cli-util.h"

static cli_fixture fixture;

static void
test_plan_table (void)
{
  cli_result r = cli_run (&fixture, NULL, "plan", "--mode", "lvlm", "--weights", "q4_k", "--max-vram", "8", NULL);
  cli_assert_status (&r, 0);
  const char *stages[] = { "qwen2-vl", "lvlm aligner", "clip-l pooled", "flux transformer", "vae decode" };
  for (gsize i = 0; i < G_N_ELEMENTS (stages); i++)
    g_assert_nonnull (strstr (r.out, stages[i]));
  g_assert_nonnull (strstr (r.out, "strategy: stage by stage"));
  /* The summary in the GiB of the table and of the cap. */
  g_assert_nonnull (strstr (r.out, " GiB of 8.0 GiB — "));
  g_assert_null (strstr (r.out, " GB"));
  cli_result_clear (&r);

  r = cli_run (&fixture, NULL, "plan", "--mode", "t2i", "--max-vram", "12", NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.out, "text encoders"));
  g_assert_nonnull (strstr (r.out, "strategy: weights streamed by block"));
  cli_result_clear (&r);
}

/* --models: the demo models folder planned from its files, each stage naming them;
 * a folder without the models of the mode is an error, not a table. */
static void
test_plan_models_folder (void)
{
  cli_result r = cli_run (&fixture, NULL, "plan", "--mode", "clip", "--models", fixture.models, "--width", "64",
                          "--height", "64", NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.out, "weights as stored"));
  g_assert_nonnull (strstr (r.out, "blip-2 vision"));
  g_assert_nonnull (strstr (r.out, "strategy: all resident"));
  g_assert_nonnull (strstr (r.out, "— all models kept loaded"));
  g_assert_nonnull (strstr (r.out, "weights sized from:"));
  g_assert_nonnull (strstr (r.out, "thinkdiff_clip.safetensors"));
  cli_result_clear (&r);

  g_autofree char *empty = cli_fixture_path (&fixture, "no-models");
  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  r = cli_run (&fixture, NULL, "plan", "--mode", "lvlm", "--models", empty, NULL);
  cli_assert_status (&r, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "thinkdiff: plan"));
  cli_result_clear (&r);
}

static void
test_plan_bad_options (void)
{
  const char *const bad[][3] = {
    { "--mode", "video", NULL }, { "--weights", "q4_k_m", NULL }, { "--max-vram", "-1", NULL },
    { "--max-vram", "8GB", NULL }, { "--width", "1000", NULL }, { "--height", "0", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      cli_result r = cli_run (&fixture, NULL, "plan", "--mode", "lvlm", bad[i][0], bad[i][1], NULL);
      if (r.status == 0)
        g_error ("plan accepted %s %s:\n%s", bad[i][0], bad[i][1], r.out);
      g_assert_cmpint (r.status, !=, 0);
      g_assert_cmpstr (r.out, ==, "");
      cli_result_clear (&r);
    }
}

static void
test_generate_reports_peaks_and_cap (void)
{
  g_autofree char *flux = g_build_filename (fixture.models, "flux-dev", NULL);
  g_autofree char *out = cli_fixture_path (&fixture, "capped.png");
  cli_result r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--width", "64",
                          "--height", "64", "--steps", "1", "--backend", "cpu", "--out", out, NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.err, "memory: denoising peak"));
  g_assert_nonnull (strstr (r.err, "memory: decoding peak"));
  g_assert_nonnull (strstr (r.err, "memory: run peak"));
  cli_result_clear (&r);
  g_assert_cmpint (g_unlink (out), ==, 0);

  r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--width", "64", "--height", "64",
               "--steps", "1", "--backend", "cpu", "--max-vram", "0.001", "--out", out, NULL);
  cli_assert_status (&r, 1);
  g_assert_nonnull (strstr (r.err, "memory cap"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  cli_result_clear (&r);
}

/* The megabytes after "memory: <what> peak " in stderr. */
static double
peak_mib (const char *err, const char *what)
{
  g_autofree char *key = g_strdup_printf ("memory: %s peak ", what);
  const char *at = strstr (err, key);
  g_assert_nonnull (at);
  return g_ascii_strtod (at + strlen (key), NULL);
}

/* A cap below the whole-image VAE decode makes the decode tiled, under the cap. */
static void
test_generate_tiles_vae_under_cap (void)
{
  g_autofree char *flux = g_build_filename (fixture.models, "flux-dev", NULL);
  g_autofree char *out = cli_fixture_path (&fixture, "tiled.png");
  cli_result r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--width", "512",
                          "--height", "512", "--steps", "1", "--backend", "cpu", "--out", out, NULL);
  cli_assert_status (&r, 0);
  const double whole = peak_mib (r.err, "decoding");
  cli_result_clear (&r);
  const double cap_gib = 0.0234, cap_mib = cap_gib * 1024.0;
  g_assert_cmpfloat (whole, >, cap_mib);
  r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--width", "512", "--height", "512",
               "--steps", "1", "--backend", "cpu", "--max-vram", "0.0234", "--out", out, NULL);
  cli_assert_status (&r, 0);
  g_test_message ("512² decode: %.1f MiB whole, %.1f MiB under a %.1f MiB cap", whole, peak_mib (r.err, "decoding"),
                  cap_mib);
  g_assert_cmpfloat (peak_mib (r.err, "run"), <=, cap_mib);
  int width, height;
  cli_png_size (out, &width, &height);
  g_assert_cmpint (width, ==, 512);
  cli_result_clear (&r);
}

/* --weights PART=FILE: a Q8_0 GGUF of the transformer, written by `quantize` next to
 * its config.json, is what plan sizes and generate loads; a file of another part,
 * a missing file and an unknown part are refused naming them, with nothing written. */
static void
test_weights_choice (void)
{
  g_autofree char *flux = g_build_filename (fixture.models, "flux-dev", NULL);
  g_autofree char *transformer = g_build_filename (flux, "transformer", NULL);
  g_autofree char *q8 = g_build_filename (transformer, "flux1-dev-Q8_0.gguf", NULL);
  cli_result r = cli_run (&fixture, NULL, "quantize", transformer, q8, "--type", "q8_0", NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);

  g_autofree char *choice = g_strconcat ("flux=", q8, NULL);
  r = cli_run (&fixture, NULL, "plan", "--mode", "t2i", "--models", flux, "--width", "64", "--height", "64",
               "--weights", choice, NULL);
  cli_assert_status (&r, 0);
  g_autofree char *sized = g_strdup_printf ("flux transformer   %s\n", q8);
  g_assert_nonnull (strstr (r.out, sized));
  cli_result_clear (&r);
  r = cli_run (&fixture, NULL, "plan", "--mode", "t2i", "--models", flux, "--width", "64", "--height", "64", NULL);
  cli_assert_status (&r, 0);
  g_autofree char *by_default = g_strdup_printf ("flux transformer   %s\n", transformer);
  g_assert_nonnull (strstr (r.out, by_default));
  cli_result_clear (&r);

  g_autofree char *out = cli_fixture_path (&fixture, "q8.png");
  r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--width", "64", "--height", "64",
               "--steps", "1", "--backend", "cpu", "--weights", choice, "--out", out, NULL);
  cli_assert_status (&r, 0);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  g_assert_nonnull (strstr (r.err, q8));
  cli_result_clear (&r);

  g_autofree char *refused = cli_fixture_path (&fixture, "refused.png");
  g_autofree char *vae = g_build_filename (flux, "vae", NULL);
  g_autofree char *t5_is_q8 = g_strconcat ("t5=", q8, NULL);
  g_autofree char *flux_is_vae = g_strconcat ("flux=", vae, NULL);
  g_autofree char *missing = g_strconcat ("flux=", flux, "/flux1-dev-Q4_K.gguf", NULL);
  const char *const not_theirs[][2] = {
    { t5_is_q8, "not a T5-XXL weight file" }, { flux_is_vae, "not a FLUX transformer weight file" },
    { missing, "no such weight file" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (not_theirs); i++)
    {
      r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--width", "64", "--height",
                   "64", "--steps", "1", "--backend", "cpu", "--weights", not_theirs[i][0], "--out", refused, NULL);
      cli_assert_status (&r, 1);
      g_assert_nonnull (strstr (r.err, strchr (not_theirs[i][0], '=') + 1));
      g_assert_nonnull (strstr (r.err, not_theirs[i][1]));
      g_assert_false (g_file_test (refused, G_FILE_TEST_EXISTS));
      cli_result_clear (&r);
      r = cli_run (&fixture, NULL, "plan", "--mode", "t2i", "--models", flux, "--weights", not_theirs[i][0], NULL);
      cli_assert_status (&r, 1);
      g_assert_cmpstr (r.out, ==, "");
      g_assert_nonnull (strstr (r.err, not_theirs[i][1]));
      cli_result_clear (&r);
    }
  const char *const bad[] = { "video=x", "flux=", "flux", "=x" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--weights", bad[i], "--out",
                   refused, NULL);
      cli_assert_status (&r, 2);
      g_assert_nonnull (strstr (r.err, "PART=FILE"));
      cli_result_clear (&r);
    }
  /* Without --models there is no folder to choose from. */
  r = cli_run (&fixture, NULL, "plan", "--mode", "t2i", "--weights", choice, NULL);
  cli_assert_status (&r, 2);
  cli_result_clear (&r);
  g_unlink (q8);
}

/* --weights lvlm=FILE: Qwen2-VL sized and loaded from a GGUF beside its checkpoint. */
static void
test_weights_choice_lvlm (void)
{
  g_autofree char *qwen = g_build_filename (fixture.models, "qwen2-vl-7b-instruct", NULL);
  g_autofree char *checkpoint = g_build_filename (qwen, "model.safetensors", NULL);
  g_autofree char *q8 = g_build_filename (qwen, "qwen2-vl-Q8_0.gguf", NULL);
  cli_result r = cli_run (&fixture, NULL, "quantize", checkpoint, q8, "--type", "q8_0", NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);

  g_autofree char *choice = g_strconcat ("lvlm=", q8, NULL);
  r = cli_run (&fixture, NULL, "plan", "--mode", "lvlm", "--models", fixture.models, "--width", "64", "--height",
               "64", "--weights", choice, NULL);
  cli_assert_status (&r, 0);
  g_autofree char *sized = g_strdup_printf ("qwen2-vl           %s\n", q8);
  g_assert_nonnull (strstr (r.out, sized));
  cli_result_clear (&r);
  r = cli_run (&fixture, NULL, "plan", "--mode", "lvlm", "--models", fixture.models, "--width", "64", "--height",
               "64", NULL);
  cli_assert_status (&r, 0);
  g_autofree char *by_default = g_strdup_printf ("qwen2-vl           %s\n", checkpoint);
  g_assert_nonnull (strstr (r.out, by_default));
  cli_result_clear (&r);

  g_autofree char *out = cli_fixture_path (&fixture, "lvlm-q8.png");
  r = cli_run (&fixture, NULL, "generate", "--models", fixture.models, "--mode", "lvlm", "--text", "a cube",
               "--width", "64", "--height", "64", "--steps", "1", "--max-new-tokens", "4", "--backend", "cpu",
               "--weights", choice, "--out", out, NULL);
  cli_assert_status (&r, 0);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  g_autofree char *loaded = g_strdup_printf ("weights: lvlm from %s", q8);
  g_assert_nonnull (strstr (r.err, loaded));
  cli_result_clear (&r);

  /* The FLUX GGUF is no Qwen2-VL file; lvlm needs a models folder. */
  g_autofree char *flux = g_build_filename (fixture.models, "flux-dev", NULL);
  g_autofree char *vae = g_build_filename (flux, "vae", NULL);
  g_autofree char *not_qwen = g_strconcat ("lvlm=", vae, NULL);
  r = cli_run (&fixture, NULL, "plan", "--mode", "lvlm", "--models", fixture.models, "--weights", not_qwen, NULL);
  cli_assert_status (&r, 1);
  g_assert_nonnull (strstr (r.err, "not a Qwen2-VL weight file"));
  cli_result_clear (&r);
  r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a cube", "--weights", choice, "--out", out,
               NULL);
  cli_assert_status (&r, 1);
  g_assert_nonnull (strstr (r.err, "needs --models DIR"));
  cli_result_clear (&r);
  g_unlink (q8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_fixture_setup (&fixture);
  g_test_add_func ("/cli/plan/table", test_plan_table);
  g_test_add_func ("/cli/plan/bad-options", test_plan_bad_options);
  g_test_add_func ("/cli/plan/models-folder", test_plan_models_folder);
  g_test_add_func ("/cli/generate/max-vram", test_generate_reports_peaks_and_cap);
  g_test_add_func ("/cli/generate/max-vram-vae-tiles", test_generate_tiles_vae_under_cap);
  g_test_add_func ("/cli/weights-choice", test_weights_choice);
  g_test_add_func ("/cli/weights-choice-lvlm", test_weights_choice_lvlm);
  int code = g_test_run ();
  cli_fixture_teardown (&fixture);
  return code;
}
