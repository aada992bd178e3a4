/* thinkdiff models — list, download and verify model checkpoints. */
#include "cli.h"

#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#define DEFAULT_ENDPOINT "https://huggingface.co"

static void
print_models_usage (FILE *out)
{
  fprintf (out,
           "Usage: thinkdiff models list [--dir DIR]\n"
           "       thinkdiff models pull BUNDLE [--dir DIR] [--endpoint URL] [--token-stdin]\n"
           "                             [--no-hf-cache]\n"
           "       thinkdiff models verify [--dir DIR] [BUNDLE…]\n"
           "       thinkdiff models login [--endpoint URL]   (reads a token from stdin)\n"
           "       thinkdiff models logout [--endpoint URL]\n\n"
           "Bundles:\n");
  for (const td_catalog_bundle *const *b = td_catalog_bundles (); *b != NULL; b++)
    fprintf (out, "  %-13s %s\n", td_bundle_id (*b), td_bundle_summary (*b));
  fprintf (out,
           "\nDIR defaults to $THINKDIFF_MODELS_DIR or ~/.local/share/thinkdiff/models.\n"
           "The endpoint defaults to $HF_ENDPOINT or %s. Tokens come from --token-stdin,\n"
           "$HF_TOKEN, or the keyring ('models login'). Files huggingface_hub already\n"
           "cached ($HF_HUB_CACHE, $HF_HOME) are linked instead of downloaded.\n",
           DEFAULT_ENDPOINT);
}

typedef struct {
  char *dir;
  char *endpoint;
  gboolean token_stdin;
  gboolean no_hf_cache;
  char **rest;
} models_args;

static void
models_args_clear (models_args *a)
{
  g_free (a->dir);
  g_free (a->endpoint);
  g_strfreev (a->rest);
}

static bool
parse_args (int argc, char **argv, models_args *a, td_error *err)
{
  GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &a->dir, "Models folder", "DIR" },
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &a->endpoint, "Hub endpoint URL", "URL" },
    { "token-stdin", 0, 0, G_OPTION_ARG_NONE, &a->token_stdin, "Read the token from stdin", NULL },
    { "no-hf-cache", 0, 0, G_OPTION_ARG_NONE, &a->no_hf_cache, "Ignore the HF cache", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &a->rest, NULL, "ARGS" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_help_enabled (ctx, FALSE);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "models: %s", error->message);
      return false;
    }
  if (a->dir == NULL)
    a->dir = td_models_default_dir ();
  return true;
}

static void
format_bytes (char *buf, size_t n, uint64_t bytes)
{
  if (bytes >= 1000000000)
    g_snprintf (buf, n, "%.2f GB", (double) bytes / 1e9);
  else if (bytes >= 1000000)
    g_snprintf (buf, n, "%.1f MB", (double) bytes / 1e6);
  else
    g_snprintf (buf, n, "%.1f kB", (double) bytes / 1e3);
}

static int
models_list (const models_args *a)
{
  printf ("Models folder: %s\n", a->dir);
  for (const td_catalog_bundle *const *b = td_catalog_bundles (); *b != NULL; b++)
    {
      printf ("\n%s — %s\n", td_bundle_id (*b), td_bundle_summary (*b));
      for (const td_catalog_component *const *c = td_bundle_components (*b); *c != NULL; c++)
        {
          const char *id = td_component_id (*c);
          td_component_state s;
          td_error err;
          if (td_models_component_state (a->dir, *c, &s, &err) != TD_OK)
            {
              printf ("  %-22s error: %s\n", id, err.message);
              continue;
            }
          char have[32], want[32];
          format_bytes (have, sizeof have, s.bytes_present);
          format_bytes (want, sizeof want, s.bytes_expected);
          if (s.has_manifest)
            printf ("  %-22s %-8s %10s of %-10s (%zu/%zu files%s)\n", id,
                    td_presence_name (s.presence), have, want, s.n_present, s.n_files,
                    s.n_partial ? ", some partial" : "");
          else
            printf ("  %-22s %-8s %10s of ~%s\n", id, td_presence_name (s.presence),
                    s.presence == TD_PRESENCE_MISSING ? "-" : "?", want);
        }
    }
  return 0;
}

static void
print_verify_progress (const char *path, uint64_t done, uint64_t total, void *user_data)
{
  static gint64 last;
  gint64 now = g_get_monotonic_time ();
  if (now - last < 250000 && done != total)
    return;
  last = now;
  fprintf (stderr, "\r  checking %s  %3.0f%%\033[K", path,
           total ? 100.0 * (double) done / (double) total : 100.0);
}

