/* FLUX as ComfyUI / stable-diffusion.cpp users have it: BFL's flux1-dev.safetensors,
 * ae.safetensors, clip_l.safetensors and t5xxl_fp16.safetensors in ComfyUI's models/
 * tree or in one folder. tests/models/make-comfyui-models.py lays the demo models out
 * that way (the VAE under BFL's names, written independently of the engine's mapping)
 * next to a diffusers folder of the same weights; each part, and a whole generation,
 * must give exactly what the diffusers folder gives. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/safetensors.h"
#include "models/clip_text.h"
#include "models/flux_keys.h"
#include "models/flux_vae.h"
#include "models/t5_encoder.h"
#include "pipeline/flux_files.h"
#include "pipeline/model_paths.h"
#include "td-test-models.h"

static char *root, *reference, *models;

static char *
in (const char *base, const char *relative)
{
  return g_build_filename (base, relative, NULL);
}

typedef struct {
  td_flux_part part;
  const td_safetensors_info *info;
} bfl_piece;

static gint
by_part (gconstpointer a, gconstpointer b)
{
  return (int) ((const bfl_piece *) a)->part - (int) ((const bfl_piece *) b)->part;
}

/* The diffusers transformer written as BFL's single file: q, k, v (and the MLP
 * input) stacked by rows, the final modulation's halves swapped. */
static void
write_bfl_transformer (const char *src_dir, const char *dest)
{
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open_dir (src_dir, &err);
  g_assert_nonnull (st);
  GHashTable *groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  for (size_t i = 0; i < td_safetensors_count (st); i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      td_flux_bfl_ref ref;
      g_assert_true (td_flux_bfl_translate (info->name, &ref));
      g_assert_true (info->dtype == TD_F32);
      GArray *pieces = g_hash_table_lookup (groups, ref.name);
      if (pieces == NULL)
        g_hash_table_insert (groups, g_strdup (ref.name), pieces = g_array_new (FALSE, FALSE, sizeof (bfl_piece)));
      bfl_piece piece = { ref.part, info };
      g_array_append_val (pieces, piece);
    }
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  GPtrArray *keep = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, groups);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GArray *pieces = value;
      g_array_sort (pieces, by_part);
      const td_safetensors_info *first = g_array_index (pieces, bfl_piece, 0).info;
      int64_t *shape = g_memdup2 (first->shape, sizeof first->shape);
      size_t nbytes = 0;
      for (guint p = 0; p < pieces->len; p++)
        nbytes += g_array_index (pieces, bfl_piece, p).info->nbytes;
      shape[0] = 0;
      for (guint p = 0; p < pieces->len; p++)
        shape[0] += g_array_index (pieces, bfl_piece, p).info->shape[0];
      uint8_t *data = g_malloc (nbytes);
      size_t at = 0;
      for (guint p = 0; p < pieces->len; p++)
        {
          const td_safetensors_info *info = g_array_index (pieces, bfl_piece, p).info;
          const uint8_t *bytes = td_safetensors_data (st, info);
          if (g_array_index (pieces, bfl_piece, p).part == TD_FLUX_SWAPPED_HALVES)
            {
              size_t half = info->nbytes / 2;
              memcpy (data + at, bytes + half, half);
              memcpy (data + at + half, bytes, half);
            }
          else
            memcpy (data + at, bytes, info->nbytes);
          at += info->nbytes;
        }
      g_ptr_array_add (keep, shape);
      g_ptr_array_add (keep, data);
      td_safetensors_entry e = { key, TD_F32, first->ndim, shape, data, nbytes };
      g_array_append_val (entries, e);
    }
  g_assert_cmpint (td_safetensors_write (dest, (td_safetensors_entry *) entries->data, entries->len, NULL, &err), ==,
                   TD_OK);
  g_array_unref (entries);
  g_ptr_array_unref (keep);
  g_hash_table_unref (groups);
  td_safetensors_close (st);
}

static void
assert_same (const td_tensor *a, const td_tensor *b)
{
  td_error err = { 0 };
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_true (td_tensor_same_shape (a, b));
  float *x = td_tensor_to_f32 (a, &err), *y = td_tensor_to_f32 (b, &err);
  for (int64_t i = 0; i < td_tensor_numel (a); i++)
    g_assert_cmpfloat (x[i], ==, y[i]);
  free (x);
  free (y);
}

