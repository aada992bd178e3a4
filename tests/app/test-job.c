/* test-job.c — the board→engine boundary: requests, worker reports on the
 * main loop, results, errors and cancellation, with the preview demo worker.
 * Needs no display.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "td-generation-job.h"
#include "td-preview-demo.h"
#include "td-test-utils.h"

typedef struct {
  GThread            *main_thread;
  GArray             *steps;        /* guint: denoising step numbers, in arrival order */
  guint               n_progress;
  guint               n_off_thread; /* reports that arrived outside the main thread */
  GPtrArray          *previews;     /* GdkTexture */
  char               *thought;
  gboolean            done;
  TdGenerationResult *result;
  GError             *error;
  gint64              finished_at;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->steps, g_array_unref);
  g_clear_pointer (&run->previews, g_ptr_array_unref);
  g_clear_pointer (&run->thought, g_free);
  g_clear_object (&run->result);
  g_clear_error (&run->error);
  *run = (Run) { 0 };
}

static void
on_progress (TdGenerationJob   *job,
             TdGenerationStage  stage,
             guint              step,
             guint              n_steps,
             Run               *run)
{
  run->n_progress++;
  if (g_thread_self () != run->main_thread)
    run->n_off_thread++;
  if (stage == TD_GENERATION_STAGE_DENOISING)
    g_array_append_val (run->steps, step);
}

static void
on_preview (TdGenerationJob *job,
            GdkTexture      *texture,
            Run             *run)
{
  if (g_thread_self () != run->main_thread)
    run->n_off_thread++;
  g_ptr_array_add (run->previews, g_object_ref (texture));
}

static void
on_thought (TdGenerationJob *job,
            const char      *thought,
            Run             *run)
{
  g_free (run->thought);
  run->thought = g_strdup (thought);
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;

  run->result = td_generation_job_run_finish (TD_GENERATION_JOB (source), result, &run->error);
  run->done = TRUE;
  run->finished_at = g_get_monotonic_time ();
}

static gboolean
run_is_done (gpointer data)
{
  return ((Run *) data)->done;
}

static TdGenerationJob *
start_job (Run                 *run,
           TdGenerationRequest *request,
           TdGenerationWorker   worker,
           gpointer             worker_data,
           GCancellable        *cancellable)
{
  TdGenerationJob *job = td_generation_job_new (request, worker, worker_data);

  run->main_thread = g_thread_self ();
  run->steps = g_array_new (FALSE, FALSE, sizeof (guint));
  run->previews = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (job, "progress", G_CALLBACK (on_progress), run);
  g_signal_connect (job, "preview", G_CALLBACK (on_preview), run);
  g_signal_connect (job, "thought", G_CALLBACK (on_thought), run);
  td_generation_job_run_async (job, cancellable, on_done, run);
  return job;
}

static TdGenerationRequest *
plain_request (TdGenerationMode mode,
               int              size,
               int              steps)
{
  TdGenerationRequest *request = td_generation_request_new ();
  TdGenerationInput *input = g_new0 (TdGenerationInput, 1);

  request->mode = mode;
  request->width = size;
  request->height = size;
  request->steps = steps;
  request->guidance = 3.5;
  request->seed = 7;
  request->preview_method = TD_PREVIEW_METHOD_LATENT;
  input->kind = TD_BOARD_ITEM_TEXT;
  input->text = g_strdup ("a lighthouse");
  g_ptr_array_add (request->inputs, input);
  return request;
}

/* Roughness of a frame: mean absolute difference between horizontal
 * neighbours. Noise is rough, the finished colour fields are smooth. */
static double
roughness (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guchar *data = g_malloc ((gsize) width * height * 4);
  double sum = 0;

  gdk_texture_download (texture, data, (gsize) width * 4);
  for (int y = 0; y < height; y++)
    for (int x = 1; x < width; x++)
      for (int c = 0; c < 3; c++)
        sum += fabs ((double) data[(y * width + x) * 4 + c] - data[(y * width + x - 1) * 4 + c]);
  return sum / ((double) height * (width - 1) * 3);
}

