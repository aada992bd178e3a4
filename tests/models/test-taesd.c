/* TAESD with the real TAEF2 weights (tests/data/golden/taef2): round-trip PSNR of
 * the golden image against the reference's 32.712 dB, the FLUX preview path
 * against the golden decode, and variant detection (TAEF1 layout: 16 channels,
 * no mid-block pooling). Per-tensor parity is in test-golden-parity ("taesd"). */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/pth.h"
#include "io/safetensors.h"
#include "models/taesd.h"

static char *
taef2_dir (void)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "taef2", NULL);
}

static td_safetensors *
open_io (void)
{
  g_autofree char *dir = taef2_dir ();
  g_autofree char *path = g_build_filename (dir, "io.safetensors", NULL);
  td_error err = { 0 };
  td_safetensors *io = td_safetensors_open (path, &err);
  g_assert_nonnull (io);
  return io;
}

static void
test_round_trip_psnr (void)
{
  td_error err = { 0 };
  g_autofree char *dir = taef2_dir ();
  td_taesd *taesd = td_taesd_load_dir (dir, NULL, &err);
  if (taesd == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_taesd_latent_channels (taesd), ==, 32);
  g_assert_true (td_taesd_has_midblock_norm (taesd));
  td_safetensors *io = open_io ();
  td_tensor *image = td_safetensors_tensor (io, "image", &err);
  td_tensor *latent = td_taesd_encode (taesd, image, &err);
  g_assert_nonnull (latent);
  g_assert_cmpint (latent->shape[1], ==, 32);
  g_assert_cmpint (latent->shape[2], ==, image->shape[2] / 8);
  td_tensor *decoded = td_taesd_decode (taesd, latent, &err);
  g_assert_nonnull (decoded);
  g_assert_true (td_tensor_same_shape (decoded, image));
  float *x = td_tensor_to_f32 (image, &err), *y = td_tensor_to_f32 (decoded, &err);
  double se = 0;
  int64_t n = td_tensor_numel (image);
  for (int64_t i = 0; i < n; i++)
    {
      double v = y[i] < 0 ? 0 : y[i] > 1 ? 1 : y[i];
      se += (v - x[i]) * (v - x[i]);
    }
  double psnr = 10 * log10 (1.0 / (se / (double) n));
  g_test_message ("TAEF2 round trip PSNR %.4f dB (reference 32.712)", psnr);
  g_assert_cmpfloat (fabs (psnr - 32.712), <, 0.1);
  free (x);
  free (y);
  td_tensor_free (decoded);
  td_tensor_free (latent);
  td_tensor_free (image);
  td_safetensors_close (io);
  td_taesd_free (taesd);
}