static void
test_vae (void)
{
  td_error err = { 0 };
  g_autofree char *dir = in (reference, "vae");
  g_autofree char *file = in (models, "vae/ae.safetensors");
  td_flux_vae *want = td_flux_vae_load (dir, NULL, &err);
  g_assert_nonnull (want);
  td_flux_vae *got = td_flux_vae_load (file, NULL, &err);
  if (got == NULL)
    g_error ("%s", err.message);
  const td_vae_config *c = td_flux_vae_config (got);
  g_assert_cmpint (c->levels, ==, 2);
  g_assert_cmpint (c->block_out_channels[1], ==, 64);
  g_assert_cmpint (c->layers_per_block, ==, 1);
  g_assert_cmpint (c->norm_num_groups, ==, 32);
  g_assert_cmpint (c->latent_channels, ==, 16);
  g_assert_true (c->mid_attention);
  const int64_t shape[4] = { 1, 16, 5, 7 };
  td_tensor *z = td_tensor_new (NULL, TD_F32, 4, shape, &err);
  float *values = td_tensor_host_data (z);
  for (int64_t i = 0; i < td_tensor_numel (z); i++)
    values[i] = sinf ((float) i * 0.37f);
  td_tensor *a = td_flux_vae_decode (want, z, &err), *b = td_flux_vae_decode (got, z, &err);
  assert_same (a, b);
  td_tensor *ea = td_flux_vae_encode_mean (want, a, &err), *eb = td_flux_vae_encode_mean (got, a, &err);
  assert_same (ea, eb);
  td_tensor_free (ea);
  td_tensor_free (eb);
  td_tensor_free (a);
  td_tensor_free (b);
  td_tensor_free (z);
  td_flux_vae_free (want);
  td_flux_vae_free (got);

  /* Not an autoencoder: refused with the file's name. */
  g_autofree char *clip = in (models, "text_encoders/clip_l.safetensors");
  g_assert_null (td_flux_vae_load (clip, NULL, &err));
  g_assert_nonnull (strstr (err.message, "clip_l.safetensors"));
  g_assert_nonnull (strstr (err.message, "not a FLUX autoencoder"));
}

static void
test_text_encoders (void)
{
  td_error err = { 0 };
  int32_t ids[77];
  for (int i = 0; i < 77; i++)
    ids[i] = i < 5 ? 320 + 17 * i : i == 5 ? 49407 : 49407;
  g_autofree char *clip_dir = in (reference, "text_encoder");
  g_autofree char *clip_file = in (models, "text_encoders/clip_l.safetensors");
  td_clip_text *clip_want = td_clip_text_load (clip_dir, NULL, &err);
  td_clip_text *clip_got = td_clip_text_load (clip_file, NULL, &err);
  if (clip_got == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_clip_text_config_of (clip_got)->num_heads, ==, td_clip_text_config_of (clip_want)->num_heads);
  td_tensor *hw, *pw, *hg, *pg;
  g_assert_cmpint (td_clip_text_forward (clip_want, ids, 77, &hw, &pw, &err), ==, TD_OK);
  g_assert_cmpint (td_clip_text_forward (clip_got, ids, 77, &hg, &pg, &err), ==, TD_OK);
  assert_same (hw, hg);
  assert_same (pw, pg);
  td_tensor_free (hw);
  td_tensor_free (pw);
  td_tensor_free (hg);
  td_tensor_free (pg);
  td_clip_text_free (clip_want);
  td_clip_text_free (clip_got);

  g_autofree char *t5_dir = in (reference, "text_encoder_2");
  g_autofree char *t5_file = in (models, "text_encoders/t5xxl_fp16.safetensors");
  td_t5_encoder *t5_want = td_t5_encoder_load (t5_dir, NULL, &err);
  td_t5_encoder *t5_got = td_t5_encoder_load (t5_file, NULL, &err);
  if (t5_got == NULL)
    g_error ("%s", err.message);
  const td_t5_config *cw = td_t5_encoder_config (t5_want), *cg = td_t5_encoder_config (t5_got);
  g_assert_cmpint (cg->num_heads, ==, cw->num_heads);
  g_assert_cmpint (cg->d_kv, ==, cw->d_kv);
  g_assert_cmpint (cg->d_ff, ==, cw->d_ff);
  g_assert_cmpint (cg->num_layers, ==, cw->num_layers);
  int32_t t5_ids[13] = { 71, 1712, 3, 9, 2875, 5, 1, 0, 0, 0, 0, 0, 0 };
  td_tensor *a = td_t5_encoder_forward (t5_want, t5_ids, 13, &err), *b = td_t5_encoder_forward (t5_got, t5_ids, 13, &err);
  assert_same (a, b);
  td_tensor_free (a);
  td_tensor_free (b);
  td_t5_encoder_free (t5_want);
  td_t5_encoder_free (t5_got);

  /* A T5 file given as CLIP is refused, naming the file. */
  g_assert_null (td_clip_text_load (t5_file, NULL, &err));
  g_assert_nonnull (strstr (err.message, "t5xxl_fp16.safetensors"));
}

static void
generate (const char *model, const char *out)
{
  const char *argv[] = { g_getenv ("TD_CLI"), "generate", "--model", model, "--prompt", "a lighthouse at dusk",
                         "--width", "64", "--height", "64", "--steps", "2", "--seed", "11", "--backend", "cpu",
                         "--out", out, NULL };
  td_test_run (argv);
}

static td_image
load_png (const char *path)
{
  td_image image = { 0 };
  td_error err = { 0 };
  if (td_image_load (path, NULL, &image, &err) != TD_OK)
    g_error ("%s", err.message);
  return image;
}

