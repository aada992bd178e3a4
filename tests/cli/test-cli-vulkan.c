/* The CLIP and LVLM boards of test-cli on `--backend vulkan` (lavapipe in CI), compared
 * with the same runs on the CPU reference. Skipped when no Vulkan device is listed. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "cli-util.h"
#include "io/image.h"

static cli_fixture fixture;

/* The largest per-byte difference of two images of the same size. */
static int
max_difference (const char *a_path, const char *b_path)
{
  td_image a, b;
  td_error err = { 0 };
  if (td_image_load (a_path, NULL, &a, &err) != TD_OK || td_image_load (b_path, NULL, &b, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_cmpint (a.width, ==, b.width);
  g_assert_cmpint (a.height, ==, b.height);
  int worst = 0;
  for (size_t i = 0; i < (size_t) a.width * a.height * 3; i++)
    worst = MAX (worst, abs ((int) a.rgb[i] - (int) b.rgb[i]));
  td_image_clear (&a);
  td_image_clear (&b);
  return worst;
}

static void
run_board (const char *backend, const char *mode, const char *out)
{
  cli_result r = cli_run (&fixture, NULL, "generate", "--backend", backend, "--models", "models", "--mode", mode,
                          "--image", "a.png", "--text", "and then?", "--image", "b.png", "--width", "64", "--height",
                          "64", "--steps", "2", "--max-new-tokens", "2", "--seed", "5", "--out", out, NULL);
  cli_assert_status (&r, 0);
  g_autofree char *expected_backend = g_strdup_printf ("backend: %s", backend);
  g_assert_nonnull (strstr (r.err, expected_backend));
  cli_result_clear (&r);
  g_autofree char *path = cli_fixture_path (&fixture, out);
  int width, height;
  cli_png_size (path, &width, &height);
  g_assert_cmpint (width, ==, 64);
  g_assert_cmpint (height, ==, 64);
}

/* No sampling in CLIP mode: both backends paint the same image up to rounding. */
static void
test_clip_board (void)
{
  run_board ("vulkan", "clip", "clip-vulkan.png");
  run_board ("cpu", "clip", "clip-cpu.png");
  g_autofree char *vulkan = cli_fixture_path (&fixture, "clip-vulkan.png");
  g_autofree char *cpu = cli_fixture_path (&fixture, "clip-cpu.png");
  int worst = max_difference (vulkan, cpu);
  g_test_message ("CLIP board, Vulkan vs CPU: largest byte difference %d", worst);
  g_assert_cmpint (worst, <=, 2);
}

/* The LVLM thinks (two tokens: lavapipe runs the 152k-row lm_head slowly) and paints.
 * The same seed samples the same tokens on both backends. */
static void
test_lvlm_board (void)
{
  run_board ("vulkan", "lvlm", "lvlm-vulkan.png");
  run_board ("cpu", "lvlm", "lvlm-cpu.png");
  g_autofree char *vulkan = cli_fixture_path (&fixture, "lvlm-vulkan.png");
  g_autofree char *cpu = cli_fixture_path (&fixture, "lvlm-cpu.png");
  g_autofree char *vulkan_thought = cli_png_text (vulkan, "thinkdiff:thought");
  g_autofree char *cpu_thought = cli_png_text (cpu, "thinkdiff:thought");
  g_assert_nonnull (vulkan_thought);
  g_assert_cmpstr (vulkan_thought, ==, cpu_thought);
  int worst = max_difference (vulkan, cpu);
  g_test_message ("LVLM board, Vulkan vs CPU: largest byte difference %d", worst);
  g_assert_cmpint (worst, <=, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cli_fixture_setup (&fixture);
  bool vulkan = cli_has_vulkan (&fixture);
  if (vulkan)
    {
      g_test_add_func ("/cli-vulkan/generate/clip-board", test_clip_board);
      g_test_add_func ("/cli-vulkan/generate/lvlm-board", test_lvlm_board);
    }
  int result = vulkan ? g_test_run () : 77;
  cli_fixture_teardown (&fixture);
  return result;
}
