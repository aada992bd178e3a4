/* FLUX latent packing, seeded noise and the linear preview. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "pipeline/flux_pipeline.h"
#include "pipeline/latent_preview.h"

static void
test_pack_matches_reference_layout (void)
{
  /* diffusers: view(16, h/2, 2, w/2, 2).permute(1, 3, 0, 2, 4).reshape((h/2)(w/2), 64) */
  const int h = 6, w = 10;
  float planar[16 * 6 * 10], packed[15 * 64], back[16 * 6 * 10];
  for (int i = 0; i < 16 * h * w; i++)
    planar[i] = (float) i;
  td_flux_pack_latents (planar, h, w, packed);
  for (int i = 0; i < h / 2; i++)
    for (int j = 0; j < w / 2; j++)
      for (int c = 0; c < 16; c++)
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            g_assert_cmpfloat (packed[(i * (w / 2) + j) * 64 + c * 4 + dy * 2 + dx], ==,
                               (float) ((c * h + 2 * i + dy) * w + 2 * j + dx));
  td_flux_unpack_latents (packed, h, w, back);
  for (int i = 0; i < 16 * h * w; i++)
    g_assert_cmpfloat (back[i], ==, planar[i]);
}

static void
test_noise_is_seeded_and_normal (void)
{
  const int n = 200001; /* odd: the last value comes from half a pair */
  float *a = g_new (float, n), *b = g_new (float, n), *c = g_new (float, n);
  td_gaussian_noise (42, a, n);
  td_gaussian_noise (42, b, n);
  td_gaussian_noise (43, c, n);
  double sum = 0, sum_sq = 0;
  int same_as_other_seed = 0, beyond_3_sigma = 0;
  for (int i = 0; i < n; i++)
    {
      g_assert_cmpfloat (a[i], ==, b[i]);
      g_assert_true (isfinite (a[i]));
      same_as_other_seed += a[i] == c[i];
      beyond_3_sigma += fabsf (a[i]) > 3.0f;
      sum += a[i];
      sum_sq += (double) a[i] * a[i];
    }
  double mean = sum / n, var = sum_sq / n - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.01);
  g_assert_cmpfloat (fabs (var - 1.0), <, 0.02);
  /* P(|z| > 3) = 0.27 % */
  g_assert_cmpfloat (fabs ((double) beyond_3_sigma / n - 0.0027), <, 0.001);
  g_assert_cmpint (same_as_other_seed, <, 10);
  g_free (a);
  g_free (b);
  g_free (c);
}

static void
test_preview_map (void)
{
  /* All-zero latents give the bias colour: ((bias + 1) · 127.5) rounded. */
  float zeros[16 * 2 * 3] = { 0 };
  uint8_t rgb[2 * 3 * 3];
  td_latent_preview_rgb (zeros, 2, 3, rgb);
  g_assert_cmpint (rgb[0], ==, (int) ((-0.0329f + 1.0f) * 127.5f + 0.5f));
  g_assert_cmpint (rgb[1], ==, (int) ((-0.0718f + 1.0f) * 127.5f + 0.5f));
  g_assert_cmpint (rgb[2], ==, (int) ((-0.0851f + 1.0f) * 127.5f + 0.5f));
  /* Huge values clamp to the ends instead of wrapping. */
  float big[16] = { 0 };
  big[12] = 1000.0f; /* channel 12 has positive weights on every colour */
  uint8_t one[3];
  td_latent_preview_rgb (big, 1, 1, one);
  g_assert_cmpint (one[0], ==, 255);
  g_assert_cmpint (one[1], ==, 255);
  g_assert_cmpint (one[2], ==, 255);
  big[12] = -1000.0f;
  td_latent_preview_rgb (big, 1, 1, one);
  g_assert_cmpint (one[0], ==, 0);
}

/* Only a 16-channel (TAEF1) decoder serves FLUX.1 previews; TAEF2's 32 channels are refused. */
static void
test_preview_decoder_must_match (void)
{
  g_autofree char *flux = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "flux", NULL);
  g_autofree char *taef2 = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "taef2", NULL);
  td_error err = { 0 };
  td_flux_pipeline *pipeline = td_flux_pipeline_new (flux, NULL, NULL, &err);
  g_assert_nonnull (pipeline);
  g_assert_cmpint (td_flux_pipeline_set_preview_decoder (pipeline, taef2, &err), ==, TD_ERR_UNSUPPORTED);
  g_assert_nonnull (strstr (err.message, "16 latent channels"));
  g_assert_cmpint (td_flux_pipeline_set_preview_decoder (pipeline, NULL, &err), ==, TD_OK);
  td_flux_pipeline_free (pipeline);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flux-latents/pack-matches-reference-layout", test_pack_matches_reference_layout);
  g_test_add_func ("/flux-latents/noise-is-seeded-and-normal", test_noise_is_seeded_and_normal);
  g_test_add_func ("/flux-latents/preview-map", test_preview_map);
  g_test_add_func ("/flux-latents/preview-decoder-must-match", test_preview_decoder_must_match);
  return g_test_run ();
}
