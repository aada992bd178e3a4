/* op_check_dense.c — validation of the dense ops (MATMUL … SAMPLE, MATMUL_NORM_ROPE) for every backend.
 *
 * Each check names the op and the tensors by their role ("matmul: x [3, 5] and
 * w [7, 4] disagree on K"), so a model author can see which call was wrong. Rules:
 * activations are f32; weights (matmul, norm parameters, embedding table) and the
 * second operand of ADD/MUL may be f32, f16 or bf16; ids are i32; every source but
 * COPY's must be contiguous; dst may only share memory with src0 when it is exactly
 * src0 and the op works in place (elementwise ops, norms, softmax).
 * td_op_validate has already checked that dst and src0 exist and dst is contiguous.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/op_check.h"

#define SHAPE_TEXT 96

typedef struct shape_text {
  char text[SHAPE_TEXT];
} shape_text;

/* "[2, 3, 4]", returned by value so several fit in one message. */
static shape_text
shape_of (const td_tensor *t)
{
  shape_text s;
  td_shape_string (t->ndim, t->shape, s.text, sizeof s.text);
  return s;
}

#define SHAPE(t) (shape_of (t).text)

static bool
is_weight_dtype (td_dtype dtype)
{
  return dtype == TD_F32 || dtype == TD_F16 || dtype == TD_BF16;
}

static bool
is_float_dtype (td_dtype dtype)
{
  return dtype == TD_F32 || dtype == TD_F16 || dtype == TD_BF16 || dtype == TD_F64;
}

static const char *
dtype_name (td_dtype dtype)
{
  return (unsigned) dtype < TD_DTYPE_COUNT ? td_dtype_name (dtype) : "an invalid dtype";
}

/* The tensor is well formed at all (rank, dtype, buffer). */
static td_status
check_sane (const td_op *op, const td_tensor *t, const char *role, td_error *err)
{
  const char *name = td_op_name (op->type);
  if (t->ndim < 0 || t->ndim > TD_MAX_DIMS)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s has rank %d, outside 0..%d", name, role, t->ndim,
                         TD_MAX_DIMS);
  if ((unsigned) t->dtype >= TD_DTYPE_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s has an invalid dtype", name, role);
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] < 0)
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s has a negative dim", name, role);
  if (t->buffer == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s has no buffer", name, role);
  return TD_OK;
}

/* Present, well formed, contiguous and of an accepted dtype. */
typedef enum dtype_rule { NEED_F32, NEED_WEIGHT, NEED_MATMUL_WEIGHT, NEED_I32, NEED_ANY } dtype_rule;

static td_status
check_input (const td_op *op, const td_tensor *t, const char *role, dtype_rule rule, td_error *err)
{
  const char *name = td_op_name (op->type);
  if (t == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s is missing", name, role);
  td_status status = check_sane (op, t, role, err);
  if (status != TD_OK)
    return status;
  switch (rule)
    {
    case NEED_F32:
      if (t->dtype != TD_F32)
        return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must be f32, not %s", name, role, dtype_name (t->dtype));
      break;
    case NEED_WEIGHT:
      if (!is_weight_dtype (t->dtype))
        return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must be f32, f16 or bf16, not %s", name, role,
                             dtype_name (t->dtype));
      break;
    case NEED_MATMUL_WEIGHT: /* the matmul family also decodes fp8 and ggml block types */
      if (!is_weight_dtype (t->dtype) && !td_dtype_is_quantized (t->dtype) && t->dtype != TD_F8_E4M3
          && t->dtype != TD_F8_E5M2)
        return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must be f32, f16, bf16, fp8 or a ggml block type, not %s",
                             name, role, dtype_name (t->dtype));
      break;
    case NEED_I32:
      if (t->dtype != TD_I32)
        return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must be i32, not %s", name, role, dtype_name (t->dtype));
      break;
    case NEED_ANY:
      break;
    }
  if (!td_tensor_is_contiguous (t))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s %s must be contiguous (copy the view first)", name, role,
                         SHAPE (t));
  return TD_OK;
}

/* dst exists as f32 (or `dtype`) with exactly `ndim`/`shape`. */
static td_status
check_output (const td_op *op, td_dtype dtype, int ndim, const int64_t *shape, td_error *err)
{
  const char *name = td_op_name (op->type);
  const td_tensor *y = op->dst;
  td_status status = check_sane (op, y, "y", err);
  if (status != TD_OK)
    return status;
  if (y->dtype != dtype)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: y must be %s, not %s", name, dtype_name (dtype),
                         dtype_name (y->dtype));
  bool same = y->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = y->shape[i] == shape[i];
  if (!same)
    {
      char want[SHAPE_TEXT];
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s: y is %s but should be %s", name, SHAPE (y),
                           td_shape_string (ndim, shape, want, sizeof want));
    }
  return TD_OK;
}

