/* Downloads against an in-process imitation of the hub on 127.0.0.1:
 * listing with pagination, redirects to a CDN origin (no token there),
 * resume after a dropped connection, hash mismatch, gated repos, 404,
 * cancellation, disk-full, unsafe listings, HF cache reuse, shard selection,
 * verify, and the CLI with Ctrl-C. No traffic leaves the machine. */
#include <errno.h>
#include <ftw.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hub-server.h"
#include "net/catalog.h"
#include "net/manifest.h"
#include "net/model_store.h"
#include "net/pull.h"
#include "td-test-models.h"

typedef struct {
  hub_server *server;
  char *root;        /* a private temp folder */
  char *models;      /* root/models: the only place writes may go */
  GBytes *config, *model, *weights, *unwanted;
} fixture;

static const char *const plain_globs[] = { "config.json", "model.safetensors", "sub/*.bin", NULL };
static const td_catalog_component plain = {
  .id = "plain", .repo = "org/plain", .revision = "main", .globs = plain_globs,
};
static const td_catalog_component gated = {
  .id = "gated", .repo = "org/gated", .revision = "main", .globs = plain_globs, .gated = true,
};
static const td_catalog_component missing = {
  .id = "missing", .repo = "org/missing", .revision = "main", .globs = plain_globs,
};

static void
add_plain_files (fixture *f, const char *repo, body_mode model_mode)
{
  hub_server_add_file (f->server, repo, "config.json", f->config, false, BODY_NORMAL);
  hub_server_add_file (f->server, repo, "model.safetensors", f->model, true, model_mode);
  hub_server_add_file (f->server, repo, "sub/weights.bin", f->weights, true, BODY_NORMAL);
  hub_server_add_file (f->server, repo, "flux1-dev.safetensors", f->unwanted, true, BODY_NORMAL);
}

static void
fixture_setup (fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->root = g_dir_make_tmp ("td-net-XXXXXX", &error);
  g_assert_no_error (error);
  f->models = g_build_filename (f->root, "models", NULL);
  f->server = hub_server_new ();
  f->config = g_bytes_new_static ("{\"hidden_size\": 8}\n", 19);
  f->model = make_content (300 * 1024 + 7, 1);
  f->weights = make_content (100 * 1024, 2);
  f->unwanted = make_content (50 * 1024, 3);
}

static const char *td_test_models_prefix;
static const char *td_test_root;

/* Every entry under root must be root/models or below it. */
static int
check_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (strcmp (path, td_test_root) == 0)
    return 0;
  if (!g_str_has_prefix (path, td_test_models_prefix))
    g_error ("written outside the models folder: %s", path);
  return 0;
}

static void
assert_nothing_outside (fixture *f)
{
  td_test_root = f->root;
  td_test_models_prefix = f->models;
  g_assert_cmpint (nftw (f->root, check_entry, 16, FTW_PHYS), ==, 0);
}

static void
fixture_teardown (fixture *f, gconstpointer data)
{
  assert_nothing_outside (f);
  hub_server_free (f->server);
  td_test_remove_tree (f->root);
  g_free (f->root);
  g_free (f->models);
  g_bytes_unref (f->config);
  g_bytes_unref (f->model);
  g_bytes_unref (f->weights);
  g_bytes_unref (f->unwanted);
}

static td_pull_options
options_for (fixture *f)
{
  return (td_pull_options) {
    .models_dir = f->models,
    .endpoint = hub_server_endpoint (f->server),
    .hf_cache_dir = "",
    .timeout_s = 10,
    .max_retries = 3,
    .retry_base_ms = 10,
    .no_proxy = true,
  };
}

static char *
component_file (fixture *f, const char *component, const char *path)
{
  return g_build_filename (f->models, component, path, NULL);
}

