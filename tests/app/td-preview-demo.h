/* td-preview-demo.h — a stand-in generation worker for the tests: it walks
 * through the stages of a run and draws synthetic frames, without a model.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include "td-generation-job.h"

G_BEGIN_DECLS

/* Options of the preview demo; NULL worker_data means the defaults. */
typedef struct {
  guint step_delay_ms;
} TdPreviewDemoOptions;

/* A TdGenerationWorker (see td-generation-job.h). */
gboolean td_generation_job_run_preview_demo (TdGenerationJob           *job,
                                             const TdGenerationRequest *request,
                                             TdGenerationOutput        *output,
                                             gpointer                   worker_data,
                                             GCancellable              *cancellable,
                                             GError                   **error);

G_END_DECLS
