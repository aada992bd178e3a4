/* Painting from an edited thought and variations, on the demo models: the edited
 * thought changes the conditioning, `generate --thought-file` with the same text and
 * seed gives the image the engine paints from that board, twice the same; the PNG
 * records the edit; `--count` paints one image per seed. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "backend/backend.h"
#include "cli-util.h"
#include "io/image.h"
#include "pipeline/model_paths.h"
#include "pipeline/thinkdiff_conditioning.h"

#define EDITED "A red house by the sea"

static cli_fixture fixture;

static char *
path_in (const char *name)
{
  return cli_fixture_path (&fixture, name);
}

/* The LVLM board every test here paints: two images and a text, 64×64, 8 tokens. */
static td_board *
lvlm_board (void)
{
  td_board *board = td_board_new (TD_BOARD_LVLM);
  g_autofree char *a = path_in ("a.png");
  g_autofree char *b = path_in ("b.png");
  td_board_add (board, TD_BOARD_IMAGE, a, NULL);
  td_board_add (board, TD_BOARD_TEXT, "What comes next?", NULL);
  td_board_add (board, TD_BOARD_IMAGE, b, NULL);
  board->settings.width = board->settings.height = 64;
  board->settings.steps = 2;
  board->settings.max_new_tokens = 8;
  board->settings.seed = 3;
  return board;
}

static cli_result
generate (const char *thought_file, const char *out, const char *extra, const char *extra_value)
{
  return cli_run (&fixture, NULL, "generate", "--models", "models", "--mode", "lvlm", "--image", "a.png", "--text",
                  "What comes next?", "--image", "b.png", "--width", "64", "--height", "64", "--steps", "2",
                  "--max-new-tokens", "8", "--seed", "3", "--out", out,
                  thought_file != NULL ? "--thought-file" : extra, thought_file != NULL ? thought_file : extra_value,
                  thought_file != NULL ? extra : NULL, extra_value, NULL);
}

static td_image
load_png (const char *name)
{
  g_autofree char *path = path_in (name);
  td_image image = { 0 };
  td_error err = { 0 };
  if (td_image_load (path, NULL, &image, &err) != TD_OK)
    g_error ("%s", err.message);
  return image;
}

static bool
same_pixels (const td_image *a, const td_image *b)
{
  return a->width == b->width && a->height == b->height
         && memcmp (a->rgb, b->rgb, (size_t) a->width * a->height * 3) == 0;
}

/* prompt_embeds [1, rows, width] as host values (g_free). */
static float *
embeds_of (const td_board *board, int64_t *rows, int64_t *width, char **thought)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_autofree char *models = path_in ("models");
  g_assert_cmpint (td_model_paths_find (models, &paths, &err), ==, TD_OK);
  td_backend *backend = td_backend_cpu_new (&err);
  td_thinkdiff_conditioning c = { 0 };
  if (td_thinkdiff_condition (board, &paths, backend, NULL, &c, &err) != TD_OK)
    g_error ("%s", err.message);
  *rows = c.prompt_embeds->shape[1];
  *width = c.prompt_embeds->shape[2];
  float *values = td_tensor_to_f32 (c.prompt_embeds, &err);
  g_assert_nonnull (values);
  if (thought != NULL)
    *thought = g_strdup (c.thought);
  td_thinkdiff_conditioning_clear (&c);
  td_backend_free (backend);
  td_model_paths_clear (&paths);
  return values;
}

