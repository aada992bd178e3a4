/* api_models.c — bundles, on-disk checks and downloads for the public API,
 * with a cancel flag where the internals take a GCancellable. */
#include "thinkdiff.h"

#include <gio/gio.h>

#include "net/catalog.h"
#include "net/model_store.h"
#ifdef TD_HAVE_SOUP
#include "net/pull.h"
#endif

const char *
td_bundle_id (const td_catalog_bundle *bundle)
{
  return bundle->id;
}

const char *
td_bundle_summary (const td_catalog_bundle *bundle)
{
  return bundle->summary;
}

const td_catalog_component *const *
td_bundle_components (const td_catalog_bundle *bundle)
{
  return bundle->components;
}

bool
td_bundle_gated (const td_catalog_bundle *bundle)
{
  for (size_t i = 0; bundle->components[i] != NULL; i++)
    if (bundle->components[i]->gated)
      return true;
  return false;
}

const char *
td_component_id (const td_catalog_component *component)
{
  return component->id;
}

const char *
td_component_title (const td_catalog_component *component)
{
  return component->title;
}

const char *
td_component_repo (const td_catalog_component *component)
{
  return component->repo;
}

bool
td_component_gated (const td_catalog_component *component)
{
  return component->gated;
}

/* A thread that turns the caller's cancel flag into a GCancellable. */
typedef struct {
  const volatile int *flag;
  GCancellable *cancellable;
  volatile int done;
  GThread *thread;
} cancel_watch;

static gpointer
watch_flag (gpointer data)
{
  cancel_watch *w = data;
  while (!w->done)
    {
      if (*w->flag)
        {
          g_cancellable_cancel (w->cancellable);
          break;
        }
      g_usleep (50 * 1000);
    }
  return NULL;
}

static void
cancel_watch_start (cancel_watch *w, const volatile int *flag)
{
  *w = (cancel_watch) { .flag = flag, .cancellable = g_cancellable_new () };
  if (flag != NULL)
    w->thread = g_thread_new ("td-cancel-watch", watch_flag, w);
}

static void
cancel_watch_stop (cancel_watch *w)
{
  w->done = 1;
  if (w->thread != NULL)
    g_thread_join (w->thread);
  g_object_unref (w->cancellable);
}

td_status
td_models_check (const char *models_dir, const td_catalog_component *component, td_check_progress_fn progress,
                 void *user, const volatile int *cancel, td_check_counts *out, td_error *err)
{
  cancel_watch watch;
  td_verify_result counts = { 0 };
  cancel_watch_start (&watch, cancel);
  td_status st = td_models_verify_component (models_dir, component, watch.cancellable, progress, user, &counts,
                                             err);
  cancel_watch_stop (&watch);
  *out = (td_check_counts) { counts.n_ok, counts.n_bad, counts.n_missing };
  return st;
}

bool
td_models_can_pull (void)
{
#ifdef TD_HAVE_SOUP
  return true;
#else
  return false;
#endif
}

td_status
td_models_pull (const char *bundle_id, const td_pull_settings *settings, td_error *err)
{
#ifdef TD_HAVE_SOUP
  cancel_watch watch;
  cancel_watch_start (&watch, settings->cancel);
  td_pull_options options = {
    .models_dir = settings->models_dir,
    .endpoint = settings->endpoint,
    .token = settings->token,
    .hf_cache_dir = settings->hf_cache_dir,
    .progress = settings->progress,
    .progress_data = settings->user,
    .cancellable = watch.cancellable,
  };
  td_status st = td_models_pull_bundle (bundle_id, &options, err);
  cancel_watch_stop (&watch);
  return st;
#else
  return td_error_set (err, TD_ERR_UNSUPPORTED, "models pull: this build has no HTTP client (libsoup 3)");
#endif
}
