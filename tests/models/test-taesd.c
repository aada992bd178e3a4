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

/* Appends the tensors of a taesd.py checkpoint renamed as diffusers' AutoencoderTiny
 * stores them: "<prefix><N + shift>.<rest>". Names are kept alive in `names`. */
static void
add_renamed (GArray *entries, GPtrArray *names, const td_pth *pth, const char *prefix, int shift)
{
  for (size_t i = 0; i < td_pth_count (pth); i++)
    {
      const char *name = td_pth_name_at (pth, i);
      const td_tensor *t = td_pth_at (pth, i);
      char *rest = NULL;
      long index = strtol (name, &rest, 10);
      g_assert_true (rest != name && *rest == '.');
      char *renamed = g_strdup_printf ("%s%ld%s", prefix, index + shift, rest);
      g_ptr_array_add (names, renamed);
      td_safetensors_entry e = { renamed, t->dtype, t->ndim, t->shape, td_tensor_host_data (t), td_tensor_nbytes (t) };
      g_array_append_val (entries, e);
    }
}

static void
assert_same_tensor (const td_tensor *a, const td_tensor *b)
{
  td_error err = { 0 };
  g_assert_true (td_tensor_same_shape (a, b));
  float *x = td_tensor_to_f32 (a, &err), *y = td_tensor_to_f32 (b, &err);
  for (int64_t i = 0; i < td_tensor_numel (a); i++)
    g_assert_cmpfloat (x[i], ==, y[i]);
  free (x);
  free (y);
}

static void
test_diffusers_layout (void)
{
  /* madebyollin/taef1 on Hugging Face is one AutoencoderTiny file: the TAEF2 .pth
   * pair renamed into that layout must load and compute exactly as the .pth pair. */
  td_error err = { 0 };
  g_autofree char *dir = taef2_dir ();
  g_autofree char *enc_path = g_build_filename (dir, "taef2_encoder.pth", NULL);
  g_autofree char *dec_path = g_build_filename (dir, "taef2_decoder.pth", NULL);
  td_pth *enc = td_pth_open (enc_path, &err), *dec = td_pth_open (dec_path, &err);
  g_assert_nonnull (enc);
  g_assert_nonnull (dec);
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  add_renamed (entries, names, enc, "encoder.layers.", 0);
  add_renamed (entries, names, dec, "decoder.layers.", -1); /* taesd.py's index 0 is the clamp */
  g_autofree char *tmp = g_dir_make_tmp ("td-taesd-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "diffusion_pytorch_model.safetensors", NULL);
  g_assert_cmpint (td_safetensors_write (path, (td_safetensors_entry *) entries->data, entries->len, NULL, &err), ==,
                   TD_OK);
  g_array_unref (entries);
  g_ptr_array_unref (names);
  td_pth_close (enc);
  td_pth_close (dec);
  td_safetensors *written = td_safetensors_open (path, &err);
  g_assert_nonnull (td_safetensors_find (written, "decoder.layers.0.weight"));
  g_assert_nonnull (td_safetensors_find (written, "encoder.layers.14.weight"));
  g_assert_null (td_safetensors_find (written, "decoder.layers.19.weight"));
  td_safetensors_close (written);

  td_taesd *from_pth = td_taesd_load_dir (dir, NULL, &err);
  g_assert_nonnull (from_pth);
  td_taesd *from_diffusers = td_taesd_load_dir (tmp, NULL, &err);
  if (from_diffusers == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_taesd_latent_channels (from_diffusers), ==, 32);
  g_assert_true (td_taesd_has_midblock_norm (from_diffusers));
  /* A small image (odd 8× multiples) keeps this quick; parity with the golden is test-golden-parity's. */
  const int64_t image_shape[4] = { 1, 3, 24, 40 };
  td_tensor *image = td_tensor_new (NULL, TD_F32, 4, image_shape, &err);
  float *pixels = td_tensor_host_data (image);
  for (int64_t i = 0; i < td_tensor_numel (image); i++)
    pixels[i] = (float) ((i * 37) % 101) / 100.0f;
  td_tensor *want_latent = td_taesd_encode (from_pth, image, &err);
  td_tensor *got_latent = td_taesd_encode (from_diffusers, image, &err);
  g_assert_nonnull (got_latent);
  assert_same_tensor (want_latent, got_latent);
  td_tensor *want_image = td_taesd_decode (from_pth, want_latent, &err);
  td_tensor *got_image = td_taesd_decode (from_diffusers, want_latent, &err);
  g_assert_nonnull (got_image);
  assert_same_tensor (want_image, got_image);
  td_tensor_free (want_image);
  td_tensor_free (got_image);
  td_tensor_free (want_latent);
  td_tensor_free (got_latent);
  td_tensor_free (image);
  td_taesd_free (from_pth);
  td_taesd_free (from_diffusers);

  /* A diffusers file of something else is refused with its path. */
  const int64_t shape[1] = { 4 };
  const float values[4] = { 0 };
  td_safetensors_entry other = { "conv_in.weight", TD_F32, 1, shape, values, sizeof values };
  g_assert_cmpint (td_safetensors_write (path, &other, 1, NULL, &err), ==, TD_OK);
  g_assert_null (td_taesd_load_dir (tmp, NULL, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "not an AutoencoderTiny"));
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
  g_test_add_func ("/taesd/diffusers-layout", test_diffusers_layout);
  g_test_add_func ("/taesd/not-taesd", test_not_taesd);
  return g_test_run ();
}
