#include "net/repo_path.h"

#include <glib.h>
#include <string.h>

static bool
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '_' || c == '-';
}

static bool
is_valid_id_part (const char *s, size_t len)
{
  if (len == 0 || len > 96 || s[0] == '.' || s[0] == '-')
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_name_char (s[i]))
      return false;
  /* ".." anywhere would make URLs ambiguous. */
  return g_strstr_len (s, len, "..") == NULL;
}

bool
td_repo_id_is_valid (const char *repo_id)
{
  if (repo_id == NULL)
    return false;
  const char *slash = strchr (repo_id, '/');
  if (slash == NULL || strchr (slash + 1, '/') != NULL)
    return false;
  return is_valid_id_part (repo_id, (size_t) (slash - repo_id))
         && is_valid_id_part (slash + 1, strlen (slash + 1));
}

bool
td_repo_revision_is_valid (const char *revision)
{
  if (revision == NULL || revision[0] == '\0' || revision[0] == '/' || revision[0] == '.')
    return false;
  size_t len = strlen (revision);
  if (len > 128 || strstr (revision, "..") != NULL || strstr (revision, "//") != NULL
      || revision[len - 1] == '/')
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_name_char (revision[i]) && revision[i] != '/')
      return false;
  return true;
}

static bool
is_safe_segment (const char *seg, size_t len)
{
  if (len == 0 || len > 255)
    return false;
  if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
    return false;
  if ((len >= 5 && memcmp (seg + len - 5, ".part", 5) == 0)
      || (len >= 10 && memcmp (seg + len - 10, ".part.etag", 10) == 0))
    return false;
  if (len >= 10 && memcmp (seg, ".thinkdiff", 10) == 0)
    return false;
  return true;
}

bool
td_repo_path_is_safe (const char *path)
{
  if (path == NULL || path[0] == '\0' || path[0] == '/')
    return false;
  size_t len = strlen (path);
  if (len > TD_REPO_PATH_MAX || !g_utf8_validate (path, (gssize) len, NULL))
    return false;
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) path[i];
      if (c < 0x20 || c == 0x7f || c == '\\')
        return false;
    }
  const char *seg = path;
  for (;;)
    {
      const char *slash = strchr (seg, '/');
      size_t seg_len = slash ? (size_t) (slash - seg) : strlen (seg);
      if (!is_safe_segment (seg, seg_len))
        return false;
      if (slash == NULL)
        return true;
      seg = slash + 1;
    }
}

/* Matches glob against path within segments ('*' and '?' never cross '/').
 * Iterative with one backtrack point per '*', so the cost is bounded by
 * len(glob) × len(path). */
static bool
match_segments (const char *g, const char *p)
{
  const char *star_g = NULL, *star_p = NULL;
  while (*p != '\0')
    {
      if (*g == '*')
        {
          star_g = ++g;
          star_p = p;
          continue;
        }
      if (*g != '\0' && *g != '/' && (*g == '?' ? *p != '/' : *g == *p))
        {
          g++;
          p++;
          continue;
        }
      if (*g == '/' && *p == '/')
        {
          /* A '/' commits the match so far: a later star cannot reach back. */
          g++;
          p++;
          star_g = NULL;
          continue;
        }
      if (star_g != NULL && *star_p != '/')
        {
          g = star_g;
          p = ++star_p;
          continue;
        }
      return false;
    }
  while (*g == '*')
    g++;
  return *g == '\0';
}

bool
td_repo_glob_match (const char *glob, const char *path)
{
  if (glob == NULL || path == NULL)
    return false;
  if (strncmp (glob, "**/", 3) == 0)
    {
      const char *rest = glob + 3;
      for (const char *p = path;;)
        {
          if (td_repo_glob_match (rest, p))
            return true;
          const char *slash = strchr (p, '/');
          if (slash == NULL)
            return false;
          p = slash + 1;
        }
    }
  return match_segments (glob, path);
}
