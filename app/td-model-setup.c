/* td-model-setup.c — the first-run page.
 *
 * It shows the models folder (the "model-folder" setting), each part of the
 * ThinkDiff pipeline as found or missing with the engine's reason and the
 * `thinkdiff models pull` bundle that provides it, a button that writes the
 * untrained demo models (in their own folder: the user's folder setting is
 * kept and can be put back), and one Download row per bundle with its size.
 * Downloads run the
 * engine's pull in a thread with per-file progress and cancel; a gated
 * repository (FLUX.1-dev) asks for an access token, which is kept in the
 * engine's token store (the keyring), never in a file. Before a download the
 * hub's host must be reachable, so an offline download fails at once with a
 * plain message; a failed download removes the empty folders it made.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "thinkdiff.h"

#include "td-engine-worker.h"
#include "td-model-setup.h"

#define HUB_HOST "huggingface.co"

typedef struct {
  TdModelSetup             *self;        /* not a reference: the row dies with it */
  const td_catalog_bundle  *bundle;
  AdwActionRow             *row;
  GtkButton                *button;
  GtkProgressBar           *bar;
  GtkLabel                 *size_label;
  GCancellable             *cancellable;
  GPtrArray                *new_dirs;    /* folders this download made, to remove if it fails */
  char                     *token;
  char                     *models_dir;
} Download;

struct _TdModelSetup
{
  AdwBin                parent_instance;

  GSettings            *settings;
  td_token_store       *token_store;
  GPtrArray            *downloads;
  GCancellable         *cancellable;
  gboolean              found[TD_PART_COUNT];
  GtkWidget            *part_rows[TD_PART_COUNT];
  GtkWidget            *part_icons[TD_PART_COUNT];
  GtkWidget            *part_badges[TD_PART_COUNT];
  gboolean              writing_demo;
  gboolean              demo_in_use;

  AdwActionRow         *folder_row;
  AdwPreferencesGroup  *parts_group;
  AdwPreferencesGroup  *download_group;
  GtkWidget            *demo_button;
  GtkWidget            *leave_demo_button;
  GtkWidget            *continue_button;
};

G_DEFINE_FINAL_TYPE (TdModelSetup, td_model_setup, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_READY,
  PROP_BUSY,
  N_PROPS
};

enum {
  DONE,
  MESSAGE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void update_download_sizes (TdModelSetup *self,
                                   const char   *dir);

static void
tell (TdModelSetup *self,
      const char   *message)
{
  g_signal_emit (self, signals[MESSAGE], 0, message);
}

/* Parts -------------------------------------------------------------------- */

static const char *
part_title (td_model_part part)
{
  switch (part)
    {
    case TD_PART_FLUX:          return _("FLUX.1 image model");
    case TD_PART_QWEN2VL:       return _("Qwen2-VL-7B-Instruct (Reasoning mode)");
    case TD_PART_BLIP2_VISION:  return _("BLIP-2 vision tower (Direct mode)");
    case TD_PART_ALIGNER_LVLM:  return _("ThinkDiff-LVLM aligner");
    case TD_PART_ALIGNER_CLIP:  return _("ThinkDiff-CLIP aligner");
    case TD_PART_TAEF1:         return _("TAEF1 preview decoder (optional)");
    default:                    return "";
    }
}

static const char *
bundle_title (const td_catalog_bundle *bundle)
{
  const char *id = td_bundle_id (bundle);

  if (strcmp (id, "lvlm") == 0)
    return _("Reasoning: Qwen2-VL and its aligner");
  if (strcmp (id, "clip") == 0)
    return _("Direct: BLIP-2 vision tower and its aligner");
  if (strcmp (id, "flux-dev") == 0)
    return _("FLUX.1-dev (needs a token)");
  if (strcmp (id, "flux-schnell") == 0)
    return _("FLUX.1-schnell (fast, 4 steps)");
  if (strcmp (id, "taef1") == 0)
    return _("TAEF1 live previews");
  return id;
}

static char *
bundle_repos (const td_catalog_bundle *bundle)
{
  g_autoptr(GString) repos = g_string_new (NULL);

  for (const td_catalog_component *const *c = td_bundle_components (bundle); *c != NULL; c++)
    if (strstr (repos->str, td_component_repo (*c)) == NULL)
      g_string_append_printf (repos, "%s%s", repos->len > 0 ? ", " : "", td_component_repo (*c));
  return g_strdup (repos->str);
}

static char *
models_dir (TdModelSetup *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "model-folder");

