/* pickle.h — a restricted pickle reader for PyTorch checkpoints (data.pkl).
 *
 * It interprets only the opcodes a state dict needs (protocols 2–5: containers,
 * numbers, strings, memo, GLOBAL/STACK_GLOBAL, REDUCE, BUILD, BINPERSID…) and
 * NEVER calls anything. GLOBAL yields an inert "global" value; REDUCE yields:
 *   - a tensor descriptor for torch._utils._rebuild_tensor_v2 over a persistent
 *     id ('storage', torch.<T>Storage, key, location, numel), with its offset,
 *     sizes and strides checked against the storage's declared element count;
 *   - the tensor itself for torch._utils._rebuild_parameter(_with_state);
 *   - an empty dict for collections.OrderedDict();
 *   - an inert value for anything else (os.system, builtins.eval … are never run).
 * BUILD, NEWOBJ and SETITEM/APPEND on inert values are ignored. Stack depth,
 * MARK nesting, memo size, string lengths and the total number of objects are
 * bounded, and so is the memory the values take: at most
 * TD_PICKLE_MEMORY_PER_BYTE bytes per byte of pickle (plus TD_PICKLE_MEMORY_BASE). The resulting values live until td_pickle_free.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thinkdiff.h"
#include "core/dtype.h"

#define TD_PICKLE_MAX_DIMS 8
#define TD_PICKLE_MAX_STACK (1 << 22)
#define TD_PICKLE_MAX_MARKS 1000
#define TD_PICKLE_MAX_MEMO (1 << 22)
#define TD_PICKLE_MAX_OBJECTS (1 << 23)
#define TD_PICKLE_MAX_STRING ((size_t) 64 << 20)
#define TD_PICKLE_MAX_GLOBAL 256
/* A real state dict's pickle takes about 40 bytes of values per byte. */
#define TD_PICKLE_MEMORY_PER_BYTE 128
#define TD_PICKLE_MEMORY_BASE ((size_t) 1 << 20)

typedef enum td_pkl_kind {
  TD_PKL_NONE,
  TD_PKL_BOOL,
  TD_PKL_INT,
  TD_PKL_FLOAT,
  TD_PKL_STRING, /* UTF-8, NUL-terminated */
  TD_PKL_BYTES,
  TD_PKL_TUPLE,
  TD_PKL_LIST,   /* also sets and frozensets */
  TD_PKL_DICT,   /* items are key, value, key, value … in insertion order */
  TD_PKL_GLOBAL, /* a name only: module + name */
  TD_PKL_PERSID, /* a persistent id, as BINPERSID left it */
  TD_PKL_TENSOR,
  TD_PKL_INERT,  /* the result of a call that was not made; global names it */
} td_pkl_kind;

typedef struct td_pkl_tensor {
  const char *storage_key; /* the storage lies in the zip entry <prefix>/data/<key> */
  td_dtype dtype;
  int64_t storage_numel;   /* elements the storage declares */
  int64_t offset;          /* of element 0, in elements */
  int ndim;
  int64_t shape[TD_PICKLE_MAX_DIMS];
  int64_t stride[TD_PICKLE_MAX_DIMS]; /* in elements, ≥ 0 */
} td_pkl_tensor;

typedef struct td_pkl_value td_pkl_value;
struct td_pkl_value {
  td_pkl_kind kind;
  union {
    bool boolean;
    int64_t integer;
    double real;
    struct {
      const char *data;
      size_t length;
    } string; /* STRING and BYTES */
    struct {
      td_pkl_value **items;
      size_t count, capacity;
    } seq; /* TUPLE, LIST, DICT */
    struct {
      const char *module, *name;
    } global; /* GLOBAL and INERT */
    const td_pkl_value *persid;
    td_pkl_tensor tensor;
  } u;
};

typedef struct td_pickle td_pickle;

/* Runs the pickle in data[0, size); `name` starts every message. */
td_pickle *td_pickle_load (const void *data, size_t size, const char *name, td_error *err);
void td_pickle_free (td_pickle *pickle);
/* What STOP returned. */
const td_pkl_value *td_pickle_root (const td_pickle *pickle);
/* For a DICT: the value of a string key (the last one set), or NULL. */
const td_pkl_value *td_pkl_dict_get (const td_pkl_value *dict, const char *key);
const char *td_pkl_kind_name (td_pkl_kind kind);
