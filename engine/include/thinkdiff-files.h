/* thinkdiff-files.h — checkpoints and tokenizers, for tools that look at model
 * files: list a checkpoint's or a GGUF file's tensors, convert a PyTorch
 * checkpoint, quantise one to GGUF, tokenize a text. Include thinkdiff.h, not
 * this file. */
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

/* Whether path is a GGUF file (by its magic); td_checkpoint_open reads safetensors
 * only, td_gguf_file_open reads GGUF. */
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

/* GGUF files -------------------------------------------------------------------- */

/* An open GGUF file (ggml's single-file format, versions 2 and 3). The header,
 * every count, length, type id, dimension and offset is checked before use;
 * tensor data is mapped, not read. Used by one thread at a time. */
typedef struct td_gguf_file td_gguf_file;

typedef struct td_gguf_file_metadata {
  const char *key;
  const char *type;           /* "uint8", "int32", "float32", "bool", "string", "array", … */
  const char *element_type;   /* an array's element type; NULL for a scalar */
  uint64_t count;             /* an array's length; 1 for a scalar */
} td_gguf_file_metadata;

typedef struct td_gguf_file_tensor {
  const char *name;
  const char *dtype;          /* as safetensors names them: "F32", "F16", "BF16", "Q8_0", "Q4_K", … */
  int ndim;                   /* 1 to 4 */
  int64_t shape[4];           /* row-major: GGUF's ne reversed */
  uint64_t nbytes;
  uint64_t offset;            /* from the start of the data section */
} td_gguf_file_tensor;

/* Messages start with the path. Close with td_gguf_file_close (NULL is ignored). */
TD_API td_gguf_file *td_gguf_file_open (const char *path, td_error *err);
TD_API void td_gguf_file_close (td_gguf_file *file);
TD_API const char *td_gguf_file_path (const td_gguf_file *file);
TD_API uint32_t td_gguf_file_version (const td_gguf_file *file);
/* general.alignment, or GGUF's default of 32. */
TD_API uint32_t td_gguf_file_alignment (const td_gguf_file *file);
/* The byte offset of the data section in the file. */
TD_API uint64_t td_gguf_file_data_offset (const td_gguf_file *file);
/* Metadata in file order; strings in *out are owned by the file. False when
 * index is out of range. */
TD_API size_t td_gguf_file_metadata_count (const td_gguf_file *file);
TD_API bool td_gguf_file_metadata_at (const td_gguf_file *file, size_t index, td_gguf_file_metadata *out);
/* Pair index's value as text: a number, true/false, a string in double quotes
 * with '"', '\\' and every byte outside printable ASCII escaped (\xNN), or an
 * array as "[a, b, … N more] (COUNT TYPE)" showing at most max_elements.
 * NULL when index is out of range; td_free the result. */
TD_API char *td_gguf_file_metadata_text (const td_gguf_file *file, size_t index, size_t max_elements);
/* Tensors in file order; strings in *out are owned by the file. */
TD_API size_t td_gguf_file_tensor_count (const td_gguf_file *file);
TD_API bool td_gguf_file_tensor_at (const td_gguf_file *file, size_t index, td_gguf_file_tensor *out);

/* Quantising to GGUF ---------------------------------------------------------- */

/* Called before each tensor is written (done of total are finished; name is
 * the one now being written) and once at the end (done == total, name NULL),
 * on the thread that runs td_quantize. */
typedef void (*td_quantize_progress_fn) (size_t done, size_t total, const char *name, void *user_data);

typedef struct td_quantize_options {
  /* The block type of the matrices: "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
   * "q2_k", "q3_k", "q4_k", "q5_k" or "q6_k" (any case). */
  const char *type;
  /* general.name; NULL: the input's file or folder name. */
  const char *name;
  /* general.architecture; NULL: found from the tensor names or config.json
   * ("flux", "t5encoder", "qwen2vl", "clip", …), else "unknown". */
  const char *architecture;
  td_quantize_progress_fn progress;   /* may be NULL */
  void *user_data;
  /* When *cancel (may be NULL; set it from any thread or a signal handler)
   * becomes non-zero the work stops with TD_ERR_CANCELLED, leaving no file. */
  const volatile int *cancel;
} td_quantize_options;

typedef struct td_quantize_report {
  size_t n_tensors;
  size_t n_quantized;         /* matrices written in the asked type */
  size_t n_fallback;          /* matrices in the smaller block type (see td_quantize) */
  uint64_t bytes_in, bytes_out;  /* tensor data, as read and as written */
  char architecture[64];      /* the general.architecture written */
} td_quantize_report;

/* Writes the safetensors checkpoint at in (a file, a sharded index or a folder
 * holding either) as a GGUF v3 file at out, atomically, with the metadata
 * ggml-based tools read: general.architecture, general.name, general.file_type
 * (llama.cpp's number for the type), general.quantization_version 2 and
 * general.alignment 32. As ggml's converters do, only 2-D matrices are
 * quantised: 1-D tensors, norms, biases, embeddings and tensors of under 1024
 * values keep a float type (1-D ones f32, others their f16/bf16, else f32).
 * A matrix whose rows are not whole blocks of 256 takes the 32-value type
 * llama-quantize falls back to (q2_k, q3_k → q4_0; q4_k → q5_0; q5_k → q5_1;
 * q6_k → q8_0), and one whose rows are not whole blocks of 32 keeps its float
 * type. A tensor of more than 4 dimensions (GGUF's limit) is written as the
 * 2-D [dim 0, the rest] matrix. A GGUF file as in is refused
 * (TD_ERR_INVALID_ARG). report (may be NULL) gets the figures. */
TD_API td_status td_quantize (const char *in, const char *out, const td_quantize_options *options,
                              td_quantize_report *report, td_error *err);
/* Whether td_quantize knows the type name. */
TD_API bool td_quantize_type_known (const char *type);

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
