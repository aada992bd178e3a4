/* td-model-setup.h — the first-run page: where the models are, what is
 * missing, demo models and downloads.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

#include "thinkdiff.h"

G_BEGIN_DECLS

#define TD_TYPE_MODEL_SETUP (td_model_setup_get_type ())

G_DECLARE_FINAL_TYPE (TdModelSetup, td_model_setup, TD, MODEL_SETUP, AdwBin)

GtkWidget *td_model_setup_new              (void);
void       td_model_setup_refresh          (TdModelSetup   *self);
/* TRUE when FLUX, at least, is in the models folder. */
gboolean   td_model_setup_get_ready        (TdModelSetup   *self);
gboolean   td_model_setup_get_part_untrained (TdModelSetup *self,
                                              td_model_part  part);
const char *td_model_setup_runnable_mode   (TdModelSetup   *self,
                                            const char     *chosen);
gboolean   td_model_setup_get_part_found   (TdModelSetup   *self,
                                            td_model_part   part);
GtkWidget *td_model_setup_get_part_row     (TdModelSetup   *self,
                                            td_model_part   part);
/* Writes the demo models into the user data folder and selects them. */
void       td_model_setup_use_demo_models  (TdModelSetup   *self);
gboolean   td_model_setup_get_busy         (TdModelSetup   *self);
/* Where the demo models go: <user data>/thinkdiff-studio/demo-models. */
char      *td_model_setup_demo_dir         (void);
/* Tests use an in-memory store; takes ownership. Default: the keyring. */
void       td_model_setup_set_token_store  (TdModelSetup   *self,
                                            td_token_store *store);

G_END_DECLS
