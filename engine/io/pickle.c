/* pickle.c — see pickle.h. Opcode meanings follow CPython's Lib/pickletools.py. */
#include "io/pickle.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct td_pickle {
  char *name;
  const uint8_t *data;
  size_t size, pos;
  size_t op_pos;          /* where the current opcode starts, for messages */
  GPtrArray *values;      /* every value, owned */
  GStringChunk *strings;
  td_pkl_value **stack;
  size_t depth, stack_capacity;
  size_t marks[TD_PICKLE_MAX_MARKS];
  size_t n_marks;
  GHashTable *memo;       /* index → value */
  size_t memory, memory_limit; /* bytes the values, stack and memo take, and their bound */
  const td_pkl_value *root;
  td_error *err;
};

static td_status
fail (td_pickle *p, td_status status, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static td_status
fail (td_pickle *p, td_status status, const char *fmt, ...)
{
  char what[512];
  va_list ap;
  va_start (ap, fmt);
  g_vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  return td_error_set (p->err, status, "%s: pickle byte %zu: %s", p->name, p->op_pos, what);
}

/* Counts BYTES more of memory against the bound set by the pickle's size. */
static td_status
charge (td_pickle *p, size_t bytes)
{
  if (bytes > p->memory_limit - p->memory)
    return fail (p, TD_ERR_LIMIT, "its values need more than %zu bytes of memory for a %zu-byte pickle",
                 p->memory_limit, p->size);
  p->memory += bytes;
  return TD_OK;
}

/* What one allocation costs beyond its size: the allocator's header, a pointer to it. */
#define ALLOCATION_OVERHEAD 32

const char *
td_pkl_kind_name (td_pkl_kind kind)
{
  static const char *const names[] = {
    "None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict", "global", "persistent id",
    "tensor", "inert object (a call not made)",
  };
  return kind < G_N_ELEMENTS (names) ? names[kind] : "?";
}

static void
free_value (gpointer data)
{
  td_pkl_value *v = data;
  if (v->kind == TD_PKL_TUPLE || v->kind == TD_PKL_LIST || v->kind == TD_PKL_DICT)
    free (v->u.seq.items);
  free (v);
}

static td_pkl_value *
new_value (td_pickle *p, td_pkl_kind kind)
{
  if (p->values->len >= TD_PICKLE_MAX_OBJECTS)
    {
      fail (p, TD_ERR_LIMIT, "more than %d objects", TD_PICKLE_MAX_OBJECTS);
      return NULL;
    }
  if (charge (p, sizeof (td_pkl_value) + ALLOCATION_OVERHEAD) != TD_OK)
    return NULL;
  td_pkl_value *v = calloc (1, sizeof *v);
  if (v == NULL)
    {
      fail (p, TD_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
  v->kind = kind;
  g_ptr_array_add (p->values, v);
  return v;
}

static td_status
seq_append (td_pickle *p, td_pkl_value *seq, td_pkl_value *item)
{
  if (seq->u.seq.count == seq->u.seq.capacity)
    {
      size_t capacity = seq->u.seq.capacity ? 2 * seq->u.seq.capacity : 4;
      if (charge (p, (capacity - seq->u.seq.capacity) * sizeof (td_pkl_value *)) != TD_OK)
        return p->err->status;
      td_pkl_value **items = realloc (seq->u.seq.items, capacity * sizeof *items);
      if (items == NULL)
        return fail (p, TD_ERR_NO_MEMORY, "out of memory");
      seq->u.seq.items = items;
      seq->u.seq.capacity = capacity;
    }
  seq->u.seq.items[seq->u.seq.count++] = item;
  return TD_OK;
}

/* ---- the stack ---- */

static td_status
push (td_pickle *p, td_pkl_value *v)
{
  if (v == NULL)
    return p->err != NULL && p->err->status != TD_OK ? p->err->status : TD_ERR_NO_MEMORY;
  if (p->depth == p->stack_capacity)
    {
      if (p->depth >= TD_PICKLE_MAX_STACK)
        return fail (p, TD_ERR_LIMIT, "the stack is deeper than %d", TD_PICKLE_MAX_STACK);
      size_t capacity = p->stack_capacity ? 2 * p->stack_capacity : 64;
      if (charge (p, (capacity - p->stack_capacity) * sizeof (td_pkl_value *)) != TD_OK)
        return p->err->status;
      td_pkl_value **stack = realloc (p->stack, capacity * sizeof *stack);
      if (stack == NULL)
        return fail (p, TD_ERR_NO_MEMORY, "out of memory");
      p->stack = stack;
      p->stack_capacity = capacity;
    }
  p->stack[p->depth++] = v;
  return TD_OK;
}

/* The floor below which pops may not go: the last MARK. */
static size_t
floor_of (const td_pickle *p)
{
  return p->n_marks > 0 ? p->marks[p->n_marks - 1] : 0;
}

static td_pkl_value *
pop (td_pickle *p)
{
  if (p->depth <= floor_of (p))
    {
      fail (p, TD_ERR_FORMAT, "stack underflow");
      return NULL;
    }
  return p->stack[--p->depth];
}

static td_pkl_value *
top (td_pickle *p)
{
  if (p->depth <= floor_of (p))
    {
      fail (p, TD_ERR_FORMAT, "stack underflow");
      return NULL;
    }
  return p->stack[p->depth - 1];
}

/* Pops back to the last MARK; the items are stack[*first, depth) until the next push. */
static td_status
pop_mark (td_pickle *p, size_t *first)
{
  if (p->n_marks == 0)
    return fail (p, TD_ERR_FORMAT, "no MARK to pop to");
  *first = p->marks[--p->n_marks];
  return TD_OK;
}

/* ---- reading operands ---- */

static bool
take (td_pickle *p, size_t n, const uint8_t **out)
{
  if (p->size - p->pos < n)
    {
      fail (p, TD_ERR_FORMAT, "truncated (needs %zu more bytes)", n);
      return false;
    }
  *out = p->data + p->pos;
  p->pos += n;
  return true;
}

static bool
take_uint (td_pickle *p, size_t n, uint64_t *value)
{
  const uint8_t *b;
  if (!take (p, n, &b))
    return false;
  *value = 0;
  for (size_t i = n; i-- > 0;)
    *value = *value << 8 | b[i];
  return true;
}

static td_status
push_int (td_pickle *p, int64_t value)
{
  td_pkl_value *v = new_value (p, TD_PKL_INT);
  if (v != NULL)
    v->u.integer = value;
  return push (p, v);
}

/* LONG1: a little-endian two's complement integer of n ≤ 8 bytes. */
static td_status
op_long1 (td_pickle *p)
{
  uint64_t n, raw = 0;
  const uint8_t *b;
  if (!take_uint (p, 1, &n) || !take (p, (size_t) n, &b))
    return p->err->status;
  if (n > 8)
    return fail (p, TD_ERR_UNSUPPORTED, "a %" PRIu64 "-byte integer does not fit 64 bits", n);
  for (size_t i = n; i-- > 0;)
    raw = raw << 8 | b[i];
  if (n > 0 && n < 8 && (b[n - 1] & 0x80))
    raw |= ~(uint64_t) 0 << (8 * n);
  return push_int (p, (int64_t) raw);
}

static td_status
op_float (td_pickle *p)
{
  uint64_t bits = 0;
  const uint8_t *b;
  if (!take (p, 8, &b))
    return p->err->status;
  for (int i = 0; i < 8; i++) /* big-endian */
    bits = bits << 8 | b[i];
  td_pkl_value *v = new_value (p, TD_PKL_FLOAT);
  if (v != NULL)
    memcpy (&v->u.real, &bits, sizeof bits);
  return push (p, v);
}

/* A string or bytes of a length given in `width` bytes. */
static td_status
op_string (td_pickle *p, size_t width, td_pkl_kind kind)
{
  uint64_t length;
  const uint8_t *b;
  if (!take_uint (p, width, &length))
    return p->err->status;
  if (length > TD_PICKLE_MAX_STRING)
    return fail (p, TD_ERR_LIMIT, "a string of %" PRIu64 " bytes is over the limit", length);
  if (!take (p, (size_t) length, &b))
    return p->err->status;
  if (kind == TD_PKL_STRING && !g_utf8_validate_len ((const char *) b, (gsize) length, NULL))
    return fail (p, TD_ERR_FORMAT, "a string is not valid UTF-8");
  td_pkl_value *v = new_value (p, kind);
  if (v != NULL)
    {
      v->u.string.data = g_string_chunk_insert_len (p->strings, (const char *) b, (gssize) length);
      v->u.string.length = (size_t) length;
    }
  return push (p, v);
}

static bool
is_dotted_name (const char *s, size_t length)
{
  if (length == 0 || length > TD_PICKLE_MAX_GLOBAL)
    return false;
  for (size_t i = 0; i < length; i++)
    if (!(g_ascii_isalnum (s[i]) || s[i] == '_' || s[i] == '.'))
      return false;
  return true;
}

static td_status
push_global (td_pickle *p, const char *module, size_t module_len, const char *name, size_t name_len)
{
  if (!is_dotted_name (module, module_len) || !is_dotted_name (name, name_len))
    return fail (p, TD_ERR_FORMAT, "a global name is not a dotted identifier");
  td_pkl_value *v = new_value (p, TD_PKL_GLOBAL);
  if (v != NULL)
    {
      v->u.global.module = g_string_chunk_insert_len (p->strings, module, (gssize) module_len);
      v->u.global.name = g_string_chunk_insert_len (p->strings, name, (gssize) name_len);
    }
  return push (p, v);
}

/* GLOBAL: "module\nname\n" as text. */
static td_status
op_global (td_pickle *p)
{
  const char *parts[2];
  size_t lengths[2];
  for (int i = 0; i < 2; i++)
    {
      const char *start = (const char *) p->data + p->pos;
      size_t left = p->size - p->pos;
      const char *nl = memchr (start, '\n', MIN (left, (size_t) TD_PICKLE_MAX_GLOBAL + 1));
      if (nl == NULL)
        return fail (p, TD_ERR_FORMAT, "a GLOBAL name is truncated or longer than %d bytes", TD_PICKLE_MAX_GLOBAL);
      parts[i] = start;
      lengths[i] = (size_t) (nl - start);
      p->pos += lengths[i] + 1;
    }
  return push_global (p, parts[0], lengths[0], parts[1], lengths[1]);
}

static td_status
op_stack_global (td_pickle *p)
{
  td_pkl_value *name = pop (p);
  td_pkl_value *module = name ? pop (p) : NULL;
  if (module == NULL)
    return p->err->status;
  if (name->kind != TD_PKL_STRING || module->kind != TD_PKL_STRING)
    return fail (p, TD_ERR_FORMAT, "STACK_GLOBAL needs two strings");
  return push_global (p, module->u.string.data, module->u.string.length, name->u.string.data, name->u.string.length);
}

/* ---- memo ---- */

static td_status
memo_put (td_pickle *p, uint64_t index)
{
  td_pkl_value *v = top (p);
  if (v == NULL)
    return p->err->status;
  if (!g_hash_table_contains (p->memo, GSIZE_TO_POINTER (index)) && g_hash_table_size (p->memo) >= TD_PICKLE_MAX_MEMO)
    return fail (p, TD_ERR_LIMIT, "more than %d memo entries", TD_PICKLE_MAX_MEMO);
  if (!g_hash_table_contains (p->memo, GSIZE_TO_POINTER (index)) && charge (p, ALLOCATION_OVERHEAD) != TD_OK)
    return p->err->status;
  g_hash_table_insert (p->memo, GSIZE_TO_POINTER (index), v);
  return TD_OK;
}

static td_status
memo_get (td_pickle *p, uint64_t index)
{
  td_pkl_value *v = g_hash_table_lookup (p->memo, GSIZE_TO_POINTER (index));
  if (v == NULL)
    return fail (p, TD_ERR_FORMAT, "memo entry %" PRIu64 " was never stored", index);
  return push (p, v);
}

/* ---- containers ---- */

/* A tuple of stack[first, depth), which is popped. */
static td_status
push_tuple_from (td_pickle *p, size_t first, td_pkl_kind kind)
{
  td_pkl_value *t = new_value (p, kind);
  for (size_t i = first; t != NULL && i < p->depth; i++)
    if (seq_append (p, t, p->stack[i]) != TD_OK)
      return p->err->status;
  p->depth = first;
  return push (p, t);
}

static td_status
op_tuple_n (td_pickle *p, size_t n)
{
  if (p->depth - floor_of (p) < n)
    return fail (p, TD_ERR_FORMAT, "stack underflow");
  return push_tuple_from (p, p->depth - n, TD_PKL_TUPLE);
}

static td_status
op_mark_tuple (td_pickle *p, td_pkl_kind kind)
{
  size_t first = 0;
  if (pop_mark (p, &first) != TD_OK)
    return p->err->status;
  return push_tuple_from (p, first, kind);
}


/* The object under the items stack[first, depth): what SETITEMS/APPENDS modify. */
static td_pkl_value *
target_below (td_pickle *p, size_t first)
{
  if (first <= floor_of (p) || first > p->depth)
    {
      fail (p, TD_ERR_FORMAT, "stack underflow");
      return NULL;
    }
  return p->stack[first - 1];
}

/* target[key] = value for the pairs stack[first, depth), which are popped.
 * Inert objects (instances that were not built) swallow their items. */
static td_status
set_items (td_pickle *p, size_t first)
{
  td_pkl_value *target = target_below (p, first);
  if (target == NULL)
    return p->err->status;
  if ((p->depth - first) % 2 != 0)
    return fail (p, TD_ERR_FORMAT, "SETITEMS with an odd number of items");
  if (target->kind != TD_PKL_DICT && target->kind != TD_PKL_INERT)
    return fail (p, TD_ERR_FORMAT, "SETITEM on a %s", td_pkl_kind_name (target->kind));
  for (size_t i = first; target->kind == TD_PKL_DICT && i < p->depth; i++)
    if (seq_append (p, target, p->stack[i]) != TD_OK)
      return p->err->status;
  p->depth = first;
  return TD_OK;
}

static td_status
append_items (td_pickle *p, size_t first)
{
  td_pkl_value *target = target_below (p, first);
  if (target == NULL)
    return p->err->status;
  if (target->kind != TD_PKL_LIST && target->kind != TD_PKL_INERT)
    return fail (p, TD_ERR_FORMAT, "APPEND to a %s", td_pkl_kind_name (target->kind));
  for (size_t i = first; target->kind == TD_PKL_LIST && i < p->depth; i++)
    if (seq_append (p, target, p->stack[i]) != TD_OK)
      return p->err->status;
  p->depth = first;
  return TD_OK;
}

static td_status
op_dict_from_mark (td_pickle *p)
{
  size_t first = 0;
  if (pop_mark (p, &first) != TD_OK)
    return p->err->status;
  if ((p->depth - first) % 2 != 0)
    return fail (p, TD_ERR_FORMAT, "DICT with an odd number of items");
  return push_tuple_from (p, first, TD_PKL_DICT);
}

/* ---- REDUCE ---- */

static bool
is_global (const td_pkl_value *v, const char *module, const char *name)
{
  return v->kind == TD_PKL_GLOBAL && strcmp (v->u.global.module, module) == 0 && strcmp (v->u.global.name, name) == 0;
}

static const struct {
  const char *name;
  td_dtype dtype;
} storage_types[] = {
  { "FloatStorage", TD_F32 },  { "HalfStorage", TD_F16 },  { "BFloat16Storage", TD_BF16 },
  { "DoubleStorage", TD_F64 }, { "LongStorage", TD_I64 },  { "IntStorage", TD_I32 },
  { "ShortStorage", TD_I16 },  { "CharStorage", TD_I8 },   { "ByteStorage", TD_U8 },
  { "BoolStorage", TD_BOOL },
};

static bool
is_storage_key (const td_pkl_value *v)
{
  if (v->kind != TD_PKL_STRING || v->u.string.length == 0 || v->u.string.length > 64)
    return false;
  for (size_t i = 0; i < v->u.string.length; i++)
    if (!g_ascii_isalnum (v->u.string.data[i]) && v->u.string.data[i] != '_')
      return false;
  return true;
}

/* ('storage', torch.<T>Storage, key, location, numel) → the tensor's storage fields. */
static td_status
read_storage (td_pickle *p, const td_pkl_value *persid, td_pkl_tensor *t)
{
  const td_pkl_value *pid = persid->kind == TD_PKL_PERSID ? persid->u.persid : NULL;
  if (pid == NULL || pid->kind != TD_PKL_TUPLE || pid->u.seq.count != 5)
    return fail (p, TD_ERR_FORMAT, "a tensor's storage is not a ('storage', type, key, location, numel) id");
  td_pkl_value *const *f = pid->u.seq.items;
  if (f[0]->kind != TD_PKL_STRING || strcmp (f[0]->u.string.data, "storage") != 0 || f[1]->kind != TD_PKL_GLOBAL
      || !is_storage_key (f[2]) || f[3]->kind != TD_PKL_STRING || f[4]->kind != TD_PKL_INT)
    return fail (p, TD_ERR_FORMAT, "a tensor's storage is not a ('storage', type, key, location, numel) id");
  size_t i = 0;
  while (i < G_N_ELEMENTS (storage_types) && !is_global (f[1], "torch", storage_types[i].name))
    i++;
  if (i == G_N_ELEMENTS (storage_types))
    return fail (p, TD_ERR_UNSUPPORTED, "tensor storage type %s.%s is not supported", f[1]->u.global.module,
                 f[1]->u.global.name);
  t->dtype = storage_types[i].dtype;
  t->storage_key = f[2]->u.string.data;
  t->storage_numel = f[4]->u.integer;
  if (t->storage_numel < 0 || (uint64_t) t->storage_numel > (UINT64_C (1) << 62) / td_dtype_size (t->dtype))
    return fail (p, TD_ERR_FORMAT, "storage '%s' declares %" PRId64 " elements", t->storage_key, t->storage_numel);
  return TD_OK;
}

static td_status
read_dims (td_pickle *p, const td_pkl_value *tuple, const char *what, int64_t *dims, int *ndim)
{
  if (tuple->kind != TD_PKL_TUPLE)
    return fail (p, TD_ERR_FORMAT, "a tensor's %s is a %s, not a tuple", what, td_pkl_kind_name (tuple->kind));
  if (tuple->u.seq.count > TD_PICKLE_MAX_DIMS)
    return fail (p, TD_ERR_UNSUPPORTED, "a tensor has %zu dimensions (at most %d)", tuple->u.seq.count,
                 TD_PICKLE_MAX_DIMS);
  for (size_t i = 0; i < tuple->u.seq.count; i++)
    {
      const td_pkl_value *d = tuple->u.seq.items[i];
      if (d->kind != TD_PKL_INT || d->u.integer < 0 || d->u.integer > (INT64_C (1) << 48))
        return fail (p, TD_ERR_FORMAT, "a tensor %s entry is not a non-negative integer below 2^48", what);
      dims[i] = d->u.integer;
    }
  *ndim = (int) tuple->u.seq.count;
  return TD_OK;
}

/* Every element of the view must lie inside the storage. */
static td_status
check_extent (td_pickle *p, const td_pkl_tensor *t)
{
  uint64_t last = (uint64_t) t->offset;
  bool empty = false;
  for (int i = 0; i < t->ndim; i++)
    {
      if (t->shape[i] == 0)
        empty = true;
      else
        {
          /* shape, stride < 2^48 and ndim ≤ 8: each term < 2^96 would overflow, so check. */
          uint64_t term;
          if (__builtin_mul_overflow ((uint64_t) (t->shape[i] - 1), (uint64_t) t->stride[i], &term)
              || __builtin_add_overflow (last, term, &last))
            return fail (p, TD_ERR_FORMAT, "a tensor's extent overflows");
        }
    }
  if (empty ? (uint64_t) t->offset > (uint64_t) t->storage_numel : last >= (uint64_t) t->storage_numel)
    return fail (p, TD_ERR_FORMAT, "a tensor view (offset %" PRId64 ") reaches past the %" PRId64
                 " elements of storage '%s'", t->offset, t->storage_numel, t->storage_key);
  return TD_OK;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
static td_pkl_value *
rebuild_tensor (td_pickle *p, const td_pkl_value *args)
{
  if (args->u.seq.count < 4 || args->u.seq.count > 7)
    {
      fail (p, TD_ERR_FORMAT, "_rebuild_tensor_v2 with %zu arguments", args->u.seq.count);
      return NULL;
    }
  td_pkl_value *const *a = args->u.seq.items;
  td_pkl_tensor t = { 0 };
  int stride_dims = 0;
  if (read_storage (p, a[0], &t) != TD_OK || read_dims (p, a[2], "size", t.shape, &t.ndim) != TD_OK
      || read_dims (p, a[3], "stride", t.stride, &stride_dims) != TD_OK)
    return NULL;
  if (stride_dims != t.ndim)
    {
      fail (p, TD_ERR_FORMAT, "a tensor has %d sizes but %d strides", t.ndim, stride_dims);
      return NULL;
    }
  if (a[1]->kind != TD_PKL_INT || a[1]->u.integer < 0 || a[1]->u.integer > t.storage_numel)
    {
      fail (p, TD_ERR_FORMAT, "a tensor's storage offset is not within its storage");
      return NULL;
    }
  t.offset = a[1]->u.integer;
  if (check_extent (p, &t) != TD_OK)
    return NULL;
  td_pkl_value *v = new_value (p, TD_PKL_TENSOR);
  if (v != NULL)
    v->u.tensor = t;
  return v;
}

static td_status
op_reduce (td_pickle *p)
{
  td_pkl_value *args = pop (p);
  td_pkl_value *callable = args ? pop (p) : NULL;
  if (callable == NULL)
    return p->err->status;
  if (args->kind != TD_PKL_TUPLE)
    return fail (p, TD_ERR_FORMAT, "REDUCE arguments are a %s, not a tuple", td_pkl_kind_name (args->kind));
  if (is_global (callable, "torch._utils", "_rebuild_tensor_v2"))
    return push (p, rebuild_tensor (p, args));
  if (is_global (callable, "torch._utils", "_rebuild_parameter")
      || is_global (callable, "torch._utils", "_rebuild_parameter_with_state"))
    {
      if (args->u.seq.count < 1 || args->u.seq.items[0]->kind != TD_PKL_TENSOR)
        return fail (p, TD_ERR_FORMAT, "_rebuild_parameter without a tensor");
      return push (p, args->u.seq.items[0]);
    }
  if (is_global (callable, "collections", "OrderedDict") && args->u.seq.count == 0)
    return push (p, new_value (p, TD_PKL_DICT));
  /* Anything else is never called: it becomes a named, inert placeholder. */
  td_pkl_value *v = new_value (p, TD_PKL_INERT);
  if (v != NULL && callable->kind == TD_PKL_GLOBAL)
    v->u.global = callable->u.global;
  else if (v != NULL)
    v->u.global.module = v->u.global.name = "?";
  return push (p, v);
}

/* NEWOBJ / NEWOBJ_EX: cls.__new__(cls, *args) is never called either. */
static td_status
op_newobj (td_pickle *p, int operands)
{
  td_pkl_value *cls = NULL;
  for (int i = 0; i < operands; i++)
    if ((cls = pop (p)) == NULL)
      return p->err->status;
  td_pkl_value *v = new_value (p, TD_PKL_INERT);
  if (v != NULL && cls->kind == TD_PKL_GLOBAL)
    v->u.global = cls->u.global;
  else if (v != NULL)
    v->u.global.module = v->u.global.name = "?";
  return push (p, v);
}

/* ---- the interpreter ---- */

static td_status
op_mark (td_pickle *p)
{
  if (p->n_marks >= TD_PICKLE_MAX_MARKS)
    return fail (p, TD_ERR_LIMIT, "MARKs nested deeper than %d", TD_PICKLE_MAX_MARKS);
  p->marks[p->n_marks++] = p->depth;
  return TD_OK;
}

static td_status
op_build (td_pickle *p)
{
  /* The state is dropped: nothing is set on objects (tensors, dicts, inert ones). */
  if (pop (p) == NULL || top (p) == NULL)
    return p->err->status;
  return TD_OK;
}

static td_status
op_proto (td_pickle *p)
{
  uint64_t version;
  if (!take_uint (p, 1, &version))
    return p->err->status;
  if (version < 2 || version > 5)
    return fail (p, TD_ERR_UNSUPPORTED, "pickle protocol %" PRIu64 " (2 to 5 are supported)", version);
  return TD_OK;
}

static td_status
op_frame (td_pickle *p)
{
  uint64_t length;
  if (!take_uint (p, 8, &length))
    return p->err->status;
  if (length > p->size - p->pos)
    return fail (p, TD_ERR_FORMAT, "a frame of %" PRIu64 " bytes runs past the end", length);
  return TD_OK;
}

static td_status
op_stop (td_pickle *p)
{
  td_pkl_value *v = pop (p);
  if (v == NULL)
    return p->err->status;
  if (p->depth != 0 || p->n_marks != 0)
    return fail (p, TD_ERR_FORMAT, "STOP with %zu objects and %zu marks left on the stack", p->depth, p->n_marks);
  if (p->pos != p->size)
    return fail (p, TD_ERR_FORMAT, "%zu bytes after STOP", p->size - p->pos);
  p->root = v;
  return TD_OK;
}

static td_status
op_memo (td_pickle *p, size_t width)
{
  uint64_t index;
  return take_uint (p, width, &index) ? memo_put (p, index) : p->err->status;
}

static td_status
op_get (td_pickle *p, size_t width)
{
  uint64_t index;
  return take_uint (p, width, &index) ? memo_get (p, index) : p->err->status;
}

static td_status
op_int (td_pickle *p, size_t width)
{
  uint64_t value;
  if (!take_uint (p, width, &value))
    return p->err->status;
  return push_int (p, width == 4 ? (int64_t) (int32_t) (uint32_t) value : (int64_t) value);
}

static td_status
op_simple (td_pickle *p, td_pkl_kind kind, bool truth)
{
  td_pkl_value *v = new_value (p, kind);
  if (v != NULL && kind == TD_PKL_BOOL)
    v->u.boolean = truth;
  return push (p, v);
}

static td_status
op_with_mark (td_pickle *p, td_status (*apply) (td_pickle *, size_t))
{
  size_t first = 0;
  return pop_mark (p, &first) == TD_OK ? apply (p, first) : p->err->status;
}

static td_status
op_persid (td_pickle *p)
{
  td_pkl_value *pid = pop (p);
  if (pid == NULL)
    return p->err->status;
  td_pkl_value *v = new_value (p, TD_PKL_PERSID);
  if (v != NULL)
    v->u.persid = pid;
  return push (p, v);
}

static td_status
step (td_pickle *p, uint8_t op)
{
  switch (op)
    {
    case 0x80: return op_proto (p);
    case 0x95: return op_frame (p);
    case '.': return op_stop (p);
    case '(': return op_mark (p);
    case '0': return pop (p) != NULL ? TD_OK : p->err->status;
    case '1': { size_t first = 0; return pop_mark (p, &first) == TD_OK ? (p->depth = first, TD_OK) : p->err->status; }
    case '2': { td_pkl_value *v = top (p); return v != NULL ? push (p, v) : p->err->status; }
    case 'N': return op_simple (p, TD_PKL_NONE, false);
    case 0x88: return op_simple (p, TD_PKL_BOOL, true);
    case 0x89: return op_simple (p, TD_PKL_BOOL, false);
    case 'J': return op_int (p, 4);
    case 'K': return op_int (p, 1);
    case 'M': return op_int (p, 2);
    case 0x8a: return op_long1 (p);
    case 'G': return op_float (p);
    case 'X': return op_string (p, 4, TD_PKL_STRING);
    case 0x8c: return op_string (p, 1, TD_PKL_STRING);
    case 0x8d: return op_string (p, 8, TD_PKL_STRING);
    case 'B': return op_string (p, 4, TD_PKL_BYTES);
    case 'C': return op_string (p, 1, TD_PKL_BYTES);
    case 0x8e: return op_string (p, 8, TD_PKL_BYTES);
    case 'T': return op_string (p, 4, TD_PKL_BYTES); /* Python 2 str */
    case 'U': return op_string (p, 1, TD_PKL_BYTES);
    case '}': return op_simple (p, TD_PKL_DICT, false);
    case ']': return op_simple (p, TD_PKL_LIST, false);
    case 0x8f: return op_simple (p, TD_PKL_LIST, false); /* EMPTY_SET */
    case ')': return op_simple (p, TD_PKL_TUPLE, false);
    case 'd': return op_dict_from_mark (p);
    case 'l': return op_mark_tuple (p, TD_PKL_LIST);
    case 't': return op_mark_tuple (p, TD_PKL_TUPLE);
    case 0x91: return op_mark_tuple (p, TD_PKL_LIST); /* FROZENSET */
    case 0x85: return op_tuple_n (p, 1);
    case 0x86: return op_tuple_n (p, 2);
    case 0x87: return op_tuple_n (p, 3);
    case 's': return p->depth - floor_of (p) >= 3 ? set_items (p, p->depth - 2) : fail (p, TD_ERR_FORMAT, "stack underflow");
    case 'u': return op_with_mark (p, set_items);
    case 'a': return p->depth - floor_of (p) >= 2 ? append_items (p, p->depth - 1) : fail (p, TD_ERR_FORMAT, "stack underflow");
    case 'e': return op_with_mark (p, append_items);
    case 0x90: return op_with_mark (p, append_items); /* ADDITEMS */
    case 'q': return op_memo (p, 1);
    case 'r': return op_memo (p, 4);
    case 0x94: return memo_put (p, g_hash_table_size (p->memo));
    case 'h': return op_get (p, 1);
    case 'j': return op_get (p, 4);
    case 'c': return op_global (p);
    case 0x93: return op_stack_global (p);
    case 'R': return op_reduce (p);
    case 0x81: return op_newobj (p, 2);
    case 0x92: return op_newobj (p, 3);
    case 'b': return op_build (p);
    case 'Q': return op_persid (p);
    default:
      return fail (p, TD_ERR_UNSUPPORTED, "opcode 0x%02x is not one a state dict needs", op);
    }
}

void
td_pickle_free (td_pickle *p)
{
  if (p == NULL)
    return;
  g_ptr_array_unref (p->values);
  g_string_chunk_free (p->strings);
  g_hash_table_unref (p->memo);
  free (p->stack);
  g_free (p->name);
  g_free (p);
}

td_pickle *
td_pickle_load (const void *data, size_t size, const char *name, td_error *err)
{
  td_error local = { 0 };
  td_pickle *p = g_new0 (td_pickle, 1);
  p->name = g_strdup (name != NULL ? name : "(pickle)");
  p->data = data;
  p->size = size;
  p->values = g_ptr_array_new_with_free_func (free_value);
  p->strings = g_string_chunk_new (4096);
  p->memo = g_hash_table_new (g_direct_hash, g_direct_equal);
  p->memory_limit = size > (SIZE_MAX - TD_PICKLE_MEMORY_BASE) / TD_PICKLE_MEMORY_PER_BYTE
                      ? SIZE_MAX
                      : size * TD_PICKLE_MEMORY_PER_BYTE + TD_PICKLE_MEMORY_BASE;
  p->err = err != NULL ? err : &local;
  td_status st = TD_OK;
  while (st == TD_OK && p->root == NULL)
    {
      p->op_pos = p->pos;
      if (p->pos >= p->size)
        st = fail (p, TD_ERR_FORMAT, "truncated: no STOP");
      else
        st = step (p, p->data[p->pos++]);
    }
  p->err = NULL;
  if (st != TD_OK)
    {
      td_pickle_free (p);
      return NULL;
    }
  return p;
}

const td_pkl_value *
td_pickle_root (const td_pickle *p)
{
  return p->root;
}

const td_pkl_value *
td_pkl_dict_get (const td_pkl_value *dict, const char *key)
{
  if (dict == NULL || dict->kind != TD_PKL_DICT)
    return NULL;
  const td_pkl_value *found = NULL;
  for (size_t i = 0; i + 1 < dict->u.seq.count; i += 2)
    {
      const td_pkl_value *k = dict->u.seq.items[i];
      if (k->kind == TD_PKL_STRING && strcmp (k->u.string.data, key) == 0)
        found = dict->u.seq.items[i + 1];
    }
  return found;
}
