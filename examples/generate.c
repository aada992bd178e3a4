/* generate.c — render one image with libthinkdiff's public API.
 *
 *   cc generate.c $(pkg-config --cflags --libs thinkdiff) -o generate
 *   ./generate MODELS_DIR        (a folder like `thinkdiff make-demo-models` writes)
 *
 * Reads a one-text board in LVLM mode with the models under MODELS_DIR,
 * prints the stages and steps, and writes example.png in the current folder. */
#include <stdio.h>

#include <thinkdiff.h>

static void
on_stage (void *user, const char *stage)
{
  (void) user;
  printf ("%s…\n", stage);
}

static void
on_step (void *user, int step, int steps)
{
  (void) user;
  printf ("step %d/%d\n", step, steps);
}

static int
fail (const char *what, const td_error *err)
{
  fprintf (stderr, "generate: %s: %s\n", what, err->message);
  return 1;
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s MODELS_DIR\n", argv[0]);
      return 2;
    }

  td_error err = { 0 };
  td_model_paths paths = { 0 };
  if (td_model_paths_find (argv[1], &paths, &err) != TD_OK
      || td_model_paths_require (&paths, true, &err) != TD_OK)
    return fail ("models", &err);

  /* A small, quick image: the demo models are untrained, their images are noise. */
  td_board *board = td_board_new (TD_BOARD_LVLM);
  td_board_settings settings = td_board_get_settings (board);
  settings.width = settings.height = 64;
  settings.steps = 2;
  settings.max_new_tokens = 4;
  settings.seed = 1;
  td_board_set_settings (board, &settings);
  if (td_board_add (board, TD_BOARD_TEXT, "a lighthouse on a cliff at dusk", &err) != TD_OK)
    return fail ("board", &err);

  /* The default engine: a real GPU when there is one, else the CPU. */
  td_engine *engine = td_engine_new (NULL, &err);
  if (engine == NULL)
    return fail ("engine", &err);
  printf ("engine: %s, libthinkdiff %s\n", td_engine_name (engine), td_version ());

  td_generate_callbacks callbacks = { .stage = on_stage, .step = on_step };
  td_output *output = NULL;
  td_status status = td_engine_generate (engine, board, &paths, &callbacks, &output, &err);
  if (status == TD_OK)
    status = td_output_save_png (output, "example.png", &err);
  if (status == TD_OK)
    printf ("example.png: %dx%d\n", td_output_image (output)->width, td_output_image (output)->height);
  else
    fail ("generate", &err);

  td_output_free (output);
  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&paths);
  return status == TD_OK ? 0 : 1;
}