static void
test_request_from_board (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autoptr(GListStore) items = g_list_store_new (TD_TYPE_BOARD_ITEM);
  g_autoptr(GFile) file = g_file_new_for_path ("/tmp/board/cat.png");
  g_autoptr(GdkTexture) texture = td_test_make_texture (5, 4, 0x102030, 0x102030);
  g_autoptr(TdBoardItem) image_file = td_board_item_new_for_file (file);
  g_autoptr(TdBoardItem) empty_text = td_board_item_new_for_text ("");
  g_autoptr(TdBoardItem) text = td_board_item_new_for_text ("wearing a hat");
  g_autoptr(TdBoardItem) pasted = td_board_item_new_for_texture (texture, "Pasted Image 1");
  g_autoptr(TdGenerationRequest) request = NULL;
  const TdGenerationInput *input;
  const guchar *pixels;

  g_list_store_append (items, image_file);
  g_list_store_append (items, empty_text);
  g_list_store_append (items, text);
  g_list_store_append (items, pasted);

  g_settings_set_string (settings, "mode", "clip");
  g_settings_set_string (settings, "size-preset", "landscape");
  g_settings_set_int (settings, "steps", 7);
  g_settings_set_double (settings, "guidance", 2.5);
  g_settings_set_uint (settings, "seed", 3000000000u);
  g_settings_set_string (settings, "gpu-device", "1");
  g_settings_set_value (settings, "weight-files", g_variant_new_parsed ("{'flux': '/models/flux1-dev-Q8_0.gguf'}"));

  request = td_generation_request_new_from_board (G_LIST_MODEL (items), settings);

  g_assert_cmpint (request->mode, ==, TD_GENERATION_MODE_CLIP);
  g_assert_cmpint (request->width, ==, 1024);
  g_assert_cmpint (request->height, ==, 768);
  g_assert_cmpint (request->steps, ==, 7);
  g_assert_cmpfloat (request->guidance, ==, 2.5);
  g_assert_cmpuint (request->seed, ==, 3000000000u);
  g_assert_cmpstr (request->gpu_device, ==, "1");
  {
    const char *flux = NULL;

    g_assert_true (g_variant_lookup (request->weight_files, "flux", "&s", &flux));
    g_assert_cmpstr (flux, ==, "/models/flux1-dev-Q8_0.gguf");
    g_assert_false (g_variant_lookup (request->weight_files, "t5", "&s", &flux));
  }

  /* Board order, without the empty text card. */
  g_assert_cmpuint (request->inputs->len, ==, 3);
  input = g_ptr_array_index (request->inputs, 0);
  g_assert_cmpint (input->kind, ==, TD_BOARD_ITEM_IMAGE);
  g_assert_cmpstr (input->path, ==, "/tmp/board/cat.png");
  g_assert_null (input->pixels);
  input = g_ptr_array_index (request->inputs, 1);
  g_assert_cmpint (input->kind, ==, TD_BOARD_ITEM_TEXT);
  g_assert_cmpstr (input->text, ==, "wearing a hat");

  /* A pasted image travels as RGB8 rows of the texture's colour. */
  input = g_ptr_array_index (request->inputs, 2);
  g_assert_cmpint (input->kind, ==, TD_BOARD_ITEM_IMAGE);
  g_assert_null (input->path);
  g_assert_cmpint (input->width, ==, 5);
  g_assert_cmpint (input->height, ==, 4);
  g_assert_cmpuint (g_bytes_get_size (input->pixels), ==, 5 * 4 * 3);
  pixels = g_bytes_get_data (input->pixels, NULL);
  for (int i = 0; i < 5 * 4; i++)
    {
      g_assert_cmpuint (pixels[i * 3 + 0], ==, 0x10);
      g_assert_cmpuint (pixels[i * 3 + 1], ==, 0x20);
      g_assert_cmpuint (pixels[i * 3 + 2], ==, 0x30);
    }

  g_settings_reset (settings, "mode");
  g_settings_reset (settings, "size-preset");
}

