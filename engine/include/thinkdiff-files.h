/* thinkdiff-files.h — checkpoints and tokenizers, for tools that look at model
 * files: list a checkpoint's tensors, convert a PyTorch checkpoint, tokenize a
 * text. Include thinkdiff.h, not this file. */
#pragma once

#ifndef TD_INSIDE_THINKDIFF_H
#error "Only <thinkdiff.h> can be included directly."
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Checkpoints ------------------------------------------------------------------ */

/* An open safetensors checkpoint (one file or a sharded index); used by one
 * thread at a time. */
typedef struct td_checkpoint td_checkpoint;

typedef struct td_checkpoint_tensor {
  const char *name;
  const char *dtype;          /* the safetensors name: "F32", "BF16", … */
  int ndim;
  int64_t shape[8];
  uint64_t nbytes;
  const char *file;           /* the file (shard) that holds it */
} td_checkpoint_tensor;

/* Whether path is a GGUF file (by its magic); td_checkpoint_open reads safetensors only. */
TD_API bool td_checkpoint_is_gguf (const char *path);
/* path: a .safetensors file, a .safetensors.index.json, or a folder holding either. */
/* The header is read and checked strictly (messages start with the file's path);
 * tensor data is mapped, not read. Close with td_checkpoint_close (NULL is ignored). */
TD_API td_checkpoint *td_checkpoint_open (const char *path, td_error *err);
TD_API void td_checkpoint_close (td_checkpoint *checkpoint);
/* The path it was opened from, its number of files (shards) and of tensors. */
TD_API const char *td_checkpoint_path (const td_checkpoint *checkpoint);
TD_API size_t td_checkpoint_file_count (const td_checkpoint *checkpoint);
TD_API size_t td_checkpoint_count (const td_checkpoint *checkpoint);
/* Fills *out with tensor index's facts (strings owned by the checkpoint); false
 * when index is out of range. */
TD_API bool td_checkpoint_tensor_at (const td_checkpoint *checkpoint, size_t index, td_checkpoint_tensor *out);
/* The "__metadata__" entries; key and value are owned by the checkpoint. */
TD_API size_t td_checkpoint_metadata_count (const td_checkpoint *checkpoint);
TD_API bool td_checkpoint_metadata_at (const td_checkpoint *checkpoint, size_t index, const char **key,
                                       const char **value);

/* Reads the state dict of a PyTorch checkpoint (torch.save zip; the dict under
 * "model" or "state_dict", or the top level) without running its code, and
 * writes its tensors, in their stored dtypes, to a safetensors file, atomically.
 * A tensor name safetensors cannot hold is an error naming the input. When
 * *cancel (may be NULL; set it from any thread, a signal handler too) becomes
 * non-zero it stops with TD_ERR_CANCELLED and leaves no file behind.
 * *n_tensors (may be NULL) gets how many were written. */
TD_API td_status td_checkpoint_convert_pth (const char *pth_path, const char *safetensors_path,
                                            const volatile int *cancel, size_t *n_tensors, td_error *err);

/* Tokenizers ------------------------------------------------------------------- */

/* A loaded tokenizer is read-only (its word cache is locked): one may be used
 * from several threads. */
typedef struct td_tokenizer td_tokenizer;

/* PATH: a tokenizer.json, a spiece.model, a vocab.json (with merges.txt beside
 * it) or a folder holding one of those. Free with td_tokenizer_free. */
TD_API td_status td_tokenizer_load (const char *path, td_tokenizer **out, td_error *err);
/* NULL is ignored. */
TD_API void td_tokenizer_free (td_tokenizer *tok);
/* A flag, set from any thread or a signal handler, that stops encoding between
 * words with TD_ERR_CANCELLED. NULL (the default) never cancels. */
TD_API void td_tokenizer_set_cancel (td_tokenizer *tok, const volatile int *cancel);
/* Encodes UTF-8 text (len -1: NUL-terminated); add_special adds what the
 * tokenizer's post-processor adds. *ids is td_free'd (NULL when *n_ids is 0). */
TD_API td_status td_tokenizer_encode (const td_tokenizer *tok, const char *text, ptrdiff_t len,
                                      bool add_special, int32_t **ids, size_t *n_ids, td_error *err);
/* The token string of id, or NULL. */
TD_API const char *td_tokenizer_id_to_token (const td_tokenizer *tok, int32_t id);

#ifdef __cplusplus
}
#endif
