/* pth.h — PyTorch checkpoints (torch.save since 1.6: a zip with <prefix>/data.pkl
 * and one stored entry per storage, <prefix>/data/<key>), read without running
 * any of their code (see pickle.h and torch_zip.h; DESIGN.md §8).
 *
 * The state dict is the dict under "model" or "state_dict" of the top-level
 * dict, or the top-level dict itself; its tensor-valued entries with string
 * keys are the checkpoint's tensors, other entries (epoch, config …) are
 * ignored. Tensors are zero-copy host views into the mapped file, with the
 * sizes and strides torch saved (so a view may be non-contiguous); they are
 * copied only when the storage is not aligned to the element size.
 */
#pragma once

#include "core/tensor.h"

#define TD_PTH_MAX_PICKLE ((size_t) 256 << 20)
/* A deflated data.pkl may inflate to at most this many times its stored size (plus
 * TD_PTH_PICKLE_SLACK): real pickles compress a few times, a crafted one a thousand.
 * (torch.save stores data.pkl; only re-zipped files deflate it.) */
#define TD_PTH_MAX_PICKLE_RATIO 16
#define TD_PTH_PICKLE_SLACK ((size_t) 256 << 10)

typedef struct td_pth td_pth;

/* Errors: TD_ERR_IO / TD_ERR_NOT_FOUND (cannot open), TD_ERR_FORMAT (malformed
 * zip or pickle, a storage outside its entry …), TD_ERR_UNSUPPORTED (big-endian,
 * compressed storages, exotic dtypes, > TD_MAX_DIMS dims), TD_ERR_LIMIT. Messages start "PATH: ". */
td_pth *td_pth_open (const char *path, td_error *err);
/* The same from memory; data must outlive the handle and every view from it. */
td_pth *td_pth_open_memory (const void *data, size_t size, const char *name, td_error *err);
/* Views handed out by td_pth_tensor stay valid after this. */
void td_pth_close (td_pth *pth);

const char *td_pth_path (const td_pth *pth);
/* Where the state dict was: "model", "state_dict", or "" for the top level. */
const char *td_pth_dict_key (const td_pth *pth);

/* Tensors in state-dict order. */
size_t td_pth_count (const td_pth *pth);
const char *td_pth_name_at (const td_pth *pth, size_t index);
const td_tensor *td_pth_at (const td_pth *pth, size_t index);
/* The view owned by pth, or NULL when there is no such tensor. */
const td_tensor *td_pth_find (const td_pth *pth, const char *name);
/* A new view (td_tensor_free) that keeps the file mapped; TD_ERR_NOT_FOUND when absent. */
td_tensor *td_pth_tensor (const td_pth *pth, const char *name, td_error *err);

/* Like td_pth_tensor, but a contiguous host copy when the stored view is not contiguous. */
td_tensor *td_pth_tensor_contiguous (const td_pth *pth, const char *name, td_error *err);

/* True for names ending in .pth, .pt or .bin (what td_weights_open reads as PyTorch files). */
bool td_pth_is_pth_path (const char *path);