static void
assert_file_equals (fixture *f, const char *component, const char *path, GBytes *want)
{
  g_autofree char *file = component_file (f, component, path);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (file, &data, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (data, len, g_bytes_get_data (want, NULL), g_bytes_get_size (want));
}

static bool
exists (fixture *f, const char *component, const char *path)
{
  g_autofree char *file = component_file (f, component, path);
  return g_file_test (file, G_FILE_TEST_EXISTS);
}

static td_presence
presence_of (fixture *f, const td_catalog_component *c)
{
  td_component_state s;
  td_error err;
  g_assert_cmpint (td_models_component_state (f->models, c, &s, &err), ==, TD_OK);
  return s.presence;
}

static void
test_pull_plain (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_MISSING);

  td_pull_options o = options_for (f);
  td_error err = { 0 };
  td_status st = td_models_pull_component (&plain, &o, &err);
  g_assert_cmpstr (err.message, ==, "");
  g_assert_cmpint (st, ==, TD_OK);
  assert_file_equals (f, "plain", "config.json", f->config);
  assert_file_equals (f, "plain", "model.safetensors", f->model);
  assert_file_equals (f, "plain", "sub/weights.bin", f->weights);
  g_assert_false (exists (f, "plain", "flux1-dev.safetensors"));
  g_assert_false (exists (f, "plain", "model.safetensors.part"));
  g_assert_false (exists (f, "plain", "model.safetensors.part.etag"));
  /* 4 files at 2 per page: the listing took 2 pages (Link: rel="next"). */
  g_assert_cmpuint (hub_server_listing_pages (f->server), ==, 2);
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 2);
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_PRESENT);

  td_verify_result r;
  g_assert_cmpint (td_models_verify_component (f->models, &plain, NULL, NULL, NULL, &r, &err), ==,
                   TD_OK);
  g_assert_cmpuint (r.n_ok, ==, 3);

  /* A second pull finds everything in place and fetches nothing. */
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 2);
}

static void
test_gated (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/gated", "secret-token");
  add_plain_files (f, "org/gated", BODY_NORMAL);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&gated, &o, &err), ==, TD_ERR_AUTH);
  g_autofree char *licence_url = g_strdup_printf ("%s/org/gated", hub_server_endpoint (f->server));
  g_assert_nonnull (strstr (err.message, "accept its licence"));
  g_assert_nonnull (strstr (err.message, licence_url));
  g_assert_nonnull (strstr (err.message, "HF_TOKEN"));

  o.token = "wrong-token";
  g_assert_cmpint (td_models_pull_component (&gated, &o, &err), ==, TD_ERR_AUTH);
  g_assert_nonnull (strstr (err.message, "refused the token"));

  o.token = "secret-token";
  td_error_clear (&err);
  g_assert_cmpint (td_models_pull_component (&gated, &o, &err), ==, TD_OK);
  assert_file_equals (f, "gated", "model.safetensors", f->model);
  /* The token went to the hub, never to the CDN origin the LFS files came from. */
  g_assert_cmpuint (hub_server_hub_requests_with_auth (f->server), >, 0);
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 2);
  g_assert_cmpuint (hub_server_cdn_requests_with_auth (f->server), ==, 0);
}

static void
test_not_found (fixture *f, gconstpointer data)
{
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&missing, &o, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "404"));

  /* A file the listing names but the hub does not serve. */
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  hub_server_set_raw_listing (f->server, "org/plain",
                              "[{\"type\":\"file\",\"path\":\"config.json\",\"size\":3,"
                              "\"oid\":\"0123456789012345678901234567890123456789\"},"
                              "{\"type\":\"file\",\"path\":\"model.safetensors\",\"size\":3},"
                              "{\"type\":\"file\",\"path\":\"sub/gone.bin\",\"size\":3}]");
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), !=, TD_OK);
  g_assert_cmpint (presence_of (f, &plain), !=, TD_PRESENCE_PRESENT);
}

static void
test_resume_after_drop (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_DROP_ONCE);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  assert_file_equals (f, "plain", "model.safetensors", f->model);
  /* The second request asked for the rest only. */
  g_assert_cmpuint (hub_server_range_requests (f->server), >=, 1);
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 3);
}

static void
test_retry_5xx (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_ERROR_ONCE);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  assert_file_equals (f, "plain", "model.safetensors", f->model);
}

static void
test_corrupt_body (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_CORRUPT);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_ERR_MISMATCH);
  g_assert_nonnull (strstr (err.message, "SHA-256 mismatch"));
  g_assert_nonnull (strstr (err.message, "removed"));
  g_assert_nonnull (strstr (err.message, "model.safetensors"));
  g_assert_false (exists (f, "plain", "model.safetensors"));
  g_assert_false (exists (f, "plain", "model.safetensors.part"));
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_PARTIAL);
}

