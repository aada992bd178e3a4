/* td-weight-choice.h — which weight file each model part loads, when the models
 * folder holds more than one (flux1-dev.safetensors and flux1-dev-Q8_0.gguf, …).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TD_TYPE_WEIGHT_CHOICE (td_weight_choice_get_type ())

G_DECLARE_FINAL_TYPE (TdWeightChoice, td_weight_choice, TD, WEIGHT_CHOICE, AdwPreferencesGroup)

GtkWidget   *td_weight_choice_new      (void);
/* The combo row of a part ("flux", "t5", "clip"), or NULL for an unknown part. */
AdwComboRow *td_weight_choice_get_row  (TdWeightChoice *self,
                                        const char     *part);
/* The file the "weight-files" setting @settings holds for @part, or NULL for the
 * default (free it). */
char        *td_weight_choice_setting  (GSettings      *settings,
                                        const char     *part);

G_END_DECLS
