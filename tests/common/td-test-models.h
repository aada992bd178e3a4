/* td-test-models.h — temporary models folders for the engine tests: the demo
 * models, make-community-ggufs.py's GGUF files of the goldens, and their removal.
 * Only GLib and the public engine API, so the public-API tests may use it too. */
#pragma once

#include <glib.h>

/* $TD_TEST_DATA joined with the NULL-terminated parts (g_free). */
char *td_test_data_path (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The demo models folder this test program shares, written on first use into a
 * temporary folder; td_test_demo_models_remove, at the end of main, removes it. */
const char *td_test_demo_models (void);
void td_test_demo_models_remove (void);

/* A new temporary folder (g_dir_make_tmp template, e.g. "td-api-XXXXXX") holding
 * the demo models written with the tokenizers of tests/data/tokenizers; fails the
 * test when they cannot be written. */
char *td_test_demo_models_new (const char *tmpl);

/* make-community-ggufs.py ($TD_MAKE_COMMUNITY_GGUFS run by $TD_PYTHON) on
 * tests/data/golden, written into a new temporary folder; NULL when either
 * variable is unset (no python3), and the test fails when the script does. */
char *td_test_community_ggufs_new (const char *tmpl);

/* Runs argv (argv[0] a full path: a script or the CLI writing models); fails the
 * test, showing its output, when it cannot start or does not exit 0. */
void td_test_run (const char *const *argv);

/* Removes path with everything below it; a link is removed, never followed;
 * NULL is ignored. */
void td_test_remove_tree (const char *path);
