/* Parsers of hub data (listings, shard indexes, manifests) against bad-input
 * corpora, and the catalogue's file selection on the real repository layouts. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "net/catalog.h"
#include "net/file_hash.h"
#include "net/hf_cache.h"
#include "net/manifest.h"
#include "net/repo_path.h"
#include "net/shard_index.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef td_status (*parse_fn) (const char *data, size_t len, const char *what, td_error *err);

static td_status
parse_listing (const char *data, size_t len, const char *what, td_error *err)
{
  td_hub_listing l = { 0 };
  td_status st = td_hub_listing_parse_page (&l, data, len, what, err);
  td_hub_listing_clear (&l);
  return st;
}

static td_status
parse_shards (const char *data, size_t len, const char *what, td_error *err)
{
  g_autoptr (GPtrArray) shards = g_ptr_array_new_with_free_func (g_free);
  return td_shard_index_select (data, len, "vision_model.", what, shards, err);
}

static td_status
parse_manifest (const char *data, size_t len, const char *what, td_error *err)
{
  td_manifest m;
  td_status st = td_manifest_parse (&m, data, len, what, err);
  if (st == TD_OK)
    td_manifest_clear (&m);
  return st;
}

static void
run_bad_corpus (const char *folder, parse_fn parse)
{
  g_autofree char *dir_path = g_build_filename (TD_NET_CORPUS, folder, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, &error);
  g_assert_no_error (error);
  unsigned count = 0;
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      td_error err = { 0 };
      td_status st = parse (data, len, name, &err);
      if (st == TD_OK)
        g_error ("%s/%s was accepted", folder, name);
      /* Every rejection names its input. */
      g_assert_nonnull (strstr (err.message, name));
      count++;
    }
  g_assert_cmpuint (count, >=, 8);
}

static void
test_listing_corpus (void)
{
  run_bad_corpus ("listing-bad", parse_listing);
}

static void
test_shard_corpus (void)
{
  run_bad_corpus ("shard-index-bad", parse_shards);
}

static void
test_manifest_corpus (void)
{
  run_bad_corpus ("manifest-bad", parse_manifest);
}

/* 200 000 nested '[' and other JSON json-glib would take: each parser goes
 * through the strict reader and says so, naming its input. */
static void
test_strict_json (void)
{
  GString *deep = g_string_new (NULL);
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  const struct { const char *text; const char *message; } cases[] = {
    { deep->str, "nesting too deep" },
    { "{\"weight_map\": {}, \"weight_map\": {}}", "twice" },
    { "[{\"path\": 'a'}]", "not valid JSON" },
    { "{\"format\": 1} // trailing", "not valid JSON" },
    { "[1, 99999999999999999999]", "64 bits" },
  };
  const parse_fn parsers[] = { parse_listing, parse_shards, parse_manifest };
  for (size_t p = 0; p < G_N_ELEMENTS (parsers); p++)
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        td_error err = { 0 };
        g_assert_cmpint (parsers[p] (cases[i].text, strlen (cases[i].text), "input.json", &err), !=, TD_OK);
        g_test_message ("%s", err.message);
        g_assert_nonnull (strstr (err.message, "input.json"));
        g_assert_nonnull (strstr (err.message, cases[i].message));
        g_assert_cmpint (parsers[p] (cases[i].text, strlen (cases[i].text), "input.json", NULL), !=, TD_OK);
      }
  g_string_free (deep, TRUE);
}

