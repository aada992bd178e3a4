/* repo_path.h — rules for names that come from a model hub: repository ids,
 * file paths inside a repository, and the globs the catalogue selects with.
 *
 * Paths from a listing decide where files land on disk, so anything that
 * could escape the models folder (absolute paths, "..", backslashes, control
 * characters) is rejected before it is ever joined to a directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TD_REPO_PATH_MAX 512

/* "org/name": exactly one slash, both parts [A-Za-z0-9._-], no leading '.'
 * or '-', at most 96 characters each. */
bool td_repo_id_is_valid (const char *repo_id);

/* A revision (branch, tag or commit): [A-Za-z0-9._/-], no "..", ≤ 128 chars. */
bool td_repo_revision_is_valid (const char *revision);

/* A relative path with '/' separators: non-empty segments, no "." or ".."
 * segment, no backslash, no control or non-ASCII-space characters (UTF-8
 * letters are fine), no leading '/', at most TD_REPO_PATH_MAX bytes, and no
 * segment ending in ".part" or ".part.etag" or starting with ".thinkdiff"
 * (names this code uses for its own files). */
bool td_repo_path_is_safe (const char *path);

/* Glob over a repository path: '*' matches any run of characters within one
 * segment, '?' one character (not '/'), and a "**" + "/" prefix matches zero
 * or more whole leading segments. Everything else matches literally. */
bool td_repo_glob_match (const char *glob, const char *path);
