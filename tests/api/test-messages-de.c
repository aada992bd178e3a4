/* test-messages-de.c — the engine's user-facing messages come translated.
 *
 * The German catalogue built from po/de.po (in the build tree) is bound over
 * the installed one; with LANGUAGE=de the board, models-folder, image and
 * model-file parser messages must be German, and in the C locale English.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <libintl.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "thinkdiff.h"

static char *po_dir;

/* A model-file parser's message: a file that is not GGUF. */
static void
parser_message (char *message, gsize size)
{
  g_autofree char *path = NULL;
  td_error err = { 0 };
  int fd = g_file_open_tmp ("td-not-gguf-XXXXXX.gguf", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  char bytes[64] = "NOPE";
  g_assert_cmpint (write (fd, bytes, sizeof bytes), ==, (int) sizeof bytes);
  g_close (fd, NULL);
  g_assert_null (td_gguf_file_open (path, &err));
  g_assert_true (g_str_has_prefix (err.message, path));
  g_strlcpy (message, err.message + strlen (path), size);
  g_unlink (path);
}

/* The messages of an empty edited thought, a missing models folder and an empty image file. */
static void
messages (char *board, char *folder, char *image, gsize size)
{
  g_autofree char *empty_png = NULL;
  td_board *b = td_board_new (TD_BOARD_LVLM);
  td_model_paths paths;
  td_image loaded = { 0 };
  td_error err = { 0 };
  int fd;

  g_assert_cmpint (td_board_set_thought (b, "", &err), !=, TD_OK);
  g_strlcpy (board, err.message, size);
  td_board_free (b);

  g_assert_cmpint (td_model_paths_find ("/nonexistent/models", &paths, &err), !=, TD_OK);
  g_strlcpy (folder, err.message, size);

  fd = g_file_open_tmp ("td-empty-XXXXXX.png", &empty_png, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_close (fd, NULL);
  g_assert_cmpint (td_image_load (empty_png, NULL, &loaded, &err), !=, TD_OK);
  g_strlcpy (image, err.message, size);
  g_unlink (empty_png);
}

static void
test_german (void)
{
  char board[512], folder[512], image[512];

  g_setenv ("LANGUAGE", "de", TRUE);
  messages (board, folder, image, sizeof board);
  g_assert_cmpstr (board, ==, "der bearbeitete Gedanke ist leer");
  g_assert_cmpstr (folder, ==, "/nonexistent/models: Der Modellordner existiert nicht");
  g_assert_true (g_str_has_suffix (image, ": Die Datei ist leer"));
  /* Every td_error_set message goes through the catalogue, parsers' included. */
  parser_message (board, sizeof board);
  g_assert_cmpstr (board, ==, ": Keine GGUF-Datei (sie beginnt nicht mit \"GGUF\")");
}

static void
test_english (void)
{
  char board[512], folder[512], image[512];

  /* A program that keeps the C locale (the CLI) gets the English text. */
  g_assert_nonnull (setlocale (LC_ALL, "C"));
  messages (board, folder, image, sizeof board);
  g_assert_nonnull (setlocale (LC_ALL, "C.UTF-8"));
  g_assert_cmpstr (board, ==, "the edited thought is empty");
  g_assert_cmpstr (folder, ==, "/nonexistent/models: the models folder does not exist");
  g_assert_true (g_str_has_suffix (image, ": the file is empty"));
  g_assert_nonnull (setlocale (LC_ALL, "C"));
  parser_message (board, sizeof board);
  g_assert_nonnull (setlocale (LC_ALL, "C.UTF-8"));
  g_assert_cmpstr (board, ==, ": not a GGUF file (it does not start with \"GGUF\")");
}

int
main (int argc, char *argv[])
{
  char warm[512], unused[512], unused2[512];

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("TD_PO_BUILD_DIR") == NULL)
    g_error ("TD_PO_BUILD_DIR is not set");
  po_dir = g_strdup (g_getenv ("TD_PO_BUILD_DIR"));

  /* C.UTF-8 lets LANGUAGE choose the catalogue. */
  if (setlocale (LC_ALL, "C.UTF-8") == NULL)
    {
      g_print ("1..0 # SKIP no C.UTF-8 locale\n");
      return 0;
    }
  /* The engine binds its domain on first use; bind the build tree's after it. */
  messages (warm, unused, unused2, sizeof warm);
  bindtextdomain ("thinkdiff-studio", po_dir);

  g_test_add_func ("/messages/german", test_german);
  g_test_add_func ("/messages/english", test_english);
  return g_test_run ();
}
