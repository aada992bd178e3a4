/* libFuzzer target: arbitrary bytes as a history entry.json and as the
 * history's index.json (td-history-document.c). */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "td-history-document.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_entry (const char *text,
             size_t      size)
{
  TdHistoryEntryInfo info = { 0 };
  TdHistoryEntryInfo again = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *written = NULL;

  if (!td_history_entry_parse (text, size, "entry.json", &info, &error))
    {
      /* A refusal always says why, naming the file. */
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "entry.json"));
      return;
    }
  /* What an accepted entry promises, and a lossless round trip. */
  g_assert_cmpint (info.width, >=, 1);
  g_assert_cmpint (info.width, <=, TD_HISTORY_MAX_SIDE);
  g_assert_cmpint (info.height, >=, 1);
  g_assert_cmpint (info.height, <=, TD_HISTORY_MAX_SIDE);
  g_assert_cmpint (info.created_us, >=, 0);
  g_assert_true (info.thought == NULL || g_utf8_validate (info.thought, -1, NULL));
  written = td_history_entry_write (&info);
  g_assert_true (td_history_entry_parse (written, strlen (written), "again.json", &again, NULL));
  g_assert_cmpint (again.created_us, ==, info.created_us);
  g_assert_cmpuint (again.seed, ==, info.seed);
  g_assert_cmpint (again.width, ==, info.width);
  g_assert_cmpint (again.height, ==, info.height);
  g_assert_cmpstr (again.mode, ==, info.mode);
  g_assert_cmpstr (again.thought, ==, info.thought);
  g_assert_cmpint (again.thought_edited, ==, info.thought_edited);
  td_history_entry_info_clear (&info);
  td_history_entry_info_clear (&again);
}

static void
check_index (const char *text,
             size_t      size)
{
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *written = NULL;

  ids = td_history_index_parse (text, size, "index.json", &error);
  if (ids == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "index.json"));
      return;
    }
  for (guint i = 0; i < ids->len; i++)
    g_assert_true (td_history_id_is_valid (g_ptr_array_index (ids, i)));
  written = td_history_index_write (ids);
  again = td_history_index_parse (written, strlen (written), "again.json", NULL);
  g_assert_nonnull (again);
  g_assert_cmpuint (again->len, ==, ids->len);
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpstr (g_ptr_array_index (again, i), ==, g_ptr_array_index (ids, i));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check_entry ((const char *) data, size);
  check_index ((const char *) data, size);
  return 0;
}