static void
test_listing_fields (void)
{
  const char *json
      = "[{\"type\":\"directory\",\"oid\":\"0123456789abcdef0123456789abcdef01234567\",\"size\":0,"
        "\"path\":\"vae\"},"
        "{\"type\":\"file\",\"oid\":\"89ABCDEF0123456789abcdef0123456789abcdef\",\"size\":820,"
        "\"path\":\"vae/config.json\"},"
        "{\"type\":\"file\",\"oid\":\"0123456789abcdef0123456789abcdef01234567\",\"size\":167666902,"
        "\"lfs\":{\"oid\":\"" SHA "\",\"size\":167666902,\"pointerSize\":135},"
        "\"path\":\"vae/diffusion_pytorch_model.safetensors\"}]";
  td_hub_listing l = { 0 };
  td_error err;
  g_assert_cmpint (td_hub_listing_parse_page (&l, json, strlen (json), "t", &err), ==, TD_OK);
  g_assert_cmpuint (l.n_files, ==, 2);
  const td_hub_file *cfg = td_hub_listing_find (&l, "vae/config.json");
  g_assert_nonnull (cfg);
  g_assert_cmpuint (cfg->size, ==, 820);
  g_assert_cmpstr (cfg->sha256, ==, "");
  g_assert_cmpstr (cfg->git_sha1, ==, "89abcdef0123456789abcdef0123456789abcdef");
  const td_hub_file *w = td_hub_listing_find (&l, "vae/diffusion_pytorch_model.safetensors");
  g_assert_cmpuint (w->size, ==, 167666902);
  g_assert_cmpstr (w->sha256, ==, SHA);
  /* A second page appends; a repeat across pages is an error. */
  g_assert_cmpint (td_hub_listing_parse_page (&l, json, strlen (json), "t", &err), ==,
                   TD_ERR_FORMAT);
  td_hub_listing_clear (&l);
}

static void
add_paths (td_hub_listing *l, const char *const *paths)
{
  td_error err;
  for (size_t i = 0; paths[i] != NULL; i++)
    {
      td_hub_file f = { .path = (char *) paths[i], .size = 10 };
      g_assert_cmpint (td_hub_listing_add (l, &f, "t", &err), ==, TD_OK);
    }
}

static char *
select_joined (const char *component_id, const char *const *paths, td_status *st)
{
  const td_catalog_component *c = td_catalog_find_component (component_id);
  g_assert_nonnull (c);
  td_hub_listing l = { 0 };
  add_paths (&l, paths);
  g_autoptr (GPtrArray) sel = g_ptr_array_new ();
  td_error err;
  *st = td_catalog_select (c, &l, sel, &err);
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < sel->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", ((td_hub_file *) sel->pdata[i])->path);
  td_hub_listing_clear (&l);
  return g_string_free (s, FALSE);
}

/* The file list of black-forest-labs/FLUX.1-dev (and -schnell, with
 * flux1-schnell.safetensors), as the hub lists it. */
static const char *const flux_listing[] = {
  ".gitattributes", "LICENSE.md", "README.md", "ae.safetensors", "dev_grid.jpg",
  "flux1-dev.safetensors", "model_index.json", "scheduler/scheduler_config.json",
  "text_encoder/config.json", "text_encoder/model.safetensors", "text_encoder_2/config.json",
  "text_encoder_2/model-00001-of-00002.safetensors", "text_encoder_2/model-00002-of-00002.safetensors",
  "text_encoder_2/model.safetensors.index.json", "tokenizer/merges.txt",
  "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
  "tokenizer_2/special_tokens_map.json", "tokenizer_2/spiece.model", "tokenizer_2/tokenizer.json",
  "tokenizer_2/tokenizer_config.json", "transformer/config.json",
  "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
  "transformer/diffusion_pytorch_model-00002-of-00003.safetensors",
  "transformer/diffusion_pytorch_model-00003-of-00003.safetensors",
  "transformer/diffusion_pytorch_model.safetensors.index.json", "vae/config.json",
  "vae/diffusion_pytorch_model.safetensors", NULL,
};

static void
test_select_flux (void)
{
  td_status st;
  g_autofree char *sel = select_joined ("flux-dev", flux_listing, &st);
  g_assert_cmpint (st, ==, TD_OK);
  /* Everything but the docs, the preview grid and the single-file duplicates. */
  g_autofree char *want = g_strjoinv (" ", (char **) flux_listing + 6);
  g_assert_cmpstr (sel, ==, want);
  g_assert_null (strstr (sel, "ae.safetensors"));
  g_assert_null (strstr (sel, "flux1-dev"));
  g_autofree char *sel2 = select_joined ("flux-schnell", flux_listing, &st);
  g_assert_cmpstr (sel2, ==, want);

  /* A listing without the transformer folder is a changed repository. */
  const char *const broken[] = { "model_index.json", "vae/config.json", NULL };
  g_autofree char *sel3 = select_joined ("flux-dev", broken, &st);
  g_assert_cmpint (st, ==, TD_ERR_NOT_FOUND);
}

