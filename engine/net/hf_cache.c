#include "net/hf_cache.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file_read.h"
#include "net/repo_path.h"

char *
td_hf_cache_dir (void)
{
  const char *dir = g_getenv ("HF_HUB_CACHE");
  if (dir == NULL || dir[0] == '\0')
    dir = g_getenv ("HUGGINGFACE_HUB_CACHE");
  if (dir != NULL && dir[0] != '\0')
    return g_strdup (dir);
  const char *home = g_getenv ("HF_HOME");
  if (home != NULL && home[0] != '\0')
    return g_build_filename (home, "hub", NULL);
  /* In the Flatpak sandbox $XDG_CACHE_HOME is the app's own cache; the host's
   * (granted read-only: --filesystem=xdg-cache/huggingface:ro) keeps its path. */
  const char *flatpak_id = g_getenv ("FLATPAK_ID");
  if (flatpak_id != NULL && flatpak_id[0] != '\0')
    {
      const char *host_cache = g_getenv ("HOST_XDG_CACHE_HOME");
      if (host_cache != NULL && g_path_is_absolute (host_cache))
        return g_build_filename (host_cache, "huggingface", "hub", NULL);
      return g_build_filename (g_get_home_dir (), ".cache", "huggingface", "hub", NULL);
    }
  return g_build_filename (g_get_user_cache_dir (), "huggingface", "hub", NULL);
}

/* The commit a revision points at: the revision itself when it is a commit
 * id, else the content of refs/<revision>. */
static char *
resolve_commit (const char *repo_cache, const char *revision)
{
  if (td_is_hex_digest (revision, 40))
    return g_ascii_strdown (revision, -1);
  g_autofree char *ref_path = g_build_filename (repo_cache, "refs", revision, NULL);
  g_autofree char *text = NULL;
  size_t len = 0;
  if (td_file_read_bounded (ref_path, "ref", 128, &text, &len, NULL) != TD_OK)
    return NULL;
  g_strstrip (text);
  return td_is_hex_digest (text, 40) ? g_ascii_strdown (text, -1) : NULL;
}

td_status
td_hf_cache_find (const char *cache_dir, const char *repo_id, const char *revision,
                  const td_hub_file *file, char **real_path, bool *digest_in_name, td_error *err)
{
  *real_path = NULL;
  *digest_in_name = false;
  if (cache_dir == NULL || cache_dir[0] == '\0' || !td_repo_id_is_valid (repo_id)
      || !td_repo_revision_is_valid (revision) || !td_repo_path_is_safe (file->path))
    return td_error_set (err, TD_ERR_NOT_FOUND, "not in the Hugging Face cache");

  g_autofree char *flat = g_strdup (repo_id);
  g_autofree char *folder = NULL;
  {
    g_auto (GStrv) parts = g_strsplit (flat, "/", 2);
    folder = g_strdup_printf ("models--%s--%s", parts[0], parts[1]);
  }
  g_autofree char *repo_cache = g_build_filename (cache_dir, folder, NULL);
  g_autofree char *commit = resolve_commit (repo_cache, revision);
  if (commit == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no snapshot for %s", repo_cache, revision);
  g_autofree char *snap = g_build_filename (repo_cache, "snapshots", commit, file->path, NULL);

  char resolved[PATH_MAX];
  char cache_real[PATH_MAX];
  if (realpath (snap, resolved) == NULL || realpath (repo_cache, cache_real) == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: not in the cache", snap);
  size_t n = strlen (cache_real);
  if (strncmp (resolved, cache_real, n) != 0 || resolved[n] != '/')
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: points outside the cache", snap);
  struct stat st;
  if (stat (resolved, &st) != 0 || !S_ISREG (st.st_mode) || (uint64_t) st.st_size != file->size)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: missing or of another size", snap);

  const char *base = strrchr (resolved, '/') + 1;
  *digest_in_name = (file->sha256[0] != '\0' && g_ascii_strcasecmp (base, file->sha256) == 0)
                    || (file->sha256[0] == '\0' && file->git_sha1[0] != '\0'
                        && g_ascii_strcasecmp (base, file->git_sha1) == 0);
  *real_path = g_strdup (resolved);
  return TD_OK;
}
