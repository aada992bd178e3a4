/* td-generation-job.c — runs a generation worker in a thread.
 *
 * Reports from the worker travel to the main loop with
 * g_main_context_invoke_full () and come out as the "progress", "preview" and
 * "thought" signals; reports that arrive after the job was cancelled are
 * dropped, so a cancelled job goes quiet at once.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "td-enums.h"
#include "td-generation-job.h"
#include "td-result-io.h"
#include "td-size-presets.h"

struct _TdGenerationJob
{
  GObject              parent_instance;

  TdGenerationRequest *request;
  TdGenerationWorker   worker;
  gpointer             worker_data;

  /* Set by run_async, read-only afterwards (the worker thread reads them). */
  GMainContext        *context;
  GCancellable        *cancellable;
  gboolean             started;
};

G_DEFINE_FINAL_TYPE (TdGenerationJob, td_generation_job, G_TYPE_OBJECT)

enum {
  PROGRESS,
  PREVIEW,
  THOUGHT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Request ----------------------------------------------------------------- */

static void
generation_input_free (gpointer data)
{
  TdGenerationInput *input = data;

  g_clear_object (&input->file);
  g_clear_pointer (&input->path, g_free);
  g_clear_pointer (&input->pixels, g_bytes_unref);
  g_clear_pointer (&input->text, g_free);
  g_free (input);
}

void
td_generation_request_free (TdGenerationRequest *request)
{
  if (request == NULL)
    return;

  g_clear_pointer (&request->inputs, g_ptr_array_unref);
  g_clear_pointer (&request->model_folder, g_free);
  g_clear_pointer (&request->gpu_device, g_free);
  g_clear_pointer (&request->weight_files, g_variant_unref);
  g_clear_pointer (&request->thought, g_free);
  g_free (request);
}

/* An empty request: no inputs, empty folder and device names. Fill in the
 * rest; inputs added to request->inputs are freed with the request. */
TdGenerationRequest *
td_generation_request_new (void)
{
  TdGenerationRequest *request = g_new0 (TdGenerationRequest, 1);

  request->model_folder = g_strdup ("");
  request->gpu_device = g_strdup ("");
  request->inputs = g_ptr_array_new_with_free_func (generation_input_free);
  return request;
}

static TdGenerationInput *
input_from_item (TdBoardItem *item)
{
  TdGenerationInput *input = g_new0 (TdGenerationInput, 1);

  input->kind = td_board_item_get_kind (item);
  if (input->kind == TD_BOARD_ITEM_TEXT)
    {
      input->text = g_strdup (td_board_item_get_text (item));
    }
  else if (td_board_item_get_file (item) != NULL)
    {
      input->file = g_object_ref (td_board_item_get_file (item));
      input->path = g_file_get_path (input->file);
    }
  else
    {
      input->pixels = td_texture_to_rgb (td_board_item_get_texture (item),
                                         &input->width, &input->height);
    }
  return input;
}

/* Copies the board (in order) and the generation settings. Empty text cards
 * carry nothing and are left out. */
TdGenerationRequest *
td_generation_request_new_from_board (GListModel *items,
                                      GSettings  *settings)
{
  TdGenerationRequest *request;
  guint n_items;

  g_return_val_if_fail (G_IS_LIST_MODEL (items), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  request = td_generation_request_new ();
  switch (g_settings_get_enum (settings, "mode"))
    {
    case 1:
      request->mode = TD_GENERATION_MODE_CLIP;
      break;
    case 2:
      request->mode = TD_GENERATION_MODE_TEXT;
      break;
    default:
      request->mode = TD_GENERATION_MODE_LVLM;
      break;
    }
  td_size_presets_resolve (settings, &request->width, &request->height);
  request->steps = g_settings_get_int (settings, "steps");
  request->guidance = g_settings_get_double (settings, "guidance");
  request->seed = g_settings_get_uint (settings, "seed");
  request->preview_method = g_settings_get_enum (settings, "preview-method");
  g_free (request->model_folder);
  request->model_folder = g_settings_get_string (settings, "model-folder");
  g_free (request->gpu_device);
  request->gpu_device = g_settings_get_string (settings, "gpu-device");
  g_clear_pointer (&request->weight_files, g_variant_unref);
  request->weight_files = g_settings_get_value (settings, "weight-files");

  n_items = g_list_model_get_n_items (items);
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(TdBoardItem) item = g_list_model_get_item (items, i);
      const char *text = td_board_item_get_text (item);

      if (td_board_item_get_kind (item) == TD_BOARD_ITEM_TEXT
          && (text == NULL || *text == '\0'))
        continue;
      g_ptr_array_add (request->inputs, input_from_item (item));
    }

  return request;
}

/* Reports ----------------------------------------------------------------- */

typedef enum {
  REPORT_PROGRESS,
  REPORT_PREVIEW,
  REPORT_THOUGHT,
} ReportKind;

typedef struct {
  TdGenerationJob   *job;
  ReportKind         kind;
  TdGenerationStage  stage;
  guint              step;
  guint              n_steps;
  GBytes            *pixels;
  int                width;
  int                height;
  char              *text;
} Report;

static void
report_free (gpointer data)
{
  Report *report = data;

  g_clear_object (&report->job);
  g_clear_pointer (&report->pixels, g_bytes_unref);
  g_clear_pointer (&report->text, g_free);
  g_free (report);
}

/* Runs on the job's main context. */
static gboolean
deliver_report (gpointer data)
{
  Report *report = data;
  TdGenerationJob *self = report->job;

  if (g_cancellable_is_cancelled (self->cancellable))
    return G_SOURCE_REMOVE;

  switch (report->kind)
    {
    case REPORT_PROGRESS:
      g_signal_emit (self, signals[PROGRESS], 0, report->stage, report->step, report->n_steps);
      break;

    case REPORT_PREVIEW:
      {
        g_autoptr(GdkTexture) texture =
          gdk_memory_texture_new (report->width, report->height, GDK_MEMORY_R8G8B8,
                                  report->pixels, (gsize) report->width * 3);

        g_signal_emit (self, signals[PREVIEW], 0, texture);
      }
      break;

    case REPORT_THOUGHT:
      g_signal_emit (self, signals[THOUGHT], 0, report->text);
      break;

    default:
      g_assert_not_reached ();
    }

  return G_SOURCE_REMOVE;
}

static void
post_report (TdGenerationJob *self,
             Report          *report)
{
  report->job = g_object_ref (self);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
                              deliver_report, report, report_free);
}

