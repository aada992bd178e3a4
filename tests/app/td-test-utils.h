/* td-test-utils.h — helpers shared by the app tests.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

#include "td-test-models.h"   /* td_test_remove_tree */

G_BEGIN_DECLS

typedef gboolean (*TdTestCondition) (gpointer data);

/* g_test_init + GTK/libadwaita; returns FALSE (after printing a TAP skip plan)
 * when there is no display, in which case main () should return 0. */
gboolean  td_test_init             (int             *argc,
                                    char          ***argv);
gboolean  td_test_wait_for         (TdTestCondition  condition,
                                    gpointer         data,
                                    guint            timeout_ms);
void      td_test_iterate          (guint            ms);
GFile    *td_test_write_png        (const char      *dir,
                                    const char      *name,
                                    int              width,
                                    int              height,
                                    guint32          rgb_top,
                                    guint32          rgb_bottom);
GdkTexture *td_test_make_texture   (int              width,
                                    int              height,
                                    guint32          rgb_top,
                                    guint32          rgb_bottom);
char     *td_test_make_temp_dir    (void);
void      td_test_remove_dir       (const char      *dir);
GdkTexture *td_test_render_window  (GtkWidget       *window);
AdwMessageDialog *td_test_find_message_dialog (GtkWindow *parent);
void      td_test_answer_dialog    (AdwMessageDialog *dialog,
                                    const char      *response);

G_END_DECLS
