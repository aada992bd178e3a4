/* End to end: `thinkdiff make-demo-models`, then `thinkdiff generate` on the demo folder
 * the way a user runs it — text-to-image, CLIP and LVLM boards, board files, bad input,
 * Ctrl-C — checking the files it writes, not only its exit code. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli-util.h"
#include "core/dtype.h"
#include "io/image.h"
#include "pipeline/model_paths.h"
#include "text/tokenizer.h"

static cli_fixture fixture;

static char *
path_in (const char *name)
{
  return cli_fixture_path (&fixture, name);
}

static void
assert_missing (const char *name)
{
  g_autofree char *path = path_in (name);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static gint64
tree_bytes (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GStatBuf st;
      return g_stat (path, &st) == 0 ? (gint64) st.st_size : 0;
    }
  gint64 total = 0;
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      total += tree_bytes (child);
    }
  return total;
}

/* Every part a mode needs is found, each folder says it is untrained, the whole is small. */
static void
test_demo_models_complete (void)
{
  td_model_paths paths;
  td_error err = { 0 };
  g_assert_cmpint (td_model_paths_find (fixture.models, &paths, &err), ==, TD_OK);
  for (int part = 0; part < TD_PART_COUNT; part++)
    if (part != TD_PART_TAEF1)
      {
        if (paths.path[part] == NULL)
          g_error ("the demo folder lacks %s: %s", td_model_part_title (part), paths.missing[part]);
      }
  g_assert_cmpint (td_model_paths_require (&paths, true, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, false, &err), ==, TD_OK);
  td_model_paths_clear (&paths);

  const char *folders[] = { "", "flux-dev", "blip2-vision", "thinkdiff-clip", "qwen2-vl-7b-instruct",
                            "thinkdiff-lvlm" };
  for (size_t i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *readme = g_build_filename (fixture.models, folders[i], "README.md", NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (readme, &text, NULL, NULL));
      g_assert_nonnull (strstr (text, "NOT trained"));
    }
  /* The LVLM's vocabulary covers every id of the real Qwen2 tokenizer it ships with. */
  g_autofree char *qwen = g_build_filename (fixture.models, "qwen2-vl-7b-instruct", NULL);
  td_tokenizer *tok = NULL;
  g_assert_cmpint (td_tokenizer_load (qwen, &tok, &err), ==, TD_OK);
  g_assert_cmpuint (td_tokenizer_vocab_size (tok), >, 151643);
  g_assert_cmpuint (td_tokenizer_vocab_size (tok), <=, 152064);
  td_tokenizer_free (tok);

  gint64 bytes = tree_bytes (fixture.models);
  g_test_message ("demo models: %.1f MB", bytes / 1e6);
  g_assert_cmpint (bytes, <, 60 * 1000 * 1000);
}

static void
test_text_to_image (void)
{
  g_autofree char *flux = g_build_filename (fixture.models, "flux-dev", NULL);
  cli_result r = cli_run (&fixture, NULL, "generate", "--model", flux, "--prompt", "a lighthouse at dusk",
                          "--width", "80", "--height", "64", "--steps", "2", "--seed", "7", "--preview-dir",
                          "previews", "--out", "t2i.png", NULL);
  cli_assert_status (&r, 0);
  g_assert_true (g_str_has_suffix (r.out, "t2i.png\n"));
  g_assert_nonnull (strstr (r.err, "step 2/2"));
  cli_result_clear (&r);

  g_autofree char *out = path_in ("t2i.png");
  int width, height;
  cli_png_size (out, &width, &height);
  g_assert_cmpint (width, ==, 80);
  g_assert_cmpint (height, ==, 64);
  /* One preview per step, and no more. */
  for (int step = 1; step <= 3; step++)
    {
      g_autofree char *name = g_strdup_printf ("previews/preview-%03d.png", step);
      g_autofree char *preview = path_in (name);
      if (step <= 2)
        {
          cli_png_size (preview, &width, &height);
          g_assert_cmpint (width, >, 0);
          g_assert_cmpint (width * 64, ==, height * 80); /* the image's aspect */
        }
      else
        g_assert_false (g_file_test (preview, G_FILE_TEST_EXISTS));
    }

  g_autofree char *mode = cli_png_text (out, "thinkdiff:mode");
  g_autofree char *software = cli_png_text (out, "Software");
  g_autofree char *thought = cli_png_text (out, "thinkdiff:thought");
  g_assert_cmpstr (mode, ==, "text-to-image");
  g_assert_true (g_str_has_prefix (software, "ThinkDiff Studio "));
  g_assert_null (thought);
  td_board *stored = cli_png_board (out);
  td_board *expected = td_board_new (TD_BOARD_LVLM);
  g_assert_cmpint (td_board_add (expected, TD_BOARD_TEXT, "a lighthouse at dusk", NULL), ==, TD_OK);
  expected->settings.width = 80;
  expected->settings.height = 64;
  expected->settings.steps = 2;
  expected->settings.seed = 7;
  cli_assert_boards_equal (stored, expected);
  td_board_free (stored);
  td_board_free (expected);
}