typedef struct {
  GCancellable *cancellable;
  gint started;         /* set by the progress callback once the slow file flows */
  gint64 cancelled_at;
} canceller;

static void
watch_progress (const td_pull_progress *p, void *user_data)
{
  canceller *c = user_data;
  if (p->stage == TD_PULL_DOWNLOADING && p->path != NULL
      && strcmp (p->path, "model.safetensors") == 0 && p->file_done > 0)
    g_atomic_int_set (&c->started, 1);
}

/* Waits (at most 20 s) until bytes of the slow file arrived, lets the
 * download block in a read for a moment, then cancels from this thread. */
static gpointer
cancel_later (gpointer data)
{
  canceller *c = data;
  for (int i = 0; i < 2000 && !g_atomic_int_get (&c->started); i++)
    g_usleep (10000);
  g_usleep (200000);
  c->cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

static void
test_cancel_slow (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  g_autoptr (GBytes) big = make_content (2 << 20, 9);
  hub_server_add_file (f->server, "org/plain", "config.json", f->config, false, BODY_NORMAL);
  hub_server_add_file (f->server, "org/plain", "model.safetensors", big, true, BODY_SLOW);
  hub_server_add_file (f->server, "org/plain", "sub/weights.bin", f->weights, true, BODY_NORMAL);

  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  canceller c = { cancellable, 0, 0 };
  GThread *thread = g_thread_new ("canceller", cancel_later, &c);
  td_pull_options o = options_for (f);
  o.cancellable = cancellable;
  o.progress = watch_progress;
  o.progress_data = &c;
  td_error err = { 0 };
  td_status st = td_models_pull_component (&plain, &o, &err);
  gint64 returned_at = g_get_monotonic_time ();
  g_thread_join (thread);
  g_assert_cmpint (st, ==, TD_ERR_CANCELLED);
  g_assert_true (g_atomic_int_get (&c.started));
  /* Bounded: the blocked read wakes up on cancel, not at the end of the body. */
  g_assert_cmpint (returned_at - c.cancelled_at, <, 2 * G_USEC_PER_SEC);

  g_autofree char *part = component_file (f, "plain", "model.safetensors.part");
  struct stat sb;
  g_assert_cmpint (stat (part, &sb), ==, 0);
  g_assert_cmpint (sb.st_size, >, 0);
  g_assert_cmpint (sb.st_size, <, 2 << 20);
  g_assert_false (exists (f, "plain", "model.safetensors"));
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_PARTIAL);

  /* The next pull resumes from the part. */
  hub_server_set_mode (f->server, "org/plain", "model.safetensors", BODY_NORMAL);
  o.cancellable = NULL;
  o.progress = NULL;
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  g_assert_cmpuint (hub_server_range_requests (f->server), >=, 1);
  assert_file_equals (f, "plain", "model.safetensors", big);
}

static uint64_t
tiny_disk (const char *dir, void *user_data)
{
  return 1000;
}

static void
test_no_space_hook (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  td_pull_options o = options_for (f);
  o.free_space = tiny_disk;
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_ERR_IO);
  g_assert_nonnull (strstr (err.message, "not enough free space"));
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 0);
  g_assert_false (exists (f, "plain", "model.safetensors.part"));
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_MISSING);
}

/* Runs in a subprocess: a file-size limit makes writes fail with EFBIG the
 * way a full disk fails them with ENOSPC. */
static void
test_write_fails_subprocess (fixture *f, gconstpointer data)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  signal (SIGXFSZ, SIG_IGN);
  struct rlimit old, limited;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  limited = old;
  limited.rlim_cur = 64 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  td_status st = td_models_pull_component (&plain, &o, &err);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
  g_assert_cmpint (st, ==, TD_ERR_IO);
  g_assert_nonnull (strstr (err.message, "cannot write"));
  g_assert_false (exists (f, "plain", "model.safetensors"));
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_PARTIAL);
  /* With room again, the pull resumes and completes. */
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  g_assert_cmpuint (hub_server_range_requests (f->server), >=, 1);
  assert_file_equals (f, "plain", "model.safetensors", f->model);
}

