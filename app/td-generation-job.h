/* td-generation-job.h — the boundary between the app and the generation engine.
 *
 * The app turns the board and the settings into a TdGenerationRequest (plain
 * data, safe to read from any thread) and runs a TdGenerationWorker on it in a
 * thread. The worker reports progress, preview frames and the model's thought
 * through the td_generation_job_report_* () calls, which may be called from the
 * worker thread; the job delivers them as signals on the main loop.
 *
 * The real worker, td_generation_engine_worker (), runs the engine's pipeline
 * (td-engine-worker.c). The tests have a stand-in that draws synthetic frames
 * (tests/app/td-preview-demo.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gtk/gtk.h>

#include "td-board-item.h"
#include "td-generation-result.h"

G_BEGIN_DECLS

typedef enum {
  TD_GENERATION_MODE_LVLM,
  TD_GENERATION_MODE_CLIP,
  TD_GENERATION_MODE_TEXT,   /* FLUX alone, from the board's texts */
} TdGenerationMode;

typedef enum {
  TD_PREVIEW_METHOD_NONE,
  TD_PREVIEW_METHOD_LATENT,
  TD_PREVIEW_METHOD_TAESD,
} TdPreviewMethod;

typedef enum {
  TD_GENERATION_STAGE_LOADING,     /* reading model weights */
  TD_GENERATION_STAGE_READING,     /* LVLM reads the board's images */
  TD_GENERATION_STAGE_THINKING,    /* LVLM writes its thought (or reads the edited one) */
  TD_GENERATION_STAGE_ENCODING,    /* CLIP / T5 encoders, aligner */
  TD_GENERATION_STAGE_DENOISING,   /* FLUX steps; step k of N */
  TD_GENERATION_STAGE_DECODING,    /* VAE decode */
} TdGenerationStage;

/* One board item, copied so the worker never touches GTK objects. */
typedef struct {
  TdBoardItemKind  kind;
  GFile           *file;     /* image from a file, or NULL */
  char            *path;     /* its local path when it has one */
  GBytes          *pixels;   /* image without a file (pasted): RGB8, stride width * 3 */
  int              width;
  int              height;
  char            *text;     /* text item */
} TdGenerationInput;

typedef struct {
  TdGenerationMode  mode;
  int               width;
  int               height;
  int               steps;
  double            guidance;
  guint32           seed;
  TdPreviewMethod   preview_method;
  char             *model_folder;  /* "" for the default folder */
  char             *gpu_device;    /* "" to pick automatically */
  GVariant         *weight_files;  /* a{ss}: model part → weight file ("weight-files"), or NULL */
  GPtrArray        *inputs;        /* TdGenerationInput *, in board order */
  char             *thought;       /* LVLM: an edited thought to paint from instead of thinking, or NULL */
} TdGenerationRequest;

/* What a worker hands back: RGB8 pixels, stride width * 3. */
typedef struct {
  GBytes *pixels;
  int     width;
  int     height;
  char   *thought;                 /* NULL when the mode writes none */
  gboolean thought_edited;         /* the thought is the request's edited one */
  char   *board_json;              /* the board as td_board_to_json () writes it, or NULL */
  char   *mode_name;               /* "lvlm", "clip" or "text-to-image", or NULL */
  char   *notice;                  /* something the user should know about the run, or NULL */
} TdGenerationOutput;

TdGenerationRequest *td_generation_request_new            (void);
TdGenerationRequest *td_generation_request_new_from_board (GListModel          *items,
                                                           GSettings           *settings);
void                 td_generation_request_free           (TdGenerationRequest *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TdGenerationRequest, td_generation_request_free)

#define TD_TYPE_GENERATION_JOB (td_generation_job_get_type ())

G_DECLARE_FINAL_TYPE (TdGenerationJob, td_generation_job, TD, GENERATION_JOB, GObject)

/* Runs in a worker thread. Returns FALSE with @error set on failure; a
 * cancelled run returns G_IO_ERROR_CANCELLED. Check @cancellable at least once
 * per step so Cancel takes effect within a step. */
typedef gboolean (*TdGenerationWorker) (TdGenerationJob           *job,
                                        const TdGenerationRequest *request,
                                        TdGenerationOutput        *output,
                                        gpointer                   worker_data,
                                        GCancellable              *cancellable,
                                        GError                   **error);

TdGenerationWorker  td_generation_engine_worker        (void);

TdGenerationJob     *td_generation_job_new             (TdGenerationRequest *request,
                                                        TdGenerationWorker   worker,
                                                        gpointer             worker_data);
const TdGenerationRequest *
                     td_generation_job_get_request     (TdGenerationJob     *self);
void                 td_generation_job_run_async       (TdGenerationJob     *self,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
TdGenerationResult  *td_generation_job_run_finish      (TdGenerationJob     *self,
                                                        GAsyncResult        *result,
                                                        GError             **error);

/* For workers; callable from any thread. */
void td_generation_job_report_progress (TdGenerationJob   *self,
                                        TdGenerationStage  stage,
                                        guint              step,
                                        guint              n_steps);
void td_generation_job_report_preview  (TdGenerationJob   *self,
                                        GBytes            *rgb_pixels,
                                        int                width,
                                        int                height);
void td_generation_job_report_thought  (TdGenerationJob   *self,
                                        const char        *thought);

char *td_generation_stage_describe     (TdGenerationStage  stage,
                                        guint              step,
                                        guint              n_steps);

G_END_DECLS