/* Two images and a text, given with relative paths: the stored board has them absolute. */
static void
test_clip_board (void)
{
  cli_result r = cli_run (&fixture, NULL, "generate", "--models", "models", "--mode", "clip", "--image", "a.png",
                          "--text", "the same, in red", "--image", "b.png", "--width", "64", "--height", "64",
                          "--steps", "2", "--guidance", "2.5", "--out", "clip.png", NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.err, "reading images"));
  cli_result_clear (&r);

  g_autofree char *out = path_in ("clip.png");
  int width, height;
  cli_png_size (out, &width, &height);
  g_assert_cmpint (width, ==, 64);
  g_assert_cmpint (height, ==, 64);
  g_autofree char *mode = cli_png_text (out, "thinkdiff:mode");
  g_assert_cmpstr (mode, ==, "clip");
  td_board *stored = cli_png_board (out);
  td_board *expected = td_board_new (TD_BOARD_CLIP);
  g_autofree char *a = path_in ("a.png");
  g_autofree char *b = path_in ("b.png");
  td_board_add (expected, TD_BOARD_IMAGE, a, NULL);
  td_board_add (expected, TD_BOARD_TEXT, "the same, in red", NULL);
  td_board_add (expected, TD_BOARD_IMAGE, b, NULL);
  expected->settings.width = expected->settings.height = 64;
  expected->settings.steps = 2;
  expected->settings.guidance = 2.5f;
  cli_assert_boards_equal (stored, expected);
  td_board_free (stored);
  td_board_free (expected);
}

/* The thought as printed: stdout is the thought, a newline, then the output path. A
 * trailing incomplete character is printed only in the stored copy. */
static void
assert_thought_printed (const char *stdout_text, const char *out_name, const char *stored)
{
  g_autofree char *tail = g_strdup_printf ("\n%s\n", out_name);
  g_assert_true (g_str_has_suffix (stdout_text, tail));
  g_autofree char *printed = g_strndup (stdout_text, strlen (stdout_text) - strlen (tail));
  if (strcmp (printed, stored) != 0)
    {
      g_autofree char *completed = g_strconcat (printed, "\xef\xbf\xbd", NULL);
      g_assert_cmpstr (completed, ==, stored);
    }
}

