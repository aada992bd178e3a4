/* td-generation-progress.h — one progress value over all the stages of a run.
 *
 * Each stage gets a share of the bar by its expected time; a stage's share is
 * filled by its steps (denoising) or at once when the next stage starts. The
 * value never goes backwards, even when a stage comes round again (the image
 * models are loaded after the language model has thought).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include "td-generation-job.h"

G_BEGIN_DECLS

typedef struct {
  TdGenerationMode   mode;
  TdGenerationStage  stage;
  gboolean           started;
  double             finished;  /* shares of the stages already left */
  double             value;     /* what the bar shows, in [0, 1] */
} TdGenerationProgress;

void   td_generation_progress_start  (TdGenerationProgress *self,
                                      TdGenerationMode      mode);
double td_generation_progress_update (TdGenerationProgress *self,
                                      TdGenerationStage     stage,
                                      guint                 step,
                                      guint                 n_steps);
double td_generation_stage_share     (TdGenerationMode      mode,
                                      TdGenerationStage     stage);

G_END_DECLS