static void
test_unsafe_listing (fixture *f, gconstpointer data)
{
  static const char *const bad[] = {
    "[{\"type\":\"file\",\"path\":\"../escape.bin\",\"size\":3}]",
    "[{\"type\":\"file\",\"path\":\"sub/../../escape.bin\",\"size\":3}]",
    "[{\"type\":\"file\",\"path\":\"/tmp/escape.bin\",\"size\":3}]",
    "[{\"type\":\"file\",\"path\":\"sub\\\\..\\\\escape.bin\",\"size\":3}]",
    "[{\"type\":\"file\",\"path\":\"model.safetensors\\n\",\"size\":3}]",
  };
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      hub_server_set_raw_listing (f->server, "org/plain", bad[i]);
      td_pull_options o = options_for (f);
      td_error err = { 0 };
      g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_ERR_FORMAT);
      g_assert_nonnull (strstr (err.message, "unsafe path"));
    }
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 0);
}

static char *
make_hf_cache (fixture *f, GBytes *content)
{
  g_autoptr (GError) error = NULL;
  char *cache = g_dir_make_tmp ("td-hfcache-XXXXXX", &error);
  g_assert_no_error (error);
  const char *commit = "1234567890abcdef1234567890abcdef12345678";
  g_autofree char *repo = g_build_filename (cache, "models--org--plain", NULL);
  g_autofree char *refs = g_build_filename (repo, "refs", NULL);
  g_autofree char *blobs = g_build_filename (repo, "blobs", NULL);
  g_autofree char *snap = g_build_filename (repo, "snapshots", commit, NULL);
  g_assert_cmpint (g_mkdir_with_parents (refs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (blobs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (snap, 0755), ==, 0);
  g_autofree char *main_ref = g_build_filename (refs, "main", NULL);
  g_assert_true (g_file_set_contents (main_ref, commit, -1, NULL));
  g_autofree char *sha = sha256_hex (content);
  g_autofree char *blob = g_build_filename (blobs, sha, NULL);
  g_assert_true (g_file_set_contents (blob, g_bytes_get_data (content, NULL),
                                      (gssize) g_bytes_get_size (content), NULL));
  g_autofree char *link = g_build_filename (snap, "model.safetensors", NULL);
  g_autofree char *target = g_strdup_printf ("../../blobs/%s", sha);
  g_assert_cmpint (symlink (target, link), ==, 0);
  return cache;
}

static void
test_hf_cache_reuse (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  g_autofree char *cache = make_hf_cache (f, f->model);
  td_pull_options o = options_for (f);
  o.hf_cache_dir = cache;
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  /* Only sub/weights.bin came from the CDN; model.safetensors is a link. */
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 1);
  g_autofree char *model = component_file (f, "plain", "model.safetensors");
  g_assert_true (g_file_test (model, G_FILE_TEST_IS_SYMLINK));
  assert_file_equals (f, "plain", "model.safetensors", f->model);
  td_verify_result r;
  g_assert_cmpint (td_models_verify_component (f->models, &plain, NULL, NULL, NULL, &r, &err), ==,
                   TD_OK);
  td_test_remove_tree (cache);
  g_free (g_steal_pointer (&cache));
}

static void
test_shard_selection (fixture *f, gconstpointer data)
{
  static const char *const globs[] = { "config.json", "model.safetensors.index.json", NULL };
  static const td_catalog_component sharded = {
    .id = "sharded", .repo = "org/sharded", .revision = "main", .globs = globs,
    .shard_index = "model.safetensors.index.json", .shard_prefix = "vision_model.",
  };
  const char *index_json
      = "{\"metadata\":{\"total_size\":1},\"weight_map\":{"
        "\"language_model.encoder.block.0.weight\":\"model-00002-of-00003.safetensors\","
        "\"vision_model.embeddings.cls\":\"model-00001-of-00003.safetensors\","
        "\"vision_model.encoder.layers.39.mlp.fc2.weight\":\"model-00001-of-00003.safetensors\","
        "\"qformer.layer.0.weight\":\"model-00003-of-00003.safetensors\"}}";
  g_autoptr (GBytes) index = g_bytes_new_static (index_json, strlen (index_json));
  g_autoptr (GBytes) s1 = make_content (40000, 11);
  g_autoptr (GBytes) s2 = make_content (40000, 12);
  g_autoptr (GBytes) s3 = make_content (40000, 13);
  hub_server_add_repo (f->server, "org/sharded", NULL);
  hub_server_add_file (f->server, "org/sharded", "config.json", f->config, false, BODY_NORMAL);
  hub_server_add_file (f->server, "org/sharded", "model.safetensors.index.json", index, false,
                       BODY_NORMAL);
  hub_server_add_file (f->server, "org/sharded", "model-00001-of-00003.safetensors", s1, true,
                       BODY_NORMAL);
  hub_server_add_file (f->server, "org/sharded", "model-00002-of-00003.safetensors", s2, true,
                       BODY_NORMAL);
  hub_server_add_file (f->server, "org/sharded", "model-00003-of-00003.safetensors", s3, true,
                       BODY_NORMAL);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&sharded, &o, &err), ==, TD_OK);
  assert_file_equals (f, "sharded", "model-00001-of-00003.safetensors", s1);
  g_assert_false (exists (f, "sharded", "model-00002-of-00003.safetensors"));
  g_assert_false (exists (f, "sharded", "model-00003-of-00003.safetensors"));
  g_assert_cmpuint (hub_server_cdn_requests (f->server), ==, 1);
  g_assert_cmpint (presence_of (f, &sharded), ==, TD_PRESENCE_PRESENT);
}

