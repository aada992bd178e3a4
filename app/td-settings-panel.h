/* td-settings-panel.h — generation settings bound to GSettings.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TD_TYPE_SETTINGS_PANEL (td_settings_panel_get_type ())

G_DECLARE_FINAL_TYPE (TdSettingsPanel, td_settings_panel, TD, SETTINGS_PANEL, AdwBin)

GtkWidget *td_settings_panel_new           (void);
GSettings *td_settings_panel_get_settings  (TdSettingsPanel *self);
void       td_settings_panel_randomize_seed (TdSettingsPanel *self);

G_END_DECLS