static void
test_lvlm_board (void)
{
  cli_result r = cli_run (&fixture, NULL, "generate", "--models", "models", "--mode", "lvlm", "--image", "a.png",
                          "--text", "What comes next?", "--image", "b.png", "--width", "64", "--height", "64",
                          "--steps", "2", "--max-new-tokens", "8", "--seed", "3", "--picture-ids", "off",
                          "--instruction", "Look: ", "--image-decode", "official", "--vae-tiling", "off", "--out",
                          "lvlm.png", NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.err, "thinking"));

  g_autofree char *out = path_in ("lvlm.png");
  int width, height;
  cli_png_size (out, &width, &height);
  g_assert_cmpint (width, ==, 64);
  g_assert_cmpint (height, ==, 64);
  g_autofree char *mode = cli_png_text (out, "thinkdiff:mode");
  g_autofree char *thought = cli_png_text (out, "thinkdiff:thought");
  g_assert_cmpstr (mode, ==, "lvlm");
  g_assert_nonnull (thought);
  g_assert_true (g_utf8_validate (thought, -1, NULL));
  g_assert_cmpuint (strlen (thought), >, 0);
  assert_thought_printed (r.out, "lvlm.png", thought);
  cli_result_clear (&r);

  td_board *stored = cli_png_board (out);
  td_board *expected = td_board_new (TD_BOARD_LVLM);
  g_autofree char *a = path_in ("a.png");
  g_autofree char *b = path_in ("b.png");
  td_board_add (expected, TD_BOARD_IMAGE, a, NULL);
  td_board_add (expected, TD_BOARD_TEXT, "What comes next?", NULL);
  td_board_add (expected, TD_BOARD_IMAGE, b, NULL);
  expected->settings.width = expected->settings.height = 64;
  expected->settings.steps = 2;
  expected->settings.max_new_tokens = 8;
  expected->settings.seed = 3;
  expected->settings.picture_ids = 0;
  expected->settings.image_decode = TD_IMAGE_DECODE_OFFICIAL;
  expected->settings.vae_tiling = false;
  td_board_set_instruction (expected, "Look: ", NULL);
  cli_assert_boards_equal (stored, expected);
  td_board_free (stored);
  td_board_free (expected);
}

/* An LVLM board of two images with no size given is painted at 512², as the official
 * multi-image run; picture ids and the instruction stay "auto" in the stored board. */
static void
test_lvlm_multi_image_defaults (void)
{
  cli_result r = cli_run (&fixture, NULL, "generate", "--models", "models", "--mode", "lvlm", "--image", "a.png",
                          "--image", "b.png", "--steps", "1", "--max-new-tokens", "4", "--out", "multi.png", NULL);
  cli_assert_status (&r, 0);
  cli_result_clear (&r);
  g_autofree char *out = path_in ("multi.png");
  int width, height;
  cli_png_size (out, &width, &height);
  g_assert_cmpint (width, ==, 512);
  g_assert_cmpint (height, ==, 512);
  td_board *stored = cli_png_board (out);
  g_assert_cmpint (stored->settings.picture_ids, ==, TD_BOARD_AUTO);
  g_assert_null (stored->instruction);
  g_assert_true (td_board_uses_picture_ids (stored));
  g_assert_cmpstr (td_board_instruction (stored), ==, td_board_official_instruction);
  td_board_free (stored);
}

/* Over 1024 px the VAE decodes in tiles unless --vae-tiling off (whole, as diffusers): the
 * same seed then gives other pixels, and the stored board says which was used. */
static void
test_vae_tiling_off (void)
{
  const char *names[2] = { "tiled.png", "whole.png" };
  td_image images[2];
  for (int i = 0; i < 2; i++)
    {
      cli_result r = cli_run (&fixture, NULL, "generate", "--models", "models", "--mode", "clip", "--text", "x",
                              "--width", "1088", "--height", "64", "--steps", "1", "--vae-tiling", i ? "off" : "on",
                              "--out", names[i], NULL);
      cli_assert_status (&r, 0);
      cli_result_clear (&r);
      g_autofree char *path = path_in (names[i]);
      td_error err = { 0 };
      g_assert_cmpint (td_image_load (path, NULL, &images[i], &err), ==, TD_OK);
      g_assert_cmpint (images[i].width, ==, 1088);
      td_board *stored = cli_png_board (path);
      g_assert_cmpint (stored->settings.vae_tiling, ==, i == 0);
      td_board_free (stored);
    }
  size_t differing = 0, n = (size_t) 1088 * 64 * 3;
  for (size_t k = 0; k < n; k++)
    differing += images[0].rgb[k] != images[1].rgb[k];
  g_assert_cmpuint (differing, >, n / 100);
  td_image_clear (&images[0]);
  td_image_clear (&images[1]);
}

/* Qwen2-VL's vocabulary is padded past its tokenizer's; ids there have no text. Here the
 * padded rows of the (tied) embedding are scaled up so sampling lands on them: the thought
 * must still be stored (those ids skipped), not lost. */
