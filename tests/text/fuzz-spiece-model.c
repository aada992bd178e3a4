/* fuzz-spiece-model — libFuzzer target for the SentencePiece ModelProto reader. */
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_tokenizer *tok;
  td_error err;
  if (td_tokenizer_load_spiece_model ("fuzz.model", data, size, &tok, &err) == TD_OK)
    {
      fuzz_exercise (tok);
      td_tokenizer_free (tok);
    }
  return 0;
}
