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

typedef enum td_tokenizer_model {
  TD_TOKENIZER_BPE,
  TD_TOKENIZER_UNIGRAM,
} td_tokenizer_model;

/* Loads a tokenizer from PATH, which may be a tokenizer.json, a spiece.model, a vocab.json
 * (with merges.txt beside it) or a folder holding one of those (tokenizer.json first).
 * A spiece.model is read as T5's: `</s>` appended and 100 `<extra_id_N>` specials added
 * after the pieces, as transformers' T5Tokenizer does. */
td_status td_tokenizer_load (const char *path, td_tokenizer **out, td_error *err);

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

void td_tokenizer_free (td_tokenizer *tok);
/* A flag, set from any thread or a signal handler, that stops encoding between words
 * with TD_ERR_CANCELLED. NULL (the default) never cancels. */
void td_tokenizer_set_cancel (td_tokenizer *tok, const volatile int *cancel);

/* Encodes UTF-8 TEXT (len -1: NUL-terminated). ADD_SPECIAL adds what the tokenizer's
 * post-processor adds (T5: `</s>`; CLIP: BOS … EOS; Qwen2: nothing); special tokens written
 * in the text are always recognised. *IDS is freed with g_free (it may be NULL when
 * *N_IDS is 0). Invalid UTF-8 is an error. */
td_status td_tokenizer_encode (const td_tokenizer *tok, const char *text, ptrdiff_t len,
                               bool add_special, int32_t **ids, size_t *n_ids, td_error *err);

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
/* The token string of ID (as stored: byte-level tokens use the GPT-2 byte alphabet), or NULL. */
const char *td_tokenizer_id_to_token (const td_tokenizer *tok, int32_t id);
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