static void
test_lvlm_padded_vocabulary (void)
{
  g_autofree char *models = path_in ("models-padded");
  g_autofree char *qwen = g_build_filename (models, "qwen2-vl-7b-instruct", NULL);
  g_assert_cmpint (g_mkdir_with_parents (qwen, 0755), ==, 0);
  const char *linked[] = { "flux-dev", "thinkdiff-lvlm", "qwen2-vl-7b-instruct/config.json",
                           "qwen2-vl-7b-instruct/tokenizer.json" };
  for (size_t i = 0; i < G_N_ELEMENTS (linked); i++)
    {
      g_autofree char *target = g_build_filename (fixture.models, linked[i], NULL);
      g_autofree char *link = g_build_filename (models, linked[i], NULL);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }

  g_autofree char *source = g_build_filename (fixture.models, "qwen2-vl-7b-instruct", "model.safetensors", NULL);
  g_autofree char *copy = g_build_filename (qwen, "model.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (source, &data, &size, NULL));
  guint64 header_size;
  memcpy (&header_size, data, 8); /* little-endian, as the machines this runs on */
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, data + 8, (gssize) header_size, NULL));
  JsonObject *table = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                                     "model.embed_tokens.weight");
  g_assert_cmpstr (json_object_get_string_member (table, "dtype"), ==, "BF16");
  JsonArray *shape = json_object_get_array_member (table, "shape");
  gint64 rows = json_array_get_int_element (shape, 0), width = json_array_get_int_element (shape, 1);
  gint64 begin = json_array_get_int_element (json_object_get_array_member (table, "data_offsets"), 0);
  td_tokenizer *tok = NULL;
  g_assert_cmpint (td_tokenizer_load (qwen, &tok, NULL), ==, TD_OK);
  gint64 known = (gint64) td_tokenizer_vocab_size (tok);
  td_tokenizer_free (tok);
  g_assert_cmpint (known, <, rows);
  uint16_t *values = (uint16_t *) (data + 8 + header_size + begin);
  for (gint64 i = known * width; i < rows * width; i++)
    values[i] = td_f32_to_bf16 (td_bf16_to_f32 (values[i]) * 16.0f);
  g_assert_true (g_file_set_contents (copy, data, (gssize) size, NULL));

  cli_result r = cli_run (&fixture, NULL, "generate", "--models", "models-padded", "--mode", "lvlm", "--text",
                          "Say something.", "--width", "64", "--height", "64", "--steps", "1", "--max-new-tokens",
                          "8", "--out", "padded.png", NULL);
  cli_assert_status (&r, 0);
  g_autofree char *out = path_in ("padded.png");
  g_autofree char *thought = cli_png_text (out, "thinkdiff:thought");
  g_assert_nonnull (thought);
  assert_thought_printed (r.out, "padded.png", thought);
  cli_result_clear (&r);
}

