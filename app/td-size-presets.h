/* td-size-presets.h — the output sizes offered in the settings panel.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  const char *nick;    /* value of the "size-preset" key */
  const char *label;   /* untranslated; wrap in gettext () to show */
  int         width;   /* 0 for "custom" */
  int         height;
} TdSizePreset;

guint               td_size_presets_get_n       (void);
const TdSizePreset *td_size_presets_get         (guint       index);
int                 td_size_presets_find        (const char *nick);
void                td_size_presets_resolve     (GSettings  *settings,
                                                 int        *width,
                                                 int        *height);

G_END_DECLS