static void
test_generate (void)
{
  g_autofree char *want_png = in (root, "diffusers.png");
  g_autofree char *tree_png = in (root, "comfyui.png");
  g_autofree char *flat_png = in (root, "flat.png");
  generate (reference, want_png);
  generate (models, tree_png);

  /* stable-diffusion.cpp style: the four files in one folder. */
  g_autofree char *flat = in (root, "flat");
  g_assert_cmpint (g_mkdir (flat, 0755), ==, 0);
  const char *files[] = { "diffusion_models/flux1-dev.safetensors", "vae/ae.safetensors",
                          "text_encoders/clip_l.safetensors", "text_encoders/t5xxl_fp16.safetensors" };
  for (size_t i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = in (models, files[i]);
      g_autofree char *base = g_path_get_basename (from);
      g_autofree char *to = in (flat, base);
      g_assert_cmpint (symlink (from, to), ==, 0);
    }
  generate (flat, flat_png);

  td_image want = load_png (want_png), tree = load_png (tree_png), single = load_png (flat_png);
  g_assert_cmpint (tree.width, ==, want.width);
  g_assert_cmpint (tree.height, ==, want.height);
  g_assert_cmpmem (tree.rgb, (size_t) tree.width * tree.height * 3, want.rgb, (size_t) want.width * want.height * 3);
  g_assert_cmpmem (single.rgb, (size_t) single.width * single.height * 3, want.rgb,
                   (size_t) want.width * want.height * 3);
  g_free (want.rgb);
  g_free (tree.rgb);
  g_free (single.rgb);
}

static void
test_finding (void)
{
  td_error err = { 0 };
  td_flux_files files;
  g_assert_cmpint (td_flux_files_find (models, &files, &err), ==, TD_OK);
  g_assert_true (files.single_files);
  g_assert_true (g_str_has_suffix (files.transformer, "diffusion_models/flux1-dev.safetensors"));
  g_assert_true (g_str_has_suffix (files.t5, "text_encoders/t5xxl_fp16.safetensors"));
  g_assert_null (files.scheduler_config);
  td_flux_files_clear (&files);

  /* --models on a ComfyUI models/ folder: FLUX is the folder itself. */
  td_model_paths paths;
  g_assert_cmpint (td_model_paths_find (models, &paths, &err), ==, TD_OK);
  g_assert_cmpstr (paths.path[TD_PART_FLUX], ==, models);
  td_model_paths_clear (&paths);

  /* ComfyUI's older folder names (unet/, clip/), and a missing part named. */
  g_autofree char *old = in (root, "old-names");
  g_autofree char *unet = in (old, "unet");
  g_autofree char *clip = in (old, "clip");
  g_autofree char *vae = in (old, "vae");
  g_assert_cmpint (g_mkdir_with_parents (unet, 0755) | g_mkdir_with_parents (clip, 0755)
                   | g_mkdir_with_parents (vae, 0755), ==, 0);
  const struct { const char *from, *to; } links[] = {
    { "diffusion_models/flux1-dev.safetensors", "unet/flux1-dev.safetensors" },
    { "vae/ae.safetensors", "vae/ae.safetensors" },
    { "text_encoders/clip_l.safetensors", "clip/clip_l.safetensors" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (links); i++)
    {
      g_autofree char *from = in (models, links[i].from);
      g_autofree char *to = in (old, links[i].to);
      g_assert_cmpint (symlink (from, to), ==, 0);
    }
  g_assert_cmpint (td_flux_files_find (old, &files, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "T5-XXL"));
  g_autofree char *t5_from = in (models, "text_encoders/t5xxl_fp16.safetensors");
  g_autofree char *t5_to = in (old, "clip/t5xxl_fp16.safetensors");
  g_assert_cmpint (symlink (t5_from, t5_to), ==, 0);
  g_assert_cmpint (td_flux_files_find (old, &files, &err), ==, TD_OK);
  g_assert_true (g_str_has_suffix (files.transformer, "unet/flux1-dev.safetensors"));
  g_assert_true (g_str_has_suffix (files.clip, "clip/clip_l.safetensors"));
  td_flux_files_clear (&files);

  /* Neither layout. */
  g_assert_cmpint (td_flux_files_find (root, &files, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "flux1-*.safetensors"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  root = g_dir_make_tmp ("td-comfyui-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *demo = in (root, "demo");
  g_autofree char *out = in (root, "out");
  reference = in (out, "reference");
  models = in (out, "models");
  const char *make_demo[] = { g_getenv ("TD_CLI"), "make-demo-models", demo, NULL };
  td_test_run (make_demo);
  const char *make_layout[] = { g_getenv ("TD_PYTHON"), g_getenv ("TD_MAKE_COMFYUI_MODELS"), demo, out, NULL };
  td_test_run (make_layout);
  g_autofree char *transformer_dir = in (reference, "transformer");
  g_autofree char *transformer_file = in (models, "diffusion_models/flux1-dev.safetensors");
  write_bfl_transformer (transformer_dir, transformer_file);

  g_test_add_func ("/comfyui/finding", test_finding);
  g_test_add_func ("/comfyui/vae", test_vae);
  g_test_add_func ("/comfyui/text-encoders", test_text_encoders);
  g_test_add_func ("/comfyui/generate", test_generate);
  int status = g_test_run ();
  td_test_remove_tree (root);
  g_free (root);
  g_free (reference);
  g_free (models);
  return status;
}