/* Bytes [begin, end) a view can touch in its buffer. */
static void
byte_span (const td_tensor *t, int64_t *begin, int64_t *end)
{
  int64_t low = 0, high = 0;
  for (int i = 0; i < t->ndim; i++)
    {
      if (t->shape[i] == 0)
        {
          *begin = *end = (int64_t) t->offset;
          return;
        }
      int64_t reach = (t->shape[i] - 1) * t->stride[i];
      if (reach < 0)
        low += reach;
      else
        high += reach;
    }
  if (td_dtype_is_quantized (t->dtype)) /* block types are contiguous: their bytes are their span */
    {
      *begin = (int64_t) t->offset;
      *end = (int64_t) (t->offset + td_tensor_nbytes (t));
      return;
    }
  int64_t elem = (int64_t) td_dtype_size (t->dtype);
  *begin = (int64_t) t->offset + low * elem;
  *end = (int64_t) t->offset + (high + 1) * elem;
}

static bool
overlaps (const td_tensor *a, const td_tensor *b)
{
  if (a->buffer != b->buffer)
    return false;
  int64_t a0, a1, b0, b1;
  byte_span (a, &a0, &a1);
  byte_span (b, &b0, &b1);
  return a0 < b1 && b0 < a1 && a0 < a1 && b0 < b1;
}

static bool
exact_alias (const td_tensor *a, const td_tensor *b)
{
  return a->buffer == b->buffer && a->offset == b->offset && a->dtype == b->dtype && td_tensor_same_shape (a, b)
         && td_tensor_is_contiguous (a) && td_tensor_is_contiguous (b);
}

static td_status
check_no_overlap (const td_op *op, bool in_place_ok, td_error *err)
{
  for (int i = 0; i < TD_OP_MAX_SRC; i++)
    {
      const td_tensor *src = op->src[i];
      if (src == NULL || !overlaps (op->dst, src))
        continue;
      /* ADD/MUL read src1 at the same index too, so they may alias it as well. */
      bool elementwise_src = i == 0 || op->type == TD_OP_ADD || op->type == TD_OP_MUL;
      if (in_place_ok && elementwise_src && exact_alias (op->dst, src))
        continue;
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s: y overlaps input %d in memory", td_op_name (op->type), i);
    }
  return TD_OK;
}

/* An optional per-feature parameter (norm weight/bias, matmul bias): [n], weight dtype. */
static td_status
check_vector (const td_op *op, const td_tensor *t, const char *role, int64_t n, const char *n_source, td_error *err)
{
  if (t == NULL)
    return TD_OK;
  td_status status = check_input (op, t, role, NEED_WEIGHT, err);
  if (status != TD_OK)
    return status;
  if (t->ndim != 1 || t->shape[0] != n)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s %s should be [%lld] to match %s", td_op_name (op->type),
                         role, SHAPE (t), (long long) n, n_source);
  return TD_OK;
}

#define TRY(expr)                        \
  do                                     \
    {                                    \
      td_status try_status_ = (expr);    \
      if (try_status_ != TD_OK)          \
        return try_status_;              \
    }                                    \
  while (0)

/* ---- the ops ------------------------------------------------------------------------- */

static td_status
check_matmul (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1];
  TRY (check_input (op, x, "x", NEED_F32, err));
  TRY (check_input (op, w, "w", NEED_MATMUL_WEIGHT, err));
  if (x->ndim < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "matmul: x must have at least one dim");
  if (w->ndim != 2 && w->ndim != 3)
    return td_error_set (err, TD_ERR_INVALID_ARG, "matmul: w %s must be [N, K] or [B, N, K]", SHAPE (w));
  int64_t k = x->shape[x->ndim - 1], n = w->shape[w->ndim - 2];
  if (w->shape[w->ndim - 1] != k)
    return td_error_set (err, TD_ERR_INVALID_ARG, "matmul: x %s and w %s disagree on K", SHAPE (x), SHAPE (w));
  if (w->ndim == 3)
    {
      int64_t batches = 1;
      for (int i = 0; i < x->ndim - 2; i++)
        batches *= x->shape[i];
      if (w->shape[0] != batches)
        return td_error_set (err, TD_ERR_INVALID_ARG,
                             "matmul: batched w %s needs x's leading dims to multiply to %lld, but x is %s", SHAPE (w),
                             (long long) w->shape[0], SHAPE (x));
    }
  char n_source[SHAPE_TEXT + 16];
  snprintf (n_source, sizeof n_source, "N of w %s", SHAPE (w));
  TRY (check_vector (op, op->src[2], "bias", n, n_source, err));
  if (op->p.matmul.activate && (unsigned) op->p.matmul.activation >= TD_UNARY_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "matmul: unknown epilogue activation %d",
                         (int) op->p.matmul.activation);

  int64_t shape[TD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = n;
  TRY (check_output (op, TD_F32, x->ndim, shape, err));
  return check_no_overlap (op, false, err);
}

