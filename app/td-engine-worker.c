/* td-engine-worker.c — runs the engine's ThinkDiff pipeline for a job.
 *
 * In the worker thread: the request becomes a td_board (pasted images are
 * written to PNG files first, since the engine reads boards from paths), the
 * models are found under the configured folder, an engine is made (or the
 * one kept from the last run is reused), and td_engine_generate () runs with
 * callbacks that forward stages, steps, previews and the thought to the job.
 * The job's GCancellable sets the engine's cancel flag, which the pipeline
 * checks between steps.
 *
 * A board of texts alone, in a mode whose models are missing while FLUX is
 * there (the demo models until they grow the CLIP/LVLM parts), is painted by
 * FLUX alone; the result says so.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#include "thinkdiff.h"

#include "td-engine-worker.h"

G_DEFINE_QUARK (td-engine-error-quark, td_engine_error)

/* Paths and devices -------------------------------------------------------- */

char *
td_engine_models_dir (const char *setting)
{
  if (setting != NULL && *setting != '\0')
    return g_strdup (setting);
  g_autofree char *dir = td_models_default_dir ();

  return g_strdup (dir);
}

char *
td_engine_pasted_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "thinkdiff-studio", "pasted", NULL);
}

GPtrArray *
td_engine_list_gpus (void)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  td_device_info *devices = NULL;
  int count = 0;
  td_error err = { 0 };

  if (td_devices_list (&devices, &count, &err) == TD_OK)
    for (int i = 0; i < count; i++)
      if (devices[i].usable)
        g_ptr_array_add (names, g_strdup_printf ("%d: %s", devices[i].index, devices[i].name));
  td_free (devices);
  return names;
}

/* The engine kept between runs ------------------------------------------- */

/* One engine is kept for the next run (starting a Vulkan device takes a
 * moment); a run takes it out while it uses it, so two windows generating at
 * once never share one. */
static GMutex engine_lock;
static td_engine *kept_engine;
static char *kept_key;
static guint n_engines_created;

void
td_engine_worker_release_backend (void)
{
  g_mutex_lock (&engine_lock);
  g_clear_pointer (&kept_engine, td_engine_free);
  g_clear_pointer (&kept_key, g_free);
  g_mutex_unlock (&engine_lock);
}

guint
td_engine_worker_get_n_backends_created (void)
{
  guint n;

  g_mutex_lock (&engine_lock);
  n = n_engines_created;
  g_mutex_unlock (&engine_lock);
  return n;
}

static gboolean set_engine_error (GError **error, const td_error *err, const char *context);

/* @device is the "gpu-device" setting: "" or "auto" (a real GPU when there is
 * one, else the processor), "cpu", or a device index as listed. */
static td_engine *
engine_new (const char *device,
            GError    **error)
{
  td_engine_options options = td_engine_options_default ();
  td_error err = { 0 };
  td_engine *engine;

  if (g_strcmp0 (device, "cpu") == 0)
    options.backend = "cpu";
  else if (*device != '\0' && strcmp (device, "auto") != 0)
    {
      char *end = NULL;
      gint64 value = g_ascii_strtoll (device, &end, 10);

      if (end == device || (*end != '\0' && *end != ':') || value < 0 || value > G_MAXINT)
        {
          g_set_error (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_DEVICE,
                       _("The GPU setting “%s” names no device; choose one in Preferences"), device);
          return NULL;
        }
      options.backend = "vulkan";
      options.device = (int) value;
    }

  engine = td_engine_new (&options, &err);
  if (engine == NULL)
    {
      set_engine_error (error, &err, _("Starting the compute device"));
      return NULL;
    }

  g_mutex_lock (&engine_lock);
  n_engines_created++;
  g_mutex_unlock (&engine_lock);
  return engine;
}

static td_engine *
take_engine (const char  *device,
             GError     **error)
{
  td_engine *engine = NULL;

  g_mutex_lock (&engine_lock);
  if (kept_engine != NULL && g_strcmp0 (kept_key, device) == 0)
    {
      engine = g_steal_pointer (&kept_engine);
      g_clear_pointer (&kept_key, g_free);
    }
  g_mutex_unlock (&engine_lock);

  return engine != NULL ? engine : engine_new (device, error);
}