static int
models_verify (const models_args *a)
{
  int bad = 0;
  bool isatty_err = isatty (STDERR_FILENO);
  for (const td_catalog_bundle *const *b = td_catalog_bundles (); *b != NULL; b++)
    {
      bool wanted = a->rest == NULL || a->rest[0] == NULL;
      for (size_t i = 0; a->rest != NULL && a->rest[i] != NULL; i++)
        wanted |= strcmp (a->rest[i], td_bundle_id (*b)) == 0;
      if (!wanted)
        continue;
      for (const td_catalog_component *const *c = td_bundle_components (*b); *c != NULL; c++)
        {
          const char *id = td_component_id (*c);
          td_check_counts r;
          td_error err = { 0 };
          td_status st = td_models_check (a->dir, *c, isatty_err ? print_verify_progress : NULL, NULL, NULL, &r,
                                          &err);
          if (isatty_err)
            fprintf (stderr, "\r\033[K");
          if (st == TD_OK)
            printf ("%-22s ok (%zu files)\n", id, r.n_ok);
          else if (st == TD_ERR_NOT_FOUND && r.n_ok == 0 && r.n_bad == 0 && r.n_missing == 0)
            printf ("%-22s not downloaded\n", id);
          else
            {
              bad++;
              printf ("%-22s FAILED: %zu ok, %zu bad, %zu missing — %s\n", id, r.n_ok,
                      r.n_bad, r.n_missing, err.message);
            }
        }
    }
  return bad ? 1 : 0;
}

/* First line of stdin, stripped; NULL when empty. */
static char *
read_token_from_stdin (void)
{
  char buf[TD_TOKEN_MAX_LEN + 4];
  if (fgets (buf, sizeof buf, stdin) == NULL)
    return NULL;
  g_strstrip (buf);
  char *token = buf[0] ? g_strdup (buf) : NULL;
  memset (buf, 0, sizeof buf);
  return token;
}

static char *
endpoint_host (const char *endpoint)
{
  const char *e = endpoint;
  if (e == NULL || e[0] == '\0')
    e = g_getenv ("HF_ENDPOINT");
  if (e == NULL || e[0] == '\0')
    e = DEFAULT_ENDPOINT;
  g_autoptr (GUri) uri = g_uri_parse (e, G_URI_FLAGS_NONE, NULL);
  return uri && g_uri_get_host (uri) ? g_strdup (g_uri_get_host (uri)) : NULL;
}

static int
models_login (const models_args *a, bool logout)
{
  td_error err;
  g_autofree char *host = endpoint_host (a->endpoint);
  if (host == NULL)
    {
      td_error_set (&err, TD_ERR_INVALID_ARG, "models: invalid endpoint");
      return td_cli_fail (&err);
    }
  td_token_store *store = td_token_store_new_keyring (&err);
  if (store == NULL)
    return td_cli_fail (&err);
  td_status st;
  if (logout)
    st = td_token_store_clear (store, host, &err);
  else
    {
      if (isatty (STDIN_FILENO))
        fprintf (stderr, "Paste an access token for %s and press Enter: ", host);
      g_autofree char *token = read_token_from_stdin ();
      st = token ? td_token_store_save (store, host, token, &err)
                 : td_error_set (&err, TD_ERR_INVALID_ARG, "models login: no token on stdin");
      if (token)
        memset (token, 0, strlen (token));
    }
  td_token_store_free (store);
  if (st != TD_OK)
    return td_cli_fail (&err);
  printf ("%s the token for %s in the keyring\n", logout ? "Removed" : "Stored", host);
  return 0;
}

typedef struct {
  const char *bundle;
  td_pull_settings settings;
  volatile int cancel;
  td_error err;
  td_status status;
  GMainLoop *loop;
  bool tty;
} pull_job;

static void
print_pull_progress (const td_pull_progress *p, void *user_data)
{
  pull_job *job = user_data;
  char done[32], total[32];
  format_bytes (done, sizeof done, p->done);
  format_bytes (total, sizeof total, p->total);
  switch (p->stage)
    {
    case TD_PULL_LISTING:
      fprintf (stderr, "%s: listing %s…\n", p->component, p->repo);
      return;
    case TD_PULL_LINKED:
      fprintf (stderr, "%s%s: %s (from the Hugging Face cache)\n", job->tty ? "\r\033[K" : "",
               p->component, p->path);
      return;
    case TD_PULL_DONE:
      fprintf (stderr, "%s%s: complete\n", job->tty ? "\r\033[K" : "", p->component);
      return;
    case TD_PULL_DOWNLOADING:
      break;
    }
  char rate[32] = "", eta[32] = "";
  if (p->rate > 0)
    {
      format_bytes (rate, sizeof rate, (uint64_t) p->rate);
      strcat (rate, "/s");
    }
  if (p->eta_s >= 0)
    g_snprintf (eta, sizeof eta, "ETA %um%02us", (unsigned) (p->eta_s / 60),
                (unsigned) p->eta_s % 60);
  if (job->tty)
    fprintf (stderr, "\r\033[K%s: %s  %s / %s  %s  %s", p->component, p->path, done, total, rate,
             eta);
  else if (p->file_done == p->file_total)
    fprintf (stderr, "%s: %s done (%s / %s)\n", p->component, p->path, done, total);
}

