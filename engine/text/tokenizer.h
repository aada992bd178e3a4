/* tokenizer.h — text tokenizers that reproduce Hugging Face `tokenizers` exactly.
 *
 * One generic td_tokenizer covers the three algorithms the pipeline needs:
 *   - SentencePiece Unigram (T5, FLUX `tokenizer_2/`), from tokenizer.json or spiece.model;
 *   - byte-level BPE with an end-of-word suffix (CLIP, FLUX `tokenizer/`), from tokenizer.json
 *     or vocab.json + merges.txt;
 *   - byte-level BPE with a regex pre-tokenizer (Qwen2), from tokenizer.json.
 * Loading validates the files strictly and reports the file and what was wrong.
 * A loaded tokenizer is read-only except for its internal word cache, which is locked, so one
 * tokenizer may be used from several threads.
 */
#pragma once

#include "thinkdiff.h"

typedef struct td_tokenizer td_tokenizer;

/* Loading, encoding, id_to_token and freeing are public: see thinkdiff-files.h. */

typedef enum td_tokenizer_model {
  TD_TOKENIZER_BPE,
  TD_TOKENIZER_UNIGRAM,
} td_tokenizer_model;

/* The same from bytes in memory; FORMAT names what the bytes are ("tokenizer.json",
 * "spiece.model"), NAME is used in messages. For "bpe-files", DATA is vocab.json and
 * DATA2 merges.txt. */
td_status td_tokenizer_load_tokenizer_json (const char *name, const char *data, size_t size,
                                            td_tokenizer **out, td_error *err);
td_status td_tokenizer_load_spiece_model (const char *name, const uint8_t *data, size_t size,
                                          td_tokenizer **out, td_error *err);
td_status td_tokenizer_load_bpe_files (const char *name,
                                       const char *vocab_json, size_t vocab_size,
                                       const char *merges_txt, size_t merges_size,
                                       td_tokenizer **out, td_error *err);

/* Encodes into exactly LENGTH ids, as `padding="max_length", truncation=True` does: the
 * text's tokens are cut so that they and the added specials fit, then the rest is padding
 * (the pad id, see td_tokenizer_pad_id). *N_USED (may be NULL) gets the count before
 * padding. */
td_status td_tokenizer_encode_padded (const td_tokenizer *tok, const char *text,
                                      bool add_special, size_t length, int32_t *ids,
                                      size_t *n_used, td_error *err);

/* Decodes ids to UTF-8 text (g_free it). Byte-level tokens become their bytes (invalid
 * UTF-8 is replaced by U+FFFD), SentencePiece's ▁ becomes a space. SKIP_SPECIAL drops
 * special tokens. Unknown ids are an error. */
td_status td_tokenizer_decode (const td_tokenizer *tok, const int32_t *ids, size_t n_ids,
                               bool skip_special, char **text, td_error *err);

td_tokenizer_model td_tokenizer_model_kind (const td_tokenizer *tok);
/* One more than the largest id (model vocabulary plus added tokens). */
size_t td_tokenizer_vocab_size (const td_tokenizer *tok);
/* The id of TOKEN, or -1. */
int32_t td_tokenizer_token_to_id (const td_tokenizer *tok, const char *token);
bool td_tokenizer_is_special (const td_tokenizer *tok, int32_t id);
/* Special ids, -1 when the tokenizer has none: BOS (CLIP <|startoftext|>), EOS (T5 </s>,
 * CLIP and Qwen2 <|endoftext|>), PAD (T5 <pad>; CLIP pads with EOS; Qwen2 <|endoftext|>),
 * UNK. */
int32_t td_tokenizer_bos_id (const td_tokenizer *tok);
int32_t td_tokenizer_eos_id (const td_tokenizer *tok);
int32_t td_tokenizer_pad_id (const td_tokenizer *tok);
int32_t td_tokenizer_unk_id (const td_tokenizer *tok);
