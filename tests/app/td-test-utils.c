/* td-test-utils.c — helpers shared by the app tests.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <glib/gstdio.h>
#include <stdio.h>
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

gboolean
td_test_init (int    *argc,
              char ***argv)
{
  g_test_init (argc, argv, NULL);
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
