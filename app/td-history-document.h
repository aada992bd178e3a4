/* td-history-document.h — the history's JSON documents (an entry's
 * entry.json and the index), read strictly and written; GLib only, so the
 * fuzz target needs no display.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Documents are a few kilobytes; anything far larger is not one. */
#define TD_HISTORY_MAX_DOCUMENT_SIZE (1 << 20)
#define TD_HISTORY_MAX_SIDE          16384

/* What entry.json says about a result (the image and board are files beside it). */
typedef struct {
  gint64    created_us;      /* microseconds since 1970, UTC */
  guint32   seed;
  int       width;
  int       height;
  char     *mode;            /* "lvlm", "clip", "text-to-image", or NULL */
  char     *thought;         /* or NULL */
  gboolean  thought_edited;
} TdHistoryEntryInfo;

void       td_history_entry_info_clear (TdHistoryEntryInfo       *info);

/* Exactly the members above, each of its type and in range, "format" and
 * "version" as written; @name (the file) starts every message. */
gboolean   td_history_entry_parse      (const char               *text,
                                        gsize                     length,
                                        const char               *name,
                                        TdHistoryEntryInfo       *info,
                                        GError                  **error);
char      *td_history_entry_write      (const TdHistoryEntryInfo *info);

/* The ids the index lists, oldest first (each valid, none twice). */
GPtrArray *td_history_index_parse      (const char               *text,
                                        gsize                     length,
                                        const char               *name,
                                        GError                  **error);
char      *td_history_index_write      (GPtrArray                *ids);

/* Ids are folder names the store makes: letters, digits and '-'. */
gboolean   td_history_id_is_valid      (const char               *id);

G_END_DECLS