/* An engine that failed with a device error is freed: the next run makes a new one. */
static void
give_back_engine (td_engine  *engine,
                  const char *device,
                  gboolean    healthy)
{
  td_engine *old = NULL;
  char *old_key = NULL;

  if (!healthy)
    {
      td_engine_free (engine);
      return;
    }

  g_mutex_lock (&engine_lock);
  old = kept_engine;
  old_key = kept_key;
  kept_engine = engine;
  kept_key = g_strdup (device);
  g_mutex_unlock (&engine_lock);

  g_clear_pointer (&old, td_engine_free);
  g_free (old_key);
}

/* Errors ------------------------------------------------------------------ */

static gboolean
set_engine_error (GError         **error,
                  const td_error  *err,
                  const char      *context)
{
  TdEngineError code;

  switch (err->status)
    {
    case TD_ERR_CANCELLED:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, err->message);
      return FALSE;
    case TD_ERR_DEVICE_OOM:
    case TD_ERR_NO_MEMORY:
      code = TD_ENGINE_ERROR_OUT_OF_MEMORY;
      break;
    case TD_ERR_DEVICE_LOST:
      code = TD_ENGINE_ERROR_DEVICE_LOST;
      break;
    case TD_ERR_DEVICE:
      code = TD_ENGINE_ERROR_DEVICE;
      break;
    default:
      code = TD_ENGINE_ERROR_FAILED;
      break;
    }

  if (context != NULL)
    g_set_error (error, TD_ENGINE_ERROR, code, "%s: %s", context, err->message);
  else
    g_set_error_literal (error, TD_ENGINE_ERROR, code, err->message);
  return FALSE;
}

static gboolean
is_device_failure (td_status status)
{
  return status == TD_ERR_DEVICE || status == TD_ERR_DEVICE_LOST || status == TD_ERR_DEVICE_OOM;
}

/* The board --------------------------------------------------------------- */

static td_board *
board_from_request (const TdGenerationRequest  *request,
                    GError                    **error)
{
  td_board *board = td_board_new (request->mode == TD_GENERATION_MODE_LVLM ? TD_BOARD_LVLM : TD_BOARD_CLIP);
  td_board_settings settings = td_board_get_settings (board);
  td_error err = { 0 };

  settings.width = request->width;
  settings.height = request->height;
  settings.steps = request->steps;
  settings.guidance = (float) request->guidance;
  settings.seed = request->seed;
  /* The engine uses TAEF1 for previews when asked and installed; else the linear map. */
  settings.tiny_preview = request->preview_method == TD_PREVIEW_METHOD_TAESD;
  td_board_set_settings (board, &settings);
  if (request->thought != NULL && td_board_set_thought (board, request->thought, &err) != TD_OK)
    {
      g_set_error_literal (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_INPUT, err.message);
      td_board_free (board);
      return NULL;
    }

  for (guint i = 0; i < request->inputs->len; i++)
    {
      const TdGenerationInput *input = g_ptr_array_index (request->inputs, i);
      td_status status;

      if (input->kind == TD_BOARD_ITEM_TEXT)
        status = td_board_add (board, TD_BOARD_TEXT, input->text, &err);
      else if (input->path != NULL)
        status = td_board_add (board, TD_BOARD_IMAGE, input->path, &err);
      else if (input->pixels != NULL
               && g_bytes_get_size (input->pixels) == (gsize) input->width * input->height * 3)
        {
          /* Pasted pixels are kept as PNG files, so the board (and Reuse) can name them. */
          g_autofree char *dir = td_engine_pasted_dir ();
          td_image image = { input->width, input->height, (uint8_t *) g_bytes_get_data (input->pixels, NULL) };

          status = td_board_add_pixels (board, &image, dir, &err);
        }
      else
        {
          g_set_error_literal (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_INPUT,
                               _("An image on the board is not a local file"));
          td_board_free (board);
          return NULL;
        }

      if (status != TD_OK)
        {
          g_set_error_literal (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_INPUT, err.message);
          td_board_free (board);
          return NULL;
        }
    }

  if (td_board_validate (board, &err) != TD_OK)
    {
      g_set_error_literal (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_INPUT, err.message);
      td_board_free (board);
      return NULL;
    }
  return board;
}