/* MATMUL_NORM_ROPE: the matmul's operands as check_matmul (2-D w only), the output as
 * heads [..., T, H, D] of the [..., T, N] product, then the norm and rotary operands. */
static td_status
check_matmul_norm_rope (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *y = op->dst, *cos_t = op->src[4], *sin_t = op->src[5];
  const char *name = td_op_name (op->type);
  TRY (check_input (op, x, "x", NEED_F32, err));
  TRY (check_input (op, w, "w", NEED_MATMUL_WEIGHT, err));
  TRY (check_sane (op, y, "y", err));
  if (x->ndim < 2 || x->ndim + 1 > TD_MAX_DIMS)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: x %s must be [..., T, K] with 2 to %d dims", name, SHAPE (x),
                         TD_MAX_DIMS - 1);
  if (w->ndim != 2)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: w %s must be [N, K]", name, SHAPE (w));
  int64_t k = x->shape[x->ndim - 1], n = w->shape[0];
  if (w->shape[1] != k)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: x %s and w %s disagree on K", name, SHAPE (x), SHAPE (w));
  char n_source[SHAPE_TEXT + 16];
  snprintf (n_source, sizeof n_source, "N of w %s", SHAPE (w));
  TRY (check_vector (op, op->src[2], "bias", n, n_source, err));

  if (y->ndim != x->ndim + 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: y %s must be x %s with its last dim split into [H, D]", name,
                         SHAPE (y), SHAPE (x));
  int64_t heads = y->shape[y->ndim - 2], head_dim = y->shape[y->ndim - 1];
  if (heads * head_dim != n || head_dim < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: y %s has H · D = %lld outputs per row, w %s has N = %lld", name,
                         SHAPE (y), (long long) (heads * head_dim), SHAPE (w), (long long) n);
  int64_t shape[TD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof (int64_t) * (size_t) (x->ndim - 1));
  shape[x->ndim - 1] = heads;
  shape[x->ndim] = head_dim;
  TRY (check_output (op, TD_F32, y->ndim, shape, err));

  const td_tensor *norm_w = op->src[3];
  float eps = op->p.matmul_rope.eps;
  if (!op->p.matmul_rope.normalise && norm_w != NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: a norm weight is given but normalise is off", name);
  if (op->p.matmul_rope.normalise && (!(eps >= 0.0f) || eps == INFINITY))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: eps %g must be finite and non-negative", name, (double) eps);
  snprintf (n_source, sizeof n_source, "head dim D of y %s", SHAPE (y));
  TRY (check_vector (op, norm_w, "norm weight", head_dim, n_source, err));

  td_rope_mode mode = op->p.matmul_rope.mode;
  if (mode != TD_ROPE_HALF_SPLIT && mode != TD_ROPE_INTERLEAVED)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: unknown rotary mode %d", name, (int) mode);
  TRY (check_input (op, cos_t, "cos", NEED_F32, err));
  TRY (check_input (op, sin_t, "sin", NEED_F32, err));
  if (cos_t->ndim != 2 || !td_tensor_same_shape (cos_t, sin_t))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: cos %s and sin %s must both be [T, R/2]", name, SHAPE (cos_t),
                         SHAPE (sin_t));
  int64_t positions = y->shape[y->ndim - 3];
  if (cos_t->shape[0] != positions || 2 * cos_t->shape[1] > head_dim)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: cos/sin %s should be [%lld, at most %lld] for y %s", name,
                         SHAPE (cos_t), (long long) positions, (long long) (head_dim / 2), SHAPE (y));
  return check_no_overlap (op, false, err);
}