void
td_generation_job_report_progress (TdGenerationJob   *self,
                                   TdGenerationStage  stage,
                                   guint              step,
                                   guint              n_steps)
{
  Report *report;

  g_return_if_fail (TD_IS_GENERATION_JOB (self));
  g_return_if_fail (self->started);

  report = g_new0 (Report, 1);
  report->kind = REPORT_PROGRESS;
  report->stage = stage;
  report->step = step;
  report->n_steps = n_steps;
  post_report (self, report);
}

void
td_generation_job_report_preview (TdGenerationJob *self,
                                  GBytes          *rgb_pixels,
                                  int              width,
                                  int              height)
{
  Report *report;

  g_return_if_fail (TD_IS_GENERATION_JOB (self));
  g_return_if_fail (self->started);
  g_return_if_fail (width > 0 && height > 0);
  g_return_if_fail (g_bytes_get_size (rgb_pixels) == (gsize) width * height * 3);

  report = g_new0 (Report, 1);
  report->kind = REPORT_PREVIEW;
  report->pixels = g_bytes_ref (rgb_pixels);
  report->width = width;
  report->height = height;
  post_report (self, report);
}

void
td_generation_job_report_thought (TdGenerationJob *self,
                                  const char      *thought)
{
  Report *report;

  g_return_if_fail (TD_IS_GENERATION_JOB (self));
  g_return_if_fail (self->started);
  g_return_if_fail (thought != NULL);

  report = g_new0 (Report, 1);
  report->kind = REPORT_THOUGHT;
  report->text = g_strdup (thought);
  post_report (self, report);
}

/* Running ----------------------------------------------------------------- */

static void
generation_output_free (gpointer data)
{
  TdGenerationOutput *output = data;

  g_clear_pointer (&output->pixels, g_bytes_unref);
  g_clear_pointer (&output->thought, g_free);
  g_clear_pointer (&output->board_json, g_free);
  g_clear_pointer (&output->mode_name, g_free);
  g_clear_pointer (&output->notice, g_free);
  g_free (output);
}