/* Callbacks --------------------------------------------------------------- */

typedef struct {
  TdGenerationJob           *job;
  const TdGenerationRequest *request;
  GString                   *thought;
  volatile int               cancel;
} RunContext;

static TdGenerationStage
stage_from_engine (const char *stage,
                   gboolean    lvlm)
{
  if (g_str_has_prefix (stage, "loading"))
    return TD_GENERATION_STAGE_LOADING;
  if (strcmp (stage, "thinking") == 0 || strcmp (stage, "reading the edited thought") == 0)
    return TD_GENERATION_STAGE_THINKING;
  if (strcmp (stage, "reading images") == 0)
    return lvlm ? TD_GENERATION_STAGE_READING : TD_GENERATION_STAGE_ENCODING;
  if (strcmp (stage, "denoising") == 0)
    return TD_GENERATION_STAGE_DENOISING;
  if (strcmp (stage, "decoding") == 0)
    return TD_GENERATION_STAGE_DECODING;
  return TD_GENERATION_STAGE_ENCODING;
}

static void
on_engine_stage (void       *user,
                 const char *stage)
{
  RunContext *context = user;
  TdGenerationStage app_stage = stage_from_engine (stage, context->request->mode == TD_GENERATION_MODE_LVLM);

  /* Denoising reports its steps itself: "step 0 of N" would only flicker. */
  if (app_stage == TD_GENERATION_STAGE_DENOISING)
    td_generation_job_report_progress (context->job, app_stage, 0, context->request->steps);
  else
    td_generation_job_report_progress (context->job, app_stage, 0, 0);
}

static void
on_engine_thought (void       *user,
                   const char *piece)
{
  RunContext *context = user;

  g_string_append (context->thought, piece);
  td_generation_job_report_thought (context->job, context->thought->str);
}

static void
on_engine_progress (void *user,
                    int   step,
                    int   steps)
{
  RunContext *context = user;

  td_generation_job_report_progress (context->job, TD_GENERATION_STAGE_DENOISING, step, steps);
}

static void
on_engine_preview (void           *user,
                   int             step,
                   int             steps,
                   const td_image *image)
{
  RunContext *context = user;
  g_autoptr(GBytes) pixels = NULL;

  if (context->request->preview_method == TD_PREVIEW_METHOD_NONE || image->width <= 0 || image->height <= 0)
    return;
  pixels = g_bytes_new (image->rgb, (gsize) image->width * image->height * 3);
  td_generation_job_report_preview (context->job, pixels, image->width, image->height);
}

static void
on_cancelled (GCancellable *cancellable,
              RunContext   *context)
{
  context->cancel = 1;
}

/* Running ----------------------------------------------------------------- */

static gboolean
only_text (const td_board *board)
{
  return td_board_count (board, TD_BOARD_IMAGE) == 0;
}

static void
fill_output (TdGenerationOutput *output,
             const td_output    *result)
{
  const td_image *image = td_output_image (result);

  output->pixels = g_bytes_new (image->rgb, (gsize) image->width * image->height * 3);
  output->width = image->width;
  output->height = image->height;
  output->thought = g_strdup (td_output_thought (result));
  output->thought_edited = td_output_thought_edited (result);
  output->board_json = g_strdup (td_output_board_json (result));
  output->mode_name = g_strdup (td_output_mode (result));
}

