/* td-engine-worker.h — the generation worker that runs the engine's pipeline,
 * and the engine facts the rest of the app asks about (models folder, GPUs).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gio/gio.h>

#include "td-generation-job.h"

G_BEGIN_DECLS

#define TD_ENGINE_ERROR (td_engine_error_quark ())

/* What went wrong, sorted by what the user can do about it. */
typedef enum {
  TD_ENGINE_ERROR_MODELS_MISSING,  /* set up or download models */
  TD_ENGINE_ERROR_INPUT,           /* a board item could not be read */
  TD_ENGINE_ERROR_OUT_OF_MEMORY,   /* smaller image, or another device */
  TD_ENGINE_ERROR_DEVICE_LOST,     /* the GPU reset; the next run starts afresh */
  TD_ENGINE_ERROR_DEVICE,          /* another GPU or driver failure */
  TD_ENGINE_ERROR_FAILED,          /* anything else; the message says what */
} TdEngineError;

GQuark    td_engine_error_quark         (void);

/* The folder the "model-folder" setting names: @setting itself, or the
 * engine's default folder when it is empty. */
char     *td_engine_models_dir          (const char   *setting);

/* Where pasted images are kept as PNG files, so boards (and Reuse) can name them. */
char     *td_engine_pasted_dir          (void);

/* Vulkan devices the backend can use, as (index, name) pairs in @names
 * ("0: NVIDIA H100" style labels); never fails, an empty array without Vulkan. */
GPtrArray *td_engine_list_gpus          (void);

/* The TdGenerationWorker that runs td_thinkdiff_generate (). @worker_data is unused. */
gboolean  td_engine_worker_run          (TdGenerationJob           *job,
                                         const TdGenerationRequest *request,
                                         TdGenerationOutput        *output,
                                         gpointer                   worker_data,
                                         GCancellable              *cancellable,
                                         GError                   **error);

/* Frees the backend kept between runs (at shutdown; also after a lost device). */
void      td_engine_worker_release_backend (void);
/* How many backends the worker has created so far (tests check that a lost
 * device leads to a new one). */
guint     td_engine_worker_get_n_backends_created (void);

G_END_DECLS
