/* thinkdiff generate — text-to-image with FLUX, or a ThinkDiff prompt board. */
#include "cli.h"

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

#define MAX_COUNT 64
#define MAX_THOUGHT_BYTES (64 * 1024)


static volatile int cancel_requested;

static void
on_interrupt (int signal_number)
{
  /* A second Ctrl-C while cancelling gets the default behaviour back. */
  cancel_requested = 1;
  signal (signal_number, SIG_DFL);
}

typedef struct {
  const char *preview_dir;
  int last_step;
  td_engine *engine;
  const char *stage;     /* the stage running now, for its memory line */
  size_t run_peak;
} cli_progress;

/* On a terminal the step counter rewrites one line; in a log each step is a line. */
static bool
stderr_is_terminal (void)
{
  static int answer = -1;
  if (answer < 0)
    answer = isatty (fileno (stderr));
  return answer;
}

static double
mib (size_t bytes)
{
  return (double) bytes / (1024.0 * 1024.0);
}

/* The allocator's high-water mark of the stage that just ended, then a fresh mark. */
static void
report_stage_memory (cli_progress *progress)
{
  uint64_t live, peak;
  td_engine_memory_use (progress->engine, &live, &peak);
  if (progress->stage != NULL)
    fprintf (stderr, "memory: %s peak %.1f MiB (%.1f MiB held after)\n", progress->stage, mib (peak), mib (live));
  if (peak > progress->run_peak)
    progress->run_peak = peak;
  td_engine_reset_memory_peak (progress->engine);
}

static void
print_stage (void *user, const char *stage)
{
  cli_progress *progress = user;
  report_stage_memory (progress);
  progress->stage = stage;
  fprintf (stderr, "%s%s…\n", stderr_is_terminal () ? "\r\033[K" : "", stage);
}

static void
print_thought (void *user, const char *piece)
{
  fputs (piece, stdout);
  fflush (stdout);
}

static void
print_progress (void *user, int step, int steps)
{
  if (stderr_is_terminal ())
    fprintf (stderr, "\r\033[Kstep %d/%d%s", step, steps, step == steps ? "\n" : "");
  else
    fprintf (stderr, "step %d/%d\n", step, steps);
}

static void
write_preview (void *user, int step, int steps, const td_image *image)
{
  cli_progress *progress = user;
  if (progress->preview_dir == NULL)
    return;
  g_autofree char *name = g_strdup_printf ("preview-%03d.png", step);
  g_autofree char *path = g_build_filename (progress->preview_dir, name, NULL);
  td_error err = { 0 };
  if (td_image_save_png (path, image, NULL, 0, &err) != TD_OK)
    fprintf (stderr, "\nthinkdiff: preview %d: %s\n", step, err.message);
}

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage:\n"
           "  thinkdiff generate --model FLUX_DIR --prompt TEXT [OPTIONS]\n"
           "  thinkdiff generate --models DIR --mode lvlm|clip (--image FILE | --text TEXT)… [OPTIONS]\n"
           "  thinkdiff generate --models DIR --board BOARD.json [OPTIONS]\n"
           "DIR defaults to the folder 'thinkdiff models pull' fills ($THINKDIFF_MODELS_DIR).\n"
           "\n"
           "Options:\n"
           "  --out FILE            the PNG to write (default thinkdiff.png)\n"
           "  --width N --height N  image size, multiples of 16 (default 1024×1024)\n"
           "  --steps N             denoising steps (default 28)\n"
           "  --guidance X          FLUX guidance (default 3.5)\n"
           "  --seed N              noise seed (default 0)\n"
           "  --max-new-tokens N    LVLM thinking length (default 128)\n"
           "  --thought-file FILE   LVLM: paint from this thought (UTF-8, one final newline dropped)\n"
           "                        instead of thinking; 1 to --max-new-tokens tokens, kept at its length\n"
           "  --count N             N images with seeds SEED … SEED+N−1, written as OUT-1.png … (default 1)\n"
           "  --temperature X --top-p X   LVLM sampling (default 0.6, 0.9)\n"
           "  --picture-ids auto|on|off   LVLM: \"Picture N: \" before each image (auto: on with 2+ images)\n"
           "  --instruction TEXT    LVLM: text before the items (default: the official one with 2+ images,\n"
           "                        none otherwise; \"\" for none)\n"
           "  --image-decode viewer|official   viewer: EXIF rotation, alpha over white (default);\n"
           "                        official: pixels as stored, alpha dropped (PIL convert(\"RGB\"))\n"
           "  --vae-tiling on|off   decode over 1024 px in tiles (default on; off: whole, as diffusers)\n"
           "  --preview-dir DIR     write a preview PNG per step\n"
           "  --backend auto|cpu|vulkan   where to run (default auto: a GPU when there is one)\n"
           "  --max-vram GIB        refuse to hold more than GIB GiB in tensors on the device\n"
           "  --weights PART=FILE   load PART (flux, t5, clip, lvlm for Qwen2-VL or eva for BLIP-2's\n"
           "                        vision tower) from FILE, one of the models folder's weight files\n"
           "                        for it (repeatable; default: .safetensors first)\n"
           "Items are read in the order given. An LVLM board with 2+ images and no --width/--height\n"
           "is painted at 512×512, as the official multi-image run. Ctrl-C cancels cleanly.\n");
}

