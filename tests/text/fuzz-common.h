/* fuzz-common.h — what every tokenizer fuzz target does with a tokenizer that loaded:
 * encode a few texts (with and without specials, padded) and decode the ids. */
#pragma once

#include <glib.h>

#include "text/tokenizer.h"

static inline void
fuzz_exercise (td_tokenizer *tok)
{
  static const char *const texts[] = { "abc ba x", "  Hello,  world!\n\t", "<unk></s> é ﬁ 日本 🐱", "" };
  for (size_t i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      int32_t *ids;
      size_t n;
      char *back;
      if (td_tokenizer_encode (tok, texts[i], -1, i % 2 == 0, &ids, &n, NULL) == TD_OK)
        {
          if (td_tokenizer_decode (tok, ids, n, i % 2 == 1, &back, NULL) == TD_OK)
            g_free (back);
          g_free (ids);
        }
      int32_t fixed[8];
      td_tokenizer_encode_padded (tok, texts[i], true, G_N_ELEMENTS (fixed), fixed, NULL, NULL);
    }
}