static td_status
check_binary (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *other = op->src[1];
  const char *name = td_op_name (op->type);
  TRY (check_input (op, x, "x", NEED_F32, err));
  TRY (check_input (op, other, "other", NEED_WEIGHT, err));
  bool fits = other->ndim <= x->ndim;
  for (int i = 1; fits && i <= other->ndim; i++)
    {
      int64_t o = other->shape[other->ndim - i], s = x->shape[x->ndim - i];
      fits = o == s || o == 1;
    }
  if (!fits)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: other %s does not broadcast to x %s", name, SHAPE (other),
                         SHAPE (x));
  TRY (check_output (op, TD_F32, x->ndim, x->shape, err));
  return check_no_overlap (op, true, err);
}

static td_status
check_same_shape_f32 (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  TRY (check_input (op, x, "x", NEED_F32, err));
  TRY (check_output (op, TD_F32, x->ndim, x->shape, err));
  return check_no_overlap (op, true, err);
}

static td_status
check_unary (const td_op *op, td_error *err)
{
  if ((unsigned) op->p.unary.kind >= TD_UNARY_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "unary: unknown activation %d", (int) op->p.unary.kind);
  return check_same_shape_f32 (op, err);
}

static td_status
check_eps (const td_op *op, td_error *err)
{
  float eps = op->p.norm.eps;
  if (!(eps >= 0.0f) || isinf (eps))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: eps %g must be finite and non-negative",
                         td_op_name (op->type), (double) eps);
  return TD_OK;
}