typedef struct {
  const char *model, *models, *prompt, *board_file, *out, *preview_dir, *backend, *thought_file;
  int count;
  td_board *board;
  bool size_given;
  double max_vram;       /* GiB; 0 = no cap */
  const char *weight_file[TD_WEIGHTS_COUNT]; /* --weights PART=FILE; NULL: the default */
} generate_args;

/* Numeric options: where each goes and its range. */
static bool
parse_setting (const char *flag, const char *value, td_board_settings *s, bool *known)
{
  static const struct { const char *flag; bool integer; double min, max; } ranges[] = {
    { "--width", true, 64, 4096 }, { "--height", true, 64, 4096 }, { "--steps", true, 1, 200 },
    { "--guidance", false, 0, 100 }, { "--seed", true, 0, 9007199254740991.0 },
    { "--max-new-tokens", true, 1, 1024 }, { "--temperature", false, 0, 10 }, { "--top-p", false, 0.001, 1 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      if (strcmp (flag, ranges[i].flag) != 0)
        continue;
      *known = true;
      double v;
      int64_t n = 0;
      if (ranges[i].integer ? !td_cli_parse_int (flag, value, (int64_t) ranges[i].min, (int64_t) ranges[i].max, &n)
                            : !td_cli_parse_double (flag, value, ranges[i].min, ranges[i].max, &v))
        return false;
      if (ranges[i].integer)
        v = (double) n;
      if ((i == 0 || i == 1) && n % 16 != 0)
        {
          fprintf (stderr, "thinkdiff: %s wants a multiple of 16, not %s\n", flag, value);
          return false;
        }
      switch (i)
        {
        case 0: s->width = (int) v; break;
        case 1: s->height = (int) v; break;
        case 2: s->steps = (int) v; break;
        case 3: s->guidance = (float) v; break;
        case 4: s->seed = (uint64_t) v; break;
        case 5: s->max_new_tokens = (int) v; break;
        case 6: s->temperature = (float) v; break;
        default: s->top_p = (float) v; break;
        }
      return true;
    }
  *known = false;
  return true;
}

static bool
parse_switch (const char *flag, const char *value, bool allow_auto, int *out)
{
  if (strcmp (value, "on") == 0)
    *out = 1;
  else if (strcmp (value, "off") == 0)
    *out = 0;
  else if (allow_auto && strcmp (value, "auto") == 0)
    *out = TD_BOARD_AUTO;
  else
    {
      fprintf (stderr, "thinkdiff: %s is %s, not '%s'\n", flag, allow_auto ? "auto, on or off" : "on or off", value);
      return false;
    }
  return true;
}

/* The options that follow the official pipeline (picture ids, instruction, image decoding, VAE tiling). */
static bool
parse_official_option (const char *flag, const char *value, td_board *board, bool *known)
{
  td_error err = { 0 };
  td_board_settings settings = td_board_get_settings (board);
  int on = 0;
  *known = true;
  if (strcmp (flag, "--picture-ids") == 0)
    {
      if (!parse_switch (flag, value, true, &settings.picture_ids))
        return false;
      td_board_set_settings (board, &settings);
      return true;
    }
  if (strcmp (flag, "--vae-tiling") == 0)
    {
      if (!parse_switch (flag, value, false, &on))
        return false;
      settings.vae_tiling = on;
      td_board_set_settings (board, &settings);
      return true;
    }
  if (strcmp (flag, "--image-decode") == 0)
    {
      if (td_board_image_decode_from_name (value, &settings.image_decode))
        {
          td_board_set_settings (board, &settings);
          return true;
        }
      fprintf (stderr, "thinkdiff: --image-decode is viewer or official, not '%s'\n", value);
      return false;
    }
  if (strcmp (flag, "--instruction") == 0)
    {
      if (td_board_set_instruction (board, value, &err) == TD_OK)
        return true;
      td_cli_fail (&err);
      return false;
    }
  *known = false;
  return true;
}

/* The edited thought from FILE: a regular file, bounded, UTF-8; one final newline is
 * dropped, as editors add it. */
static int
read_thought_file (const char *path, td_board *board)
{
  td_error err = { 0 };
  GStatBuf sb;
  if (g_stat (path, &sb) != 0)
    {
      fprintf (stderr, "thinkdiff: --thought-file %s: %s\n", path, g_strerror (errno));
      return 2;
    }
  if (!S_ISREG (sb.st_mode) || sb.st_size > MAX_THOUGHT_BYTES)
    {
      fprintf (stderr, "thinkdiff: --thought-file %s: not a regular file of at most %d bytes\n", path,
               MAX_THOUGHT_BYTES);
      return 2;
    }
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &text, &length, &error))
    {
      fprintf (stderr, "thinkdiff: --thought-file %s\n", error->message);
      return 2;
    }
  if (strlen (text) != length)
    {
      fprintf (stderr, "thinkdiff: --thought-file %s holds a NUL byte\n", path);
      return 2;
    }
  if (length > 0 && text[length - 1] == '\n')
    text[--length] = '\0';
  if (td_board_set_thought (board, text, &err) != TD_OK)
    {
      fprintf (stderr, "thinkdiff: --thought-file %s: %s\n", path, err.message);
      return 2;
    }
  return 0;
}

