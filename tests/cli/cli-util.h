/* cli-util.h — running the built `thinkdiff` (TD_CLI) on a demo models folder. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "pipeline/board.h"

typedef struct {
  char *dir;        /* temporary folder: models/, a.png, b.png, corrupt.png, not-an-image.png */
  char *models;     /* dir/models, written by make-demo-models */
} cli_fixture;

/* The output of one run. */
typedef struct {
  int status;       /* exit code, or 128 + signal */
  char *out, *err;  /* stdout and stderr */
} cli_result;

/* Makes the temporary folder, the demo models and the test images; aborts the test
 * program when the CLI cannot write them. */
void cli_fixture_setup (cli_fixture *f);
void cli_fixture_teardown (cli_fixture *f);
char *cli_fixture_path (const cli_fixture *f, const char *name);

/* Runs TD_CLI with the NULL-terminated arguments in cwd (NULL: the fixture folder). */
cli_result cli_run (const cli_fixture *f, const char *cwd, ...) G_GNUC_NULL_TERMINATED;
void cli_result_clear (cli_result *r);
/* Fails the test with both outputs when the run did not exit with `status`. */
void cli_assert_status (const cli_result *r, int status);

/* The value of a PNG text chunk (g_free), NULL when absent. */
char *cli_png_text (const char *path, const char *key);
/* The PNG's width and height; fails the test when it does not decode. */
void cli_png_size (const char *path, int *width, int *height);
/* The board stored in a PNG's thinkdiff:board chunk, read back the way a board file is
 * (written to a file in another folder, then td_board_load_json). */
td_board *cli_png_board (const char *path);
/* Checks two boards have the same mode, items and settings. */
void cli_assert_boards_equal (const td_board *got, const td_board *expected);

/* Whether `thinkdiff devices` lists a Vulkan device. */
bool cli_has_vulkan (const cli_fixture *f);