static void
run_worker_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  TdGenerationJob *self = source_object;
  TdGenerationOutput *output = g_new0 (TdGenerationOutput, 1);
  g_autoptr(GMainContext) worker_context = g_main_context_new ();
  GError *error = NULL;
  gboolean ok;

  /* g_main_context_invoke () runs the function right away, in the calling
   * thread, when the target context is that thread's default and it can be
   * acquired (the main thread is between iterations). A worker thread has the
   * global default context as its default, so give it its own: reports then
   * always go through an idle source on the main context. */
  g_main_context_push_thread_default (worker_context);
  ok = self->worker (self, self->request, output, self->worker_data, cancellable, &error);
  g_main_context_pop_thread_default (worker_context);

  if (!ok)
    {
      generation_output_free (output);
      g_task_return_error (task, error);
      return;
    }

  if (output->pixels == NULL || output->width <= 0 || output->height <= 0
      || g_bytes_get_size (output->pixels) != (gsize) output->width * output->height * 3)
    {
      generation_output_free (output);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "The generation worker returned no valid image");
      return;
    }

  g_task_return_pointer (task, output, generation_output_free);
}

void
td_generation_job_run_async (TdGenerationJob     *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TD_IS_GENERATION_JOB (self));
  g_return_if_fail (!self->started);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  self->started = TRUE;
  self->context = g_main_context_ref_thread_default ();
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();

  task = g_task_new (self, self->cancellable, callback, user_data);
  g_task_set_source_tag (task, td_generation_job_run_async);
  g_task_run_in_thread (task, run_worker_thread);
}

TdGenerationResult *
td_generation_job_run_finish (TdGenerationJob  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  TdGenerationOutput *output;
  g_autoptr(GdkTexture) texture = NULL;
  TdGenerationResult *generation_result;

  g_return_val_if_fail (TD_IS_GENERATION_JOB (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  output = g_task_propagate_pointer (G_TASK (result), error);
  if (output == NULL)
    return NULL;

  texture = gdk_memory_texture_new (output->width, output->height, GDK_MEMORY_R8G8B8,
                                    output->pixels, (gsize) output->width * 3);
  generation_result = td_generation_result_new (texture, output->thought, self->request->seed);
  td_generation_result_set_metadata (generation_result, output->board_json, output->mode_name,
                                     output->notice);
  td_generation_result_set_thought_edited (generation_result, output->thought_edited);
  generation_output_free (output);
  return generation_result;
}

/* GObject ----------------------------------------------------------------- */

static void
td_generation_job_finalize (GObject *object)
{
  TdGenerationJob *self = TD_GENERATION_JOB (object);

  g_clear_pointer (&self->request, td_generation_request_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (td_generation_job_parent_class)->finalize (object);
}

static void
td_generation_job_class_init (TdGenerationJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = td_generation_job_finalize;

  /* (stage, step, n_steps); step and n_steps are 0 when the stage has no steps. */
  signals[PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                  TD_TYPE_GENERATION_STAGE, G_TYPE_UINT, G_TYPE_UINT);
  signals[PREVIEW] =
    g_signal_new ("preview", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, GDK_TYPE_TEXTURE);
  signals[THOUGHT] =
    g_signal_new ("thought", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
td_generation_job_init (TdGenerationJob *self)
{
}

/* Takes ownership of @request. */
TdGenerationJob *
td_generation_job_new (TdGenerationRequest *request,
                       TdGenerationWorker   worker,
                       gpointer             worker_data)
{
  TdGenerationJob *self;

  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (worker != NULL, NULL);

  self = g_object_new (TD_TYPE_GENERATION_JOB, NULL);
  self->request = request;
  self->worker = worker;
  self->worker_data = worker_data;
  return self;
}

const TdGenerationRequest *
td_generation_job_get_request (TdGenerationJob *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_JOB (self), NULL);
  return self->request;
}

/* A line for the preview and the progress bar: "Step 3 of 28". */
char *
td_generation_stage_describe (TdGenerationStage stage,
                              guint             step,
                              guint             n_steps)
{
  switch (stage)
    {
    case TD_GENERATION_STAGE_LOADING:
      return g_strdup (_("Loading models…"));
    case TD_GENERATION_STAGE_READING:
      return g_strdup (_("Reading the board…"));
    case TD_GENERATION_STAGE_THINKING:
      return g_strdup (_("Thinking…"));
    case TD_GENERATION_STAGE_ENCODING:
      return g_strdup (_("Encoding images and text…"));
    case TD_GENERATION_STAGE_DENOISING:
      if (n_steps > 0)
        /* Translators: progress text while the image forms; %u of %u are step numbers. */
        return g_strdup_printf (_("Step %u of %u"), step, n_steps);
      return g_strdup (_("Painting…"));
    case TD_GENERATION_STAGE_DECODING:
      return g_strdup (_("Decoding the image…"));
    default:
      return g_strdup ("");
    }
}