/* OUT with "-K" before its extension, for the K-th of several images. */
static char *
numbered_output (const char *out, int k)
{
  const char *base = strrchr (out, '/');
  const char *dot = strrchr (base != NULL ? base + 1 : out, '.');
  if (dot == NULL || dot == (base != NULL ? base + 1 : out))
    return g_strdup_printf ("%s-%d", out, k);
  return g_strdup_printf ("%.*s-%d%s", (int) (dot - out), out, k, dot);
}

/* Returns 0 to go on, -1 after --help, an exit code otherwise. With settings_only,
 * only the numeric settings are applied (a second pass over a loaded board file). */
static int
parse_args (int argc, char **argv, generate_args *a, bool settings_only)
{
  td_error err = { 0 };
  for (int i = 1; i < argc; i++)
    {
      const char *flag = argv[i];
      if (strcmp (flag, "--help") == 0 || strcmp (flag, "-h") == 0)
        {
          usage (stdout);
          return -1;
        }
      /* "--" ends the options; generate takes nothing else. */
      if (strcmp (flag, "--") == 0)
        {
          if (i + 1 < argc)
            {
              fprintf (stderr, "thinkdiff: unexpected argument '%s' after -- (see --help)\n", argv[i + 1]);
              return 2;
            }
          break;
        }
      if (i + 1 >= argc)
        {
          fprintf (stderr, "thinkdiff: %s needs a value (see --help)\n", flag);
          return 2;
        }
      const char *value = argv[++i];
      bool known = false;
      td_board_settings settings = td_board_get_settings (a->board);
      if (!parse_setting (flag, value, &settings, &known))
        return 2;
      td_board_set_settings (a->board, &settings);
      a->size_given = a->size_given || strcmp (flag, "--width") == 0 || strcmp (flag, "--height") == 0;
      if (!known && !parse_official_option (flag, value, a->board, &known))
        return 2;
      if (known || settings_only)
        continue;
      if (strcmp (flag, "--model") == 0)
        a->model = value;
      else if (strcmp (flag, "--models") == 0)
        a->models = value;
      else if (strcmp (flag, "--prompt") == 0)
        a->prompt = value;
      else if (strcmp (flag, "--board") == 0)
        a->board_file = value;
      else if (strcmp (flag, "--out") == 0)
        a->out = value;
      else if (strcmp (flag, "--max-vram") == 0)
        {
          if (!td_cli_parse_double (flag, value, 0.001, 65536.0, &a->max_vram))
            return 2;
        }
      else if (strcmp (flag, "--weights") == 0)
        {
          if (!td_cli_parse_weight_choice (flag, value, a->weight_file))
            return 2;
        }
      else if (strcmp (flag, "--preview-dir") == 0)
        a->preview_dir = value;
      else if (strcmp (flag, "--thought-file") == 0)
        a->thought_file = value;
      else if (strcmp (flag, "--count") == 0)
        {
          int64_t n = 0;
          if (!td_cli_parse_int (flag, value, 1, MAX_COUNT, &n))
            return 2;
          a->count = (int) n;
        }
      else if (strcmp (flag, "--backend") == 0)
        {
          if (strcmp (value, "auto") != 0 && strcmp (value, "cpu") != 0 && strcmp (value, "vulkan") != 0)
            {
              fprintf (stderr, "thinkdiff: --backend is auto, cpu or vulkan, not '%s'\n", value);
              return 2;
            }
          a->backend = value;
        }
      else if (strcmp (flag, "--mode") == 0)
        {
          td_board_mode mode;
          if (!td_board_mode_from_name (value, &mode))
            {
              fprintf (stderr, "thinkdiff: --mode is lvlm or clip, not '%s'\n", value);
              return 2;
            }
          td_board_set_mode (a->board, mode);
        }
      else if (strcmp (flag, "--text") == 0)
        {
          if (td_board_add (a->board, TD_BOARD_TEXT, value, &err) != TD_OK)
            return td_cli_fail (&err);
        }
      else if (strcmp (flag, "--image") == 0)
        {
          /* Absolute, so the board stored in the PNG finds the images from anywhere. */
          g_autofree char *path = g_canonicalize_filename (value, NULL);
          if (td_board_add (a->board, TD_BOARD_IMAGE, path, &err) != TD_OK)
            return td_cli_fail (&err);
        }
      else
        {
          fprintf (stderr, "thinkdiff: unknown option '%s' (see --help)\n", flag);
          return 2;
        }
    }
  return 0;
}