/* Runs the board with the found models; fills @output. */
static gboolean
run_board (TdGenerationJob           *job,
           const TdGenerationRequest *request,
           const td_board            *board,
           const td_model_paths      *paths,
           TdGenerationOutput        *output,
           GCancellable              *cancellable,
           GError                   **error)
{
  RunContext context = { job, request, g_string_new (NULL), 0 };
  td_generate_callbacks callbacks = {
    .stage = on_engine_stage,
    .thought = on_engine_thought,
    .step = on_engine_progress,
    .preview = on_engine_preview,
    .cancel = &context.cancel,
    .user = &context,
  };
  td_output *result = NULL;
  td_error err = { 0 };
  td_error missing = { 0 };
  gboolean text_to_image = request->mode == TD_GENERATION_MODE_TEXT;
  const char *output_notice = NULL;
  td_engine *engine;
  td_status status;
  gulong handler;

  /* Text to image is a mode the user chooses, never a silent stand-in for
   * the chosen mode when its models are missing. */
  if (text_to_image && paths->path[TD_PART_FLUX] == NULL)
    {
      g_string_free (context.thought, TRUE);
      g_set_error (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING,
                   _("Text to image needs FLUX, and the models folder has none."));
      return FALSE;
    }
  if (!text_to_image
      && td_model_paths_require (paths, td_board_get_mode (board) == TD_BOARD_LVLM, &missing) != TD_OK)
    {
      g_string_free (context.thought, TRUE);
      if (paths->path[TD_PART_FLUX] != NULL)
        /* Translators: %s says which models are missing and how to get them. */
        g_set_error (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING,
                     _("%s\n\nFLUX is installed: the “Text Only” mode paints from the board’s texts with it alone."),
                     missing.message);
      else
        g_set_error_literal (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING, missing.message);
      return FALSE;
    }
  if (text_to_image && td_board_count (board, TD_BOARD_TEXT) == 0)
    {
      g_string_free (context.thought, TRUE);
      g_set_error (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_INPUT,
                   _("The Text Only mode paints from the board’s texts, and the board has none."));
      return FALSE;
    }
  if (text_to_image && !only_text (board))
    output_notice = _("Text Only mode: the images on the board were left out");

  td_generation_job_report_progress (job, TD_GENERATION_STAGE_LOADING, 0, 0);
  engine = take_engine (request->gpu_device, error);
  if (engine == NULL)
    {
      g_string_free (context.thought, TRUE);
      return FALSE;
    }
  /* The "weight-files" choices; a part not chosen goes back to its default. */
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    {
      const char *file = NULL;

      if (request->weight_files != NULL)
        g_variant_lookup (request->weight_files, td_weight_part_name (part), "&s", &file);
      td_engine_set_weight_file (engine, (td_weight_part) part, file, NULL);
    }

  handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), &context, NULL);
  if (text_to_image)
    status = td_engine_text_to_image (engine, board, paths->path[TD_PART_FLUX], &callbacks, &result, &err);
  else
    status = td_engine_generate (engine, board, paths, &callbacks, &result, &err);
  g_cancellable_disconnect (cancellable, handler);

  give_back_engine (engine, request->gpu_device, !is_device_failure (status));
  g_string_free (context.thought, TRUE);

  if (status != TD_OK)
    return set_engine_error (error, &err, NULL);

  fill_output (output, result);
  output->notice = g_strdup (output_notice);
  td_output_free (result);
  return TRUE;
}

/**
 * td_engine_worker_run:
 *
 * The engine's TdGenerationWorker (see td-generation-job.h).
 */
gboolean
td_engine_worker_run (TdGenerationJob           *job,
                      const TdGenerationRequest *request,
                      TdGenerationOutput        *output,
                      gpointer                   worker_data,
                      GCancellable              *cancellable,
                      GError                   **error)
{
  g_autofree char *models_dir = td_engine_models_dir (request->model_folder);
  td_model_paths paths = { 0 };
  td_error err = { 0 };
  td_board *board;
  gboolean ok;

  board = board_from_request (request, error);
  if (board == NULL)
    return FALSE;

  if (td_model_paths_find (models_dir, &paths, &err) != TD_OK)
    {
      td_board_free (board);
      g_set_error (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING,
                   _("The models folder cannot be read: %s"), err.message);
      return FALSE;
    }

  ok = !g_cancellable_set_error_if_cancelled (cancellable, error)
       && run_board (job, request, board, &paths, output, cancellable, error);

  td_model_paths_clear (&paths);
  td_board_free (board);
  return ok;
}

TdGenerationWorker
td_generation_engine_worker (void)
{
  return td_engine_worker_run;
}
