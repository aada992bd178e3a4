/* test-history.c — the app keeps the user's work across restarts.
 *
 * /history/store: the store alone: an entry written and read back field by
 * field, and a corpus of damaged and foreign entries, each skipped with a
 * message while the good entry loads.
 * /history/restart: the application run again and again: the first run makes
 * three results and fills the board; between them one entry is damaged, a
 * foreign folder and file appear and the index is broken; the second shows
 * the other two results (same pixels, seeds, thoughts, boards), says once
 * that the rest was skipped, rebuilds the index and puts the board back.
 * Delete and Undo move the entry aside and back; a third run sees the
 * deletion and sets a damaged board file aside. Each run is a process of its
 * own (g_test_trap_subprocess). The window after the restart
 * is rendered to $TD_HISTORY_SCREENSHOT_OUTPUT; tests/app/screenshots/
 * history-after-restart.png is a copy of it.
 * /history/close-during-run: closing during a run asks (Keep Running / Stop
 * and Close) and does what was chosen.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-application.h"
#include "td-board-store.h"
#include "td-history.h"
#include "td-preview-demo.h"
#include "td-result-io.h"
#include "td-test-utils.h"
#include "td-window.h"

static TdPreviewDemoOptions fast = { .step_delay_ms = 2 };

/* Helpers ----------------------------------------------------------------- */

static gboolean
is_idle (gpointer data)
{
  return !td_window_get_running (data);
}

static gboolean
history_loaded (gpointer data)
{
  return td_window_get_history_loaded (data);
}

static gboolean
history_written (gpointer data)
{
  return td_history_get_n_pending (data) == 0;
}

static gboolean
board_saved (gpointer data)
{
  return !td_board_store_get_pending (td_window_get_board_store (data));
}

static gboolean
thumbnails_loaded (gpointer data)
{
  return td_prompt_board_get_n_pending (td_window_get_board (data)) == 0;
}

