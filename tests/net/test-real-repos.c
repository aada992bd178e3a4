/* `models pull` against the real repositories' layouts, on the imitation hub:
 * the file names, shard counts and index files of FLUX.1-dev/-schnell,
 * Qwen2-VL-7B-Instruct, BLIP-2 flan-t5-xxl, Mifucius/ThinkDiff (release/) and
 * madebyollin/taef1 (diffusers), as tests/net/make-real-repos.py lays the demo
 * models out. Two checks: with the real sizes declared in the listings, what each
 * bundle would download; with tiny content, every bundle pulled into a models
 * folder that then generates in both modes (BLIP-2 with four of its five shards
 * absent, TAEF1 from its diffusers file). */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "hub-server.h"
#include "models/taesd.h"
#include "net/catalog.h"
#include "net/manifest.h"
#include "net/model_store.h"
#include "net/pull.h"
#include "pipeline/model_paths.h"
#include "td-test-models.h"

#define FLUX_DEV_TOKEN "hf_imitation_token"

static char *root;      /* private temp folder */
static char *repos;     /* root/repos: the files make-real-repos.py wrote */
static JsonParser *listing_parser;

/* The declared listing: {"org/name": [[path, size], …]}. */
static JsonObject *
listing (void)
{
  return json_node_get_object (json_parser_get_root (listing_parser));
}

static bool
is_lfs (const char *path)
{
  return g_str_has_suffix (path, ".safetensors") || g_str_has_suffix (path, ".pth")
         || g_str_has_suffix (path, ".bin") || g_str_has_suffix (path, ".model");
}

/* A hub serving every repository; with declare_sizes, files are listed with
 * their real sizes. */
static hub_server *
serve_repos (bool declare_sizes)
{
  hub_server *server = hub_server_new ();
  hub_server_set_page_size (server, 50);
  JsonObjectIter iter;
  const char *repo;
  JsonNode *files;
  json_object_iter_init (&iter, listing ());
  while (json_object_iter_next (&iter, &repo, &files))
    {
      bool gated = strcmp (repo, "black-forest-labs/FLUX.1-dev") == 0;
      hub_server_add_repo (server, repo, gated ? FLUX_DEV_TOKEN : NULL);
      JsonArray *entries = json_node_get_array (files);
      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonArray *entry = json_array_get_array_element (entries, i);
          const char *path = json_array_get_string_element (entry, 0);
          g_autofree char *file = g_build_filename (repos, repo, path, NULL);
          g_autofree char *data = NULL;
          gsize len = 0;
          g_assert_true (g_file_get_contents (file, &data, &len, NULL));
          g_autoptr (GBytes) content = g_bytes_new_take (g_steal_pointer (&data), len);
          hub_server_add_file (server, repo, path, content, is_lfs (path), BODY_NORMAL);
          if (declare_sizes)
            hub_server_declare_size (server, repo, path, (uint64_t) json_array_get_int_element (entry, 1));
        }
    }
  return server;
}

static td_pull_options
options_for (hub_server *server, const char *models)
{
  return (td_pull_options) {
    .models_dir = models,
    .endpoint = hub_server_endpoint (server),
    .token = FLUX_DEV_TOKEN,
    .hf_cache_dir = "",
    .timeout_s = 20,
    .max_retries = 2,
    .retry_base_ms = 10,
    .no_proxy = true,
  };
}

static uint64_t
one_megabyte_free (const char *dir, void *user_data)
{
  return 1000 * 1000;
}

/* The GB figure of "the download needs X GB" in a pull's error. */
static double
needed_gb (const char *message)
{
  const char *at = strstr (message, "the download needs ");
  g_assert_nonnull (at);
  return g_ascii_strtod (at + strlen ("the download needs "), NULL);
}