static void
test_demo_reports_on_main_loop (void)
{
  TdPreviewDemoOptions options = { .step_delay_ms = 5 };
  Run run = { 0 };
  g_autoptr(TdGenerationJob) job = NULL;
  GdkTexture *first, *last;

  job = start_job (&run, plain_request (TD_GENERATION_MODE_LVLM, 256, 6),
                   td_generation_job_run_preview_demo, &options, NULL);
  g_assert_true (td_test_wait_for (run_is_done, &run, 10000));

  g_assert_no_error (run.error);
  g_assert_nonnull (run.result);
  g_assert_cmpuint (run.n_off_thread, ==, 0);

  /* Every denoising step arrives, in order. */
  g_assert_cmpuint (run.steps->len, ==, 6);
  for (guint i = 0; i < run.steps->len; i++)
    g_assert_cmpuint (g_array_index (run.steps, guint, i), ==, i + 1);
  g_assert_cmpuint (run.n_progress, >, run.steps->len);   /* plus reading and decoding */

  /* One preview per step, at latent size, turning from noise into an image. */
  g_assert_cmpuint (run.previews->len, ==, 6);
  first = g_ptr_array_index (run.previews, 0);
  last = g_ptr_array_index (run.previews, 5);
  g_assert_cmpint (gdk_texture_get_width (first), ==, 32);
  g_assert_cmpint (gdk_texture_get_height (first), ==, 32);
  g_assert_cmpfloat (roughness (last), <, roughness (first) / 4);

  /* LVLM mode writes a thought, and the demo says it is a demo. */
  g_assert_nonnull (run.thought);
  g_assert_nonnull (strstr (run.thought, "demo"));
  g_assert_cmpstr (td_generation_result_get_thought (run.result), ==, run.thought);

  g_assert_cmpint (gdk_texture_get_width (td_generation_result_get_texture (run.result)), ==, 256);
  g_assert_cmpint (gdk_texture_get_height (td_generation_result_get_texture (run.result)), ==, 256);
  g_assert_cmpuint (td_generation_result_get_seed (run.result), ==, 7);
  run_clear (&run);

  /* CLIP mode: no thought. */
  g_clear_object (&job);
  job = start_job (&run, plain_request (TD_GENERATION_MODE_CLIP, 64, 2),
                   td_generation_job_run_preview_demo, &options, NULL);
  g_assert_true (td_test_wait_for (run_is_done, &run, 10000));
  g_assert_no_error (run.error);
  g_assert_null (run.thought);
  g_assert_null (td_generation_result_get_thought (run.result));
  run_clear (&run);
}

static void
test_cancel_within_a_step (void)
{
  TdPreviewDemoOptions options = { .step_delay_ms = 30 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TdGenerationJob) job = NULL;
  Run run = { 0 };
  guint steps_at_cancel;
  gint64 cancelled_at;

  job = start_job (&run, plain_request (TD_GENERATION_MODE_CLIP, 128, 1000),
                   td_generation_job_run_preview_demo, &options, cancellable);

  /* Let a couple of steps happen, then cancel. */
  while (run.steps->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_cancel (cancellable);
  cancelled_at = g_get_monotonic_time ();
  steps_at_cancel = run.steps->len;

  g_assert_true (td_test_wait_for (run_is_done, &run, 5000));
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (run.result);

  /* Done within about one step (30 ms), with slack for sanitizer builds. */
  g_assert_cmpint (run.finished_at - cancelled_at, <, G_USEC_PER_SEC);
  /* And quiet: nothing reported after the cancel. */
  g_assert_cmpuint (run.steps->len, ==, steps_at_cancel);
  run_clear (&run);
}

static gboolean
failing_worker (TdGenerationJob           *job,
                const TdGenerationRequest *request,
                TdGenerationOutput        *output,
                gpointer                   worker_data,
                GCancellable              *cancellable,
                GError                   **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "flux1-dev.safetensors: no such file");
  return FALSE;
}

static gboolean
empty_worker (TdGenerationJob           *job,
              const TdGenerationRequest *request,
              TdGenerationOutput        *output,
              gpointer                   worker_data,
              GCancellable              *cancellable,
              GError                   **error)
{
  /* Claims success but hands back nothing. */
  return TRUE;
}

static void
test_worker_errors (void)
{
  g_autoptr(TdGenerationJob) job = NULL;
  Run run = { 0 };

  job = start_job (&run, plain_request (TD_GENERATION_MODE_CLIP, 64, 1), failing_worker, NULL, NULL);
  g_assert_true (td_test_wait_for (run_is_done, &run, 5000));
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (run.error->message, ==, "flux1-dev.safetensors: no such file");
  run_clear (&run);

  g_clear_object (&job);
  job = start_job (&run, plain_request (TD_GENERATION_MODE_CLIP, 64, 1), empty_worker, NULL, NULL);
  g_assert_true (td_test_wait_for (run_is_done, &run, 5000));
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_null (run.result);
  run_clear (&run);
}

static void
test_stage_text (void)
{
  g_autofree char *denoising = td_generation_stage_describe (TD_GENERATION_STAGE_DENOISING, 3, 28);
  g_autofree char *loading = td_generation_stage_describe (TD_GENERATION_STAGE_LOADING, 0, 0);

  g_assert_nonnull (strstr (denoising, "3"));
  g_assert_nonnull (strstr (denoising, "28"));
  g_assert_cmpstr (loading, !=, "");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/job/request-from-board", test_request_from_board);
  g_test_add_func ("/job/demo-reports-on-main-loop", test_demo_reports_on_main_loop);
  g_test_add_func ("/job/cancel-within-a-step", test_cancel_within_a_step);
  g_test_add_func ("/job/worker-errors", test_worker_errors);
  g_test_add_func ("/job/stage-text", test_stage_text);

  return g_test_run ();
}
