/* td-application.c — application actions, accelerators, About and shortcuts.
 *
 * The colour scheme is left at ADW_COLOR_SCHEME_DEFAULT, so the app is dark
 * exactly when the system prefers dark.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-application.h"
#include "td-engine-worker.h"
#include "td-preferences-window.h"
#include "td-window.h"

struct _TdApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (TdApplication, td_application, ADW_TYPE_APPLICATION)

typedef struct {
  const char *action;
  const char *accels[3];
} Accelerator;

/* Ctrl+V is not here: see td-window-actions.c. */
static const Accelerator accelerators[] = {
  { "win.generate",    { "<Control>Return", "<Control>KP_Enter", NULL } },
  { "win.cancel",      { "Escape", NULL } },
  { "win.add-image",   { "<Control>o", NULL } },
  { "win.save-result", { "<Control>s", NULL } },
  { "win.copy-result", { "<Shift><Control>c", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "app.shortcuts",   { "<Control>question", NULL } },
  { "app.quit",        { "<Control>q", NULL } },
};

GtkWindow *
td_application_show_about (TdApplication *self)
{
  static const char *developers[] = { "The ThinkDiff Studio authors", NULL };
  GtkWindow *about;

  g_return_val_if_fail (TD_IS_APPLICATION (self), NULL);

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "application-name", _("ThinkDiff Studio"),
                        "application-icon", TD_APP_ID,
                        "developer-name", _("The ThinkDiff Studio authors"),
                        "version", TD_VERSION,
                        "website", "https://github.com/thinkdiff/thinkdiff-studio",
                        "issue-url", "https://github.com/thinkdiff/thinkdiff-studio/issues",
                        "license-type", GTK_LICENSE_APACHE_2_0,
                        "copyright", "© 2026 The ThinkDiff Studio authors",
                        "developers", developers,
                        /* Translators: put your names here, one per line. */
                        "translator-credits", _("translator-credits"),
                        "comments", _("Compose images and words on a board; a vision-language "
                                      "model reasons about them and an image model paints the answer. "
                                      "Based on “I Think, Therefore I Diffuse” (ICML 2025)."),
                        NULL);
  gtk_window_present (about);
  return about;
}

/* The shortcuts window is the active window's help overlay: that ties it to
 * the window and its application, where the shortcuts look up the
 * accelerators of their actions (and follow later changes). */
GtkWindow *
td_application_show_shortcuts (TdApplication *self)
{
  g_autoptr(GtkBuilder) builder = NULL;
  GtkWindow *parent;
  GtkShortcutsWindow *window = NULL;

  g_return_val_if_fail (TD_IS_APPLICATION (self), NULL);

  parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (GTK_IS_APPLICATION_WINDOW (parent))
    window = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (parent));
  if (window == NULL)
    {
      builder = gtk_builder_new_from_resource ("/io/github/thinkdiff/Studio/td-shortcuts-window.ui");
      window = GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));
      if (GTK_IS_APPLICATION_WINDOW (parent))
        gtk_application_window_set_help_overlay (GTK_APPLICATION_WINDOW (parent), window);
      else
        gtk_window_set_transient_for (GTK_WINDOW (window), parent);
    }
  gtk_window_present (GTK_WINDOW (window));
  return GTK_WINDOW (window);
}

GtkWindow *
td_application_show_preferences (TdApplication *self)
{
  GtkWindow *window;

  g_return_val_if_fail (TD_IS_APPLICATION (self), NULL);

  window = GTK_WINDOW (td_preferences_window_new (gtk_application_get_active_window (GTK_APPLICATION (self))));
  gtk_window_present (window);
  return window;
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  td_application_show_about (TD_APPLICATION (user_data));
}

static void
shortcuts_activated (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  td_application_show_shortcuts (TD_APPLICATION (user_data));
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  td_application_show_preferences (TD_APPLICATION (user_data));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GApplication *app = G_APPLICATION (user_data);
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (app));

  /* Closing (not destroying) lets each window save its state and cancel. */
  for (GList *l = windows; l != NULL;)
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_close (window);
    }
  /* A window with a run in progress asks first and stays open meanwhile. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
    if (TD_IS_WINDOW (l->data) && td_window_get_running (l->data))
      return;
  g_application_quit (app);
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = about_activated },
  { .name = "shortcuts", .activate = shortcuts_activated },
  { .name = "preferences", .activate = preferences_activated },
  { .name = "quit", .activate = quit_activated },
};

static void
td_application_startup (GApplication *application)
{
  G_APPLICATION_CLASS (td_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  for (guint i = 0; i < G_N_ELEMENTS (accelerators); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application),
                                           accelerators[i].action, accelerators[i].accels);

  gtk_window_set_default_icon_name (TD_APP_ID);
}

static void
td_application_shutdown (GApplication *application)
{
  td_engine_worker_release_backend ();

  G_APPLICATION_CLASS (td_application_parent_class)->shutdown (application);
}

static void
td_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (td_window_new (GTK_APPLICATION (application)));
  gtk_window_present (window);
}

static void
td_application_class_init (TdApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->startup = td_application_startup;
  app_class->activate = td_application_activate;
  app_class->shutdown = td_application_shutdown;
}

static void
td_application_init (TdApplication *self)
{
}

TdApplication *
td_application_new (void)
{
  return g_object_new (TD_TYPE_APPLICATION,
                       "application-id", TD_APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/thinkdiff/Studio",
                       NULL);
}