  return td_engine_models_dir (setting);
}

void
td_model_setup_refresh (TdModelSetup *self)
{
  g_autofree char *dir = NULL;
  g_autofree char *demo_dir = NULL;
  td_model_paths paths = { 0 };
  td_error err = { 0 };
  gboolean was_ready;

  g_return_if_fail (TD_IS_MODEL_SETUP (self));

  was_ready = self->found[TD_PART_FLUX];
  dir = models_dir (self);
  demo_dir = td_model_setup_demo_dir ();
  self->demo_in_use = g_strcmp0 (dir, demo_dir) == 0;
  if (self->demo_in_use)
    {
      /* Translators: the models folder row while the demo models are in use; %s is their folder. */
      g_autofree char *subtitle = g_strdup_printf (_("The untrained demo models (%s)"), dir);

      adw_action_row_set_subtitle (self->folder_row, subtitle);
    }
  else
    adw_action_row_set_subtitle (self->folder_row, dir);
  gtk_widget_set_visible (self->leave_demo_button, self->demo_in_use);

  if (td_model_paths_find (dir, &paths, &err) != TD_OK)
    {
      for (int i = 0; i < TD_PART_COUNT; i++)
        paths.missing[i] = g_strdup (err.message);
    }

  for (int i = 0; i < TD_PART_COUNT; i++)
    {
      const char *bundle_id = td_model_part_bundle (i);
      const td_catalog_bundle *bundle = td_catalog_find_bundle (bundle_id);
      g_autofree char *repos = bundle != NULL ? bundle_repos (bundle) : g_strdup ("");
      g_autofree char *subtitle = NULL;

      self->found[i] = paths.path[i] != NULL;
      if (self->found[i])
        subtitle = g_strdup (paths.path[i]);
      else
        /* Translators: %1$s says why a model is missing, %2$s is a bundle
         * name ("lvlm"), %3$s the Hugging Face repositories it comes from. */
        subtitle = g_strdup_printf (_("Missing: %1$s. Get it with “thinkdiff models pull %2$s” (%3$s on Hugging Face)."),
                                    paths.missing[i] != NULL ? paths.missing[i] : "", bundle_id, repos);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->part_rows[i]), subtitle);
      /* A demo part is there but paints noise: no tick of approval for it. */
      gtk_widget_set_visible (self->part_badges[i], self->found[i] && self->demo_in_use);
      if (self->found[i] && self->demo_in_use)
        {
          gtk_image_set_from_icon_name (GTK_IMAGE (self->part_icons[i]), "dialog-information-symbolic");
          gtk_accessible_update_property (GTK_ACCESSIBLE (self->part_icons[i]),
                                          GTK_ACCESSIBLE_PROPERTY_LABEL, _("Untrained"), -1);
          gtk_widget_remove_css_class (self->part_icons[i], "success");
          gtk_widget_remove_css_class (self->part_icons[i], "warning");
          continue;
        }
      gtk_image_set_from_icon_name (GTK_IMAGE (self->part_icons[i]),
                                    self->found[i] ? "emblem-ok-symbolic" : "dialog-warning-symbolic");
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->part_icons[i]),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      self->found[i] ? _("Found") : _("Missing"), -1);
      if (self->found[i])
        {
          gtk_widget_remove_css_class (self->part_icons[i], "warning");
          gtk_widget_add_css_class (self->part_icons[i], "success");
        }
      else
        {
          gtk_widget_remove_css_class (self->part_icons[i], "success");
          gtk_widget_add_css_class (self->part_icons[i], "warning");
        }
    }
  td_model_paths_clear (&paths);

  /* Continue when some mode can run: Text Only needs FLUX alone. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "setup.continue", self->found[TD_PART_FLUX]);
  update_download_sizes (self, dir);

  if (was_ready != self->found[TD_PART_FLUX])
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
}

gboolean
td_model_setup_get_part_untrained (TdModelSetup  *self,
                                   td_model_part  part)
{
  g_return_val_if_fail (TD_IS_MODEL_SETUP (self), FALSE);
  g_return_val_if_fail (part < TD_PART_COUNT, FALSE);
  return self->found[part] && self->demo_in_use;
}

/* The mode the found parts can run: the chosen one when they can, else
 * Reasoning, Direct, then Text Only (FLUX alone); NULL when none can. */
