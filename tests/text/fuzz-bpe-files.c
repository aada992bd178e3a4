/* fuzz-bpe-files — libFuzzer target for vocab.json + merges.txt. The input is the vocab.json
 * bytes, a NUL byte, then the merges.txt bytes. */
#include <string.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, 0, size);
  size_t vocab_size = nul ? (size_t) (nul - data) : size;
  const char *merges = nul ? (const char *) nul + 1 : "";
  size_t merges_size = nul ? size - vocab_size - 1 : 0;
  td_tokenizer *tok;
  td_error err;
  if (td_tokenizer_load_bpe_files ("fuzz/vocab.json", (const char *) data, vocab_size, merges, merges_size,
                                   &tok, &err) == TD_OK)
    {
      fuzz_exercise (tok);
      td_tokenizer_free (tok);
    }
  return 0;
}