static td_status
check_row_norm (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  TRY (check_same_shape_f32 (op, err));
  TRY (check_eps (op, err));
  if (x->ndim < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: x must have at least one dim", td_op_name (op->type));
  int64_t d = x->shape[x->ndim - 1];
  TRY (check_vector (op, op->src[1], "weight", d, "the last dim of x", err));
  if (op->type == TD_OP_LAYER_NORM)
    TRY (check_vector (op, op->src[2], "bias", d, "the last dim of x", err));
  return TD_OK;
}

/* scale and shift are f32 activations [C] (chunks of a modulation vector). */
static td_status
check_ada_layer_norm (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  TRY (check_same_shape_f32 (op, err));
  TRY (check_eps (op, err));
  if (x->ndim < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "ada_layer_norm: x must have at least one dim");
  int64_t d = x->shape[x->ndim - 1];
  const char *roles[2] = { "scale", "shift" };
  for (int i = 0; i < 2; i++)
    {
      const td_tensor *t = op->src[1 + i];
      TRY (check_input (op, t, roles[i], NEED_F32, err));
      if (t->ndim != 1 || t->shape[0] != d)
        return td_error_set (err, TD_ERR_INVALID_ARG, "ada_layer_norm: %s %s should be [%lld] to match the last dim "
                             "of x", roles[i], SHAPE (t), (long long) d);
    }
  if (op->src[3] != NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "ada_layer_norm: input 3 is not used and must be NULL");
  return TD_OK;
}

static td_status
check_group_norm (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  TRY (check_same_shape_f32 (op, err));
  TRY (check_eps (op, err));
  if (x->ndim < 2)
    return td_error_set (err, TD_ERR_INVALID_ARG, "group_norm: x %s must be [B, C, ...]", SHAPE (x));
  int groups = op->p.norm.groups;
  int64_t channels = x->shape[1];
  if (groups <= 0 || channels % groups != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "group_norm: %d groups do not divide the %lld channels of x %s",
                         groups, (long long) channels, SHAPE (x));
  TRY (check_vector (op, op->src[1], "weight", channels, "the channels of x", err));
  return check_vector (op, op->src[2], "bias", channels, "the channels of x", err);
}

static td_status
check_embedding (const td_op *op, td_error *err)
{
  const td_tensor *ids = op->src[0], *table = op->src[1];
  TRY (check_input (op, ids, "ids", NEED_I32, err));
  TRY (check_input (op, table, "table", NEED_ANY, err));
  if (!is_weight_dtype (table->dtype) && !td_dtype_is_quantized (table->dtype))
    return td_error_set (err, TD_ERR_INVALID_ARG, "embedding: table must be f32, f16, bf16 or a ggml block type, not %s",
                         dtype_name (table->dtype));
  if (table->ndim != 2)
    return td_error_set (err, TD_ERR_INVALID_ARG, "embedding: table %s must be [V, D]", SHAPE (table));
  if (ids->ndim + 1 > TD_MAX_DIMS)
    return td_error_set (err, TD_ERR_INVALID_ARG, "embedding: ids %s have too many dims for a [..., D] output",
                         SHAPE (ids));
  int64_t shape[TD_MAX_DIMS];
  memcpy (shape, ids->shape, (size_t) ids->ndim * sizeof *shape);
  shape[ids->ndim] = table->shape[1];
  TRY (check_output (op, TD_F32, ids->ndim + 1, shape, err));
  return check_no_overlap (op, false, err);
}

static td_status
check_concat (const td_op *op, td_error *err)
{
  const td_tensor *a = op->src[0], *b = op->src[1];
  TRY (check_input (op, a, "x0", NEED_ANY, err));
  TRY (check_input (op, b, "x1", NEED_ANY, err));
  int dim = op->p.concat.dim;
  if (dim < -a->ndim || dim >= a->ndim)
    return td_error_set (err, TD_ERR_INVALID_ARG, "concat: dim %d is outside x0 %s", dim, SHAPE (a));
  if (dim < 0)
    dim += a->ndim;
  if (a->dtype != b->dtype)
    return td_error_set (err, TD_ERR_INVALID_ARG, "concat: x0 is %s but x1 is %s", dtype_name (a->dtype),
                         dtype_name (b->dtype));
  bool fits = a->ndim == b->ndim;
  for (int i = 0; fits && i < a->ndim; i++)
    fits = i == dim || a->shape[i] == b->shape[i];
  if (!fits)
    return td_error_set (err, TD_ERR_INVALID_ARG, "concat: x0 %s and x1 %s differ outside dim %d", SHAPE (a), SHAPE (b),
                         dim);
  int64_t shape[TD_MAX_DIMS];
  memcpy (shape, a->shape, sizeof shape);
  shape[dim] += b->shape[dim];
  TRY (check_output (op, a->dtype, a->ndim, shape, err));
  return check_no_overlap (op, false, err);
}

static td_status
check_copy (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *y = op->dst;
  TRY (check_sane (op, x, "x", err));
  TRY (check_sane (op, y, "y", err));
  /* Floats convert between each other; any other dtype copies only to itself. */
  bool convertible = x->dtype == y->dtype || (is_float_dtype (x->dtype) && is_float_dtype (y->dtype));
  if (!convertible)
    return td_error_set (err, TD_ERR_INVALID_ARG, "copy: cannot convert %s to %s", dtype_name (x->dtype),
                         dtype_name (y->dtype));
  TRY (check_output (op, y->dtype, x->ndim, x->shape, err));
  return check_no_overlap (op, false, err);
}

static td_status
check_pick (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *y = op->dst;
  const char *name = td_op_name (op->type);
  TRY (check_input (op, x, op->type == TD_OP_SAMPLE ? "logits" : "x", NEED_F32, err));
  if (x->ndim < 1 || x->shape[x->ndim - 1] == 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: x %s has no last dim to choose from", name, SHAPE (x));
  if (op->type == TD_OP_SAMPLE)
    {
      float temperature = op->p.sample.temperature, top_p = op->p.sample.top_p;
      if (isnan (temperature) || isinf (temperature))
        return td_error_set (err, TD_ERR_INVALID_ARG, "sample: temperature %g is not finite", (double) temperature);
      if (!(top_p >= 0.0f && top_p <= 1.0f))
        return td_error_set (err, TD_ERR_INVALID_ARG, "sample: top_p %g is outside [0, 1]", (double) top_p);
    }
  /* y is x's leading dims, optionally with a trailing 1 (keepdim). */
  int64_t shape[TD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  int ndim = x->ndim - 1;
  if (y->ndim == x->ndim && y->shape[ndim] == 1)
    shape[ndim++] = 1;
  TRY (check_output (op, TD_I32, ndim, shape, err));
  return check_no_overlap (op, false, err);
}

td_status
td_op_check_dense (const td_op *op, td_error *err)
{
  switch (op->type)
    {
    case TD_OP_MATMUL: return check_matmul (op, err);
    case TD_OP_MATMUL_NORM_ROPE: return check_matmul_norm_rope (op, err);
    case TD_OP_ADD:
    case TD_OP_MUL: return check_binary (op, err);
    case TD_OP_SCALE:
    case TD_OP_SOFTMAX: return check_same_shape_f32 (op, err);
    case TD_OP_UNARY: return check_unary (op, err);
    case TD_OP_LAYER_NORM:
    case TD_OP_RMS_NORM: return check_row_norm (op, err);
    case TD_OP_ADA_LAYER_NORM: return check_ada_layer_norm (op, err);
    case TD_OP_GROUP_NORM: return check_group_norm (op, err);
    case TD_OP_EMBEDDING: return check_embedding (op, err);
    case TD_OP_CONCAT: return check_concat (op, err);
    case TD_OP_COPY: return check_copy (op, err);
    case TD_OP_ARGMAX:
    case TD_OP_SAMPLE: return check_pick (op, err);
    default:
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s is not a dense op", td_op_name (op->type));
    }
}