static GBytes *
pixels_of (TdGenerationResult *result)
{
  int width, height;

  return td_texture_to_rgb (td_generation_result_get_texture (result), &width, &height);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* The entry folders in @dir, sorted (ids sort by time). */
static GPtrArray *
entry_folders (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* The ids index.json lists (it must parse). */
static guint
index_length (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "index.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "format"), ==, "thinkdiff-studio-history");
  return json_array_get_length (json_object_get_array_member (object, "entries"));
}

static void
write_text (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (to, contents, length, NULL));
}

/* A copy of the entry @good in @dir, named @name, with entry.json replaced by
 * @entry_json (NULL keeps it) and the other files kept unless @drop names one. */
static char *
copy_entry (const char *dir,
            const char *good,
            const char *name,
            const char *entry_json,
            const char *drop)
{
  g_autofree char *from = g_build_filename (dir, good, NULL);
  char *to = g_build_filename (dir, name, NULL);
  const char *files[] = { "entry.json", "image.png", "board.json" };

  g_assert_cmpint (g_mkdir (to, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *a = g_build_filename (from, files[i], NULL);
      g_autofree char *b = g_build_filename (to, files[i], NULL);

      if (g_strcmp0 (files[i], drop) != 0 && g_file_test (a, G_FILE_TEST_EXISTS))
        copy_file (a, b);
    }
  if (entry_json != NULL)
    write_text (to, "entry.json", entry_json);
  return to;
}

typedef struct {
  GPtrArray *results;
  GStrv      problems;
  gboolean   done;
} Loaded;

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Loaded *loaded = user_data;
  g_autoptr(GError) error = NULL;

  loaded->results = td_history_load_finish (TD_HISTORY (source), result, &loaded->problems, &error);
  g_assert_no_error (error);
  loaded->done = TRUE;
}

static gboolean
loaded_done (gpointer data)
{
  return ((Loaded *) data)->done;
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (td_history_add_finish (TD_HISTORY (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* /history/store ----------------------------------------------------------- */

#define GOOD_ENTRY_WITH(extra) \
  "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"2026-12-03T12:00:00Z\"," \
  " \"seed\": 7, \"width\": 40, \"height\": 24, \"mode\": \"lvlm\", \"thought\": \"t\"," \
  " \"thought_edited\": false" extra "}"

static void
test_store (void)
{
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autofree char *history_dir = g_build_filename (dir, "history", NULL);
  g_autoptr(TdHistory) writer = td_history_new (history_dir);
  g_autoptr(TdHistory) reader = td_history_new (history_dir);
  g_autoptr(GdkTexture) texture = td_test_make_texture (40, 24, 0x3584e4, 0xe5a50a);
  g_autoptr(TdGenerationResult) result = td_generation_result_new (texture, "a thought\nwith \x1f control", 4000000001u);
  g_autoptr(GPtrArray) ids = NULL;
  g_autofree char *json = NULL;
  g_autofree char *big = NULL;
  td_board *board = td_board_new (TD_BOARD_CLIP);
  td_error err = { 0 };
  Loaded loaded = { 0 };
  gboolean added = FALSE;
  const char *good;
  TdGenerationResult *back;
  g_autoptr(GBytes) pixels_before = NULL;
  g_autoptr(GBytes) pixels_after = NULL;
  guint n_bad = 0;

  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "a harbour", &err), ==, TD_OK);
  json = td_board_to_json (board);
  td_board_free (board);
  td_generation_result_set_metadata (result, json, "clip", NULL);
  td_generation_result_set_thought_edited (result, TRUE);

  td_history_add_async (writer, result, NULL, on_added, &added);
  g_assert_cmpuint (td_history_get_n_pending (writer), ==, 1);
  g_assert_true (td_test_wait_for (flag_set, &added, 10000));
  g_assert_cmpuint (td_history_get_n_pending (writer), ==, 0);
  g_assert_nonnull (td_history_get_entry_id (result));
  g_assert_cmpuint (index_length (history_dir), ==, 1);

  /* The bad corpus, each a folder beside the good entry. */
  ids = entry_folders (history_dir);
  g_assert_cmpuint (ids->len, ==, 1);
  good = g_ptr_array_index (ids, 0);
#define BAD_ENTRY(name, entry, drop) (g_free (copy_entry (history_dir, good, name, entry, drop)), n_bad++)
  BAD_ENTRY ("bad-not-json", "{\"format\": ", NULL);
  BAD_ENTRY ("bad-array", "[1, 2]", NULL);
  BAD_ENTRY ("bad-format", "{\"format\": \"something-else\", \"version\": 1}", NULL);
  /* The hand-written document itself is good: each bad one differs in one thing. */
  g_free (copy_entry (history_dir, good, "20261203-120000-000000-abcdef", GOOD_ENTRY_WITH (""), NULL));
  BAD_ENTRY ("bad-unknown-member", GOOD_ENTRY_WITH (", \"extra\": 1"), NULL);
  BAD_ENTRY ("bad-version",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 2, \"created\": \"2026-12-03T12:00:00Z\","
             " \"seed\": 7, \"width\": 40, \"height\": 24, \"thought_edited\": false}", NULL);
  BAD_ENTRY ("bad-seed-negative",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"2026-12-03T12:00:00Z\","
             " \"seed\": -1, \"width\": 40, \"height\": 24, \"thought_edited\": false}", NULL);
  BAD_ENTRY ("bad-seed-string",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"2026-12-03T12:00:00Z\","
             " \"seed\": \"7\", \"width\": 40, \"height\": 24, \"thought_edited\": false}", NULL);
  BAD_ENTRY ("bad-size-mismatch",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"2026-12-03T12:00:00Z\","
             " \"seed\": 7, \"width\": 41, \"height\": 24, \"thought_edited\": false}", NULL);
  BAD_ENTRY ("bad-created",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"yesterday\","
             " \"seed\": 7, \"width\": 40, \"height\": 24, \"thought_edited\": false}", NULL);
  BAD_ENTRY ("bad-mode",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"2026-12-03T12:00:00Z\","
             " \"seed\": 7, \"width\": 40, \"height\": 24, \"mode\": \"dream\", \"thought_edited\": false}", NULL);
  BAD_ENTRY ("bad-missing-member",
             "{\"format\": \"thinkdiff-studio-result\", \"version\": 1, \"created\": \"2026-12-03T12:00:00Z\","
             " \"seed\": 7, \"width\": 40, \"height\": 24}", NULL);
  BAD_ENTRY ("bad-no-image", NULL, "image.png");
  BAD_ENTRY ("bad-no-entry", NULL, "entry.json");
  {
    g_autofree char *path = copy_entry (history_dir, good, "bad-truncated-image", NULL, NULL);
    g_autofree char *png = g_build_filename (path, "image.png", NULL);

    g_assert_cmpint (truncate (png, 60), ==, 0);
    n_bad++;
  }
  {
    g_autofree char *path = copy_entry (history_dir, good, "bad-board", NULL, NULL);

    write_text (path, "board.json", "{\"mode\": \"lvlm\", \"items\": [{\"sound\": \"x\"}]}");
    n_bad++;
  }
  {
    g_autofree char *path = copy_entry (history_dir, good, "bad-huge", NULL, NULL);

    big = g_strnfill (2 << 20, ' ');
    write_text (path, "entry.json", big);
    n_bad++;
  }
  /* Not a name the store makes. */
  g_free (copy_entry (history_dir, good, "bad name!", NULL, NULL));
  n_bad++;
  write_text (history_dir, "stray.txt", "not an entry");
  n_bad++;
  /* A write cut short by a crash is cleaned up, not reported. */
  g_free (copy_entry (history_dir, good, ".tmp-20261203-000000-000000-000000", NULL, NULL));
#undef BAD_ENTRY

  td_history_load_async (reader, NULL, on_loaded, &loaded);
  g_assert_true (td_test_wait_for (loaded_done, &loaded, 20000));
  for (guint i = 0; loaded.problems[i] != NULL; i++)
    g_test_message ("skipped: %s", loaded.problems[i]);
  g_assert_cmpuint (g_strv_length (loaded.problems), ==, n_bad);
  g_assert_cmpuint (loaded.results->len, ==, 2);
  /* Newest first. The index lists the written entry; one it lacks (as a crash
   * between writing an entry and the index leaves it) counts as newer. */
  g_assert_cmpstr (td_history_get_entry_id (g_ptr_array_index (loaded.results, 0)), ==,
                   "20261203-120000-000000-abcdef");
  g_assert_cmpuint (td_generation_result_get_seed (g_ptr_array_index (loaded.results, 0)), ==, 7);
  g_assert_cmpuint (index_length (history_dir), ==, 2);
  {
    g_autofree char *tmp = g_build_filename (history_dir, ".tmp-20261203-000000-000000-000000", NULL);

    g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  }

  /* Field by field. */
  back = g_ptr_array_index (loaded.results, 1);
  g_assert_cmpstr (td_history_get_entry_id (back), ==, good);
  g_assert_cmpuint (td_generation_result_get_seed (back), ==, 4000000001u);
  g_assert_cmpstr (td_generation_result_get_thought (back), ==, "a thought\nwith \x1f control");
  g_assert_true (td_generation_result_get_thought_edited (back));
  g_assert_cmpstr (td_generation_result_get_mode_name (back), ==, "clip");
  g_assert_cmpstr (td_generation_result_get_board_json (back), ==, json);
  g_assert_cmpint (td_generation_result_get_created (back), ==, td_generation_result_get_created (result));
  pixels_before = pixels_of (result);
  pixels_after = pixels_of (back);
  g_assert_true (g_bytes_equal (pixels_before, pixels_after));

  /* Delete moves it aside, Undo brings it back, the next load purges the trash. */
  g_assert_true (td_history_remove (reader, back, NULL));
  g_assert_cmpuint (index_length (history_dir), ==, 1);
  g_assert_true (td_history_restore (reader, back, NULL));
  g_assert_cmpuint (index_length (history_dir), ==, 2);
  g_assert_true (td_history_remove (reader, back, NULL));
  g_assert_true (td_history_remove (reader, g_ptr_array_index (loaded.results, 0), NULL));
  g_clear_pointer (&loaded.results, g_ptr_array_unref);
  g_clear_pointer (&loaded.problems, g_strfreev);
  loaded.done = FALSE;
  td_history_load_async (reader, NULL, on_loaded, &loaded);
  g_assert_true (td_test_wait_for (loaded_done, &loaded, 20000));
  g_assert_cmpuint (loaded.results->len, ==, 0);
  {
    g_autofree char *trash = g_build_filename (history_dir, ".trash", NULL);

    g_assert_false (g_file_test (trash, G_FILE_TEST_EXISTS));
  }

  g_clear_pointer (&loaded.results, g_ptr_array_unref);
  g_clear_pointer (&loaded.problems, g_strfreev);
  td_free (g_steal_pointer (&json));
  td_test_remove_tree (dir);
}

/* /history/restart -------------------------------------------------------- */

static TdApplication *
start_application (void)
{
  TdApplication *app = td_application_new ();
  g_autoptr(GError) error = NULL;

  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  return app;
}

static TdWindow *
open_window (TdApplication *app)
{
  TdWindow *window = td_window_new (GTK_APPLICATION (app));

  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &fast);
  td_window_set_notify_after (window, G_MAXDOUBLE);
  td_window_show_model_setup (window, FALSE);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_nonnull (td_window_get_history (window));
  g_assert_true (td_test_wait_for (history_loaded, window, 20000));
  return window;
}

static gboolean
window_gone (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static void
close_window (TdWindow *window)
{
  gpointer watch = window;

  g_object_add_weak_pointer (G_OBJECT (window), &watch);
  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (td_test_wait_for (window_gone, &watch, 10000));
}

static gboolean
laid_out (gpointer data)
{
  return gtk_widget_get_width (data) > 1000 && gtk_widget_get_height (data) > 600;
}

/* What the first run made, for the later runs (other processes) to compare:
 * beside the app's folder in the test's data home. */
static char *
expected_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "test-history-expected.ini", NULL);
}

static char *
checksum_of (TdGenerationResult *result)
{
  g_autoptr(GBytes) pixels = pixels_of (result);

  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, pixels);
}

