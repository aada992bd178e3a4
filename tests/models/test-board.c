/* Prompt boards: JSON board files, validation, round trips. */
#include <glib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/board.h"

static char *tmp_dir;

static char *
write_board (const char *name, const char *text)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_load_and_round_trip (void)
{
  g_autofree char *path = write_board ("good.json",
    "{\"mode\": \"clip\", \"items\": [{\"image\": \"cat.png\"}, {\"text\": \"in the style of\"}, "
    "{\"image\": \"/abs/van-gogh.jpg\"}, {\"text\": \"ünïcode\"}], \"width\": 768, \"height\": 512, "
    "\"steps\": 20, \"guidance\": 4.5, \"seed\": 1234567890123, \"temperature\": 0.7, \"picture_ids\": true}");
  td_error err = { 0 };
  td_board *board = td_board_load_json (path, &err);
  g_assert_nonnull (board);
  g_assert_cmpint (board->mode, ==, TD_BOARD_CLIP);
  g_assert_cmpint (board->n_items, ==, 4);
  g_autofree char *expected_image = g_build_filename (tmp_dir, "cat.png", NULL);
  g_assert_cmpstr (board->items[0].value, ==, expected_image);
  g_assert_cmpstr (board->items[2].value, ==, "/abs/van-gogh.jpg");
  g_assert_cmpint (td_board_count (board, TD_BOARD_IMAGE), ==, 2);
  g_autofree char *joined = td_board_joined_text (board);
  g_assert_cmpstr (joined, ==, "in the style of ünïcode");
  g_assert_cmpint (board->settings.width, ==, 768);
  g_assert_cmpint (board->settings.steps, ==, 20);
  g_assert_cmpuint (board->settings.seed, ==, 1234567890123u);
  g_assert_cmpfloat_with_epsilon (board->settings.temperature, 0.7, 1e-6);
  g_assert_cmpfloat_with_epsilon (board->settings.top_p, 0.9, 1e-6); /* default kept */

  g_autofree char *json = td_board_to_json (board);
  g_autofree char *again_path = write_board ("again.json", json);
  td_board *again = td_board_load_json (again_path, &err);
  g_assert_nonnull (again);
  g_assert_cmpint (again->n_items, ==, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpstr (again->items[i].value, ==, board->items[i].value);
  g_assert_cmpuint (again->settings.seed, ==, board->settings.seed);
  g_assert_true (again->settings.picture_ids);
  td_board_free (again);
  td_board_free (board);
}

static void
test_rejects_bad_boards (void)
{
  const struct { const char *text; const char *phrase; } cases[] = {
    { "{\"items\": []}", "empty" },
    { "{\"items\": [{\"video\": \"a.mp4\"}]}", "unknown kind" },
    { "{\"items\": [{\"text\": 3}]}", "should be a string" },
    { "{\"items\": [{\"text\": \"a\", \"image\": \"b\"}]}", "item 0" },
    { "{\"mode\": \"dream\", \"items\": [{\"text\": \"a\"}]}", "neither lvlm nor clip" },
    { "{\"items\": [{\"text\": \"a\"}], \"width\": 1000}", "multiples of 16" },
    { "{\"items\": [{\"text\": \"a\"}], \"steps\": \"many\"}", "should be an integer" },
    { "{\"items\": [{\"text\": \"a\"}], \"top_p\": 0}", "top_p" },
    { "{\"items\": [{\"text\": \"a\"}], \"items\": []}", "" },
    { "[1, 2]", "\"items\" array" },
    /* every member is type-checked */
    { "{\"mode\": {}, \"items\": [{\"text\": \"a\"}]}", "\"mode\" should be the string" },
    { "{\"mode\": 1, \"items\": [{\"text\": \"a\"}]}", "\"mode\" should be the string" },
    { "{\"mode\": null, \"items\": [{\"text\": \"a\"}]}", "\"mode\" should be the string" },
    { "{\"mode\": [\"clip\"], \"items\": [{\"text\": \"a\"}]}", "\"mode\" should be the string" },
    { "{\"items\": [{\"text\": \"a\"}], \"width\": 64.9}", "\"width\" should be an integer" },
    { "{\"items\": [{\"text\": \"a\"}], \"seed\": 1e3}", "\"seed\" should be an integer" },
    { "{\"items\": [{\"text\": \"a\"}], \"steps\": true}", "\"steps\" should be an integer" },
    { "{\"items\": [{\"text\": \"a\"}], \"guidance\": \"3\"}", "\"guidance\" should be a number" },
    { "{\"items\": [{\"text\": \"a\"}], \"picture_ids\": 1}", "picture_ids" },
    { "{\"items\": [{\"text\": \"a\"}], \"step\": 20}", "unknown member \"step\"" },
    { "{\"items\": [{\"text\": \"a\"}], \"\\u001b[31m\": 1}", "unknown member \"\\033[31m\"" },
    { "{\"items\": [{\"image\": \"\"}]}", "empty image path" },
    { "{\"items\": [{\"text\": \"a\"}], \"mode\": \"clip\", \"mode\": \"lvlm\"}", "twice" },
    { "{\"items\": [{\"text\": \"a\"}]} // comment", "not valid JSON" },
    { "{'items': []}", "not valid JSON" },
    { "{\"items\": [{\"text\": \"a\"}], \"picture_ids\": \"sometimes\"}", "\"auto\"" },
    { "{\"items\": [{\"text\": \"a\"}], \"instruction\": 7}", "should be a string" },
    { "{\"items\": [{\"text\": \"a\"}], \"image_decode\": \"pil\"}", "viewer" },
    { "{\"items\": [{\"text\": \"a\"}], \"vae_tiling\": \"no\"}", "true or false" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad-%zu.json", i);
      g_autofree char *path = write_board (name, cases[i].text);
      td_error err = { 0 };
      g_assert_null (td_board_load_json (path, &err));
      g_assert_cmpint (err.status, !=, TD_OK);
      g_test_message ("%s", err.message);
      g_assert_nonnull (strstr (err.message, path));
      g_assert_nonnull (strstr (err.message, cases[i].phrase));
    }
  td_board *board = td_board_new (TD_BOARD_LVLM);
  td_error err = { 0 };
  g_assert_cmpint (td_board_add (board, TD_BOARD_IMAGE, "", &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "\xff\xfe", &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_board_set_instruction (board, "\xff\xfe", &err), ==, TD_ERR_INVALID_ARG);
  for (int i = 0; i < TD_BOARD_MAX_ITEMS; i++)
    g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "x", &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "x", &err), ==, TD_ERR_LIMIT);
  td_board_free (board);
}

/* Files that are not board files: each fails at once, naming the file and the reason. */
static void
test_rejects_hostile_files (void)
{
  g_autofree char *fifo = g_build_filename (tmp_dir, "fifo.json", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autofree char *big = g_build_filename (tmp_dir, "big.json", NULL);
  FILE *f = fopen (big, "w");
  g_assert_nonnull (f);
  /* sparse: the size check must come before any read */
  g_assert_cmpint (ftruncate (fileno (f), (off_t) 1536 << 20), ==, 0);
  fclose (f);
  g_autofree char *loop = g_build_filename (tmp_dir, "loop.json", NULL);
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  g_autofree char *missing = g_build_filename (tmp_dir, "missing.json", NULL);
  GString *deep = g_string_new ("{\"items\": ");
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  g_autofree char *deep_path = write_board ("deep.json", deep->str);
  g_string_free (deep, TRUE);

  const struct { const char *path; td_status status; const char *phrase; } cases[] = {
    { fifo, TD_ERR_IO, "a FIFO" },
    { "/dev/zero", TD_ERR_IO, "a character device" },
    { tmp_dir, TD_ERR_IO, "a folder" },
    { big, TD_ERR_LIMIT, "over the limit" },
    { loop, TD_ERR_IO, g_strerror (ELOOP) },
    { missing, TD_ERR_NOT_FOUND, g_strerror (ENOENT) },
    { deep_path, TD_ERR_FORMAT, "nesting too deep" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      td_error err = { 0 };
      gint64 start = g_get_monotonic_time ();
      g_assert_null (td_board_load_json (cases[i].path, &err));
      g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
      g_assert_cmpint (err.status, ==, cases[i].status);
      g_assert_nonnull (strstr (err.message, cases[i].path));
      g_assert_nonnull (strstr (err.message, cases[i].phrase));
      /* err is optional */
      g_assert_null (td_board_load_json (cases[i].path, NULL));
    }
  g_assert_null (td_board_load_json_data ("{\"mode\": {}, \"items\": []}", 27, "x", ".", NULL));
  g_unlink (fifo);
  g_unlink (big);
  g_unlink (loop);
}

/* The official multi-image run's settings apply by default to LVLM boards with two or
 * more images only; explicit values win; they survive a round trip. */
static void
test_official_defaults (void)
{
  td_error err = { 0 };
  td_board *one = td_board_new (TD_BOARD_LVLM);
  g_assert_cmpint (td_board_add (one, TD_BOARD_IMAGE, "/a.png", &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (one, TD_BOARD_TEXT, "", &err), ==, TD_OK);
  g_assert_cmpint (td_board_validate (one, &err), ==, TD_OK);
  g_assert_false (td_board_uses_picture_ids (one));
  g_assert_cmpstr (td_board_instruction (one), ==, "");
  td_board_apply_official_size (one);
  g_assert_cmpint (one->settings.width, ==, 1024);

  td_board *two = td_board_new (TD_BOARD_LVLM);
  g_assert_cmpint (td_board_add (two, TD_BOARD_TEXT, "Word 1: white, ", &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (two, TD_BOARD_IMAGE, "/a.png", &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (two, TD_BOARD_IMAGE, "/b.png", &err), ==, TD_OK);
  g_assert_true (td_board_uses_picture_ids (two));
  g_assert_cmpstr (td_board_instruction (two), ==, td_board_official_instruction);
  td_board_apply_official_size (two);
  g_assert_cmpint (two->settings.width, ==, 512);
  g_assert_cmpint (two->settings.height, ==, 512);
  two->mode = TD_BOARD_CLIP;
  g_assert_false (td_board_uses_picture_ids (two));
  g_assert_cmpstr (td_board_instruction (two), ==, "");
  two->mode = TD_BOARD_LVLM;
  two->settings.picture_ids = 0;
  g_assert_false (td_board_uses_picture_ids (two));
  g_assert_cmpint (td_board_set_instruction (two, "", &err), ==, TD_OK);
  g_assert_cmpstr (td_board_instruction (two), ==, "");
  g_assert_cmpint (td_board_set_instruction (two, "Look: ", &err), ==, TD_OK);
  two->settings.image_decode = TD_IMAGE_DECODE_OFFICIAL;
  two->settings.vae_tiling = false;

  g_autofree char *json = td_board_to_json (two);
  g_autofree char *path = write_board ("official.json", json);
  td_board *again = td_board_load_json (path, &err);
  g_assert_nonnull (again);
  g_assert_cmpint (again->settings.picture_ids, ==, 0);
  g_assert_cmpstr (again->instruction, ==, "Look: ");
  g_assert_cmpint (again->settings.image_decode, ==, TD_IMAGE_DECODE_OFFICIAL);
  g_assert_false (again->settings.vae_tiling);
  g_autofree char *joined = td_board_joined_text (again);
  g_assert_cmpstr (joined, ==, "Word 1: white, ");
  td_board_free (again);
  td_board_free (two);
  td_board_free (one);
}

/* Every control character survives a write and a strict re-read: json-glib
 * alone leaves U+001F raw, which the strict reader refuses (found by fuzz-board). */
static void
test_control_characters_round_trip (void)
{
  td_board *board = td_board_new (TD_BOARD_CLIP);
  char text[40];
  for (int c = 1; c < 0x20; c++)
    text[c - 1] = (char) c;
  strcpy (text + 0x1f, "\\\"end");
  td_error err = { 0 };
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, text, &err), ==, TD_OK);
  g_autofree char *json = td_board_to_json (board);
  for (const char *p = json; *p != '\0'; p++)
    g_assert_cmpint ((unsigned char) *p, >=, 0x20);
  td_board *again = td_board_load_json_data (json, strlen (json), "again.json", "/", &err);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->items[0].value, ==, text);
  td_board_free (again);
  td_board_free (board);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("td-board-XXXXXX", NULL);
  g_test_add_func ("/board/load-and-round-trip", test_load_and_round_trip);
  g_test_add_func ("/board/rejects-bad-boards", test_rejects_bad_boards);
  g_test_add_func ("/board/rejects-hostile-files", test_rejects_hostile_files);
  g_test_add_func ("/board/official-defaults", test_official_defaults);
  g_test_add_func ("/board/control-characters-round-trip", test_control_characters_round_trip);
  int status = g_test_run ();
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