const char *
td_model_setup_runnable_mode (TdModelSetup *self,
                              const char   *chosen)
{
  gboolean lvlm, clip;

  g_return_val_if_fail (TD_IS_MODEL_SETUP (self), NULL);

  if (!self->found[TD_PART_FLUX])
    return NULL;
  lvlm = self->found[TD_PART_QWEN2VL] && self->found[TD_PART_ALIGNER_LVLM];
  clip = self->found[TD_PART_BLIP2_VISION] && self->found[TD_PART_ALIGNER_CLIP];
  if ((g_strcmp0 (chosen, "lvlm") == 0 && lvlm) || (g_strcmp0 (chosen, "clip") == 0 && clip)
      || g_strcmp0 (chosen, "text") == 0)
    return chosen;
  return lvlm ? "lvlm" : clip ? "clip" : "text";
}

gboolean
td_model_setup_get_ready (TdModelSetup *self)
{
  g_return_val_if_fail (TD_IS_MODEL_SETUP (self), FALSE);
  return self->found[TD_PART_FLUX];
}

gboolean
td_model_setup_get_part_found (TdModelSetup  *self,
                               td_model_part  part)
{
  g_return_val_if_fail (TD_IS_MODEL_SETUP (self), FALSE);
  g_return_val_if_fail (part < TD_PART_COUNT, FALSE);
  return self->found[part];
}

GtkWidget *
td_model_setup_get_part_row (TdModelSetup  *self,
                             td_model_part  part)
{
  g_return_val_if_fail (TD_IS_MODEL_SETUP (self), NULL);
  g_return_val_if_fail (part < TD_PART_COUNT, NULL);
  return self->part_rows[part];
}

static void
build_part_rows (TdModelSetup *self)
{
  for (int i = 0; i < TD_PART_COUNT; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *icon = gtk_image_new ();
      GtkWidget *badge;

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), part_title (i));
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 4);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      badge = gtk_label_new (_("Untrained"));
      gtk_widget_set_valign (badge, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (badge, "caption-heading");
      gtk_widget_add_css_class (badge, "dim-label");
      gtk_widget_set_visible (badge, FALSE);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), badge);
      adw_preferences_group_add (self->parts_group, row);
      self->part_rows[i] = row;
      self->part_icons[i] = icon;
      self->part_badges[i] = badge;
    }
}

/* Demo models -------------------------------------------------------------- */

char *
td_model_setup_demo_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "thinkdiff-studio", "demo-models", NULL);
}

gboolean
td_model_setup_get_busy (TdModelSetup *self)
{
  g_return_val_if_fail (TD_IS_MODEL_SETUP (self), FALSE);
  return self->writing_demo;
}

static void
write_demo_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  const char *dir = task_data;
  td_error err = { 0 };

  if (td_demo_models_write (dir, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
  else
    g_task_return_boolean (task, TRUE);
}

static void
write_demo_done (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TdModelSetup *self = TD_MODEL_SETUP (source_object);
  g_autoptr(GError) error = NULL;

  self->writing_demo = FALSE;
  gtk_widget_set_sensitive (self->demo_button, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Translators: %s says why the demo models could not be written. */
      g_autofree char *message = g_strdup_printf (_("The demo models could not be written: %s"),
                                                  error->message);
      tell (self, message);
      return;
    }

  /* The user's own folder setting is kept, to be put back. */
  if (!self->demo_in_use)
    {
      g_autofree char *user_folder = g_settings_get_string (self->settings, "model-folder");

      g_settings_set_string (self->settings, "user-model-folder", user_folder);
    }
  g_settings_set_string (self->settings, "model-folder", g_task_get_task_data (G_TASK (result)));
  td_model_setup_refresh (self);
  tell (self, _("Demo models ready. They are untrained: their images are noise"));
}

void
td_model_setup_use_demo_models (TdModelSetup *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TD_IS_MODEL_SETUP (self));

  if (self->writing_demo)
    return;
  self->writing_demo = TRUE;
  gtk_widget_set_sensitive (self->demo_button, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);

  task = g_task_new (self, self->cancellable, write_demo_done, NULL);
  g_task_set_source_tag (task, td_model_setup_use_demo_models);
  g_task_set_task_data (task, td_model_setup_demo_dir (), g_free);
  g_task_run_in_thread (task, write_demo_thread);
}

