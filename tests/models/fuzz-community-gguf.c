/* libFuzzer target: arbitrary bytes as a GGUF through the community key maps.
 * Whatever the reader accepts goes to the T5 hyperparameter reader, which either
 * fails naming the file or returns sizes inside the bounds the encoder relies on;
 * every tensor name goes through the renames, whose output always fits and never
 * names a tensor outside the llama.cpp layouts. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "io/gguf.h"
#include "models/qwen2vl_gguf_keys.h"
#include "models/t5_gguf_keys.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
rename_all (const char *name)
{
  char stored[64];
  if (td_t5_gguf_rename (name, stored, sizeof stored, NULL))
    g_assert_true (strcmp (stored, "token_embd.weight") == 0 || g_str_has_prefix (stored, "enc."));
  if (td_qwen2vl_gguf_rename_llm (name, stored, sizeof stored, NULL))
    g_assert_true (g_str_has_prefix (stored, "blk.") || g_str_has_prefix (stored, "token_embd.")
                   || g_str_has_prefix (stored, "output"));
  if (td_qwen2vl_gguf_rename_vision (name, stored, sizeof stored, NULL))
    g_assert_true (g_str_has_prefix (stored, "v.") || g_str_has_prefix (stored, "mm."));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_error err = { 0 };
  td_gguf *gguf = td_gguf_open_memory (data, size, "fuzz.gguf", &err);
  if (gguf == NULL)
    return 0;
  td_t5_config config;
  td_error config_err = { 0 };
  if (td_t5_gguf_config (gguf, &config, &config_err) == TD_OK)
    {
      g_assert_true (config.vocab_size >= 1 && config.vocab_size <= 1 << 24);
      g_assert_true (config.d_model >= 1 && config.d_model <= 1 << 16);
      g_assert_true (config.d_ff >= 1 && config.d_ff <= 1 << 18);
      g_assert_true (config.num_heads >= 1 && config.num_heads <= 1024);
      g_assert_true (config.num_layers >= 1 && config.num_layers <= 1024);
      g_assert_true (config.d_kv >= 1 && config.d_kv <= 1 << 12);
      g_assert_true (config.num_buckets >= 4 && config.num_buckets % 2 == 0);
      g_assert_true (config.eps > 0.0f && config.eps < 1.0f);
    }
  else
    g_assert_nonnull (strstr (config_err.message, "fuzz.gguf"));
  (void) td_t5_gguf_is_llama_cpp (gguf);
  for (size_t i = 0; i < td_gguf_tensor_count (gguf); i++)
    rename_all (td_gguf_tensor_at (gguf, i)->name);
  for (size_t i = 0; i < td_gguf_kv_count (gguf); i++)
    rename_all (td_gguf_kv_at (gguf, i)->key);
  td_gguf_close (gguf);
  return 0;
}