static void
apply_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);

  g_settings_set_int (settings, "window-width", 1200);
  g_settings_set_int (settings, "window-height", 760);
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 256);
  g_settings_set_int (settings, "height", 256);
  g_settings_set_int (settings, "steps", 3);
  g_settings_set_string (settings, "mode", "lvlm");
  g_settings_set_boolean (settings, "seed-locked", TRUE);
}

static const guint32 seeds[] = { 11, 22, 33 };
static const char *texts[] = { "a lighthouse on a cliff", "a lighthouse at noon", "a lighthouse at night" };

/* First run (a process of its own): three results and a board. */
static void
restart_first_run (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *image_path = g_build_filename (g_get_user_data_dir (), "harbour.png", NULL);
  g_autofree char *data_home = g_strdup (g_get_user_data_dir ());
  g_autoptr(GFile) image = td_test_write_png (data_home, "harbour.png", 48, 32, 0x2ec27e, 0x1a5fb4);
  g_autoptr(GdkTexture) pasted = td_test_make_texture (20, 20, 0xc01c28, 0xf6d32d);
  g_autoptr(GKeyFile) expected = g_key_file_new ();
  g_autofree char *expected_file = expected_path ();
  g_autoptr(TdApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  TdWindow *window;
  GListModel *results;

  apply_settings ();
  app = start_application ();
  window = open_window (app);
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 0);
  td_prompt_board_add_text (td_window_get_board (window), "a lighthouse on a cliff");
  {
    GSList single = { image, NULL };

    td_prompt_board_add_files (td_window_get_board (window), &single);
  }
  td_prompt_board_add_texture (td_window_get_board (window), pasted);
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));

  /* The board is written a moment after the edits, the window still open. */
  g_assert_true (td_board_store_get_pending (td_window_get_board_store (window)));
  g_assert_true (td_test_wait_for (board_saved, window, 5000));
  {
    g_autofree char *board_path = td_board_store_default_path ();
    td_error err = { 0 };
    g_autoptr(td_board) saved = td_board_load_json (board_path, &err);
    td_board_item_kind kind;
    const char *value;

    g_assert_nonnull (saved);
    g_assert_cmpint (td_board_n_items (saved), ==, 3);
    g_assert_true (td_board_item_at (saved, 0, &kind, &value));
    g_assert_cmpstr (value, ==, "a lighthouse on a cliff");
    g_assert_true (td_board_item_at (saved, 1, &kind, &value));
    g_assert_cmpstr (value, ==, image_path);
    g_assert_true (td_board_item_at (saved, 2, &kind, &value));
    g_assert_cmpint (kind, ==, TD_BOARD_IMAGE);
  }

  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    {
      g_autoptr(TdBoardItem) first = g_list_model_get_item (td_prompt_board_get_items (td_window_get_board (window)), 0);

      /* A different text each time, so each result has its own pixels. */
      td_board_item_set_text (first, texts[i]);
      g_settings_set_uint (settings, "seed", seeds[i]);
      td_window_generate (window);
      g_assert_true (td_window_get_running (window));
      g_assert_true (td_test_wait_for (is_idle, window, 30000));
    }
  results = td_window_get_results (window);
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(TdGenerationResult) result = g_list_model_get_item (results, i);
      g_autofree char *key = g_strdup_printf ("%u", td_generation_result_get_seed (result));
      g_autofree char *checksum = checksum_of (result);

      g_key_file_set_string (expected, "pixels", key, checksum);
    }
  g_key_file_set_string (expected, "board", "image", image_path);
  g_assert_true (g_key_file_save_to_file (expected, expected_file, &error));
  g_assert_no_error (error);
  g_assert_true (td_test_wait_for (history_written, td_window_get_history (window), 20000));

  /* Typing in a card is saved too (after a short delay, or on close). */
  {
    g_autoptr(TdBoardItem) first = g_list_model_get_item (td_prompt_board_get_items (td_window_get_board (window)), 0);

    td_board_item_set_text (first, "a lighthouse on a cliff at dusk");
    g_assert_true (td_board_store_get_pending (td_window_get_board_store (window)));
  }
  close_window (window);
}