/* Tokens ------------------------------------------------------------------- */

void
td_model_setup_set_token_store (TdModelSetup   *self,
                                td_token_store *store)
{
  g_return_if_fail (TD_IS_MODEL_SETUP (self));

  g_clear_pointer (&self->token_store, td_token_store_free);
  self->token_store = store;
}

static td_token_store *
get_token_store (TdModelSetup *self)
{
  td_error err = { 0 };

  if (self->token_store == NULL)
    self->token_store = td_token_store_new_keyring (&err);
  if (self->token_store == NULL)
    g_debug ("No keyring: %s", err.message);
  return self->token_store;
}

static char *
lookup_token (TdModelSetup *self)
{
  td_token_store *store = get_token_store (self);
  td_error err = { 0 };
  char *token = NULL;

  if (store != NULL && td_token_store_lookup (store, HUB_HOST, &token, &err) != TD_OK)
    g_debug ("Token lookup failed: %s", err.message);
  return token;
}

/* Downloads ---------------------------------------------------------------- */

static void start_download (Download *download);
static void start_pull     (Download *download);

/* Downloads are shared by their row, the running task and its progress
 * reports, so each holds a reference. */
static void
download_clear (gpointer data)
{
  Download *download = data;

  g_clear_object (&download->cancellable);
  if (download->token != NULL)
    memset (download->token, 0, strlen (download->token));
  g_clear_pointer (&download->token, g_free);
  g_clear_pointer (&download->models_dir, g_free);
  g_clear_pointer (&download->new_dirs, g_ptr_array_unref);
}

static Download *
download_ref (Download *download)
{
  return g_atomic_rc_box_acquire (download);
}

static void
download_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, download_clear);
}

/* The page is going away: stop the run; its reports and result are dropped. */
static void
download_stop (gpointer data)
{
  Download *download = data;

  if (download->cancellable != NULL)
    g_cancellable_cancel (download->cancellable);
  download->self = NULL;
  download_unref (download);
}

static void
set_download_idle (Download   *download,
                   const char *subtitle)
{
  g_clear_object (&download->cancellable);
  gtk_button_set_label (download->button, _("_Download"));
  gtk_widget_remove_css_class (GTK_WIDGET (download->button), "destructive-action");
  gtk_widget_set_visible (GTK_WIDGET (download->bar), FALSE);
  adw_action_row_set_subtitle (download->row, subtitle);
}

static void
on_token_response (AdwMessageDialog *dialog,
                   const char       *response,
                   Download         *download)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *token = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  td_token_store *store;
  td_error err = { 0 };

  gtk_editable_set_text (entry, "");
  if (strcmp (response, "download") != 0)
    return;

  if (!td_token_is_valid (token))
    {
      tell (download->self, _("That is not an access token: it should be one word of letters and digits"));
      return;
    }

  store = get_token_store (download->self);
  if (store == NULL || td_token_store_save (store, HUB_HOST, token, &err) != TD_OK)
    tell (download->self, _("No keyring is available: the token is used for this download only"));

  g_free (download->token);
  download->token = g_steal_pointer (&token);
  start_download (download);
}

static void
ask_for_token (Download *download)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (download->self));
  GtkWidget *dialog;
  GtkWidget *entry = gtk_password_entry_new ();

  gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Access Token"), -1);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Hugging Face Access Token"),
                                   _("FLUX.1-dev is gated. Accept its licence on "
                                     "huggingface.co/black-forest-labs/FLUX.1-dev, create a "
                                     "read token under Settings → Access Tokens and paste it "
                                     "here. It is kept in your keyring."));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "download", _("_Download"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "download",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "download");
  g_signal_connect (dialog, "response", G_CALLBACK (on_token_response), download);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct {
  Download *download;
  GCancellable *cancellable;   /* of the run it belongs to */
  char *text;
  double fraction;
} PullReport;

static void
pull_report_free (gpointer data)
{
  PullReport *report = data;

  g_clear_object (&report->cancellable);
  g_clear_pointer (&report->download, download_unref);
  g_free (report->text);
  g_free (report);
}

static gboolean
deliver_pull_report (gpointer data)
{
  PullReport *report = data;

  if (g_cancellable_is_cancelled (report->cancellable)
      || report->download->cancellable != report->cancellable)
    return G_SOURCE_REMOVE;
  adw_action_row_set_subtitle (report->download->row, report->text);
  if (report->fraction >= 0)
    gtk_progress_bar_set_fraction (report->download->bar, report->fraction);
  else
    gtk_progress_bar_pulse (report->download->bar);
  return G_SOURCE_REMOVE;
}

