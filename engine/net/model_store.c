#include "net/model_store.h"
#include "core/error_optional.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "net/manifest.h"
#include "net/repo_path.h"

char *
td_models_default_dir (void)
{
  const char *env = g_getenv ("THINKDIFF_MODELS_DIR");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "thinkdiff", "models", NULL);
}

char *
td_models_component_dir (const char *models_dir, const td_catalog_component *c)
{
  return g_build_filename (models_dir, c->id, NULL);
}

char *
td_models_file_path (const char *component_dir, const char *repo_path)
{
  g_return_val_if_fail (td_repo_path_is_safe (repo_path), NULL);
  return g_build_filename (component_dir, repo_path, NULL);
}

char *
td_models_part_path (const char *file_path)
{
  return g_strconcat (file_path, ".part", NULL);
}

const char *
td_presence_name (td_presence presence)
{
  switch (presence)
    {
    case TD_PRESENCE_PRESENT:
      return "present";
    case TD_PRESENCE_PARTIAL:
      return "partial";
    case TD_PRESENCE_MISSING:
    default:
      return "missing";
    }
}

/* Size of a path (following symlinks), or -1 when it is not a regular file. */
static int64_t
regular_file_size (const char *path)
{
  struct stat st;
  if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return -1;
  return (int64_t) st.st_size;
}

static bool
dir_has_entries (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  return dir != NULL && g_dir_read_name (dir) != NULL;
}

td_status
td_models_component_state (const char *models_dir, const td_catalog_component *c,
                           td_component_state *out, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (out, 0, sizeof *out);
  g_autofree char *dir = td_models_component_dir (models_dir, c);
  g_autofree char *manifest_path = g_build_filename (dir, TD_MANIFEST_NAME, NULL);
  td_manifest m;
  td_error local;
  td_status st = td_manifest_load (&m, manifest_path, &local);
  if (st == TD_ERR_NOT_FOUND)
    {
      out->bytes_expected = c->approx_bytes;
      out->presence = dir_has_entries (dir) ? TD_PRESENCE_PARTIAL : TD_PRESENCE_MISSING;
      return TD_OK;
    }
  if (st != TD_OK)
    {
      *err = local;
      return st;
    }
  out->has_manifest = true;
  out->n_files = m.files.n_files;
  for (size_t i = 0; i < m.files.n_files; i++)
    {
      const td_hub_file *f = &m.files.files[i];
      out->bytes_expected += f->size;
      g_autofree char *path = td_models_file_path (dir, f->path);
      g_autofree char *part = td_models_part_path (path);
      int64_t size = regular_file_size (path);
      int64_t part_size = regular_file_size (part);
      if (size >= 0 && (uint64_t) size == f->size)
        {
          out->n_present++;
          out->bytes_present += f->size;
        }
      else if (size >= 0 || part_size >= 0)
        {
          out->n_partial++;
          out->bytes_present += (uint64_t) MAX (part_size, 0);
        }
    }
  if (out->n_present == out->n_files && out->n_files > 0)
    out->presence = TD_PRESENCE_PRESENT;
  else if (out->n_present > 0 || out->n_partial > 0)
    out->presence = TD_PRESENCE_PARTIAL;
  else
    out->presence = TD_PRESENCE_MISSING;
  td_manifest_clear (&m);
  return TD_OK;
}

typedef struct {
  td_verify_progress_fn fn;
  void *user_data;
  const char *path;
  uint64_t total;
} verify_progress;

static void
forward_progress (uint64_t done, void *user_data)
{
  verify_progress *vp = user_data;
  vp->fn (vp->path, done, vp->total, vp->user_data);
}

td_status
td_models_verify_component (const char *models_dir, const td_catalog_component *c,
                            GCancellable *cancellable, td_verify_progress_fn progress,
                            void *user_data, td_verify_result *out, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (out, 0, sizeof *out);
  g_autofree char *dir = td_models_component_dir (models_dir, c);
  g_autofree char *manifest_path = g_build_filename (dir, TD_MANIFEST_NAME, NULL);
  td_manifest m;
  td_status st = td_manifest_load (&m, manifest_path, err);
  if (st == TD_ERR_NOT_FOUND)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: not downloaded (no manifest)", c->id);
  if (st != TD_OK)
    return st;

  td_status result = TD_OK;
  td_error first_bad = { 0 };
  for (size_t i = 0; i < m.files.n_files && result != TD_ERR_CANCELLED; i++)
    {
      const td_hub_file *f = &m.files.files[i];
      g_autofree char *path = td_models_file_path (dir, f->path);
      if (regular_file_size (path) < 0)
        {
          out->n_missing++;
          if (result == TD_OK)
            result = td_error_set (&first_bad, TD_ERR_NOT_FOUND, "%s: missing", path);
          continue;
        }
      verify_progress vp = { progress, user_data, f->path, f->size };
      td_error e;
      st = td_file_verify (path, f, cancellable, progress ? forward_progress : NULL, &vp, &e);
      if (st == TD_OK)
        out->n_ok++;
      else if (st == TD_ERR_CANCELLED)
        {
          first_bad = e;
          result = st;
        }
      else
        {
          out->n_bad++;
          /* Only our own link or copy goes: a link's target in the HF cache stays. */
          g_unlink (path);
          if (result != TD_ERR_MISMATCH)
            {
              result = st == TD_ERR_MISMATCH ? st : TD_ERR_MISMATCH;
              td_error_set (&first_bad, result, "%s (removed; pull again to re-download)",
                            e.message);
            }
        }
    }
  td_manifest_clear (&m);
  if (result != TD_OK && err != NULL)
    *err = first_bad;
  return result;
}
