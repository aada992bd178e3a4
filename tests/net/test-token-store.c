/* The token store interface, on its in-memory implementation. The keyring
 * one (libsecret) is compiled and constructed, never called: CI has no
 * Secret Service daemon. */
#include <glib.h>
#include <string.h>

#include "net/token_store.h"

static void
test_memory_store (void)
{
  td_token_store *store = td_token_store_new_memory ();
  td_error err;
  char *token = (char *) "sentinel";
  g_assert_cmpint (td_token_store_lookup (store, "huggingface.co", &token, &err), ==, TD_OK);
  g_assert_null (token);
  g_assert_cmpint (td_token_store_save (store, "huggingface.co", "hf_abcDEF123", &err), ==, TD_OK);
  g_assert_cmpint (td_token_store_save (store, "mirror.example", "hf_other", &err), ==, TD_OK);
  g_assert_cmpint (td_token_store_lookup (store, "huggingface.co", &token, &err), ==, TD_OK);
  g_assert_cmpstr (token, ==, "hf_abcDEF123");
  g_free (token);
  /* Saving again replaces. */
  g_assert_cmpint (td_token_store_save (store, "huggingface.co", "hf_new", &err), ==, TD_OK);
  g_assert_cmpint (td_token_store_lookup (store, "huggingface.co", &token, &err), ==, TD_OK);
  g_assert_cmpstr (token, ==, "hf_new");
  g_free (token);
  g_assert_cmpint (td_token_store_clear (store, "huggingface.co", &err), ==, TD_OK);
  g_assert_cmpint (td_token_store_lookup (store, "huggingface.co", &token, &err), ==, TD_OK);
  g_assert_null (token);
  g_assert_cmpint (td_token_store_lookup (store, "mirror.example", &token, &err), ==, TD_OK);
  g_assert_cmpstr (token, ==, "hf_other");
  g_free (token);
  td_token_store_free (store);
}

static void
test_token_validation (void)
{
  td_token_store *store = td_token_store_new_memory ();
  td_error err;
  const char *bad[] = { "", "has space", "line\nbreak", "cr\rlf", "tab\t", "\x7f", "ünï", NULL };
  for (size_t i = 0; bad[i] != NULL; i++)
    {
      g_assert_false (td_token_is_valid (bad[i]));
      g_assert_cmpint (td_token_store_save (store, "huggingface.co", bad[i], &err), ==,
                       TD_ERR_INVALID_ARG);
    }
  g_autofree char *too_long = g_strnfill (TD_TOKEN_MAX_LEN + 1, 'a');
  g_assert_false (td_token_is_valid (too_long));
  g_assert_cmpint (td_token_store_save (store, "", "hf_x", &err), ==, TD_ERR_INVALID_ARG);
  g_assert_true (td_token_is_valid ("hf_AbC-123_xyz"));
  td_token_store_free (store);
}

static void
test_keyring_builds (void)
{
  td_error err;
  td_token_store *store = td_token_store_new_keyring (&err);
#ifdef TD_HAVE_LIBSECRET
  g_assert_nonnull (store);
  g_assert_nonnull (store->vtable->lookup);
  g_assert_nonnull (store->vtable->save);
  g_assert_nonnull (store->vtable->clear);
#else
  g_assert_null (store);
  g_assert_cmpint (err.status, ==, TD_ERR_UNSUPPORTED);
#endif
  td_token_store_free (store);
  g_assert_cmpstr (TD_TOKEN_SCHEMA_NAME, ==, "io.github.thinkdiff.Studio.HubToken");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/token-store/memory", test_memory_store);
  g_test_add_func ("/net/token-store/validation", test_token_validation);
  g_test_add_func ("/net/token-store/keyring-builds", test_keyring_builds);
  return g_test_run ();
}