static void
test_select_qwen (void)
{
  const char *const listing[] = {
    ".gitattributes", "README.md", "chat_template.json", "config.json", "generation_config.json",
    "merges.txt", "model-00001-of-00005.safetensors", "model-00002-of-00005.safetensors",
    "model-00003-of-00005.safetensors", "model-00004-of-00005.safetensors",
    "model-00005-of-00005.safetensors", "model.safetensors.index.json", "preprocessor_config.json",
    "tokenizer.json", "tokenizer_config.json", "vocab.json", "examples/demo.json", NULL,
  };
  td_status st;
  g_autofree char *sel = select_joined ("qwen2-vl-7b-instruct", listing, &st);
  g_assert_cmpint (st, ==, TD_OK);
  g_assert_cmpstr (sel, ==,
                   "chat_template.json config.json generation_config.json merges.txt "
                   "model-00001-of-00005.safetensors model-00002-of-00005.safetensors "
                   "model-00003-of-00005.safetensors model-00004-of-00005.safetensors "
                   "model-00005-of-00005.safetensors model.safetensors.index.json "
                   "preprocessor_config.json tokenizer.json tokenizer_config.json vocab.json");
}

static void
test_select_aligners_and_taef1 (void)
{
  td_status st;
  const char *const nested[] = { "README.md", "old/v0/thinkdiff_lvlm.pth",
                                 "release/thinkdiff_lvlm.pth", "release/thinkdiff_clip.pth", NULL };
  g_autofree char *lvlm = select_joined ("thinkdiff-lvlm", nested, &st);
  g_assert_cmpint (st, ==, TD_OK);
  g_assert_cmpstr (lvlm, ==, "release/thinkdiff_lvlm.pth");
  g_autofree char *clip = select_joined ("thinkdiff-clip", nested, &st);
  g_assert_cmpstr (clip, ==, "release/thinkdiff_clip.pth");
  const char *const rooted[] = { "release/thinkdiff_lvlm.pth", "thinkdiff_lvlm.pth", NULL };
  g_autofree char *root = select_joined ("thinkdiff-lvlm", rooted, &st);
  g_assert_cmpstr (root, ==, "thinkdiff_lvlm.pth");
  const char *const none[] = { "README.md", NULL };
  g_autofree char *missing = select_joined ("thinkdiff-clip", none, &st);
  g_assert_cmpint (st, ==, TD_ERR_NOT_FOUND);

  const char *const taef1[] = { "README.md", "config.json", "diffusion_pytorch_model.safetensors",
                                "taef1_decoder.pth", "taef1_decoder.safetensors",
                                "taef1_encoder.pth", "taef1_encoder.safetensors", NULL };
  g_autofree char *t = select_joined ("taef1", taef1, &st);
  g_assert_cmpint (st, ==, TD_OK);
  g_assert_cmpstr (t, ==, "diffusion_pytorch_model.safetensors config.json");
  /* Hugging Face's listing: diffusers' AutoencoderTiny only. */
  const char *const taef1_hf[] = { ".gitattributes", "README.md", "config.json",
                                   "diffusion_pytorch_model.safetensors", NULL };
  g_autofree char *t_hf = select_joined ("taef1", taef1_hf, &st);
  g_assert_cmpint (st, ==, TD_OK);
  g_assert_cmpstr (t_hf, ==, "diffusion_pytorch_model.safetensors config.json");
  const char *const taef1_split[] = { "taef1_decoder.safetensors", "taef1_encoder.safetensors", NULL };
  g_autofree char *t_split = select_joined ("taef1", taef1_split, &st);
  g_assert_cmpstr (t_split, ==, "taef1_decoder.safetensors taef1_encoder.safetensors");
  const char *const taef1_pth[] = { "taef1_decoder.pth", "taef1_encoder.pth", NULL };
  g_autofree char *t2 = select_joined ("taef1", taef1_pth, &st);
  g_assert_cmpstr (t2, ==, "taef1_decoder.pth taef1_encoder.pth");
}

