/* td-test-engine.h — an engine and a small board for the tests that generate
 * through the public API (thinkdiff.h only). */
#pragma once

#include "thinkdiff.h"

/* An engine on backend ("cpu", "vulkan") holding at most device_budget bytes
 * (0: the device's); fails the test when it cannot be made. */
td_engine *td_test_engine_new (const char *backend, uint64_t device_budget);

/* A board of mode holding the text prompt, set for a quick run: 64x64 pixels,
 * 2 steps, seed; max_new_tokens when above 0, else the default. */
td_board *td_test_board_new (td_board_mode mode, const char *prompt, uint64_t seed, int max_new_tokens);