static void
test_verify_detects_damage (fixture *f, gconstpointer data)
{
  hub_server_add_repo (f->server, "org/plain", NULL);
  add_plain_files (f, "org/plain", BODY_NORMAL);
  td_pull_options o = options_for (f);
  td_error err = { 0 };
  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);

  /* Same size, one byte changed: only the hash can tell. */
  g_autofree char *model = component_file (f, "plain", "model.safetensors");
  FILE *fp = fopen (model, "r+b");
  g_assert_nonnull (fp);
  fseek (fp, 1000, SEEK_SET);
  fputc (0x5a ^ ((const guint8 *) g_bytes_get_data (f->model, NULL))[1000], fp);
  fclose (fp);
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_PRESENT);

  td_verify_result r;
  g_assert_cmpint (td_models_verify_component (f->models, &plain, NULL, NULL, NULL, &r, &err), ==,
                   TD_ERR_MISMATCH);
  g_assert_cmpuint (r.n_bad, ==, 1);
  g_assert_cmpuint (r.n_ok, ==, 2);
  g_assert_nonnull (strstr (err.message, "model.safetensors"));
  g_assert_false (g_file_test (model, G_FILE_TEST_EXISTS));
  g_assert_cmpint (presence_of (f, &plain), ==, TD_PRESENCE_PARTIAL);

  g_assert_cmpint (td_models_pull_component (&plain, &o, &err), ==, TD_OK);
  assert_file_equals (f, "plain", "model.safetensors", f->model);
}

/* Runs the CLI with a clean environment (no proxy, no token, no keyring
 * lookup for this non-gated bundle); returns the exit status. */
/* interrupt_when: a path; once it exists the CLI gets SIGINT (Ctrl-C). */
static int
run_cli (fixture *f, const char *const *args, const char *interrupt_when, char **err_out)
{
  const char *cli = g_getenv ("TD_CLI");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  for (size_t i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_get_environ ();
  const char *drop[] = { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                         "ALL_PROXY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT" };
  for (size_t i = 0; i < G_N_ELEMENTS (drop); i++)
    env = g_environ_unsetenv (env, drop[i]);
  env = g_environ_setenv (env, "no_proxy", "127.0.0.1,localhost", TRUE);
  env = g_environ_setenv (env, "GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  GPid pid;
  int err_fd;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv->pdata, env,
                                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);
  int status = 0;
  gint64 start = g_get_monotonic_time ();
  bool interrupted = false;
  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);
      if (r == pid)
        break;
      gint64 elapsed_ms = (g_get_monotonic_time () - start) / 1000;
      if (interrupt_when != NULL && !interrupted && g_file_test (interrupt_when, G_FILE_TEST_EXISTS))
        {
          g_usleep (100000);
          kill (pid, SIGINT);
          interrupted = true;
        }
      if (elapsed_ms > 30000)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          g_error ("the CLI did not finish in 30 s");
        }
      g_usleep (10000);
    }
  GString *text = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read (err_fd, buf, sizeof buf)) > 0)
    g_string_append_len (text, buf, n);
  close (err_fd);
  g_spawn_close_pid (pid);
  *err_out = g_string_free (text, FALSE);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static char *