static char *
manifest_text (const char *models, const char *component)
{
  g_autofree char *path = g_build_filename (models, component, TD_MANIFEST_NAME, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
test_declared_sizes (void)
{
  hub_server *server = serve_repos (true);
  g_autofree char *models = g_build_filename (root, "plan", NULL);
  td_pull_options o = options_for (server, models);
  o.free_space = one_megabyte_free;
  static const struct {
    const char *bundle;
    double min_gb, max_gb;
  } bundles[] = {
    { "flux-dev", 33.5, 34.0 },       /* transformer 23.8 + T5 9.5 + CLIP 0.25 + VAE 0.17 */
    { "flux-schnell", 33.5, 34.0 },
    { "lvlm", 16.5, 16.7 },           /* Qwen2-VL's five shards; the aligner is small */
    { "clip", 9.0, 10.1 },            /* one BLIP-2 shard of five */
    { "taef1", 0.009, 0.011 },
  };
  double both_modes = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (bundles); i++)
    {
      /* Components in order: a bundle's first that does not fit stops it. Sum them by pulling one at a time. */
      const td_catalog_bundle *b = td_catalog_find_bundle (bundles[i].bundle);
      g_assert_nonnull (b);
      double gb = 0;
      for (size_t c = 0; b->components[c] != NULL; c++)
        {
          td_error err = { 0 };
          td_status st = td_models_pull_component (b->components[c], &o, &err);
          if (st == TD_OK)
            continue; /* small enough for the megabyte (an aligner) */
          g_assert_cmpint (st, ==, TD_ERR_IO);
          gb += needed_gb (err.message);
        }
      g_test_message ("%s: %.2f GB", bundles[i].bundle, gb);
      g_assert_cmpfloat (gb, >=, bundles[i].min_gb);
      g_assert_cmpfloat (gb, <=, bundles[i].max_gb);
      if (strcmp (bundles[i].bundle, "flux-schnell") != 0 && strcmp (bundles[i].bundle, "taef1") != 0)
        both_modes += gb;
    }
  g_test_message ("both modes (flux-dev, lvlm, clip): %.2f GB", both_modes);
  g_assert_cmpfloat (both_modes, >, 59.0);
  g_assert_cmpfloat (both_modes, <, 62.0);

  /* What the plans name: the diffusers folders, not the root single files; one BLIP-2 shard, no .bin. */
  g_autofree char *flux = manifest_text (models, "flux-dev");
  g_assert_nonnull (strstr (flux, "transformer/diffusion_pytorch_model-00003-of-00003.safetensors"));
  g_assert_nonnull (strstr (flux, "text_encoder_2/model-00002-of-00002.safetensors"));
  g_assert_nonnull (strstr (flux, "tokenizer/merges.txt"));
  g_assert_nonnull (strstr (flux, "tokenizer_2/spiece.model"));
  g_assert_null (strstr (flux, "flux1-dev.safetensors"));
  g_assert_null (strstr (flux, "\"ae.safetensors"));
  g_autofree char *blip = manifest_text (models, "blip2-vision");
  g_assert_nonnull (strstr (blip, "model-00001-of-00005.safetensors"));
  for (int k = 2; k <= 5; k++)
    {
      g_autofree char *shard = g_strdup_printf ("model-%05d-of-00005.safetensors", k);
      g_assert_null (strstr (blip, shard));
    }
  g_assert_null (strstr (blip, ".bin"));
  hub_server_free (server);
  td_test_remove_tree (models);
}

static bool
exists_in (const char *models, const char *relative)
{
  g_autofree char *path = g_build_filename (models, relative, NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static void
generate (const char *models, const char *mode, const char *image, const char *out, const char *previews)
{
  const char *argv[] = { g_getenv ("TD_CLI"), "generate", "--models", models, "--mode", mode, "--image", image,
                         "--text", "what comes next", "--width", "64", "--height", "64", "--steps", "2",
                         "--max-new-tokens", "4", "--backend", "cpu", "--out", out, "--preview-dir", previews,
                         NULL };
  g_autofree char *stdout_text = NULL, *stderr_text = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &stdout_text, &stderr_text,
                               &status, &error));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("generate --mode %s failed:\n%s", mode, stderr_text);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  g_assert_null (strstr (stderr_text, "previews use the linear map"));
}

static void
test_pull_and_generate (void)
{
  hub_server *server = serve_repos (false);
  g_autofree char *models = g_build_filename (root, "models", NULL);
  td_pull_options o = options_for (server, models);
  const char *bundles[] = { "flux-dev", "lvlm", "clip", "taef1" };
  for (size_t i = 0; i < G_N_ELEMENTS (bundles); i++)
    {
      td_error err = { 0 };
      if (td_models_pull_bundle (bundles[i], &o, &err) != TD_OK)
        g_error ("pull %s: %s", bundles[i], err.message);
    }
  hub_server_free (server);

  for (const td_catalog_component *const *c = td_catalog_components (); *c != NULL; c++)
    {
      if (strcmp ((*c)->id, "flux-schnell") == 0)
        continue;
      td_component_state state;
      td_error err = { 0 };
      g_assert_cmpint (td_models_component_state (models, *c, &state, &err), ==, TD_OK);
      g_assert_cmpint (state.presence, ==, TD_PRESENCE_PRESENT);
    }
  g_assert_true (exists_in (models, "blip2-vision/model-00001-of-00005.safetensors"));
  g_assert_false (exists_in (models, "blip2-vision/model-00002-of-00005.safetensors"));
  g_assert_true (exists_in (models, "thinkdiff-lvlm/release/thinkdiff_lvlm.pth"));
  g_assert_true (exists_in (models, "thinkdiff-clip/release/thinkdiff_clip.pth"));
  g_assert_true (exists_in (models, "taef1/diffusion_pytorch_model.safetensors"));
  g_assert_false (exists_in (models, "flux-dev/flux1-dev.safetensors"));

  td_model_paths paths;
  td_error err = { 0 };
  g_assert_cmpint (td_model_paths_find (models, &paths, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, true, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, false, &err), ==, TD_OK);
  g_assert_true (g_str_has_suffix (paths.path[TD_PART_ALIGNER_LVLM], "release/thinkdiff_lvlm.pth"));
  td_taesd *taef1 = td_taesd_load_dir (paths.path[TD_PART_TAEF1], NULL, &err);
  if (taef1 == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_taesd_latent_channels (taef1), ==, 16);
  td_taesd_free (taef1);
  td_model_paths_clear (&paths);

  /* An input picture: a text-to-image generation with the pulled FLUX folder. */
  g_autofree char *png = g_build_filename (root, "input.png", NULL);
  g_autofree char *flux_dir = g_build_filename (models, "flux-dev", NULL);
  const char *text_to_image[] = { g_getenv ("TD_CLI"), "generate", "--model", flux_dir, "--prompt", "a red kite",
                                  "--width", "64", "--height", "64", "--steps", "1", "--backend", "cpu",
                                  "--out", png, NULL };
  td_test_run (text_to_image);
  g_autofree char *previews = g_build_filename (root, "previews", NULL);
  g_autofree char *lvlm_png = g_build_filename (root, "lvlm.png", NULL);
  g_autofree char *clip_png = g_build_filename (root, "clip.png", NULL);
  generate (models, "lvlm", png, lvlm_png, previews);
  generate (models, "clip", png, clip_png, previews);
  g_autofree char *preview = g_build_filename (previews, "preview-001.png", NULL);
  g_assert_true (g_file_test (preview, G_FILE_TEST_IS_REGULAR));
  td_test_remove_tree (models);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  root = g_dir_make_tmp ("td-real-repos-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *demo = g_build_filename (root, "demo", NULL);
  repos = g_build_filename (root, "repos", NULL);
  g_autofree char *tokenizers = g_build_filename (g_getenv ("TD_TEST_DATA"), "tokenizers", NULL);
  const char *make_demo[] = { g_getenv ("TD_CLI"), "make-demo-models", demo, NULL };
  td_test_run (make_demo);
  const char *make_repos[] = { g_getenv ("TD_PYTHON"), g_getenv ("TD_MAKE_REAL_REPOS"), demo, tokenizers, repos,
                               NULL };
  td_test_run (make_repos);
  g_autofree char *listing_path = g_build_filename (repos, "listing.json", NULL);
  listing_parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (listing_parser, listing_path, NULL));

  g_test_add_func ("/real-repos/declared-sizes", test_declared_sizes);
  g_test_add_func ("/real-repos/pull-and-generate", test_pull_and_generate);
  int status = g_test_run ();
  g_object_unref (listing_parser);
  td_test_remove_tree (root);
  g_free (root);
  g_free (repos);
  return status;
}