static void
test_blip2_shards (void)
{
  const td_catalog_component *c = td_catalog_find_component ("blip2-vision");
  g_assert_nonnull (c);
  g_assert_cmpstr (c->shard_prefix, ==, "vision_model.");
  const char *json = "{\"metadata\":{\"total_size\":3},\"weight_map\":{"
                     "\"vision_model.post_layernorm.weight\":\"model-00002-of-00006.safetensors\","
                     "\"vision_model.embeddings.class_embedding\":\"model-00001-of-00006.safetensors\","
                     "\"language_model.shared.weight\":\"model-00003-of-00006.safetensors\","
                     "\"qformer.layernorm.weight\":\"model-00001-of-00006.safetensors\"}}";
  g_autoptr (GPtrArray) shards = g_ptr_array_new_with_free_func (g_free);
  td_error err;
  g_assert_cmpint (td_shard_index_select (json, strlen (json), c->shard_prefix, "idx", shards, &err),
                   ==, TD_OK);
  g_assert_cmpuint (shards->len, ==, 2);
  g_assert_cmpstr (shards->pdata[0], ==, "model-00001-of-00006.safetensors");
  g_assert_cmpstr (shards->pdata[1], ==, "model-00002-of-00006.safetensors");
}

static void
test_catalog_consistent (void)
{
  unsigned gated = 0;
  for (const td_catalog_component *const *c = td_catalog_components (); *c != NULL; c++)
    {
      g_assert_true (td_repo_id_is_valid ((*c)->repo));
      g_assert_true (td_repo_revision_is_valid ((*c)->revision));
      g_assert_true (td_repo_path_is_safe ((*c)->id));
      g_assert_null (strchr ((*c)->id, '/'));
      g_assert_true ((*c)->globs != NULL || (*c)->one_of != NULL);
      g_assert_true (td_catalog_find_component ((*c)->id) == *c);
      gated += (*c)->gated;
    }
  g_assert_cmpuint (gated, ==, 1);
  g_assert_true (td_catalog_find_component ("flux-dev")->gated);
  const char *bundles[] = { "lvlm", "clip", "flux-dev", "flux-schnell", "taef1" };
  for (size_t i = 0; i < G_N_ELEMENTS (bundles); i++)
    {
      const td_catalog_bundle *b = td_catalog_find_bundle (bundles[i]);
      g_assert_nonnull (b);
      g_assert_nonnull (b->components[0]);
    }
  g_assert_null (td_catalog_find_bundle ("everything"));
  g_assert_cmpstr (td_catalog_find_bundle ("lvlm")->components[0]->repo, ==,
                   "Qwen/Qwen2-VL-7B-Instruct");
  g_assert_cmpstr (td_catalog_find_bundle ("clip")->components[0]->repo, ==,
                   "Salesforce/blip2-flan-t5-xxl");
}