static gpointer
pull_thread (gpointer data)
{
  pull_job *job = data;
  job->status = td_models_pull (job->bundle, &job->settings, &job->err);
  g_main_loop_quit (job->loop);
  return NULL;
}

static gboolean
on_interrupt (gpointer data)
{
  pull_job *job = data;
  if (job->tty)
    fprintf (stderr, "\n");
  fprintf (stderr, "thinkdiff: cancelling (partial files are kept and resume next time)…\n");
  job->cancel = 1;
  return G_SOURCE_CONTINUE;
}

static char *
find_token (const models_args *a, const td_catalog_bundle *b, td_error *err, bool *failed)
{
  *failed = false;
  if (a->token_stdin)
    {
      char *token = read_token_from_stdin ();
      if (token == NULL)
        {
          td_error_set (err, TD_ERR_INVALID_ARG, "models pull: --token-stdin but stdin is empty");
          *failed = true;
        }
      return token;
    }
  const char *env = g_getenv ("HF_TOKEN");
  if (env == NULL || env[0] == '\0')
    env = g_getenv ("HUGGING_FACE_HUB_TOKEN");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  if (!td_bundle_gated (b))
    return NULL;
  /* Only gated repositories need the keyring; an unreachable one is not fatal. */
  g_autofree char *host = endpoint_host (a->endpoint);
  td_error local;
  td_token_store *store = host ? td_token_store_new_keyring (&local) : NULL;
  char *token = NULL;
  if (store != NULL && td_token_store_lookup (store, host, &token, &local) != TD_OK)
    fprintf (stderr, "thinkdiff: no token from the keyring (%s); continuing without one\n",
             local.message);
  td_token_store_free (store);
  return token;
}

static int
models_pull (const models_args *a)
{
  td_error err;
  if (a->rest == NULL || a->rest[0] == NULL || a->rest[1] != NULL)
    {
      print_models_usage (stderr);
      return 2;
    }
  if (!td_models_can_pull ())
    {
      td_error_set (&err, TD_ERR_UNSUPPORTED, "models pull: this build has no HTTP client (libsoup 3)");
      return td_cli_fail (&err);
    }
  const td_catalog_bundle *b = td_catalog_find_bundle (a->rest[0]);
  if (b == NULL)
    {
      td_error_set (&err, TD_ERR_NOT_FOUND, "models pull: unknown bundle '%s'", a->rest[0]);
      return td_cli_fail (&err);
    }
  bool failed;
  g_autofree char *token = find_token (a, b, &err, &failed);
  if (failed)
    return td_cli_fail (&err);

  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  pull_job job = {
    .bundle = td_bundle_id (b),
    .loop = loop,
    .tty = isatty (STDERR_FILENO),
  };
  job.settings = (td_pull_settings) {
    .models_dir = a->dir,
    .endpoint = a->endpoint,
    .token = token,
    .hf_cache_dir = a->no_hf_cache ? "" : NULL,
    .progress = print_pull_progress,
    .user = &job,
    .cancel = &job.cancel,
  };
  guint sigint = g_unix_signal_add (SIGINT, on_interrupt, &job);
  guint sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &job);
  GThread *thread = g_thread_new ("models-pull", pull_thread, &job);
  g_main_loop_run (loop);
  g_thread_join (thread);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  if (token != NULL)
    memset (token, 0, strlen (token));
  if (job.tty)
    fprintf (stderr, "\r\033[K");
  if (job.status != TD_OK)
    return td_cli_fail (&job.err);
  printf ("%s: all files present in %s\n", td_bundle_id (b), a->dir);
  return 0;
}

int
td_cli_models (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_models_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  const char *sub = argv[1];
  for (int i = 2; i < argc; i++)
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
      {
        print_models_usage (stdout);
        return 0;
      }
  models_args a = { 0 };
  td_error err;
  if (!parse_args (argc - 1, argv + 1, &a, &err))
    {
      models_args_clear (&a);
      return td_cli_fail (&err);
    }
  int rc;
  if (strcmp (sub, "list") == 0)
    rc = models_list (&a);
  else if (strcmp (sub, "pull") == 0)
    rc = models_pull (&a);
  else if (strcmp (sub, "verify") == 0)
    rc = models_verify (&a);
  else if (strcmp (sub, "login") == 0 || strcmp (sub, "logout") == 0)
    rc = models_login (&a, strcmp (sub, "logout") == 0);
  else
    {
      fprintf (stderr, "thinkdiff models: unknown subcommand '%s'\n", sub);
      print_models_usage (stderr);
      rc = 2;
    }
  models_args_clear (&a);
  return rc;
}
