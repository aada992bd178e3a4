/* tokenizer_private.h — the pieces a td_tokenizer is assembled from (engine-internal).
 *
 * Encoding runs, per segment of text between added tokens:
 *   normalizer steps → pre-tokenizer steps (string → list of words) → model (word → ids),
 * then the post-processor wraps the ids with the special tokens.
 */
#pragma once

#include <glib.h>

#include "text/tokenizer.h"

/* Safety limits for files from the internet. */
#define TD_TOKEN_MAX_BYTES 1024          /* a real token is at most a few hundred bytes */
#define TD_VOCAB_MAX_IDS (1u << 24)      /* 16M ids */
#define TD_TOKENIZER_FILE_MAX (256u << 20)
#define TD_TOKENIZER_MAX_NESTING 8       /* Sequence inside Sequence */
#define TD_TOKENIZER_MAX_STEPS 64        /* normalizer steps in all */
/* Normalised text may be at most this many times its input (+ a constant): NFKD and
 * real replacements grow text a few times; chained replacements could grow it without end. */
#define TD_NORM_MAX_GROWTH 32
#define TD_NORM_MAX_EXTRA 4096

/* ---- vocabulary: token string ↔ id ---- */

typedef struct td_vocab {
  char **tokens;          /* id → token (NUL-terminated, may hold no NUL inside), or NULL */
  uint32_t *lengths;      /* id → byte length */
  size_t n_ids;           /* max id + 1 */
  size_t capacity;        /* allocated entries of tokens/lengths */
  uint32_t *slots;        /* open addressing: id + 1, 0 when empty */
  size_t n_slots;
  size_t count;
  GStringChunk *strings;
} td_vocab;

typedef enum td_vocab_result {
  TD_VOCAB_ADDED,
  TD_VOCAB_DUPLICATE_TOKEN,
  TD_VOCAB_DUPLICATE_ID,
  TD_VOCAB_BAD_ID,
  TD_VOCAB_TOO_LONG,
} td_vocab_result;

void td_vocab_init (td_vocab *v);
void td_vocab_clear (td_vocab *v);
td_vocab_result td_vocab_add (td_vocab *v, const char *token, size_t len, int64_t id);
int32_t td_vocab_find (const td_vocab *v, const char *token, size_t len);
const char *td_vocab_token (const td_vocab *v, int32_t id, size_t *len);

/* Writes the standard message for a failed td_vocab_add. */
td_status td_vocab_add_error (td_error *err, const char *where, td_vocab_result r,
                              const char *token, size_t len, int64_t id);

/* ---- SentencePiece precompiled character map (darts-clone trie + replacement strings) ---- */

typedef struct td_charsmap td_charsmap;

td_status td_charsmap_new (const char *name, const uint8_t *blob, size_t size,
                           td_charsmap **out, td_error *err);
void td_charsmap_free (td_charsmap *map);
/* Hugging Face's `Precompiled` normaliser: per grapheme cluster (when shorter than 6 bytes)
 * the shortest trie prefix, else per character. Appends to OUT; false (stopping early) once
 * OUT holds more than MAX_BYTES, as a crafted map may replace each character with a long string. */
bool td_charsmap_normalize_hf (const td_charsmap *map, const char *text, size_t len, size_t max_bytes, GString *out);
/* SentencePiece's own prefix normaliser: the longest trie match at TEXT, or one character
 * (U+FFFD for invalid UTF-8). Returns the bytes consumed and points *REPL at the replacement. */
size_t td_charsmap_normalize_prefix (const td_charsmap *map, const char *text, size_t len,
                                     const char **repl, size_t *repl_len);

/* ---- normalizers ---- */

typedef enum td_norm_kind {
  TD_NORM_NFC,
  TD_NORM_NFKC,
  TD_NORM_NFD,
  TD_NORM_NFKD,
  TD_NORM_LOWERCASE,
  TD_NORM_STRIP,
  TD_NORM_REPLACE,
  TD_NORM_PREPEND,
  TD_NORM_PRECOMPILED,   /* HF `Precompiled` */
  TD_NORM_SENTENCEPIECE, /* SentencePiece's normaliser: charsmap, whitespace rules, ▁ */
} td_norm_kind;

typedef struct td_norm_step {
  td_norm_kind kind;
  bool strip_left, strip_right;
  GRegex *regex;            /* REPLACE (a literal pattern is escaped into a regex) */
  char *content;            /* REPLACE, PREPEND */
  td_charsmap *charsmap;    /* PRECOMPILED, SENTENCEPIECE (may be NULL: identity) */
  bool add_dummy_prefix;    /* SENTENCEPIECE */
  bool remove_extra_whitespaces;
  bool escape_whitespaces;
} td_norm_step;

/* Applies STEP to *TEXT in place (replacing the string); a result longer than MAX_BYTES
 * is refused (TD_ERR_LIMIT) before it is built out. */
td_status td_norm_apply (const td_norm_step *step, char **text, size_t max_bytes, td_error *err);
void td_norm_step_clear (td_norm_step *step);

/* ---- pre-tokenizers: one string → a list of words ---- */

typedef enum td_pre_kind {
  TD_PRE_SPLIT,
  TD_PRE_BYTE_LEVEL,
  TD_PRE_METASPACE,
  TD_PRE_WHITESPACE_SPLIT,
} td_pre_kind;