typedef struct {
  Download     *download;
  GCancellable *cancellable;
  GMainContext *context;
  volatile int  cancel;        /* the engine's cancel flag, set by cancellable */
} PullRun;

static void
on_pull_cancelled (GCancellable *cancellable,
                   PullRun      *run)
{
  run->cancel = 1;
}

/* Runs in the download thread. */
static void
on_pull_progress (const td_pull_progress *progress,
                  void                   *user_data)
{
  PullRun *run = user_data;
  PullReport *report = g_new0 (PullReport, 1);
  g_autofree char *done = g_format_size (progress->file_done);
  g_autofree char *total = g_format_size (progress->file_total);

  report->download = download_ref (run->download);
  report->cancellable = g_object_ref (run->cancellable);
  report->fraction = progress->total > 0 ? (double) progress->done / progress->total : -1;
  switch (progress->stage)
    {
    case TD_PULL_LISTING:
      /* Translators: %s is a Hugging Face repository ("Qwen/Qwen2-VL-7B-Instruct"). */
      report->text = g_strdup_printf (_("Listing %s…"), progress->repo);
      break;
    case TD_PULL_DOWNLOADING:
      /* Translators: a file being downloaded, then its bytes so far and its size. */
      report->text = g_strdup_printf (_("%s: %s of %s"), progress->path != NULL ? progress->path : "",
                                      done, total);
      break;
    case TD_PULL_LINKED:
      /* Translators: %s is a file taken from the Hugging Face cache instead of downloading it. */
      report->text = g_strdup_printf (_("%s: taken from the Hugging Face cache"),
                                      progress->path != NULL ? progress->path : "");
      break;
    default:
      /* Translators: %s is a component of a download ("flux-dev"). */
      report->text = g_strdup_printf (_("%s complete"), progress->component);
      break;
    }
  g_main_context_invoke_full (run->context, G_PRIORITY_DEFAULT, deliver_pull_report, report,
                              pull_report_free);
}

static void
pull_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Download *download = task_data;
  PullRun run = { download, cancellable, g_task_get_context (task), 0 };
  td_pull_settings settings = {
    .models_dir = download->models_dir,
    .token = download->token,
    .progress = on_pull_progress,
    .user = &run,
    .cancel = &run.cancel,
  };
  td_error err = { 0 };
  gulong handler = g_cancellable_connect (cancellable, G_CALLBACK (on_pull_cancelled), &run, NULL);
  td_status status = td_models_pull (td_bundle_id (download->bundle), &settings, &err);

  g_cancellable_disconnect (cancellable, handler);
  if (status == TD_ERR_NETWORK)
    /* Translators: %s is the engine's message about the failed transfer. */
    g_task_return_new_error (task, TD_ENGINE_ERROR, TD_ENGINE_ERROR_FAILED,
                             _("The download stopped: %s. Check the network, then try again; "
                               "it picks up where it stopped."), err.message);
  else if (status != TD_OK)
    g_task_return_new_error (task, TD_ENGINE_ERROR,
                             err.status == TD_ERR_AUTH ? TD_ENGINE_ERROR_MODELS_MISSING
                                                       : TD_ENGINE_ERROR_FAILED,
                             "%s", err.message);
  else
    g_task_return_boolean (task, TRUE);
}

/* Each bundle's size next to its button, and how much of it is already here. */
static void
update_download_sizes (TdModelSetup *self,
                       const char   *dir)
{
  if (self->downloads == NULL)
    return;

  for (guint i = 0; i < self->downloads->len; i++)
    {
      Download *download = g_ptr_array_index (self->downloads, i);
      guint64 expected = 0, present = 0;
      gboolean complete = TRUE;
      g_autofree char *total = NULL;
      g_autofree char *text = NULL;

      for (const td_catalog_component *const *c = td_bundle_components (download->bundle); *c != NULL; c++)
        {
          td_component_state state;

          if (td_models_component_state (dir, *c, &state, NULL) != TD_OK)
            {
              complete = FALSE;
              continue;
            }
          expected += state.bytes_expected;
          present += state.bytes_present;
          complete = complete && state.presence == TD_PRESENCE_PRESENT;
        }
      total = g_format_size (expected);
      if (complete)
        /* Translators: %s is a size ("34.0 GB"). */
        text = g_strdup_printf (_("%s, here"), total);
      else if (present > 0)
        {
          g_autofree char *here = g_format_size (present);

          /* Translators: sizes: "1.2 GB of 34.0 GB here". */
          text = g_strdup_printf (_("%s of %s here"), here, total);
        }
      else
        text = g_steal_pointer (&total);
      gtk_label_set_label (download->size_label, text);
    }
}