/* A board file's settings apply; flags after it override them. */
static void
test_board_file (void)
{
  g_autofree char *boards = path_in ("boards");
  g_assert_cmpint (g_mkdir_with_parents (boards, 0755), ==, 0);
  g_autofree char *file = g_build_filename (boards, "board.json", NULL);
  g_assert_true (g_file_set_contents (file,
                                      "{\"mode\": \"clip\", \"items\": [{\"text\": \"a teapot\"}, "
                                      "{\"image\": \"../b.png\"}], \"width\": 128, \"height\": 96, \"steps\": 3, "
                                      "\"guidance\": 4.5, \"seed\": 42}",
                                      -1, NULL));
  cli_result r = cli_run (&fixture, NULL, "generate", "--models", "models", "--board", "boards/board.json",
                          "--steps", "1", "--height", "64", "--out", "from-file.png", NULL);
  cli_assert_status (&r, 0);
  g_assert_nonnull (strstr (r.err, "step 1/1"));
  cli_result_clear (&r);

  g_autofree char *out = path_in ("from-file.png");
  int width, height;
  cli_png_size (out, &width, &height);
  g_assert_cmpint (width, ==, 128);
  g_assert_cmpint (height, ==, 64);
  td_board *stored = cli_png_board (out);
  td_board *expected = td_board_new (TD_BOARD_CLIP);
  g_autofree char *b = path_in ("b.png");
  td_board_add (expected, TD_BOARD_TEXT, "a teapot", NULL);
  td_board_add (expected, TD_BOARD_IMAGE, b, NULL);
  expected->settings.width = 128;
  expected->settings.height = 64;
  expected->settings.steps = 1;
  expected->settings.guidance = 4.5f;
  expected->settings.seed = 42;
  cli_assert_boards_equal (stored, expected);
  td_board_free (stored);
  td_board_free (expected);

  /* A board file and items on the command line are one or the other. */
  r = cli_run (&fixture, NULL, "generate", "--models", "models", "--board", "boards/board.json", "--text", "more",
               "--out", "both.png", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--board"));
  cli_result_clear (&r);
  assert_missing ("both.png");
}

typedef struct {
  const char *name;
  const char *args[16];
  int status;
  const char *message; /* a piece of what stderr must say */
} bad_case;

static void
test_bad_input (void)
{
  g_autofree char *empty = path_in ("empty-models");
  g_autofree char *flux_only = path_in ("flux-only");
  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (flux_only, 0755), ==, 0);
  g_autofree char *flux_target = g_build_filename (fixture.models, "flux-dev", NULL);
  g_autofree char *flux_link = g_build_filename (flux_only, "flux-dev", NULL);
  g_assert_cmpint (symlink (flux_target, flux_link), ==, 0);
  g_autofree char *fifo = path_in ("fifo.json");
  g_autofree char *loop = path_in ("loop.png");
  g_autofree char *board_72 = path_in ("board-72.json");
  g_autofree char *board_mode = path_in ("board-mode-object.json");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  g_assert_true (g_file_set_contents (board_72, "{\"items\": [{\"text\": \"x\"}], \"width\": 72}", -1, NULL));
  g_assert_true (g_file_set_contents (board_mode, "{\"mode\": {}, \"items\": [{\"text\": \"x\"}]}", -1, NULL));

#define SMALL "--width", "64", "--height", "64", "--steps", "1", "--out", "bad.png"
  const bad_case cases[] = {
    { "no models at all", { "--models", "empty-models", "--mode", "clip", "--image", "a.png", SMALL }, 1,
      "thinkdiff models pull flux-dev" },
    { "no models for text-to-image", { "--models", "empty-models", "--prompt", "x", SMALL }, 1,
      "thinkdiff models pull flux-dev" },
    { "no LVLM", { "--models", "flux-only", "--mode", "lvlm", "--text", "x", SMALL }, 1,
      "thinkdiff models pull lvlm" },
    { "no CLIP parts", { "--models", "flux-only", "--mode", "clip", "--text", "x", SMALL }, 1,
      "thinkdiff models pull clip" },
    { "models folder absent", { "--models", "nowhere", "--mode", "clip", "--text", "x", SMALL }, 1, "nowhere" },
    { "unknown mode", { "--models", "models", "--mode", "dream", "--text", "x", SMALL }, 2, "dream" },
    { "size not a multiple of 16", { "--models", "models", "--mode", "clip", "--text", "x", "--width", "72",
                                     "--height", "64", "--out", "bad.png" }, 2, "multiple of 16" },
    { "odd size", { "--models", "models", "--mode", "clip", "--text", "x", "--width", "64", "--height", "65",
                    "--out", "bad.png" }, 2, "65" },
    { "board size not a multiple of 16", { "--models", "models", "--board", "board-72.json", "--out", "bad.png" }, 1,
      "multiples of 16" },
    /* numbers are whole decimal arguments, range-checked before anything loads */
    { "fraction for steps", { "--models", "nowhere", "--prompt", "x", "--steps", "64.9" }, 2, "'64.9'" },
    { "hex steps", { "--models", "nowhere", "--prompt", "x", "--steps", "0x40" }, 2, "'0x40'" },
    { "steps with a space", { "--models", "nowhere", "--prompt", "x", "--steps", " 64" }, 2, "' 64'" },
    { "steps with a plus", { "--models", "nowhere", "--prompt", "x", "--steps", "+64" }, 2, "'+64'" },
    { "steps empty", { "--models", "nowhere", "--prompt", "x", "--steps", "" }, 2, "--steps wants an integer" },
    { "steps over the range", { "--models", "nowhere", "--prompt", "x", "--steps", "201" }, 2, "1..200" },
    { "negative seed", { "--models", "nowhere", "--prompt", "x", "--seed", "-1" }, 2, "--seed" },
    { "seed past 2^53", { "--models", "nowhere", "--prompt", "x", "--seed", "9007199254740993" }, 2, "--seed" },
    { "width huge", { "--models", "nowhere", "--prompt", "x", "--width", "99999999999999999999" }, 2, "--width" },
    { "guidance nan", { "--models", "nowhere", "--prompt", "x", "--guidance", "nan" }, 2, "'nan'" },
    { "guidance inf", { "--models", "nowhere", "--prompt", "x", "--guidance", "inf" }, 2, "'inf'" },
    { "guidance hex float", { "--models", "nowhere", "--prompt", "x", "--guidance", "0x1p3" }, 2, "'0x1p3'" },
    { "top-p zero", { "--models", "nowhere", "--prompt", "x", "--top-p", "0" }, 2, "--top-p" },
    { "temperature with a space", { "--models", "nowhere", "--prompt", "x", "--temperature", "0.5 " }, 2, "--temperature" },
    { "unknown backend", { "--models", "nowhere", "--prompt", "x", "--backend", "tpu" }, 2, "'tpu'" },
    /* outputs are checked before the models are looked for */
    { "out is a folder", { "--models", "nowhere", "--prompt", "x", "--out", "." }, 2, "is a folder" },
    { "out is empty", { "--models", "nowhere", "--prompt", "x", "--out", "" }, 2, "--out is empty" },
    { "out in a missing folder", { "--models", "nowhere", "--prompt", "x", "--out", "no/such/dir.png" }, 2,
      "no folder no/such" },
    { "out in a file", { "--models", "nowhere", "--prompt", "x", "--out", "a.png/x.png" }, 2,
      "a.png/x.png: Not a directory" },
    /* files that are not what they claim, each a clear error at once */
    { "board is a FIFO", { "--models", "models", "--board", "fifo.json", SMALL }, 1, "a FIFO" },
    { "board is /dev/zero", { "--models", "models", "--board", "/dev/zero", SMALL }, 1, "character device" },
    { "board mode is an object", { "--models", "models", "--board", "board-mode-object.json", SMALL }, 1,
      "\"mode\" should be the string" },
    { "image is a folder", { "--models", "models", "--mode", "clip", "--image", "models", SMALL }, 1, "a folder" },
    { "image is a FIFO", { "--models", "models", "--mode", "lvlm", "--image", "fifo.json", SMALL }, 1, "a FIFO" },
    { "image symlink loop", { "--models", "models", "--mode", "clip", "--image", "loop.png", SMALL }, 1,
      "Too many levels of symbolic links" },
    { "image missing says so", { "--models", "models", "--mode", "clip", "--image", "missing.png", SMALL }, 1,
      "No such file or directory" },
    { "size not a number", { "--models", "models", "--mode", "clip", "--text", "x", "--width", "big" }, 2, "big" },
    { "no image file", { "--models", "models", "--mode", "clip", "--image", "missing.png", SMALL }, 1,
      "missing.png" },
    { "no image file, LVLM", { "--models", "models", "--mode", "lvlm", "--image", "missing.png", SMALL }, 1,
      "missing.png" },
    { "truncated PNG", { "--models", "models", "--mode", "clip", "--image", "corrupt.png", SMALL }, 1,
      "corrupt.png" },
    { "truncated PNG, LVLM", { "--models", "models", "--mode", "lvlm", "--image", "corrupt.png", SMALL }, 1,
      "corrupt.png" },
    { "text named .png", { "--models", "models", "--mode", "clip", "--image", "not-an-image.png", SMALL }, 1,
      "not a PNG or JPEG" },
    { "unknown option", { "--models", "models", "--frobnicate", "1" }, 2, "--frobnicate" },
    { "empty board", { "--models", "models", "--mode", "clip", SMALL }, 2, "--prompt" },
    { "board file absent", { "--models", "models", "--board", "no-board.json", SMALL }, 1, "no-board.json" },
    { "picture ids neither", { "--models", "models", "--mode", "lvlm", "--picture-ids", "yes", SMALL }, 2,
      "auto, on or off" },
    { "unknown image decoding", { "--models", "models", "--mode", "clip", "--image-decode", "pil", SMALL }, 2,
      "viewer or official" },
    { "VAE tiling neither", { "--models", "models", "--mode", "clip", "--vae-tiling", "auto", SMALL }, 2, "on or off" },
  };
#undef SMALL
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) args = g_ptr_array_new ();
      const char *cli = g_getenv ("TD_CLI");
      g_ptr_array_add (args, (char *) cli);
      g_ptr_array_add (args, (char *) "generate");
      for (int k = 0; cases[i].args[k] != NULL; k++)
        g_ptr_array_add (args, (char *) cases[i].args[k]);
      g_ptr_array_add (args, NULL);
      g_autofree char *out = NULL, *err = NULL;
      int wait_status;
      g_assert_true (g_spawn_sync (fixture.dir, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                                   &wait_status, NULL));
      g_test_message ("%s: %s", cases[i].name, err);
      if (!WIFEXITED (wait_status) || WEXITSTATUS (wait_status) != cases[i].status
          || strstr (err, cases[i].message) == NULL)
        g_error ("%s: exit %d, stderr '%s'; %d and '%s' expected", cases[i].name, WEXITSTATUS (wait_status), err,
                 cases[i].status, cases[i].message);
      g_assert_true (g_str_has_prefix (err, "thinkdiff: ") || strstr (err, "\nthinkdiff: ") != NULL);
      assert_missing ("bad.png");
    }
}

