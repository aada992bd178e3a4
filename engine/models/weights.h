/* weights.h — a model's named parameters, read where they lie and placed on a backend.
 *
 * Opens a checkpoint (a .safetensors file, a sharded *.safetensors.index.json, a
 * folder holding either, or a PyTorch .pth/.pt/.bin file, see io/pth.h) with
 * zero-copy host views. On the CPU backend the views are
 * used directly; on a device backend each tensor is uploaded on first use, in its
 * stored dtype, and cached until td_weights_free.
 */
#pragma once

#include <stdbool.h>

#include "backend/backend.h"

typedef struct td_weights td_weights;

td_weights *td_weights_open (const char *path, td_backend *backend, td_error *err);
void td_weights_free (td_weights *weights);

/* Weights without a file, for benchmarks: every tensor is declared with its name,
 * dtype and shape, and gets values offset + scale · uniform(−1, 1) (seeded, fixed per
 * name) when first used. Declaring only works on weights made by td_weights_new_random. */
td_weights *td_weights_new_random (td_backend *backend, uint64_t seed);
td_status td_weights_declare (td_weights *weights, const char *name, td_dtype dtype, int ndim, const int64_t *shape,
                              float scale, float offset, td_error *err);
/* Elements and bytes of every declared tensor (0 for checkpoints). */
void td_weights_declared_size (const td_weights *weights, int64_t *elements, int64_t *bytes);

/* Calls fn for every tensor of a checkpoint as stored (its name, dtype and bytes in
 * the file), a chained file's too, without reading the data; declared random tensors
 * are not listed. */
typedef void (*td_weights_stored_fn) (const char *name, td_dtype dtype, uint64_t nbytes, void *user_data);
void td_weights_each_stored (const td_weights *weights, td_weights_stored_fn fn, void *user_data);

/* Name prefixes tried in order when a name is not found as given, e.g. "text_model."
 * for CLIP checkpoints saved from CLIPTextModel vs CLIPTextModelWithProjection. */
void td_weights_add_prefix (td_weights *weights, const char *prefix);

/* Tried last: writes the name a tensor has in another key layout (BFL's VAE
 * names for diffusers' ones) into `stored`; false when it has none there. */
typedef bool (*td_weights_rename_fn) (const char *name, char *stored, size_t size, void *user_data);
void td_weights_set_rename (td_weights *weights, td_weights_rename_fn rename, void *user_data);

/* A second file looked in for every name this one lacks, with its own prefixes and
 * rename (llama.cpp's mmproj GGUF next to the language model's). Takes ownership. */
void td_weights_chain (td_weights *weights, td_weights *next);
/* A host tensor found under `name` before the file's own (one the file stores cut
 * in parts, put back together). Takes ownership. */
void td_weights_add_composed (td_weights *weights, const char *name, td_tensor *host);
/* When `name` is stored in a block-quantised type, gives it an F16 host copy, for
 * ops that read only plain types (the embedding lookup of a Q8_0 token_embd). */
td_status td_weights_compose_plain (td_weights *weights, const char *name, td_error *err);
/* The GGUF file read, for its metadata; NULL for other sources. */
struct td_gguf *td_weights_gguf (const td_weights *weights);
/* After every tensor a model reads has been checked: an error naming the file and
 * the first tensor of a GGUF source (or a chained one) that nothing asked for and
 * that starts with none of `ignored` (NULL-terminated, may be NULL), e.g.
 * "PATH: unknown tensor 'enc.blk.0.attn_x.weight' (not part of the T5 encoder …)". */
td_status td_weights_refuse_unused (td_weights *weights, const char *model, const char *const *ignored,
                                    td_error *err);

bool td_weights_has (td_weights *weights, const char *name);
/* The tensor on the weights' backend; NULL and err ("PATH: no tensor 'name'") when missing. */
const td_tensor *td_weights_get (td_weights *weights, const char *name, td_error *err);
const td_tensor *td_weights_getf (td_weights *weights, td_error *err, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
/* Like td_weights_get but NULL without an error when absent (optional biases). */
const td_tensor *td_weights_get_optional (td_weights *weights, const char *name);
/* The host view as stored (any weight dtype), for small tables read on the CPU. */
const td_tensor *td_weights_get_host (td_weights *weights, const char *name, td_error *err);
/* Checks a tensor before use: that it exists, holds a weight dtype (not an integer or
 * bool type), has NDIM dimensions and the given sizes, where a negative size (TD_ANY)
 * matches any. Errors name the checkpoint and the tensor. Every getter above also
 * refuses a tensor of integer or bool dtype. */
#define TD_ANY (-1)
td_status td_weights_expect (td_weights *weights, const char *name, int ndim, const int64_t *shape, td_error *err);
/* The same with a printf-formatted name; TD_DIMS (a, b, …) gives ndim and shape:
 *   td_weights_expectf (w, err, TD_DIMS (n, TD_ANY), "blocks.%d.proj.weight", i) */
td_status td_weights_expectf (td_weights *weights, td_error *err, int ndim, const int64_t *shape, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));
#define TD_DIMS(...)                                                                                               \
  (int) (sizeof ((const int64_t[]) { __VA_ARGS__ }) / sizeof (int64_t)), (const int64_t[]) { __VA_ARGS__ }
/* PREFIX.weight [out, in] and, with BIAS, PREFIX.bias [out]. */
td_status td_weights_expect_linear (td_weights *weights, td_error *err, int64_t out, int64_t in, bool bias,
                                    const char *fmt, ...) __attribute__ ((format (printf, 6, 7)));
/* PREFIX.weight [out, in, kernel, kernel] and, with BIAS, PREFIX.bias [out]. */
td_status td_weights_expect_conv (td_weights *weights, td_error *err, int64_t out, int64_t in, int64_t kernel,
                                  bool bias, const char *fmt, ...) __attribute__ ((format (printf, 7, 8)));
/* PREFIX.weight [size] and, with BIAS, PREFIX.bias [size] (layer and group norms). */
td_status td_weights_expect_norm (td_weights *weights, td_error *err, int64_t size, bool bias, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));
/* The same with every size given. */
td_status td_weights_expect_shape (td_weights *weights, const char *name, int ndim, const int64_t *shape,
                                   td_error *err);
/* Frees the device copies of the tensors whose name, or a dot-separated tail of it,
 * starts with prefix (e.g. "transformer_blocks.3."); the next get uploads them again. */
void td_weights_drop_device (td_weights *weights, const char *prefix);
const char *td_weights_path (const td_weights *weights);
/* A "__metadata__" value of the checkpoint (a GGUF's string metadata), or NULL. */
const char *td_weights_metadata (const td_weights *weights, const char *key);
td_backend *td_weights_backend (const td_weights *weights);