/* The folders on the way to @dir that do not exist yet, deepest first. */
static GPtrArray *
missing_folders (const char *dir)
{
  GPtrArray *missing = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *path = g_strdup (dir);

  while (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      char *parent = g_path_get_dirname (path);

      g_ptr_array_add (missing, g_steal_pointer (&path));
      if (g_strcmp0 (parent, missing->pdata[missing->len - 1]) == 0)
        {
          g_free (parent);
          break;
        }
      path = parent;
    }
  return missing;
}

/* What a download creates before it fails: the models folder (when new) and
 * each component's folder (when new). */
static GPtrArray *
folders_a_download_makes (Download *download)
{
  GPtrArray *made = missing_folders (download->models_dir);

  for (const td_catalog_component *const *c = td_bundle_components (download->bundle); *c != NULL; c++)
    {
      g_autofree char *component = g_build_filename (download->models_dir, td_component_id (*c), NULL);

      if (!g_file_test (component, G_FILE_TEST_EXISTS))
        g_ptr_array_insert (made, 0, g_steal_pointer (&component));
    }
  return made;
}

/* Removes those of @folders that are empty, deepest first; a folder with
 * anything in it (a partial file to resume from) stays. */
static void
remove_empty_folders (GPtrArray *folders)
{
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    g_rmdir (g_ptr_array_index (folders, i));
}

static char *
hub_host (void)
{
  const char *endpoint = g_getenv ("HF_ENDPOINT");
  g_autoptr(GUri) uri = NULL;

  if (endpoint == NULL || *endpoint == '\0')
    return g_strdup (HUB_HOST);
  uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, NULL);
  return g_strdup (uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri) : HUB_HOST);
}

/* Behind a proxy the hub's name may not resolve here although the proxy
 * reaches it: then the download itself finds out. */
static gboolean
uses_proxy (void)
{
  static const char *const names[] = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_getenv (names[i]) != NULL && *g_getenv (names[i]) != '\0')
      return TRUE;
  return FALSE;
}

static void
on_hub_reached (GObject      *source_object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Download *download = user_data;
  g_autoptr(GError) error = NULL;
  gboolean reached = g_network_monitor_can_reach_finish (G_NETWORK_MONITOR (source_object), result, &error);

  if (download->self != NULL && download->cancellable != NULL
      && !g_cancellable_is_cancelled (download->cancellable))
    {
      if (reached)
        start_pull (download);
      else
        {
          g_autofree char *host = hub_host ();
          /* Translators: %s is the download server's host name (huggingface.co). */
          g_autofree char *message = g_strdup_printf (_("No connection to %s. Check the network, then try again."),
                                                      host);

          g_debug ("%s: %s", host, error->message);
          set_download_idle (download, message);
        }
    }
  download_unref (download);
}

static void
pull_done (GObject      *source_object,
           GAsyncResult *result,
           gpointer      user_data)
{
  TdModelSetup *self = TD_MODEL_SETUP (source_object);
  Download *download = user_data;
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));

  /* The page was disposed: its rows are gone. */
  if (download->self == NULL)
    return;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      set_download_idle (download, _("Downloaded"));
      td_model_setup_refresh (self);
      return;
    }

  /* A cancelled run may already have been replaced by a new one. */
  if (download->cancellable != cancellable)
    return;

  remove_empty_folders (download->new_dirs);
  td_model_setup_refresh (self);
  if (g_cancellable_is_cancelled (cancellable))
    {
      set_download_idle (download, _("Cancelled; a new download picks up where this one stopped"));
      return;
    }

  set_download_idle (download, error->message);
  if (g_error_matches (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING))
    {
      g_clear_pointer (&download->token, g_free);
      ask_for_token (download);
    }
}