static void
test_preview_rgb (void)
{
  /* Model-space latents z = (raw − shift) · scaling must preview as the golden decode of raw. */
  const float scaling = 0.3611f, shift = 0.1159f;
  td_error err = { 0 };
  g_autofree char *dir = taef2_dir ();
  g_autofree char *decoder = g_build_filename (dir, "taef2_decoder.pth", NULL);
  td_taesd *taesd = td_taesd_load (NULL, decoder, NULL, &err);
  g_assert_nonnull (taesd);
  td_safetensors *io = open_io ();
  td_tensor *latent = td_safetensors_tensor (io, "latent", &err);
  td_tensor *decoded = td_safetensors_tensor (io, "decoded", &err);
  float *z = td_tensor_to_f32 (latent, &err), *want = td_tensor_to_f32 (decoded, &err);
  int c = (int) latent->shape[1], h = (int) latent->shape[2], w = (int) latent->shape[3];
  for (int64_t i = 0; i < td_tensor_numel (latent); i++)
    z[i] = (z[i] - shift) * scaling;
  uint8_t *rgb = g_malloc ((size_t) 64 * h * w * 3);
  g_assert_cmpint (td_taesd_preview_rgb (taesd, z, h, w, scaling, shift, rgb, &err), ==, TD_OK);
  size_t plane = (size_t) 64 * h * w;
  int worst = 0;
  for (size_t p = 0; p < plane; p++)
    for (int ch = 0; ch < 3; ch++)
      worst = MAX (worst, abs ((int) rgb[3 * p + ch] - (int) lroundf (want[ch * plane + p] * 255.0f)));
  g_assert_cmpint (worst, <=, 1);
  g_assert_cmpint (c, ==, 32);
  /* An encoder-less TAESD refuses to encode. */
  g_assert_null (td_taesd_encode (taesd, decoded, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_free (rgb);
  free (z);
  free (want);
  td_tensor_free (latent);
  td_tensor_free (decoded);
  td_safetensors_close (io);
  td_taesd_free (taesd);
}

static void
test_taef1_layout (void)
{
  /* A decoder in TAEF1's layout, made from TAEF2's: no "*.pool.*" and 16 latent channels. */
  td_error err = { 0 };
  g_autofree char *dir = taef2_dir ();
  g_autofree char *source = g_build_filename (dir, "taef2_decoder.pth", NULL);
  td_pth *pth = td_pth_open (source, &err);
  g_assert_nonnull (pth);
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  const int64_t first_shape[4] = { 64, 16, 3, 3 };
  g_autofree uint16_t *first = g_new0 (uint16_t, 64 * 16 * 9);
  for (size_t i = 0; i < td_pth_count (pth); i++)
    {
      const char *name = td_pth_name_at (pth, i);
      const td_tensor *t = td_pth_at (pth, i);
      if (strstr (name, ".pool.") != NULL)
        continue;
      td_safetensors_entry e = { name, t->dtype, t->ndim, t->shape, td_tensor_host_data (t), td_tensor_nbytes (t) };
      if (strcmp (name, "1.weight") == 0)
        {
          const uint16_t *src = td_tensor_host_data (t);
          for (int o = 0; o < 64; o++)
            memcpy (first + o * 16 * 9, src + o * 32 * 9, 16 * 9 * sizeof *first);
          e.shape = first_shape;
          e.data = first;
          e.nbytes = 64 * 16 * 9 * sizeof *first;
        }
      g_array_append_val (entries, e);
    }
  g_autofree char *tmp = g_dir_make_tmp ("td-taesd-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "taef1_decoder.safetensors", NULL);
  g_assert_cmpint (td_safetensors_write (path, (td_safetensors_entry *) entries->data, entries->len, NULL, &err), ==,
                   TD_OK);
  g_array_unref (entries);
  td_pth_close (pth);

  td_taesd *taesd = td_taesd_load_dir (tmp, NULL, &err);
  if (taesd == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_taesd_latent_channels (taesd), ==, 16);
  g_assert_false (td_taesd_has_midblock_norm (taesd));
  const int64_t shape[4] = { 1, 16, 2, 3 };
  td_tensor *z = td_tensor_new (NULL, TD_F32, 4, shape, &err);
  memset (td_tensor_host_data (z), 0, td_tensor_nbytes (z));
  td_tensor *image = td_taesd_decode (taesd, z, &err);
  g_assert_nonnull (image);
  g_assert_cmpint (image->shape[1], ==, 3);
  g_assert_cmpint (image->shape[2], ==, 16);
  g_assert_cmpint (image->shape[3], ==, 24);
  float *v = td_tensor_to_f32 (image, &err);
  for (int64_t i = 0; i < td_tensor_numel (image); i++)
    g_assert_true (isfinite (v[i]));
  free (v);
  /* Latents with the wrong channel count are refused. */
  const int64_t wrong_shape[4] = { 1, 32, 2, 3 };
  td_tensor *wrong = td_tensor_new (NULL, TD_F32, 4, wrong_shape, &err);
  g_assert_null (td_taesd_decode (taesd, wrong, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  td_tensor_free (wrong);
  td_tensor_free (image);
  td_tensor_free (z);
  td_taesd_free (taesd);
  g_remove (path);
  g_rmdir (tmp);
}

static void
test_not_taesd (void)
{
  td_error err = { 0 };
  g_autofree char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "qwen2_vl",
                                            "thinkdiff_lvlm_aligner.pth", NULL);
  g_assert_null (td_taesd_load (NULL, path, NULL, &err));
  g_assert_nonnull (strstr (err.message, "TAESD"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/taesd/round-trip-psnr", test_round_trip_psnr);
  g_test_add_func ("/taesd/preview-rgb", test_preview_rgb);
  g_test_add_func ("/taesd/taef1-layout", test_taef1_layout);
  g_test_add_func ("/taesd/not-taesd", test_not_taesd);
  return g_test_run ();
}