/* Ctrl-C during denoising: exit 130, nothing written. */
static void
test_interrupt (void)
{
  g_autofree char *flux = g_build_filename (fixture.models, "flux-dev", NULL);
  const char *argv[] = { g_getenv ("TD_CLI"), "generate", "--model", flux, "--prompt", "interrupted",
                         "--width", "128", "--height", "128", "--steps", "200", "--out", "interrupted.png", NULL };
  GPid pid;
  int err_fd;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async_with_pipes (fixture.dir, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &pid, NULL, NULL, &err_fd, &error));
  FILE *err = fdopen (err_fd, "r");
  char line[512];
  bool stepping = false;
  while (!stepping && fgets (line, sizeof line, err) != NULL)
    stepping = g_str_has_prefix (line, "step ");
  g_assert_true (stepping);
  g_assert_cmpint (kill (pid, SIGINT), ==, 0);
  GString *rest = g_string_new (NULL);
  while (fgets (line, sizeof line, err) != NULL)
    g_string_append (rest, line);
  fclose (err);
  int wait_status;
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 130);
  g_assert_nonnull (strstr (rest->str, "cancelled"));
  g_assert_null (strstr (rest->str, "step 200/200"));
  g_string_free (rest, TRUE);
  assert_missing ("interrupted.png");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_fixture_setup (&fixture);
  g_test_add_func ("/cli/demo-models/complete", test_demo_models_complete);
  g_test_add_func ("/cli/generate/text-to-image", test_text_to_image);
  g_test_add_func ("/cli/generate/clip-board", test_clip_board);
  g_test_add_func ("/cli/generate/lvlm-board", test_lvlm_board);
  g_test_add_func ("/cli/generate/lvlm-padded-vocabulary", test_lvlm_padded_vocabulary);
  g_test_add_func ("/cli/generate/board-file", test_board_file);
  g_test_add_func ("/cli/generate/vae-tiling-off", test_vae_tiling_off);
  g_test_add_func ("/cli/generate/lvlm-multi-image-defaults", test_lvlm_multi_image_defaults);
  g_test_add_func ("/cli/generate/bad-input", test_bad_input);
  g_test_add_func ("/cli/generate/interrupt", test_interrupt);
  int result = g_test_run ();
  cli_fixture_teardown (&fixture);
  return result;
}