static void
start_download (Download *download)
{
  g_autofree char *host = NULL;
  g_autoptr(GSocketConnectable) hub = NULL;

  if (!td_models_can_pull ())
    return;

  g_free (download->models_dir);
  download->models_dir = models_dir (download->self);
  download->cancellable = g_cancellable_new ();
  gtk_button_set_label (download->button, _("_Cancel"));
  gtk_widget_add_css_class (GTK_WIDGET (download->button), "destructive-action");
  gtk_progress_bar_set_fraction (download->bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (download->bar), TRUE);
  adw_action_row_set_subtitle (download->row, _("Connecting…"));

  /* Nothing is written before the hub is known to be reachable. */
  if (uses_proxy ())
    {
      start_pull (download);
      return;
    }
  host = hub_host ();
  hub = g_network_address_new (host, 443);
  g_network_monitor_can_reach_async (g_network_monitor_get_default (), hub, download->cancellable,
                                     on_hub_reached, download_ref (download));
}

static void
start_pull (Download *download)
{
  g_autoptr(GTask) task = NULL;

  g_clear_pointer (&download->new_dirs, g_ptr_array_unref);
  download->new_dirs = folders_a_download_makes (download);
  adw_action_row_set_subtitle (download->row, _("Starting…"));

  task = g_task_new (download->self, download->cancellable, pull_done, download);
  g_task_set_source_tag (task, start_pull);
  g_task_set_task_data (task, download_ref (download), download_unref);
  g_task_run_in_thread (task, pull_thread);
}

static void
on_download_clicked (GtkButton *button,
                     Download  *download)
{
  if (download->cancellable != NULL)
    {
      g_cancellable_cancel (download->cancellable);
      set_download_idle (download, _("Cancelled; a new download picks up where this one stopped"));
      return;
    }

  if (td_bundle_gated (download->bundle) && download->token == NULL)
    {
      download->token = lookup_token (download->self);
      if (download->token == NULL)
        {
          ask_for_token (download);
          return;
        }
    }
  start_download (download);
}

static void
build_download_rows (TdModelSetup *self)
{
  for (const td_catalog_bundle *const *b = td_catalog_bundles (); *b != NULL; b++)
    {
      Download *download = g_atomic_rc_box_new0 (Download);
      g_autofree char *repos = bundle_repos (*b);
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

      download->self = self;
      download->bundle = *b;
      download->row = ADW_ACTION_ROW (adw_action_row_new ());
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (download->row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (download->row), bundle_title (*b));
      adw_action_row_set_subtitle (download->row, repos);
      adw_action_row_set_subtitle_lines (download->row, 2);

      download->bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
      gtk_widget_set_valign (GTK_WIDGET (download->bar), GTK_ALIGN_CENTER);
      gtk_widget_set_size_request (GTK_WIDGET (download->bar), 96, -1);
      gtk_widget_set_visible (GTK_WIDGET (download->bar), FALSE);
      download->button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Download")));
      gtk_widget_set_valign (GTK_WIDGET (download->button), GTK_ALIGN_CENTER);
      if (!td_models_can_pull ())
        {
          gtk_widget_set_sensitive (GTK_WIDGET (download->button), FALSE);
          gtk_widget_set_tooltip_text (GTK_WIDGET (download->button),
                                       _("This build cannot download; use “thinkdiff models pull”"));
        }
      g_signal_connect (download->button, "clicked", G_CALLBACK (on_download_clicked), download);
      download->size_label = GTK_LABEL (gtk_label_new (NULL));
      gtk_widget_add_css_class (GTK_WIDGET (download->size_label), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (download->size_label), "numeric");
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (download->size_label));
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (download->bar));
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (download->button));
      adw_action_row_add_suffix (download->row, box);
      adw_preferences_group_add (self->download_group, GTK_WIDGET (download->row));
      g_ptr_array_add (self->downloads, download);
    }
}

/* Folder chooser and actions ---------------------------------------------- */

static void
on_folder_response (TdModelSetup         *self,
                    int                   response,
                    GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "model-folder", path);
      else
        tell (self, _("Choose a folder on this computer"));
    }
  g_object_unref (chooser);
}