/* The memory plan of the run and the strategy the engine applies, before it starts. */
static void
print_plan (td_engine *engine, generate_args *a, const td_model_paths *paths, const char *flux_dir)
{
  td_error err = { 0 };
  td_model_paths flux_only = { 0 };
  td_plan *plan = NULL;
  if (a->prompt == NULL)
    plan = td_engine_plan (engine, a->board, paths, &err);
  else if (td_model_paths_find (flux_dir, &flux_only, &err) == TD_OK)
    {
      const td_board_settings settings = td_board_get_settings (a->board);
      td_plan_options options = td_plan_options_default (TD_PLAN_T2I);
      options.width = settings.width;
      options.height = settings.height;
      plan = td_engine_plan_options (engine, &options, &flux_only, &err);
    }
  td_model_paths_clear (&flux_only);
  if (plan == NULL)
    {
      fprintf (stderr, "plan: none (%s)\n", err.message);
      return;
    }
  char *summary = td_plan_summary (plan);
  fprintf (stderr, "plan: %s (strategy: %s)\n", summary, td_plan_strategy_name (td_plan_get_strategy (plan)));
  td_free (summary);
  td_plan_stage_info info;
  for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
    if (info.strategy == TD_PLAN_STREAMED)
      fprintf (stderr, "plan: %s streamed, %d of %d blocks resident\n", info.name, info.resident_blocks, info.blocks);
  td_plan_free (plan);
}