typedef enum td_split_behavior {
  TD_SPLIT_REMOVED,
  TD_SPLIT_ISOLATED,
  TD_SPLIT_MERGED_WITH_PREVIOUS,
  TD_SPLIT_MERGED_WITH_NEXT,
  TD_SPLIT_CONTIGUOUS,
} td_split_behavior;

typedef enum td_prepend_scheme {
  TD_PREPEND_ALWAYS,
  TD_PREPEND_FIRST,
  TD_PREPEND_NEVER,
} td_prepend_scheme;

typedef struct td_pre_step {
  td_pre_kind kind;
  GRegex *regex;              /* SPLIT; BYTE_LEVEL with use_regex (GPT-2's pattern) */
  td_split_behavior behavior;
  bool invert;
  bool add_prefix_space;      /* BYTE_LEVEL */
  char replacement[8];        /* METASPACE, UTF-8 */
  td_prepend_scheme prepend_scheme;
  bool split;                 /* METASPACE */
} td_pre_step;

/* Runs STEP over every word of WORDS (a GPtrArray of g_malloc'd strings), replacing them.
 * FIRST_SEGMENT: the text is the first segment of the input (Metaspace's "first" scheme). */
td_status td_pre_apply (const td_pre_step *step, GPtrArray **words, bool first_segment,
                        td_error *err);
void td_pre_step_clear (td_pre_step *step);
GRegex *td_pre_gpt2_regex (td_error *err);
/* Compiles a tokenizers regex (Rust/Oniguruma syntax as used by tokenizer files) into a GRegex. */
GRegex *td_pre_compile_regex (const char *where, const char *pattern, td_error *err);

/* The GPT-2 byte ↔ unicode alphabet of byte-level BPE. */
void td_byte_level_encode (const char *bytes, size_t len, GString *out);
/* Appends the bytes of byte-level TOKEN; characters outside the alphabet are copied as UTF-8. */
void td_byte_level_decode (const char *token, size_t len, GString *out);

/* ---- models ---- */

typedef struct td_bpe td_bpe;

/* MERGES is filled through td_bpe_add_merge after td_bpe_new. */
td_bpe *td_bpe_new (const td_vocab *vocab, const char *end_of_word_suffix,
                    const char *continuing_subword_prefix, int32_t unk_id, bool fuse_unk,
                    bool byte_fallback, bool ignore_merges);
void td_bpe_free (td_bpe *bpe);
/* Adds merge number RANK of LEFT and RIGHT; error messages name WHERE. */
td_status td_bpe_add_merge (td_bpe *bpe, const char *where, const char *left, size_t left_len,
                            const char *right, size_t right_len, td_error *err);
const char *td_bpe_end_of_word_suffix (const td_bpe *bpe);
/* Appends the ids of one pre-tokenized WORD to IDS (a GArray of int32_t). */
void td_bpe_encode_word (td_bpe *bpe, const char *word, size_t len, GArray *ids);

typedef struct td_unigram td_unigram;

/* SCORES[id] for every id of VOCAB that is a piece; pieces with IS_PIECE[id] false
 * (control, unused) never match. */
td_unigram *td_unigram_new (const td_vocab *vocab, const double *scores, const bool *is_piece,
                            int32_t unk_id, bool byte_fallback);
void td_unigram_free (td_unigram *uni);
void td_unigram_encode (const td_unigram *uni, const char *text, size_t len, GArray *ids);

/* ---- added tokens ---- */

typedef struct td_added_token {
  char *content;
  size_t len;
  int32_t id;
  bool special;
  bool normalized;   /* matched in the normalised text rather than the raw text */
  bool lstrip, rstrip;
} td_added_token;

/* ---- decoders ---- */

typedef enum td_decoder_kind {
  TD_DECODE_BYTE_LEVEL,
  TD_DECODE_METASPACE,
  TD_DECODE_PLAIN,
} td_decoder_kind;

/* ---- the tokenizer ---- */

struct td_tokenizer {
  char *name;
  td_tokenizer_model model;
  td_vocab vocab;          /* model vocabulary and added tokens */
  bool *special;           /* per id, sized vocab.n_ids */
  td_bpe *bpe;
  td_unigram *unigram;

  td_norm_step *norm;
  size_t n_norm;
  td_pre_step *pre;
  size_t n_pre;

  td_added_token *added;
  size_t n_added;

  int32_t *prefix_ids;     /* post-processor: before the sequence */
  size_t n_prefix;
  int32_t *suffix_ids;     /* after it */
  size_t n_suffix;

  td_decoder_kind decoder;
  char metaspace[8];       /* METASPACE decoder replacement */
  bool decoder_strip_first_space;

  int32_t bos_id, eos_id, pad_id, unk_id;

  const volatile int *cancel; /* set by td_tokenizer_set_cancel, checked per word */
};

td_tokenizer *td_tokenizer_alloc (const char *name);
/* Called by loaders once the vocabulary, model and added tokens are in place: sizes the
 * special flags and checks added-token ids. */
td_status td_tokenizer_finish (td_tokenizer *tok, td_error *err);
/* Appends an added token; it must already be in tok->vocab with ID. */
void td_tokenizer_add_added (td_tokenizer *tok, const char *content, size_t len, int32_t id,
                             bool special, bool normalized, bool lstrip, bool rstrip);

/* Reads a whole file, at most TD_TOKENIZER_FILE_MAX bytes. */
td_status td_read_file (const char *path, char **data, size_t *size, td_error *err);
