/* test-config-bounds — configuration values inside their accepted ranges keep the
 * models' index arithmetic in bounds; combinations that would not are refused with the
 * file named. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "models/flux_dit.h"
#include "models/qwen2vl.h"
#include "models/t5_encoder.h"

/* Every bucket of every relative position lies inside the table, for every accepted
 * (num_buckets, max_distance) pair. */
static void
test_t5_buckets_in_range (void)
{
  int checked = 0;
  for (int buckets = 4; buckets <= 64; buckets += 2)
    for (int distance = buckets / 4 + 1; distance <= 300; distance += 7)
      for (int r = -600; r <= 600; r++)
        {
          int b = td_t5_relative_bucket (r, buckets, distance);
          if (b < 0 || b >= buckets)
            g_error ("num_buckets %d, max_distance %d, position %d → bucket %d", buckets, distance, r, b);
          checked++;
        }
  g_assert_cmpint (checked, >, 100000);
}

/* DIR/NAME with the text of the golden file, KEY's value replaced by VALUE. */
static char *
golden_with (const char *folder, const char *name, const char *key, const char *value)
{
  g_autofree char *src = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", folder, NULL);
  g_autofree char *path = g_build_filename (src, name, NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autofree char *pattern = g_strdup_printf ("\"%s\": *(\\[[^\\]]*\\]|[-0-9]+)", key);
  g_autofree char *replacement = g_strdup_printf ("\"%s\": %s", key, value);
  GRegex *re = g_regex_new (pattern, 0, 0, NULL);
  g_autofree char *changed = g_regex_replace_literal (re, text, -1, 0, replacement, 0, NULL);
  g_regex_unref (re);
  g_assert_cmpstr (changed, !=, text);
  char *dir = g_dir_make_tmp ("td-config-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (out, changed, -1, NULL));
  return dir;
}

static void
remove_dir (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_unlink (path);
  g_rmdir (dir);
}

static void
check_t5 (const char *key, const char *value, bool accepted)
{
  g_autofree char *dir = golden_with ("t5_encoder", "config.json", key, value);
  /* The config is read before the weights: a refused config never reaches them. */
  td_error err = { 0 };
  td_t5_encoder *encoder = td_t5_encoder_load (dir, NULL, &err);
  g_test_message ("%s = %s: %s", key, value, encoder ? "accepted" : err.message);
  if (accepted) /* it gets as far as the weights, absent from the folder */
    g_assert_null (strstr (err.message, "relative_attention"));
  else
    {
      g_assert_null (encoder);
      g_assert_nonnull (strstr (err.message, "config.json"));
      g_assert_nonnull (strstr (err.message, "relative_attention"));
    }
  td_t5_encoder_free (encoder);
  remove_dir (dir, "config.json");
}

static void
test_t5_relative_config (void)
{
  check_t5 ("relative_attention_num_buckets", "33", false);
  check_t5 ("relative_attention_num_buckets", "2", false);
  check_t5 ("relative_attention_max_distance", "8", false); /* 32 buckets: 8 exact per side */
  check_t5 ("relative_attention_max_distance", "9", true);
}

static void
test_flux_axes (void)
{
  const char *bad[] = { "[-2, 10, 8]", "[3, 7, 6]", "[9223372036854775807, 2, 6]", "[4, 6]" };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *dir = golden_with ("flux/transformer", "config.json", "axes_dims_rope", bad[i]);
      /* The transformer opens its weights first (their names tell the layout). */
      g_autofree char *weights = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "flux", "transformer",
                                                   "diffusion_pytorch_model.safetensors", NULL);
      g_autofree char *link = g_build_filename (dir, "diffusion_pytorch_model.safetensors", NULL);
      g_assert_cmpint (symlink (weights, link), ==, 0);
      td_error err = { 0 };
      td_flux_dit *model = td_flux_dit_load (dir, NULL, &err);
      g_test_message ("axes_dims_rope %s: %s", bad[i], err.message);
      g_assert_null (model);
      g_assert_nonnull (strstr (err.message, "axes_dims_rope"));
      g_unlink (link);
      remove_dir (dir, "config.json");
    }
}

static void
test_qwen2vl_token_ids (void)
{
  g_autofree char *dir = golden_with ("qwen2_vl", "config.json", "image_token_id", "300");
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  td_qwen2vl_config config;
  td_error err = { 0 };
  g_assert_cmpint (td_qwen2vl_config_read (path, &config, &err), ==, TD_ERR_FORMAT);
  g_test_message ("%s", err.message);
  g_assert_nonnull (strstr (err.message, "image_token_id"));
  g_assert_nonnull (strstr (err.message, "config.json"));
  remove_dir (dir, "config.json");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config-bounds/t5-buckets-in-range", test_t5_buckets_in_range);
  g_test_add_func ("/config-bounds/t5-relative-config", test_t5_relative_config);
  g_test_add_func ("/config-bounds/flux-axes", test_flux_axes);
  g_test_add_func ("/config-bounds/qwen2vl-token-ids", test_qwen2vl_token_ids);
  return g_test_run ();
}
