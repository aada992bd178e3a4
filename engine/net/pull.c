#include "net/pull.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file_read.h"
#include "net/download.h"
#include "net/file_hash.h"
#include "net/hf_cache.h"
#include "net/hub_client.h"
#include "net/manifest.h"
#include "net/model_store.h"
#include "net/repo_path.h"
#include "net/shard_index.h"

#define SHARD_INDEX_READ_MAX TD_SHARD_INDEX_MAX_BYTES

typedef enum { ACTION_KEEP, ACTION_LINK, ACTION_DOWNLOAD } file_action;

typedef struct {
  const td_hub_file *file;
  file_action action;
  char *dest;
  char *cache_path;       /* ACTION_LINK: the blob */
  bool cache_trusted;     /* its name is its digest */
} planned_file;

typedef struct {
  const td_pull_options *o;
  const td_catalog_component *c;
  td_pull_progress p;
  uint64_t file_base;     /* bytes of earlier files in this component */
  gint64 last_report_us;
  gint64 rate_mark_us;
  uint64_t rate_mark_bytes;
} pull_state;

uint64_t
td_free_space_of (const char *dir, void *user_data)
{
  g_autoptr (GFile) file = g_file_new_for_path (dir);
  g_autoptr (GFileInfo) info
      = g_file_query_filesystem_info (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  if (info == NULL || !g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    return UINT64_MAX;
  return g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
}

static void
emit (pull_state *s, bool force)
{
  if (s->o->progress == NULL)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!force && now - s->last_report_us < 200000)
    return;
  s->last_report_us = now;
  s->o->progress (&s->p, s->o->progress_data);
}

static void
on_file_progress (uint64_t file_done, void *user_data)
{
  pull_state *s = user_data;
  s->p.file_done = file_done;
  s->p.done = s->file_base + file_done;
  gint64 now = g_get_monotonic_time ();
  if (s->rate_mark_us == 0 || s->p.done < s->rate_mark_bytes)
    {
      s->rate_mark_us = now;
      s->rate_mark_bytes = s->p.done;
    }
  else if (now - s->rate_mark_us >= 500000)
    {
      /* Exponential smoothing over half-second windows. */
      double inst = (double) (s->p.done - s->rate_mark_bytes) * 1e6 / (double) (now - s->rate_mark_us);
      s->p.rate = s->p.rate > 0 ? 0.7 * s->p.rate + 0.3 * inst : inst;
      s->rate_mark_us = now;
      s->rate_mark_bytes = s->p.done;
    }
  s->p.eta_s = s->p.rate > 0 ? (double) (s->p.total - MIN (s->p.done, s->p.total)) / s->p.rate
                             : -1.0;
  emit (s, false);
}

static int64_t
regular_size (const char *path)
{
  struct stat st;
  if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return -1;
  return (int64_t) st.st_size;
}

/* Links dest to a blob of the Hugging Face cache (via a temporary name, so a
 * half-made link never carries the final name). */
static td_status
link_from_cache (const planned_file *pf, GCancellable *cancellable, td_error *err)
{
  if (!pf->cache_trusted)
    {
      td_status st = td_file_verify (pf->cache_path, pf->file, cancellable, NULL, NULL, err);
      if (st != TD_OK)
        return st;
    }
  g_autofree char *dir = g_path_get_dirname (pf->dest);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create folder: %s", dir, g_strerror (errno));
  g_autofree char *tmp = td_models_part_path (pf->dest);
  g_unlink (tmp);
  if (symlink (pf->cache_path, tmp) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot link: %s", tmp, g_strerror (errno));
  if (g_rename (tmp, pf->dest) != 0)
    {
      g_unlink (tmp);
      return td_error_set (err, TD_ERR_IO, "%s: cannot link: %s", pf->dest, g_strerror (errno));
    }
  return TD_OK;
}

static void
plan_file (const pull_state *s, const char *component_dir, const char *cache_dir,
           planned_file *pf)
{
  pf->dest = td_models_file_path (component_dir, pf->file->path);
  if (regular_size (pf->dest) == (int64_t) pf->file->size)
    {
      pf->action = ACTION_KEEP;
      return;
    }
  pf->action = ACTION_DOWNLOAD;
  if (cache_dir != NULL && cache_dir[0] != '\0')
    {
      td_error ignored;
      if (td_hf_cache_find (cache_dir, s->c->repo, s->c->revision, pf->file, &pf->cache_path,
                            &pf->cache_trusted, &ignored) == TD_OK)
        pf->action = ACTION_LINK;
    }
}

/* Bytes the downloads still need (a part's bytes count as done). */
static uint64_t
bytes_needed (const planned_file *pf)
{
  if (pf->action != ACTION_DOWNLOAD)
    return 0;
  g_autofree char *part = td_models_part_path (pf->dest);
  int64_t have = regular_size (part);
  if (have < 0 || (uint64_t) have > pf->file->size)
    have = 0;
  return pf->file->size - (uint64_t) have;
}

static td_status
fetch_one (pull_state *s, td_hub_client *client, planned_file *pf, td_error *err)
{
  s->p.path = pf->file->path;
  s->p.file_total = pf->file->size;
  s->p.file_done = 0;
  td_status st = TD_OK;
  if (pf->action == ACTION_LINK)
    {
      st = link_from_cache (pf, s->o->cancellable, err);
      if (st == TD_OK)
        {
          s->p.stage = TD_PULL_LINKED;
          emit (s, true);
          return TD_OK;
        }
      if (st == TD_ERR_CANCELLED)
        return st;
      pf->action = ACTION_DOWNLOAD;  /* the cached copy was bad: fetch it */
    }
  if (pf->action == ACTION_DOWNLOAD)
    {
      s->p.stage = TD_PULL_DOWNLOADING;
      td_download_options dopts = { s->o->max_retries, on_file_progress, s };
      st = td_hub_download (client, s->c->repo, s->c->revision, pf->file, pf->dest, &dopts,
                            s->o->cancellable, err);
      s->file_base += pf->file->size;
      emit (s, true);
    }
  return st;
}

/* Downloads the shard index (it is among the glob matches) and adds the
 * shards that hold the component's tensors to `selected`. */
static td_status
add_shards (pull_state *s, td_hub_client *client, const char *component_dir,
            const td_hub_listing *listing, GPtrArray *selected, td_error *err)
{
  const td_hub_file *index = td_hub_listing_find (listing, s->c->shard_index);
  if (index == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: %s has no %s", s->c->id, s->c->repo,
                         s->c->shard_index);
  if (index->size > SHARD_INDEX_READ_MAX)
    return td_error_set (err, TD_ERR_LIMIT, "%s: %s is too large", s->c->id, index->path);
  planned_file pf = { .file = index };
  plan_file (s, component_dir, s->o->hf_cache_dir, &pf);
  td_status st = fetch_one (s, client, &pf, err);
  if (st == TD_OK)
    {
      g_autofree char *json = NULL;
      size_t len = 0;
      st = td_file_read_bounded (pf.dest, "shard index", SHARD_INDEX_READ_MAX, &json, &len, err);
      if (st == TD_OK)
        {
          g_autoptr (GPtrArray) shards = g_ptr_array_new_with_free_func (g_free);
          st = td_shard_index_select (json, len, s->c->shard_prefix, pf.dest, shards, err);
          for (guint i = 0; st == TD_OK && i < shards->len; i++)
            {
              const td_hub_file *f = td_hub_listing_find (listing, g_ptr_array_index (shards, i));
              if (f == NULL)
                st = td_error_set (err, TD_ERR_NOT_FOUND, "%s: shard %s is not in %s", s->c->id,
                                   (char *) g_ptr_array_index (shards, i), s->c->repo);
              else if (!g_ptr_array_find (selected, f, NULL))
                g_ptr_array_add (selected, (gpointer) f);
            }
        }
    }
  g_free (pf.dest);
  g_free (pf.cache_path);
  return st;
}

static td_status
write_manifest (const td_catalog_component *c, const char *component_dir, GPtrArray *selected,
                td_error *err)
{
  td_manifest m = {
    .component = (char *) c->id,
    .repo = (char *) c->repo,
    .revision = (char *) c->revision,
  };
  td_status st = TD_OK;
  for (guint i = 0; st == TD_OK && i < selected->len; i++)
    st = td_hub_listing_add (&m.files, g_ptr_array_index (selected, i), c->id, err);
  g_autofree char *path = g_build_filename (component_dir, TD_MANIFEST_NAME, NULL);
  if (st == TD_OK)
    st = td_manifest_save (&m, path, err);
  td_hub_listing_clear (&m.files);
  return st;
}

static td_status
check_space (pull_state *s, const char *component_dir, uint64_t needed, td_error *err)
{
  td_free_space_fn fn = s->o->free_space ? s->o->free_space : td_free_space_of;
  uint64_t free_bytes = fn (component_dir, s->o->free_space ? s->o->free_space_data : NULL);
  if (free_bytes == UINT64_MAX || needed == 0)
    return TD_OK;
  if (free_bytes < needed + TD_PULL_SPACE_MARGIN)
    return td_error_set (err, TD_ERR_IO,
                         "%s: not enough free space in %s: the download needs %.2f GB "
                         "(+%.2f GB reserve), %.2f GB are free",
                         s->c->id, component_dir, (double) needed / 1e9,
                         (double) TD_PULL_SPACE_MARGIN / 1e9, (double) free_bytes / 1e9);
  return TD_OK;
}

static td_status
pull_selected (pull_state *s, td_hub_client *client, const char *component_dir,
               GPtrArray *selected, td_error *err)
{
  const char *cache_dir = s->o->hf_cache_dir;
  g_autofree char *default_cache = cache_dir == NULL ? td_hf_cache_dir () : NULL;
  if (cache_dir == NULL)
    cache_dir = default_cache;
  planned_file *plan = g_new0 (planned_file, selected->len + 1);
  uint64_t needed = 0;
  for (guint i = 0; i < selected->len; i++)
    {
      plan[i].file = g_ptr_array_index (selected, i);
      plan_file (s, component_dir, cache_dir, &plan[i]);
      needed += bytes_needed (&plan[i]);
      if (plan[i].action == ACTION_DOWNLOAD)
        s->p.total += plan[i].file->size;
    }
  td_status st = check_space (s, component_dir, needed, err);
  for (guint i = 0; st == TD_OK && i < selected->len; i++)
    if (plan[i].action != ACTION_KEEP)
      st = fetch_one (s, client, &plan[i], err);
  for (guint i = 0; i < selected->len; i++)
    {
      g_free (plan[i].dest);
      g_free (plan[i].cache_path);
    }
  g_free (plan);
  return st;
}

td_status
td_models_pull_component (const td_catalog_component *c, const td_pull_options *o, td_error *err)
{
  if (o->models_dir == NULL || o->models_dir[0] == '\0')
    return td_error_set (err, TD_ERR_INVALID_ARG, "no models folder given");
  if (!td_repo_id_is_valid (c->repo) || !td_repo_revision_is_valid (c->revision)
      || !td_repo_path_is_safe (c->id) || strchr (c->id, '/') != NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: invalid catalogue entry", c->id);
  g_autofree char *component_dir = td_models_component_dir (o->models_dir, c);
  if (g_mkdir_with_parents (component_dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create folder: %s", component_dir,
                         g_strerror (errno));

  pull_state s = { .o = o, .c = c };
  s.p.component = c->id;
  s.p.repo = c->repo;
  s.p.eta_s = -1;
  s.p.stage = TD_PULL_LISTING;
  emit (&s, true);

  td_hub_client_options copts = {
    .endpoint = o->endpoint,
    .token = o->token,
    .timeout_s = o->timeout_s,
    .no_proxy = o->no_proxy,
    .retry_base_ms = o->retry_base_ms,
  };
  td_hub_client *client = td_hub_client_new (&copts, err);
  if (client == NULL)
    return err ? err->status : TD_ERR_INVALID_ARG;
  td_hub_listing listing = { 0 };
  g_autoptr (GPtrArray) selected = g_ptr_array_new ();
  unsigned retries = o->max_retries ? o->max_retries : 5;
  td_status st = td_hub_client_list (client, c->repo, c->revision, retries, &listing,
                                     o->cancellable, err);
  if (st == TD_OK)
    st = td_catalog_select (c, &listing, selected, err);
  if (st == TD_OK && c->shard_index != NULL)
    st = add_shards (&s, client, component_dir, &listing, selected, err);
  if (st == TD_OK)
    st = write_manifest (c, component_dir, selected, err);
  if (st == TD_OK)
    st = pull_selected (&s, client, component_dir, selected, err);
  if (st == TD_OK)
    {
      s.p.stage = TD_PULL_DONE;
      s.p.path = NULL;
      emit (&s, true);
    }
  td_hub_listing_clear (&listing);
  td_hub_client_free (client);
  return st;
}

td_status
td_models_pull_bundle (const char *bundle_id, const td_pull_options *o, td_error *err)
{
  const td_catalog_bundle *b = td_catalog_find_bundle (bundle_id);
  if (b == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "unknown bundle '%s'", bundle_id);
  for (size_t i = 0; b->components[i] != NULL; i++)
    {
      td_status st = td_models_pull_component (b->components[i], o, err);
      if (st != TD_OK)
        return st;
    }
  return TD_OK;
}