/* The edit is conditioning of its own length, unlike the sampled thought's. */
static void
test_edited_conditioning (void)
{
  td_board *board = lvlm_board ();
  int64_t sampled_rows = 0, edited_rows = 0, again_rows = 0, width = 0;
  g_autofree char *sampled_thought = NULL, *edited_thought = NULL;
  g_autofree float *sampled = embeds_of (board, &sampled_rows, &width, &sampled_thought);
  g_assert_cmpint (sampled_rows, ==, 8);
  td_error err = { 0 };
  g_assert_cmpint (td_board_set_thought (board, EDITED, &err), ==, TD_OK);
  g_autofree float *edited = embeds_of (board, &edited_rows, &width, &edited_thought);
  g_autofree float *again = embeds_of (board, &again_rows, &width, NULL);
  g_assert_cmpstr (edited_thought, ==, EDITED);
  g_assert_cmpint (edited_rows, >, 1);
  g_assert_cmpint (edited_rows, <=, 8);
  g_assert_cmpint (again_rows, ==, edited_rows);
  /* Row 0 is the last prompt position in both; the rows after it follow the answer. */
  const size_t row = (size_t) width * sizeof (float);
  g_assert_cmpint (memcmp (sampled, edited, row), ==, 0);
  g_assert_cmpint (memcmp (sampled + width, edited + width, row), !=, 0);
  g_assert_cmpint (memcmp (edited, again, (size_t) edited_rows * row), ==, 0);

  /* Refused when running: longer than max_new_tokens; refused when set: empty or bad UTF-8. */
  board->settings.max_new_tokens = 2;
  td_model_paths paths = { 0 };
  g_autofree char *models = path_in ("models");
  g_assert_cmpint (td_model_paths_find (models, &paths, &err), ==, TD_OK);
  td_backend *backend = td_backend_cpu_new (&err);
  td_thinkdiff_conditioning c = { 0 };
  g_assert_cmpint (td_thinkdiff_condition (board, &paths, backend, NULL, &c, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "edited thought"));
  td_backend_free (backend);
  td_model_paths_clear (&paths);
  g_assert_cmpint (td_board_set_thought (board, "", &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_board_set_thought (board, "\xff\xfe", &err), ==, TD_ERR_INVALID_ARG);
  g_autofree char *huge = g_strnfill (TD_BOARD_MAX_TEXT + 1, 'a');
  g_assert_cmpint (td_board_set_thought (board, huge, &err), ==, TD_ERR_LIMIT);
  g_assert_cmpstr (td_board_thought (board), ==, EDITED);
  td_board_free (board);
}

/* The CLI's --thought-file paints what the engine paints from the same board, every time. */
static void
test_thought_file (void)
{
  g_autofree char *file = path_in ("thought.txt");
  g_assert_true (g_file_set_contents (file, EDITED "\n", -1, NULL));

  cli_result r = generate (NULL, "sampled.png", NULL, NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);
  r = generate ("thought.txt", "edited-1.png", NULL, NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.out, EDITED));
  cli_result_clear (&r);
  r = generate ("thought.txt", "edited-2.png", NULL, NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);

  g_autofree char *edited_path = path_in ("edited-1.png");
  g_autofree char *sampled_path = path_in ("sampled.png");
  g_autofree char *thought = cli_png_text (edited_path, "thinkdiff:thought");
  g_autofree char *flag = cli_png_text (edited_path, "thinkdiff:thought-edited");
  g_autofree char *sampled_flag = cli_png_text (sampled_path, "thinkdiff:thought-edited");
  g_assert_cmpstr (thought, ==, EDITED); /* the file's final newline is dropped */
  g_assert_cmpstr (flag, ==, "true");
  g_assert_null (sampled_flag);

  td_image sampled = load_png ("sampled.png");
  td_image edited1 = load_png ("edited-1.png");
  td_image edited2 = load_png ("edited-2.png");
  g_assert_true (same_pixels (&edited1, &edited2));
  g_assert_false (same_pixels (&edited1, &sampled));

  /* The engine, given the same board and thought, paints the same image. */
  td_board *board = lvlm_board ();
  board->settings.picture_ids = TD_BOARD_AUTO;
  td_board_apply_official_size (board);
  board->settings.width = board->settings.height = 64;
  td_error err = { 0 };
  g_assert_cmpint (td_board_set_thought (board, EDITED, &err), ==, TD_OK);
  td_engine_options options = td_engine_options_default ();
  options.backend = "cpu";
  td_engine *engine = td_engine_new (&options, &err);
  g_assert_nonnull (engine);
  td_model_paths paths = { 0 };
  g_autofree char *models = path_in ("models");
  g_assert_cmpint (td_model_paths_find (models, &paths, &err), ==, TD_OK);
  td_output *output = NULL;
  if (td_engine_generate (engine, board, &paths, NULL, &output, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_true (td_output_thought_edited (output));
  g_assert_true (same_pixels (td_output_image (output), &edited1));
  td_output_free (output);
  td_model_paths_clear (&paths);
  td_engine_free (engine);
  td_board_free (board);
  td_image_clear (&sampled);
  td_image_clear (&edited1);
  td_image_clear (&edited2);
}

static void
test_thought_file_refused (void)
{
  g_autofree char *empty = path_in ("empty-thought.txt");
  g_assert_true (g_file_set_contents (empty, "\n", -1, NULL));
  cli_result r = generate ("empty-thought.txt", "never.png", NULL, NULL);
  cli_assert_status (&r, 2);
  g_assert_nonnull (strstr (r.err, "empty-thought.txt"));
  cli_result_clear (&r);
  r = generate ("no-such-thought.txt", "never.png", NULL, NULL);
  cli_assert_status (&r, 2);
  g_assert_nonnull (strstr (r.err, "no-such-thought.txt"));
  cli_result_clear (&r);
  r = generate ("models", "never.png", NULL, NULL);
  cli_assert_status (&r, 2);
  g_assert_nonnull (strstr (r.err, "not a regular file"));
  cli_result_clear (&r);
  g_autofree char *never = path_in ("never.png");
  g_assert_false (g_file_test (never, G_FILE_TEST_EXISTS));
}

/* --count 3: three images, seeds 3, 4, 5, each one what a single run with that seed paints. */
static void
test_count (void)
{
  cli_result r = generate (NULL, "variation.png", "--count", "3");
  cli_assert_status (&r, 0);
  cli_result_clear (&r);
  r = cli_run (&fixture, NULL, "generate", "--models", "models", "--mode", "lvlm", "--image", "a.png", "--text",
               "What comes next?", "--image", "b.png", "--width", "64", "--height", "64", "--steps", "2",
               "--max-new-tokens", "8", "--seed", "4", "--out", "seed4.png", NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);
  td_image v1 = load_png ("variation-1.png");
  td_image v2 = load_png ("variation-2.png");
  td_image v3 = load_png ("variation-3.png");
  td_image seed4 = load_png ("seed4.png");
  g_assert_true (same_pixels (&v2, &seed4));
  g_assert_false (same_pixels (&v1, &v2));
  g_assert_false (same_pixels (&v2, &v3));
  g_autofree char *v3_path = path_in ("variation-3.png");
  td_board *stored = cli_png_board (v3_path);
  g_assert_cmpuint (td_board_get_settings (stored).seed, ==, 5);
  td_board_free (stored);
  td_image_clear (&v1);
  td_image_clear (&v2);
  td_image_clear (&v3);
  td_image_clear (&seed4);

  r = generate (NULL, "never.png", "--count", "0");
  cli_assert_status (&r, 2);
  cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_fixture_setup (&fixture);
  g_test_add_func ("/cli/thought/edited-conditioning", test_edited_conditioning);
  g_test_add_func ("/cli/thought/thought-file", test_thought_file);
  g_test_add_func ("/cli/thought/thought-file-refused", test_thought_file_refused);
  g_test_add_func ("/cli/thought/count", test_count);
  int result = g_test_run ();
  cli_fixture_teardown (&fixture);
  return result;
}
