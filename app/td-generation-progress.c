/* td-generation-progress.c — see td-generation-progress.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-generation-progress.h"

/* Rough shares of a run's time on a mid-range GPU at 512×512, 28 steps. The
 * loading share is counted once per loading phase (the language model, then
 * the image models), so it is split in two. */
double
td_generation_stage_share (TdGenerationMode  mode,
                           TdGenerationStage stage)
{
  gboolean lvlm = mode == TD_GENERATION_MODE_LVLM;

  switch (stage)
    {
    case TD_GENERATION_STAGE_LOADING:
      return 0.05;
    case TD_GENERATION_STAGE_READING:
      return lvlm ? 0.05 : 0.0;
    case TD_GENERATION_STAGE_THINKING:
      return lvlm ? 0.25 : 0.0;
    case TD_GENERATION_STAGE_ENCODING:
      return lvlm ? 0.05 : 0.10;
    case TD_GENERATION_STAGE_DENOISING:
      return lvlm ? 0.50 : 0.70;
    case TD_GENERATION_STAGE_DECODING:
      return lvlm ? 0.05 : 0.10;
    default:
      return 0.0;
    }
}

void
td_generation_progress_start (TdGenerationProgress *self,
                              TdGenerationMode      mode)
{
  g_return_if_fail (self != NULL);

  *self = (TdGenerationProgress) { .mode = mode };
}

/* Returns the new value: at least the previous one, at most 1. */
double
td_generation_progress_update (TdGenerationProgress *self,
                               TdGenerationStage     stage,
                               guint                 step,
                               guint                 n_steps)
{
  double within = 0.0;
  double value;

  g_return_val_if_fail (self != NULL, 0.0);

  if (self->started && stage != self->stage)
    self->finished += td_generation_stage_share (self->mode, self->stage);
  self->started = TRUE;
  self->stage = stage;

  if (n_steps > 0)
    within = (double) MIN (step, n_steps) / n_steps;
  value = self->finished + within * td_generation_stage_share (self->mode, stage);
  self->value = CLAMP (value, self->value, 1.0);
  return self->value;
}