static void
choose_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  TdModelSetup *self = TD_MODEL_SETUP (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *dir = models_dir (self);
  g_autoptr(GFile) current = g_file_new_for_path (dir);

  chooser = gtk_file_chooser_native_new (_("Models Folder"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Select"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (g_file_query_exists (current, NULL))
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), current, NULL);
  g_signal_connect_swapped (chooser, "response", G_CALLBACK (on_folder_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
use_demo_models_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  td_model_setup_use_demo_models (TD_MODEL_SETUP (widget));
}

static void
leave_demo_models_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  TdModelSetup *self = TD_MODEL_SETUP (widget);
  g_autofree char *user_folder = g_settings_get_string (self->settings, "user-model-folder");

  g_settings_set_string (self->settings, "model-folder", user_folder);
  td_model_setup_refresh (self);
}

/* Continue is enabled only when FLUX is there; a mode whose parts are
 * missing is swapped for one that can run, and the user is told. */
static void
continue_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  TdModelSetup *self = TD_MODEL_SETUP (widget);
  g_autofree char *chosen = g_settings_get_string (self->settings, "mode");
  const char *mode = td_model_setup_runnable_mode (self, chosen);

  if (mode == NULL)
    return;
  if (g_strcmp0 (mode, chosen) != 0)
    {
      g_settings_set_string (self->settings, "mode", mode);
      if (g_str_equal (mode, "text"))
        tell (self, _("Only FLUX is installed: the mode is now Text Only, which paints from the board’s texts"));
      else if (g_str_equal (mode, "clip"))
        tell (self, _("The Reasoning models are missing: the mode is now Direct"));
      else
        tell (self, _("The Direct models are missing: the mode is now Reasoning"));
    }
  g_signal_emit (widget, signals[DONE], 0);
}

static void
on_folder_setting_changed (TdModelSetup *self)
{
  td_model_setup_refresh (self);
}

/* GObject ----------------------------------------------------------------- */

static void
td_model_setup_dispose (GObject *object)
{
  TdModelSetup *self = TD_MODEL_SETUP (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->downloads, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), TD_TYPE_MODEL_SETUP);

  G_OBJECT_CLASS (td_model_setup_parent_class)->dispose (object);
}

static void
td_model_setup_finalize (GObject *object)
{
  TdModelSetup *self = TD_MODEL_SETUP (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->token_store, td_token_store_free);

  G_OBJECT_CLASS (td_model_setup_parent_class)->finalize (object);
}

static void
td_model_setup_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TdModelSetup *self = TD_MODEL_SETUP (object);

  switch (prop_id)
    {
    case PROP_READY:
      g_value_set_boolean (value, td_model_setup_get_ready (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->writing_demo);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_model_setup_class_init (TdModelSetupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = td_model_setup_dispose;
  object_class->finalize = td_model_setup_finalize;
  object_class->get_property = td_model_setup_get_property;

  /* Whether FLUX (the least a run needs) is in the models folder. */
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Whether the demo models are being written. */
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The user pressed Continue. */
  signals[DONE] =
    g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Something to tell the user (the window shows it as a toast). */
  signals[MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/thinkdiff/Studio/td-model-setup.ui");
  gtk_widget_class_bind_template_child (widget_class, TdModelSetup, folder_row);
  gtk_widget_class_bind_template_child (widget_class, TdModelSetup, parts_group);
  gtk_widget_class_bind_template_child (widget_class, TdModelSetup, download_group);
  gtk_widget_class_bind_template_child (widget_class, TdModelSetup, demo_button);
  gtk_widget_class_bind_template_child (widget_class, TdModelSetup, leave_demo_button);
  gtk_widget_class_bind_template_child (widget_class, TdModelSetup, continue_button);

  gtk_widget_class_install_action (widget_class, "setup.choose-folder", NULL, choose_folder_action);
  gtk_widget_class_install_action (widget_class, "setup.use-demo-models", NULL, use_demo_models_action);
  gtk_widget_class_install_action (widget_class, "setup.leave-demo-models", NULL, leave_demo_models_action);
  gtk_widget_class_install_action (widget_class, "setup.continue", NULL, continue_action);
}

static void
td_model_setup_init (TdModelSetup *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (TD_APP_ID);
  self->cancellable = g_cancellable_new ();
  self->downloads = g_ptr_array_new_with_free_func (download_stop);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->folder_row), FALSE);

  build_part_rows (self);
  build_download_rows (self);
  g_signal_connect_object (self->settings, "changed::model-folder",
                           G_CALLBACK (on_folder_setting_changed), self, G_CONNECT_SWAPPED);
  td_model_setup_refresh (self);
}

GtkWidget *
td_model_setup_new (void)
{
  return g_object_new (TD_TYPE_MODEL_SETUP, NULL);
}
