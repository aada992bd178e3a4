/* err is optional in every engine call: each call below fails, once with a
 * td_error (which must say why) and once with err == NULL (which must fail
 * the same way without crashing). The pipeline cases reach the places that
 * read err->status after a callee failed. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "io/file_read.h"
#include "io/image.h"
#include "io/json_strict.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "models/model_config.h"
#include "net/manifest.h"
#include "pipeline/board.h"
#include "pipeline/demo_models.h"
#include "pipeline/model_paths.h"
#include "pipeline/thinkdiff_pipeline.h"
#include "pipeline/verify.h"
#include "text/tokenizer.h"
#include "td-test-models.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Runs a failing call with a td_error, then with NULL. */
#define FAILS_BOTH_WAYS(status_expr_with, status_expr_without)                                                   \
  do                                                                                                             \
    {                                                                                                            \
      td_error err = { 0 };                                                                                      \
      g_assert_cmpint ((status_expr_with), !=, TD_OK);                                                           \
      g_assert_cmpint (err.status, !=, TD_OK);                                                                   \
      g_assert_cmpstr (err.message, !=, "");                                                                     \
      g_test_message ("%s", err.message);                                                                        \
      g_assert_cmpint ((status_expr_without), !=, TD_OK);                                                        \
    }                                                                                                            \
  while (0)

#define NULL_IS_FAIL(ptr) ((ptr) == NULL ? TD_ERR_INVALID_ARG : TD_OK)

static void
test_parsers (void)
{
  g_autofree char *missing = tmp_path ("missing");
  g_autofree char *fifo = tmp_path ("fifo");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  GString *deep = g_string_new (NULL);
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  char *data = NULL;
  size_t length = 0;
  td_image image;
  td_image_text *text = NULL;
  size_t n_text = 0;
  td_tokenizer *tok = NULL;
  td_manifest manifest;

  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_board_load_json (fifo, &err)), NULL_IS_FAIL (td_board_load_json (fifo, NULL)));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_board_load_json_data (deep->str, deep->len, "deep", ".", &err)),
                   NULL_IS_FAIL (td_board_load_json_data (deep->str, deep->len, "deep", ".", NULL)));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_json_parse_strict (deep->str, deep->len, "deep", "test", &err)),
                   NULL_IS_FAIL (td_json_parse_strict (deep->str, deep->len, "deep", "test", NULL)));
  FAILS_BOTH_WAYS (td_file_read_bounded ("/dev/zero", "test", 1024, &data, &length, &err),
                   td_file_read_bounded ("/dev/zero", "test", 1024, &data, &length, NULL));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_safetensors_open (missing, &err)),
                   NULL_IS_FAIL (td_safetensors_open (missing, NULL)));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_safetensors_open_any (fifo, &err)),
                   NULL_IS_FAIL (td_safetensors_open_any (fifo, NULL)));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_safetensors_open_index (fifo, &err)),
                   NULL_IS_FAIL (td_safetensors_open_index (fifo, NULL)));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_pth_open (fifo, &err)), NULL_IS_FAIL (td_pth_open (fifo, NULL)));
  FAILS_BOTH_WAYS (td_image_load (missing, NULL, &image, &err), td_image_load (missing, NULL, &image, NULL));
  FAILS_BOTH_WAYS (td_image_png_text (fifo, NULL, &text, &n_text, &err),
                   td_image_png_text (fifo, NULL, &text, &n_text, NULL));
  FAILS_BOTH_WAYS (NULL_IS_FAIL (td_model_config_load (fifo, &err)), NULL_IS_FAIL (td_model_config_load (fifo, NULL)));
  FAILS_BOTH_WAYS (td_tokenizer_load (fifo, &tok, &err), td_tokenizer_load (fifo, &tok, NULL));
  FAILS_BOTH_WAYS (td_tokenizer_load_tokenizer_json ("deep", deep->str, deep->len, &tok, &err),
                   td_tokenizer_load_tokenizer_json ("deep", deep->str, deep->len, &tok, NULL));
  FAILS_BOTH_WAYS (td_manifest_load (&manifest, fifo, &err), td_manifest_load (&manifest, fifo, NULL));
  FAILS_BOTH_WAYS (td_manifest_parse (&manifest, deep->str, deep->len, "deep", &err),
                   td_manifest_parse (&manifest, deep->str, deep->len, "deep", NULL));
  td_safetensors_entry entry = { .name = "__metadata__", .dtype = TD_F32, .ndim = 0, .data = "abcd", .nbytes = 4 };
  g_autofree char *out = tmp_path ("out.safetensors");
  FAILS_BOTH_WAYS (td_safetensors_write (out, &entry, 1, NULL, &err), td_safetensors_write (out, &entry, 1, NULL, NULL));
  g_string_free (deep, TRUE);
  g_unlink (fifo);
}

static void
test_pipeline (void)
{
  const char *tokenizers = td_demo_tokenizers_dir ();
  if (tokenizers == NULL)
    {
      g_test_skip ("no tokenizer files for the demo models");
      return;
    }
  g_autofree char *models = tmp_path ("models");
  td_error setup_err = { 0 };
  g_assert_cmpint (td_demo_models_write (models, tokenizers, &setup_err), ==, TD_OK);
  td_backend *backend = td_backend_cpu_new (NULL);
  g_assert_nonnull (backend);
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (models, &paths, NULL), ==, TD_OK);
  g_autofree char *missing_image = tmp_path ("missing.png");
  td_thinkdiff_callbacks callbacks = { 0 };
  td_thinkdiff_result result = { 0 };

  for (int mode = 0; mode < 2; mode++)
    {
      td_board *board = td_board_new (mode == 0 ? TD_BOARD_LVLM : TD_BOARD_CLIP);
      board->settings.width = board->settings.height = 64;
      board->settings.steps = 1;
      board->settings.max_new_tokens = 2;
      g_assert_cmpint (td_board_add (board, TD_BOARD_IMAGE, missing_image, NULL), ==, TD_OK);
      FAILS_BOTH_WAYS (td_thinkdiff_generate (board, &paths, backend, &callbacks, &result, &err),
                       td_thinkdiff_generate (board, &paths, backend, &callbacks, &result, NULL));
      td_board_free (board);
    }
  td_board_settings settings = td_board_settings_default ();
  settings.width = settings.height = 64;
  settings.steps = 1;
  g_autofree char *no_flux = tmp_path ("no-flux");
  FAILS_BOTH_WAYS (td_thinkdiff_text_to_image ("x", &settings, no_flux, backend, &callbacks, &result, &err),
                   td_thinkdiff_text_to_image ("x", &settings, no_flux, backend, &callbacks, &result, NULL));

  /* A component run on a model folder that is not that component's. */
  g_autofree char *io = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "t5_encoder", "io.safetensors", NULL);
  const td_verify_component *t5 = td_verify_find ("t5-encoder");
  g_assert_nonnull (t5);
  td_verify_result *results = NULL;
  size_t n_results = 0;
  FAILS_BOTH_WAYS (td_verify_run (t5, no_flux, io, backend, &results, &n_results, &err),
                   td_verify_run (t5, no_flux, io, backend, &results, &n_results, NULL));
  td_model_paths_clear (&paths);
  td_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("td-error-optional-XXXXXX", NULL);
  g_test_add_func ("/error-optional/parsers", test_parsers);
  g_test_add_func ("/error-optional/pipeline", test_pipeline);
  int status = g_test_run ();
  td_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