/* One image to path; an exit code. */
static int
generate_one (td_engine *engine, generate_args *a, const td_model_paths *paths, const char *flux_dir,
              const td_generate_callbacks *callbacks, const char *path)
{
  td_error err = { 0 };
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  td_output *output = NULL;
  td_status st;
  if (a->prompt != NULL)
    st = td_engine_text_to_image (engine, a->board, flux_dir, callbacks, &output, &err);
  else
    st = td_engine_generate (engine, a->board, paths, callbacks, &output, &err);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  cli_progress *progress = callbacks->user;
  report_stage_memory (progress);
  fprintf (stderr, "memory: run peak %.1f MiB\n", mib (progress->run_peak));

  int code = 0;
  if (st == TD_ERR_CANCELLED)
    {
      fprintf (stderr, "\nthinkdiff: cancelled; %s was not written\n", path);
      code = 130;
    }
  else if (st != TD_OK)
    code = td_cli_fail (&err);
  else
    {
      /* The settings, the board and the thought go in as PNG text chunks. */
      if (td_output_save_png (output, path, &err) != TD_OK)
        code = td_cli_fail (&err);
      else
        printf ("%s%s\n", td_output_thought (output) != NULL ? "\n" : "", path);
    }
  td_output_free (output);
  return code;
}

