/* td-test-utils.c — helpers shared by the app tests.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td-test-utils.h"

/* Without a session bus (no dbus-run-session around the test) GtkApplication
 * warns once that it cannot register; that is the only message let through. */
static gboolean
tolerate_missing_session_bus (const char     *log_domain,
                              GLogLevelFlags  log_level,
                              const char     *message,
                              gpointer        user_data)
{
  return !(log_level & G_LOG_LEVEL_WARNING)
         || strstr (message, "Unable to acquire session bus") == NULL;
}

static char *test_data_home;

static void
remove_test_data_home (void)
{
  td_test_remove_tree (test_data_home);
  g_clear_pointer (&test_data_home, g_free);
}

gboolean
td_test_init (int    *argc,
              char ***argv)
{
  g_test_init (argc, argv, NULL);

  /* A window of an application keeps its history and board in the user's
   * data folder: a fresh one per test program, never the real one. A test's
   * subprocess (another run of the app) shares its parent's. */
  if (!g_test_subprocess ())
    {
      test_data_home = g_dir_make_tmp ("td-test-data-home-XXXXXX", NULL);
      g_assert_nonnull (test_data_home);
      g_setenv ("XDG_DATA_HOME", test_data_home, TRUE);
      atexit (remove_test_data_home);
    }
  g_test_log_set_fatal_handler (tolerate_missing_session_bus, NULL);

  if (!gtk_init_check ())
    {
      /* Meson reads TAP: a zero plan with SKIP marks the whole file skipped. */
      printf ("1..0 # SKIP no display (run under xvfb-run)\n");
      return FALSE;
    }
  adw_init ();
  return TRUE;
}

/* Runs the main loop until @condition holds or @timeout_ms passes. */
gboolean
td_test_wait_for (TdTestCondition condition,
                  gpointer        data,
                  guint           timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

/* Lets the main loop run for @ms milliseconds. */
void
td_test_iterate (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* A vertical gradient between two 0xRRGGBB colours. */
GdkTexture *
td_test_make_texture (int     width,
                      int     height,
                      guint32 rgb_top,
                      guint32 rgb_bottom)
{
  guchar *pixels = g_malloc ((gsize) width * height * 3);
  g_autoptr(GBytes) bytes = NULL;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++)
        {
          int shift = 16 - 8 * c;
          int top = (rgb_top >> shift) & 0xff;
          int bottom = (rgb_bottom >> shift) & 0xff;

          pixels[((gsize) y * width + x) * 3 + c] = top + (bottom - top) * y / MAX (1, height - 1);
        }

  bytes = g_bytes_new_take (pixels, (gsize) width * height * 3);
  return gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes, (gsize) width * 3);
}

GFile *
td_test_write_png (const char *dir,
                   const char *name,
                   int         width,
                   int         height,
                   guint32     rgb_top,
                   guint32     rgb_bottom)
{
  g_autoptr(GdkTexture) texture = td_test_make_texture (width, height, rgb_top, rgb_bottom);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (gdk_texture_save_to_png (texture, path));
  return g_file_new_for_path (path);
}

char *
td_test_make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("td-app-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
td_test_remove_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  if (handle == NULL)
    return;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

/* The window as it is drawn, as a texture. */
GdkTexture *
td_test_render_window (GtkWidget *window)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  int width = gtk_widget_get_width (window);
  int height = gtk_widget_get_height (window);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* The AdwMessageDialog shown over @parent, or NULL. */
AdwMessageDialog *
td_test_find_message_dialog (GtkWindow *parent)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* not ours */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_window_get_transient_for (window) == parent
          && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static GtkWidget *
find_button (GtkWidget  *widget,
             const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Clicks the button of @dialog that gives @response, as the user would. */
void
td_test_answer_dialog (AdwMessageDialog *dialog,
                       const char       *response)
{
  GtkWidget *button = find_button (GTK_WIDGET (dialog), adw_message_dialog_get_response_label (dialog, response));

  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}