cli_stdout (const char *const *args)
{
  const char *cli = g_getenv ("TD_CLI");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  for (size_t i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  char *out = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                               NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  return out;
}

static void
test_cli_pull_interrupt_resume (fixture *f, gconstpointer data)
{
  if (g_getenv ("TD_CLI") == NULL)
    {
      g_test_skip ("TD_CLI is not set");
      return;
    }
  g_autoptr (GBytes) decoder = make_content (3 << 20, 21);
  g_autoptr (GBytes) encoder = make_content (70000, 22);
  hub_server_add_repo (f->server, "madebyollin/taef1", NULL);
  hub_server_add_file (f->server, "madebyollin/taef1", "taef1_decoder.pth", f->weights, true,
                       BODY_NORMAL);
  hub_server_add_file (f->server, "madebyollin/taef1", "taef1_decoder.safetensors", decoder, true,
                       BODY_SLOW);
  hub_server_add_file (f->server, "madebyollin/taef1", "taef1_encoder.safetensors", encoder, true,
                       BODY_NORMAL);
  const char *endpoint = hub_server_endpoint (f->server);
  const char *pull[] = { "models", "pull", "taef1", "--dir", f->models, "--endpoint", endpoint,
                         "--no-hf-cache", NULL };
  g_autofree char *err1 = NULL;
  g_autofree char *part = component_file (f, "taef1", "taef1_decoder.safetensors.part");
  int rc = run_cli (f, pull, part, &err1);
  g_assert_cmpint (rc, ==, 130); /* cancelled by SIGINT, as the shell reports it */
  g_assert_nonnull (strstr (err1, "cancel"));
  g_assert_true (exists (f, "taef1", "taef1_decoder.safetensors.part"));
  g_assert_false (exists (f, "taef1", "taef1_decoder.safetensors"));

  const char *list[] = { "models", "list", "--dir", f->models, NULL };
  g_autofree char *listing = cli_stdout (list);
  g_assert_nonnull (g_strrstr (listing, "taef1 "));
  g_assert_nonnull (strstr (strstr (listing, "\ntaef1"), "partial"));

  hub_server_set_mode (f->server, "madebyollin/taef1", "taef1_decoder.safetensors", BODY_NORMAL);
  g_autofree char *err2 = NULL;
  rc = run_cli (f, pull, NULL, &err2);
  g_assert_cmpstr (err2, !=, NULL);
  g_assert_cmpint (rc, ==, 0);
  assert_file_equals (f, "taef1", "taef1_decoder.safetensors", decoder);
  assert_file_equals (f, "taef1", "taef1_encoder.safetensors", encoder);
  /* The .pth alternative is not needed when safetensors exist. */
  g_assert_false (exists (f, "taef1", "taef1_decoder.pth"));

  const char *verify[] = { "models", "verify", "--dir", f->models, "taef1", NULL };
  g_autofree char *err3 = NULL;
  g_assert_cmpint (run_cli (f, verify, NULL, &err3), ==, 0);
  g_autofree char *listing2 = cli_stdout (list);
  g_assert_nonnull (strstr (strstr (listing2, "\ntaef1"), "present"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Nothing in these tests may use a proxy or leave 127.0.0.1. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
#define ADD(path, fn) g_test_add (path, fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/net/pull/plain", test_pull_plain);
  ADD ("/net/pull/gated", test_gated);
  ADD ("/net/pull/not-found", test_not_found);
  ADD ("/net/pull/resume-after-drop", test_resume_after_drop);
  ADD ("/net/pull/retry-5xx", test_retry_5xx);
  ADD ("/net/pull/corrupt-body", test_corrupt_body);
  ADD ("/net/pull/cancel-slow", test_cancel_slow);
  ADD ("/net/pull/no-space-hook", test_no_space_hook);
  ADD ("/net/pull/write-fails", test_write_fails_subprocess);
  ADD ("/net/pull/unsafe-listing", test_unsafe_listing);
  ADD ("/net/pull/hf-cache-reuse", test_hf_cache_reuse);
  ADD ("/net/pull/shard-selection", test_shard_selection);
  ADD ("/net/verify/detects-damage", test_verify_detects_damage);
  ADD ("/net/cli/pull-interrupt-resume", test_cli_pull_interrupt_resume);
  return g_test_run ();
}
