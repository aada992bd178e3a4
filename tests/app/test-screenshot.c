/* test-screenshot.c — renders the main window with a filled board and a
 * result made by the engine (the untrained demo models on the CPU: the image
 * is the noise such models paint) to a PNG and checks that it shows something.
 *
 * The PNG goes to $TD_SCREENSHOT_OUTPUT; data/screenshots/main-window.png
 * (the AppStream screenshot) is a copy of it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-application.h"
#include "td-test-utils.h"
#include "td-window.h"

#define SHOT_WIDTH  1200
#define SHOT_HEIGHT 760

static gboolean
is_idle (gpointer data)
{
  return !td_window_get_running (data);
}

static gboolean
thumbnails_loaded (gpointer data)
{
  return td_prompt_board_get_n_pending (td_window_get_board (data)) == 0;
}

static gboolean
laid_out (gpointer data)
{
  /* The default size includes the frame's resize borders (a few pixels). */
  return gtk_widget_get_width (data) > SHOT_WIDTH - 32 && gtk_widget_get_height (data) > SHOT_HEIGHT - 32;
}

static gboolean
narrow (gpointer data)
{
  return gtk_widget_get_width (data) <= 360;
}

/* Luminance spread and the number of distinct colours (capped) of the image. */
static void
measure (GdkTexture *texture,
         double     *luma_stddev,
         guint      *n_colours)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guint32 *pixels = g_new (guint32, (gsize) width * height);
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  double sum = 0, sum_sq = 0;
  gsize n = (gsize) width * height;

  gdk_texture_download (texture, (guchar *) pixels, (gsize) width * 4);
  for (gsize i = 0; i < n; i++)
    {
      guint32 p = pixels[i];
      double luma = 0.2126 * ((p >> 16) & 0xff) + 0.7152 * ((p >> 8) & 0xff) + 0.0722 * (p & 0xff);

      sum += luma;
      sum_sq += luma * luma;
      if (g_hash_table_size (colours) < 100000)
        g_hash_table_add (colours, GUINT_TO_POINTER (p & 0xffffff));
    }
  *luma_stddev = sqrt (MAX (0.0, sum_sq / n - (sum / n) * (sum / n)));
  *n_colours = g_hash_table_size (colours);
}

static void
test_main_window (void)
{
  g_autoptr(TdApplication) app = td_application_new ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autofree char *models = g_build_filename (dir, "models", NULL);
  g_autoptr(GdkTexture) shot = NULL;
  td_error err = { 0 };
  const char *output = g_getenv ("TD_SCREENSHOT_OUTPUT");
  TdWindow *window;
  double luma_stddev;
  guint n_colours;

  /* GNOME's title bar buttons; bare Xvfb would add minimize and maximize. */
  g_object_set (gtk_settings_get_default (), "gtk-decoration-layout", "appmenu:close", NULL);

  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));   /* loads style.css */

  g_settings_set_int (settings, "window-width", SHOT_WIDTH);
  g_settings_set_int (settings, "window-height", SHOT_HEIGHT);
  g_settings_set_int (settings, "steps", 2);
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 384);
  g_settings_set_int (settings, "height", 384);
  g_settings_set_boolean (settings, "seed-locked", TRUE);
  g_settings_set_uint (settings, "seed", 1234);
  g_settings_set_string (settings, "gpu-device", "cpu");

  /* The demo models: FLUX only so far, so the board holds texts and FLUX
   * paints them (the window says so in a toast, gone before the shot). */
  if (td_demo_models_write (models, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("demo models: %s", err.message);
  g_settings_set_string (settings, "model-folder", models);

  window = td_window_new (GTK_APPLICATION (app));
  g_assert_false (td_window_get_showing_model_setup (window));
  /* No notification server under Xvfb: a slow run must not try one. */
  td_window_set_notify_after (window, G_MAXDOUBLE);

  /* Two texts, as a user would type them. */
  td_prompt_board_add_text (td_window_get_board (window),
                            "A lighthouse on a cliff at dusk, waves below");
  td_prompt_board_add_text (td_window_get_board (window),
                            "painted in the warm colours of late summer");
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_cmpuint (g_list_model_get_n_items (td_prompt_board_get_items (td_window_get_board (window))), ==, 2);

  gtk_window_present (GTK_WINDOW (window));
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 150000));
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 1);
  td_test_iterate (6000);   /* the toast about FLUX alone times out */

  g_assert_true (td_test_wait_for (laid_out, window, 5000));
  td_test_iterate (300);   /* let frames settle (thumbnails, picture sizes) */

  shot = td_test_render_window (GTK_WIDGET (window));
  g_assert_cmpint (gdk_texture_get_width (shot), ==, gtk_widget_get_width (GTK_WIDGET (window)));
  g_assert_cmpint (gdk_texture_get_height (shot), ==, gtk_widget_get_height (GTK_WIDGET (window)));

  /* Not blank, not one colour: text, thumbnails and the result make a
   * spread of tones and many colours. */
  measure (shot, &luma_stddev, &n_colours);
  g_test_message ("luminance stddev %.1f, %u colours", luma_stddev, n_colours);
  g_assert_cmpfloat (luma_stddev, >, 15.0);
  g_assert_cmpuint (n_colours, >, 500);

  if (output != NULL)
    g_assert_true (gdk_texture_save_to_png (shot, output));

  /* Down to phone width the sidebar folds into an overlay. */
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 720);
  g_assert_true (td_test_wait_for (narrow, window, 5000));
  td_test_iterate (200);
  g_assert_true (adw_flap_get_folded (ADW_FLAP (gtk_widget_get_template_child (GTK_WIDGET (window), TD_TYPE_WINDOW, "flap"))));
  if (output != NULL)
    {
      g_autoptr(GdkTexture) narrow_shot = td_test_render_window (GTK_WIDGET (window));
      g_autofree char *base = g_strndup (output, strlen (output) - strlen (".png"));
      g_autofree char *narrow_output = g_strconcat (base, "-narrow.png", NULL);

      g_assert_true (gdk_texture_save_to_png (narrow_shot, narrow_output));
    }

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/screenshot/main-window", test_main_window);

  return g_test_run ();
}