static void
test_manifest_roundtrip (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("td-manifest-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, TD_MANIFEST_NAME, NULL);
  td_manifest m = { .component = (char *) "flux-dev", .repo = (char *) "black-forest-labs/FLUX.1-dev",
                    .revision = (char *) "main" };
  td_error err;
  td_hub_file a = { .path = (char *) "vae/config.json", .size = 820,
                    .git_sha1 = "89abcdef0123456789abcdef0123456789abcdef" };
  td_hub_file b = { .path = (char *) "vae/diffusion_pytorch_model.safetensors", .size = 167666902,
                    .sha256 = SHA };
  g_assert_cmpint (td_hub_listing_add (&m.files, &a, "t", &err), ==, TD_OK);
  g_assert_cmpint (td_hub_listing_add (&m.files, &b, "t", &err), ==, TD_OK);
  g_assert_cmpint (td_manifest_save (&m, path, &err), ==, TD_OK);
  td_hub_listing_clear (&m.files);

  td_manifest back;
  g_assert_cmpint (td_manifest_load (&back, path, &err), ==, TD_OK);
  g_assert_cmpstr (back.component, ==, "flux-dev");
  g_assert_cmpstr (back.repo, ==, "black-forest-labs/FLUX.1-dev");
  g_assert_null (back.commit);
  g_assert_cmpuint (back.files.n_files, ==, 2);
  g_assert_cmpstr (back.files.files[0].git_sha1, ==, a.git_sha1);
  g_assert_cmpuint (back.files.files[1].size, ==, 167666902);
  g_assert_cmpstr (back.files.files[1].sha256, ==, SHA);
  td_manifest_clear (&back);
  g_unlink (path);
  g_assert_cmpint (td_manifest_load (&back, path, &err), ==, TD_ERR_NOT_FOUND);
  g_rmdir (dir);
}

static void
test_digests (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("td-hash-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "f", NULL);
  td_error err;
  /* `git hash-object` of "hello\n" is ce01362…; SHA-256 of "abc" is ba7816bf…
   * (FIPS 180-2). Both are published values, not this code's output. */
  g_assert_true (g_file_set_contents (path, "hello\n", -1, NULL));
  td_hub_file git = { .path = (char *) "f", .size = 6, .git_sha1 = "ce013625030ba8dba906f756967f9e9ca394464a" };
  g_assert_cmpint (td_file_verify (path, &git, NULL, NULL, NULL, &err), ==, TD_OK);
  git.git_sha1[0] = 'd';
  g_assert_cmpint (td_file_verify (path, &git, NULL, NULL, NULL, &err), ==, TD_ERR_MISMATCH);
  g_assert_nonnull (strstr (err.message, "git SHA-1 mismatch"));

  g_assert_true (g_file_set_contents (path, "abc", -1, NULL));
  td_hub_file lfs = { .path = (char *) "f", .size = 3,
                      .sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" };
  g_assert_cmpint (td_file_verify (path, &lfs, NULL, NULL, NULL, &err), ==, TD_OK);
  lfs.size = 2;
  g_assert_cmpint (td_file_verify (path, &lfs, NULL, NULL, NULL, &err), ==, TD_ERR_MISMATCH);
  g_assert_nonnull (strstr (err.message, "size mismatch"));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_hf_cache_dir_env (void)
{
  g_setenv ("HF_HUB_CACHE", "/x/hub-cache", TRUE);
  g_setenv ("HF_HOME", "/y/hf-home", TRUE);
  g_autofree char *a = td_hf_cache_dir ();
  g_assert_cmpstr (a, ==, "/x/hub-cache");
  g_unsetenv ("HF_HUB_CACHE");
  g_autofree char *b = td_hf_cache_dir ();
  g_assert_cmpstr (b, ==, "/y/hf-home/hub");
  g_unsetenv ("HF_HOME");
  g_autofree char *c = td_hf_cache_dir ();
  g_assert_true (g_str_has_suffix (c, "/huggingface/hub"));

  /* In the Flatpak: the host's cache, not the sandbox's $XDG_CACHE_HOME. */
  g_setenv ("FLATPAK_ID", "io.github.thinkdiff.Studio", TRUE);
  g_setenv ("HOST_XDG_CACHE_HOME", "/home/u/.host-cache", TRUE);
  g_autofree char *d = td_hf_cache_dir ();
  g_assert_cmpstr (d, ==, "/home/u/.host-cache/huggingface/hub");
  g_unsetenv ("HOST_XDG_CACHE_HOME");
  g_autofree char *e = td_hf_cache_dir ();
  g_autofree char *want = g_build_filename (g_get_home_dir (), ".cache", "huggingface", "hub", NULL);
  g_assert_cmpstr (e, ==, want);
  g_setenv ("HF_HOME", "/y/hf-home", TRUE); /* an explicit setting still wins */
  g_autofree char *f = td_hf_cache_dir ();
  g_assert_cmpstr (f, ==, "/y/hf-home/hub");
  g_unsetenv ("HF_HOME");
  g_unsetenv ("FLATPAK_ID");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/parsers/listing-corpus", test_listing_corpus);
  g_test_add_func ("/net/parsers/shard-index-corpus", test_shard_corpus);
  g_test_add_func ("/net/parsers/manifest-corpus", test_manifest_corpus);
  g_test_add_func ("/net/parsers/listing-fields", test_listing_fields);
  g_test_add_func ("/net/parsers/strict-json", test_strict_json);
  g_test_add_func ("/net/catalog/flux", test_select_flux);
  g_test_add_func ("/net/catalog/qwen2-vl", test_select_qwen);
  g_test_add_func ("/net/catalog/aligners-taef1", test_select_aligners_and_taef1);
  g_test_add_func ("/net/catalog/blip2-shards", test_blip2_shards);
  g_test_add_func ("/net/catalog/consistent", test_catalog_consistent);
  g_test_add_func ("/net/manifest/roundtrip", test_manifest_roundtrip);
  g_test_add_func ("/net/hash/digests", test_digests);
  g_test_add_func ("/net/hf-cache/dir-env", test_hf_cache_dir_env);
  return g_test_run ();
}
