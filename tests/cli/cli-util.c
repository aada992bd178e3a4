#include "cli-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "io/image.h"
#include "td-test-models.h"

static const char *
cli_path (void)
{
  const char *cli = g_getenv ("TD_CLI");
  if (cli == NULL || !g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("TD_CLI must name the built thinkdiff executable");
  return cli;
}

static cli_result
run_argv (const char *cwd, GPtrArray *args)
{
  g_ptr_array_add (args, NULL);
  cli_result r = { 0 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (cwd, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &wait_status,
                     &error))
    g_error ("running %s: %s", cli_path (), error->message);
  r.status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
  return r;
}

cli_result
cli_run (const cli_fixture *f, const char *cwd, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (char *) cli_path ());
  va_list ap;
  va_start (ap, cwd);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  return run_argv (cwd != NULL ? cwd : f->dir, args);
}

void
cli_result_clear (cli_result *r)
{
  g_free (r->out);
  g_free (r->err);
  memset (r, 0, sizeof *r);
}

void
cli_assert_status (const cli_result *r, int status)
{
  if (r->status != status)
    g_error ("thinkdiff exited with %d, %d expected\n--- stdout\n%s\n--- stderr\n%s", r->status, status, r->out,
             r->err);
}

char *
cli_fixture_path (const cli_fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

/* A pattern with distinct corners, so a flipped or shifted image would differ. */
static void
write_pattern_png (const char *path, int width, int height, int salt)
{
  td_image image = { width, height, g_malloc ((size_t) width * height * 3) };
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++)
        image.rgb[((size_t) y * width + x) * 3 + c] = (uint8_t) ((x * 37 + y * 11 + c * 80 + salt * 53) & 0xff);
  td_error err = { 0 };
  if (td_image_save_png (path, &image, NULL, 0, &err) != TD_OK)
    g_error ("%s", err.message);
  g_free (image.rgb);
}

void
cli_fixture_setup (cli_fixture *f)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("thinkdiff-cli-XXXXXX", &error);
  g_assert_no_error (error);
  f->models = cli_fixture_path (f, "models");
  cli_result r = cli_run (f, NULL, "make-demo-models", f->models, NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);

  g_autofree char *a = cli_fixture_path (f, "a.png");
  g_autofree char *b = cli_fixture_path (f, "b.png");
  write_pattern_png (a, 40, 32, 1);
  write_pattern_png (b, 32, 48, 2);
  /* The first 100 bytes of a valid PNG: a good signature and header, no image data. */
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (a, &contents, &length, NULL) && length > 100);
  g_autofree char *corrupt = cli_fixture_path (f, "corrupt.png");
  g_assert_true (g_file_set_contents (corrupt, contents, 100, NULL));
  g_autofree char *text = cli_fixture_path (f, "not-an-image.png");
  g_assert_true (g_file_set_contents (text, "hello, I am text\n", -1, NULL));
}

void
cli_fixture_teardown (cli_fixture *f)
{
  td_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->models);
}

char *
cli_png_text (const char *path, const char *key)
{
  td_image_text *text = NULL;
  size_t n = 0;
  td_error err = { 0 };
  if (td_image_png_text (path, NULL, &text, &n, &err) != TD_OK)
    g_error ("%s", err.message);
  char *value = NULL;
  for (size_t i = 0; i < n && value == NULL; i++)
    if (strcmp (text[i].key, key) == 0)
      value = g_strdup (text[i].value);
  td_image_text_free (text, n);
  return value;
}

void
cli_png_size (const char *path, int *width, int *height)
{
  td_image image;
  td_error err = { 0 };
  if (td_image_load (path, NULL, &image, &err) != TD_OK)
    g_error ("%s", err.message);
  *width = image.width;
  *height = image.height;
  td_image_clear (&image);
}

td_board *
cli_png_board (const char *path)
{
  g_autofree char *json = cli_png_text (path, "thinkdiff:board");
  g_assert_nonnull (json);
  g_autoptr (GError) error = NULL;
  g_autofree char *elsewhere = g_dir_make_tmp ("thinkdiff-board-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *file = g_build_filename (elsewhere, "board.json", NULL);
  g_assert_true (g_file_set_contents (file, json, -1, NULL));
  td_error err = { 0 };
  td_board *board = td_board_load_json (file, &err);
  if (board == NULL)
    g_error ("the stored board does not load: %s\n%s", err.message, json);
  g_unlink (file);
  g_rmdir (elsewhere);
  return board;
}

void
cli_assert_boards_equal (const td_board *got, const td_board *expected)
{
  g_assert_cmpint (got->mode, ==, expected->mode);
  g_assert_cmpint (got->n_items, ==, expected->n_items);
  for (int i = 0; i < got->n_items; i++)
    {
      g_assert_cmpint (got->items[i].kind, ==, expected->items[i].kind);
      g_assert_cmpstr (got->items[i].value, ==, expected->items[i].value);
    }
  const td_board_settings *g = &got->settings, *e = &expected->settings;
  g_assert_cmpint (g->width, ==, e->width);
  g_assert_cmpint (g->height, ==, e->height);
  g_assert_cmpint (g->steps, ==, e->steps);
  g_assert_cmpfloat (g->guidance, ==, e->guidance);
  g_assert_cmpuint (g->seed, ==, e->seed);
  g_assert_cmpint (g->max_new_tokens, ==, e->max_new_tokens);
  g_assert_cmpfloat (g->temperature, ==, e->temperature);
  g_assert_cmpfloat (g->top_p, ==, e->top_p);
  g_assert_cmpint (g->picture_ids, ==, e->picture_ids);
  g_assert_cmpint (g->image_decode, ==, e->image_decode);
  g_assert_cmpint (g->vae_tiling, ==, e->vae_tiling);
  g_assert_cmpstr (got->instruction, ==, expected->instruction);
}

bool
cli_has_vulkan (const cli_fixture *f)
{
  cli_result r = cli_run (f, NULL, "devices", NULL);
  bool found = r.status == 0 && strstr (r.out, "vulkan:") != NULL;
  cli_result_clear (&r);
  return found;
}