/* Second run: the two good results, newest first, told once about the rest,
 * the index rebuilt, the board back; Delete and Undo. */
static void
restart_second_run (void)
{
  g_autofree char *history_dir = td_history_default_dir ();
  g_autofree char *expected_file = expected_path ();
  g_autoptr(GKeyFile) expected = g_key_file_new ();
  g_autoptr(TdApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *image_path = NULL;
  const char *output = g_getenv ("TD_HISTORY_SCREENSHOT_OUTPUT");
  g_autoptr(GPtrArray) checksums = g_ptr_array_new_with_free_func (g_free);
  TdWindow *window;
  GListModel *results, *items;

  g_assert_true (g_key_file_load_from_file (expected, expected_file, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  image_path = g_key_file_get_string (expected, "board", "image", NULL);

  apply_settings ();
  app = start_application ();
  window = open_window (app);
  results = td_window_get_results (window);
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(TdGenerationResult) result = g_list_model_get_item (results, i);
      guint32 seed = i == 0 ? 33 : 11;   /* 22 was damaged */
      g_autofree char *key = g_strdup_printf ("%u", seed);
      g_autofree char *checksum = checksum_of (result);
      g_autofree char *checksum_before = g_key_file_get_string (expected, "pixels", key, NULL);
      g_autoptr(td_board) board = NULL;
      td_board_item_kind kind;
      const char *value;

      g_assert_cmpuint (td_generation_result_get_seed (result), ==, seed);
      g_assert_cmpstr (checksum, ==, checksum_before);
      g_ptr_array_add (checksums, g_steal_pointer (&checksum));
      g_assert_nonnull (td_generation_result_get_thought (result));
      g_assert_false (td_generation_result_get_thought_edited (result));
      g_assert_cmpstr (td_generation_result_get_mode_name (result), ==, "lvlm");
      board = td_result_parse_board (td_generation_result_get_board_json (result), NULL);
      g_assert_nonnull (board);
      g_assert_cmpint (td_board_get_settings (board).seed, ==, seed);
      g_assert_cmpint (td_board_get_settings (board).steps, ==, 3);
      g_assert_true (td_board_item_at (board, 0, &kind, &value));
      g_assert_cmpstr (value, ==, i == 0 ? texts[2] : texts[0]);
      g_assert_true (td_board_item_at (board, 1, &kind, &value));
      g_assert_cmpstr (value, ==, image_path);
    }
  g_assert_cmpstr (checksums->pdata[0], !=, checksums->pdata[1]);
  /* Told once, in one toast; the index is whole again and lists the two. */
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "3 saved results could not be read and were skipped");
  g_assert_cmpuint (index_length (history_dir), ==, 2);

  items = td_prompt_board_get_items (td_window_get_board (window));
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 3);
  {
    g_autoptr(TdBoardItem) text = g_list_model_get_item (items, 0);
    g_autoptr(TdBoardItem) file = g_list_model_get_item (items, 1);
    g_autoptr(TdBoardItem) was_pasted = g_list_model_get_item (items, 2);
    g_autofree char *file_path = g_file_get_path (td_board_item_get_file (file));

    g_assert_cmpstr (td_board_item_get_text (text), ==, "a lighthouse on a cliff at dusk");
    g_assert_cmpstr (file_path, ==, image_path);
    /* Pasted pixels come back as a pasted image, the same pixels. */
    g_assert_cmpint (td_board_item_get_kind (was_pasted), ==, TD_BOARD_ITEM_IMAGE);
    g_assert_null (td_board_item_get_file (was_pasted));
    g_assert_cmpstr (td_board_item_get_title (was_pasted), ==, "Pasted Image 1");
    {
      g_autoptr(GdkTexture) pasted = td_test_make_texture (20, 20, 0xc01c28, 0xf6d32d);
      int width, height;
      g_autoptr(GBytes) pixels_pasted = td_texture_to_rgb (pasted, &width, &height);
      g_autoptr(GBytes) pixels_back = td_texture_to_rgb (td_board_item_get_texture (was_pasted), &width, &height);

      g_assert_true (g_bytes_equal (pixels_pasted, pixels_back));
    }
  }

  /* The history as the user sees it after the restart. */
  {
    g_autoptr(TdGenerationResult) newest = g_list_model_get_item (results, 0);
    g_autoptr(GdkTexture) shot = NULL;

    td_window_show_result (window, newest);
    g_assert_true (td_test_wait_for (laid_out, window, 5000));
    td_test_iterate (700);   /* thumbnails drawn, the toast slid in */
    shot = td_test_render_window (GTK_WIDGET (window));
    g_assert_cmpint (gdk_texture_get_width (shot), >, 1000);
    if (output != NULL)
      g_assert_true (gdk_texture_save_to_png (shot, output));
  }

  /* Delete, Undo, Delete: the entry goes aside and comes back. */
  {
    g_autoptr(TdGenerationResult) oldest = g_list_model_get_item (results, 1);
    g_autofree char *entry = g_build_filename (history_dir, td_history_get_entry_id (oldest), NULL);

    td_window_show_result (window, oldest);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.delete-result", NULL));
    g_assert_cmpuint (g_list_model_get_n_items (results), ==, 1);
    g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "Result deleted");
    g_assert_false (g_file_test (entry, G_FILE_TEST_EXISTS));
    g_assert_cmpuint (index_length (history_dir), ==, 1);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-delete", NULL));
    g_assert_cmpuint (g_list_model_get_n_items (results), ==, 2);
    g_assert_true (td_window_get_shown_result (window) == oldest);
    g_assert_true (g_file_test (entry, G_FILE_TEST_IS_DIR));
    g_assert_cmpuint (index_length (history_dir), ==, 2);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.delete-result", NULL));
  }
  close_window (window);
}

