/* td-application.h — the ThinkDiff Studio application.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TD_TYPE_APPLICATION (td_application_get_type ())

G_DECLARE_FINAL_TYPE (TdApplication, td_application, TD, APPLICATION, AdwApplication)

TdApplication *td_application_new                   (void);
GtkWindow     *td_application_show_about            (TdApplication *self);
GtkWindow     *td_application_show_shortcuts        (TdApplication *self);
GtkWindow     *td_application_show_preferences      (TdApplication *self);

G_END_DECLS