static int
run (generate_args *a)
{
  td_error err = { 0 };
  if ((a->prompt != NULL) == (td_board_n_items (a->board) > 0))
    {
      fprintf (stderr, "thinkdiff: give either --prompt, or board items (--image/--text/--board), not both\n");
      return 2;
    }
  if (a->prompt != NULL && td_board_add (a->board, TD_BOARD_TEXT, a->prompt, &err) != TD_OK)
    return td_cli_fail (&err);
  if (td_board_validate (a->board, &err) != TD_OK)
    return td_cli_fail (&err);
  if (td_board_thought (a->board) != NULL && (a->prompt != NULL || td_board_get_mode (a->board) != TD_BOARD_LVLM))
    {
      fprintf (stderr, "thinkdiff: --thought-file needs an LVLM board (--mode lvlm with --image/--text, or --board)\n");
      return 2;
    }
  /* Outputs are checked before anything loads: a bad --out must not cost a whole generation. */
  const char *out = a->out != NULL ? a->out : "thinkdiff.png";
  const int count = a->count > 0 ? a->count : 1;
  for (int k = 1; k <= count; k++)
    {
      g_autofree char *path = count > 1 ? numbered_output (out, k) : g_strdup (out);
      if (!td_cli_check_output_file ("--out", path))
        return 2;
    }
  if (a->preview_dir != NULL && g_mkdir_with_parents (a->preview_dir, 0755) != 0)
    {
      fprintf (stderr, "thinkdiff: --preview-dir %s cannot be created: %s\n", a->preview_dir, g_strerror (errno));
      return 2;
    }

  /* Without --model or --models, the folder `thinkdiff models pull` fills. */
  g_autofree char *default_models = NULL;
  if (a->model == NULL && a->models == NULL)
    a->models = default_models = td_models_default_dir ();
  td_model_paths paths = { 0 };
  const char *flux_dir = a->model;
  if (a->models != NULL)
    {
      if (td_model_paths_find (a->models, &paths, &err) != TD_OK)
        {
          if (default_models != NULL)
            fprintf (stderr, "thinkdiff: no models yet: get them with 'thinkdiff models pull flux-dev' (or try "
                             "'thinkdiff make-demo-models %s'), or pass --model/--models\n", default_models);
          return td_cli_fail (&err);
        }
      if (flux_dir == NULL)
        flux_dir = paths.path[TD_PART_FLUX];
      /* A board needs every part of its mode; text-to-image only FLUX, which is checked
       * first. The error names what is missing and the pull that gets it. */
      if ((a->prompt == NULL || flux_dir == NULL)
          && td_model_paths_require (&paths, td_board_get_mode (a->board) == TD_BOARD_LVLM, &err) != TD_OK)
        {
          td_model_paths_clear (&paths);
          return td_cli_fail (&err);
        }
    }
  if (a->prompt == NULL && a->models == NULL)
    {
      fprintf (stderr, "thinkdiff: a board needs --models DIR (the folder `thinkdiff models pull` fills)\n");
      td_model_paths_clear (&paths);
      return 2;
    }
  if (flux_dir == NULL)
    {
      fprintf (stderr, "thinkdiff: no FLUX model: give --model FLUX_DIR or --models DIR\n");
      td_model_paths_clear (&paths);
      return 2;
    }

  if (!td_cli_check_weight_choices (flux_dir, a->models, a->weight_file))
    {
      td_model_paths_clear (&paths);
      return 1;
    }

  td_engine_options options = td_engine_options_default ();
  options.backend = a->backend;
  options.device_budget = (uint64_t) (a->max_vram * 1024.0 * 1024.0 * 1024.0);
  td_engine *engine = td_engine_new (&options, &err);
  if (engine == NULL)
    {
      td_model_paths_clear (&paths);
      return td_cli_fail (&err);
    }
  fprintf (stderr, "backend: %s\n", td_engine_name (engine));
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    if (a->weight_file[part] != NULL)
      {
        td_engine_set_weight_file (engine, (td_weight_part) part, a->weight_file[part], NULL);
        fprintf (stderr, "weights: %s from %s\n", td_weight_part_name ((td_weight_part) part), a->weight_file[part]);
      }
  print_plan (engine, a, &paths, flux_dir);

  cli_progress progress = { .preview_dir = a->preview_dir, .engine = engine };
  td_generate_callbacks callbacks = {
    .stage = print_stage,
    .thought = print_thought,
    .step = print_progress,
    .preview = write_preview,
    .cancel = &cancel_requested,
    .user = &progress,
  };
  int code = 0;
  const td_board_settings first = td_board_get_settings (a->board);
  for (int k = 1; k <= count && code == 0; k++)
    {
      td_board_settings settings = first;
      settings.seed = first.seed + (uint64_t) (k - 1);
      td_board_set_settings (a->board, &settings);
      g_autofree char *path = count > 1 ? numbered_output (out, k) : g_strdup (out);
      if (count > 1)
        fprintf (stderr, "image %d of %d, seed %" G_GUINT64_FORMAT "\n", k, count, settings.seed);
      code = generate_one (engine, a, &paths, flux_dir, &callbacks, path);
    }
  td_engine_free (engine);
  td_model_paths_clear (&paths);
  return code;
}

int
td_cli_generate (int argc, char **argv)
{
  generate_args a = { 0 };
  a.board = td_board_new (TD_BOARD_LVLM);
  int code = parse_args (argc, argv, &a, false);
  if (code == 0 && a.board_file != NULL)
    {
      td_error err = { 0 };
      bool has_items = td_board_n_items (a.board) > 0;
      td_board *loaded = !has_items ? td_board_load_json (a.board_file, &err) : NULL;
      if (has_items)
        {
          fprintf (stderr, "thinkdiff: --board replaces --image/--text; give one or the other\n");
          code = 2;
        }
      else if (loaded == NULL)
        code = td_cli_fail (&err);
      else
        {
          /* The file's settings, then any given on the command line. */
          td_board_free (a.board);
          a.board = loaded;
          code = parse_args (argc, argv, &a, true);
        }
    }
  if (code == 0 && a.thought_file != NULL)
    code = read_thought_file (a.thought_file, a.board);
  /* A board file keeps its own size. */
  if (code == 0 && a.board_file == NULL && !a.size_given)
    td_board_apply_official_size (a.board);
  if (code == 0)
    code = run (&a);
  td_board_free (a.board);
  return code < 0 ? 0 : code;
}
