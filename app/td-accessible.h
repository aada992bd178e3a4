/* td-accessible.h — accessible names the toolkit gets wrong.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

char *td_accessible_strip_mnemonic       (const char *label);
void  td_accessible_name_mnemonic_buttons (GtkWidget  *root);

G_END_DECLS
