/* td-test-engine.c — an engine and a small board for the public-API tests. */
#include "td-test-engine.h"

#include <glib.h>

td_engine *
td_test_engine_new (const char *backend, uint64_t device_budget)
{
  td_error err = { 0 };
  td_engine_options options = td_engine_options_default ();
  options.backend = backend;
  options.device_budget = device_budget;
  td_engine *engine = td_engine_new (&options, &err);
  if (engine == NULL)
    g_error ("engine on %s: %s", backend, err.message);
  return engine;
}

td_board *
td_test_board_new (td_board_mode mode, const char *prompt, uint64_t seed, int max_new_tokens)
{
  td_error err = { 0 };
  td_board *board = td_board_new (mode);
  td_board_settings s = td_board_get_settings (board);
  s.width = s.height = 64;
  s.steps = 2;
  s.seed = seed;
  if (max_new_tokens > 0)
    s.max_new_tokens = max_new_tokens;
  td_board_set_settings (board, &s);
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, prompt, &err), ==, TD_OK);
  return board;
}
