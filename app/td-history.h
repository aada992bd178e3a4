/* td-history.h — every result kept on disk, loaded back into the gallery.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gio/gio.h>

#include "td-generation-result.h"

G_BEGIN_DECLS

#define TD_TYPE_HISTORY (td_history_get_type ())

G_DECLARE_FINAL_TYPE (TdHistory, td_history, TD, HISTORY, GObject)

/* $XDG_DATA_HOME/thinkdiff-studio/history (inside a Flatpak, its own data folder). */
char       *td_history_default_dir  (void);

TdHistory  *td_history_new          (const char          *dir);
const char *td_history_get_dir      (TdHistory           *self);

/* Reads every entry in a thread. The results come newest first; entries that
 * cannot be read are skipped, each with a message in @problems. */
void        td_history_load_async   (TdHistory           *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
GPtrArray  *td_history_load_finish  (TdHistory           *self,
                                     GAsyncResult        *result,
                                     GStrv               *problems,
                                     GError             **error);

/* Writes @result as a new entry in a thread (the window does not wait). */
void        td_history_add_async    (TdHistory           *self,
                                     TdGenerationResult  *result,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
gboolean    td_history_add_finish   (TdHistory           *self,
                                     GAsyncResult        *result,
                                     GError             **error);
/* Writes still in progress. */
guint       td_history_get_n_pending (TdHistory          *self);

/* Delete with Undo: the entry is moved aside (purged on the next load) and
 * td_history_restore puts it back at its place. */
gboolean    td_history_remove       (TdHistory           *self,
                                     TdGenerationResult  *result,
                                     GError             **error);
gboolean    td_history_restore      (TdHistory           *self,
                                     TdGenerationResult  *result,
                                     GError             **error);

/* The entry's folder name, or NULL when @result is not (yet) in a history. */
const char *td_history_get_entry_id (TdGenerationResult  *result);
gboolean    td_history_is_writing   (TdGenerationResult  *result);

G_END_DECLS