/* Third run: the deletion held; the damaged board file is set aside and the
 * board starts empty. */
static void
restart_third_run (void)
{
  g_autoptr(TdApplication) app = NULL;
  g_autofree char *board_path = td_board_store_default_path ();
  g_autofree char *aside = g_strconcat (board_path, ".damaged", NULL);
  TdWindow *window;

  apply_settings ();
  app = start_application ();
  window = open_window (app);
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (td_prompt_board_get_items (td_window_get_board (window))), ==, 0);
  g_assert_true (g_file_test (aside, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (board_path, G_FILE_TEST_EXISTS));
  /* The next edit writes a fresh board. */
  td_prompt_board_add_text (td_window_get_board (window), "a new start");
  close_window (window);
  g_assert_true (g_file_test (board_path, G_FILE_TEST_IS_REGULAR));
}

/* Runs this test again in a process of its own, as run @run of the app. */
static void
run_in_subprocess (const char *run)
{
  g_setenv ("TD_TEST_HISTORY_RUN", run, TRUE);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* Each run of the application is a process of its own, as after a real restart. */
static void
test_restart (void)
{
  g_autofree char *history_dir = td_history_default_dir ();
  g_autoptr(GPtrArray) ids = NULL;
  g_autofree char *damaged = NULL;

  if (g_test_subprocess ())
    {
      const char *run = g_getenv ("TD_TEST_HISTORY_RUN");

      if (g_strcmp0 (run, "first") == 0)
        restart_first_run ();
      else if (g_strcmp0 (run, "second") == 0)
        restart_second_run ();
      else if (g_strcmp0 (run, "third") == 0)
        restart_third_run ();
      else
        g_assert_not_reached ();
      return;
    }

  run_in_subprocess ("first");

  /* Between the runs: one entry damaged, foreign things added, the index broken. */
  ids = entry_folders (history_dir);
  g_assert_cmpuint (ids->len, ==, 3);
  damaged = g_build_filename (history_dir, g_ptr_array_index (ids, 1), NULL);   /* seed 22 */
  write_text (damaged, "entry.json", "{\"format\": \"thinkdiff-studio-result\", \"vers");
  {
    g_autofree char *foreign = g_build_filename (history_dir, "holiday-photos", NULL);

    g_assert_cmpint (g_mkdir (foreign, 0700), ==, 0);
    write_text (foreign, "beach.jpg", "not really a JPEG");
  }
  write_text (history_dir, "notes.txt", "some notes");
  write_text (history_dir, "index.json", "[\"unterminated");

  run_in_subprocess ("second");
  {
    g_autofree char *board_path = td_board_store_default_path ();
    g_autofree char *dir = g_path_get_dirname (board_path);

    write_text (dir, "board.json", "{\"mode\": \"lvlm\", \"items\": [");
  }
  run_in_subprocess ("third");
}

/* /history/close-during-run ----------------------------------------------- */

static gboolean
dialog_shown (gpointer data)
{
  return td_test_find_message_dialog (data) != NULL;
}

static void
test_close_during_run (void)
{
  static TdPreviewDemoOptions slow = { .step_delay_ms = 100 };
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdApplication *app = start_application ();
  TdWindow *window = open_window (app);
  AdwMessageDialog *dialog;
  gpointer watch = window;
  g_autofree char *history_dir = td_history_default_dir ();
  g_autoptr(GPtrArray) before = g_file_test (history_dir, G_FILE_TEST_IS_DIR) ? entry_folders (history_dir) : NULL;

  g_settings_set_int (settings, "steps", 100);
  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &slow);
  td_prompt_board_add_text (td_window_get_board (window), "a long run");
  td_window_generate (window);
  g_assert_true (td_window_get_running (window));
  g_object_add_weak_pointer (G_OBJECT (window), &watch);

  /* Keep Running: the window and the run stay. */
  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (td_test_wait_for (dialog_shown, window, 5000));
  dialog = td_test_find_message_dialog (GTK_WINDOW (window));
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Stop the Image Being Made?");
  g_assert_cmpstr (adw_message_dialog_get_response_label (dialog, "keep"), ==, "_Keep Running");
  g_assert_cmpstr (adw_message_dialog_get_response_label (dialog, "stop"), ==, "_Stop and Close");
  td_test_answer_dialog (dialog, "keep");
  td_test_iterate (200);
  g_assert_null (td_test_find_message_dialog (GTK_WINDOW (window)));
  g_assert_nonnull (watch);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_assert_true (td_window_get_running (window));

  /* Quit (Ctrl+Q) asks the same and waits for the answer. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
  g_assert_true (td_test_wait_for (dialog_shown, window, 5000));
  td_test_answer_dialog (td_test_find_message_dialog (GTK_WINDOW (window)), "keep");
  td_test_iterate (200);
  g_assert_nonnull (watch);
  g_assert_true (td_window_get_running (window));

  /* Stop and Close: the run is cancelled and the window goes. */
  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (td_test_wait_for (dialog_shown, window, 5000));
  td_test_answer_dialog (td_test_find_message_dialog (GTK_WINDOW (window)), "stop");
  g_assert_true (td_test_wait_for (window_gone, &watch, 10000));

  /* Nothing was kept from the stopped run. */
  {
    g_autoptr(GPtrArray) after = g_file_test (history_dir, G_FILE_TEST_IS_DIR) ? entry_folders (history_dir) : NULL;

    g_assert_cmpuint (after != NULL ? after->len : 0, ==, before != NULL ? before->len : 0);
  }
  g_object_unref (app);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  /* GNOME's title bar buttons, as in the other screenshots. */
  g_object_set (gtk_settings_get_default (), "gtk-decoration-layout", "appmenu:close", NULL);

  g_test_add_func ("/history/store", test_store);
  g_test_add_func ("/history/restart", test_restart);
  g_test_add_func ("/history/close-during-run", test_close_during_run);

  return g_test_run ();
}
