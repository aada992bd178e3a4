/* op_check_spatial.c — shape, dtype and contiguity checks for ROPE, ATTENTION,
 * RMS_NORM_ROPE, CONV2D, UPSAMPLE_NEAREST2X, RESIZE_BILINEAR and RESIZE_BICUBIC.
 *
 * Every rejection names the op, the operand and what was expected, so a model
 * loader that wires a tensor wrongly gets a message it can act on.
 */
#include "backend/op_check.h"

#include <math.h>
#include <stdio.h>

static const char *const operand_names[TD_OP_COUNT][TD_OP_MAX_SRC] = {
  [TD_OP_ROPE] = { "x", "cos", "sin", NULL },
  [TD_OP_RMS_NORM_ROPE] = { "x", "weight", "cos", "sin" },
  [TD_OP_ATTENTION] = { "q", "k", "v", "bias" },
  [TD_OP_CONV2D] = { "x", "weight", "bias", NULL },
  [TD_OP_UPSAMPLE_NEAREST2X] = { "x", NULL, NULL, NULL },
  [TD_OP_RESIZE_BILINEAR] = { "x", NULL, NULL, NULL },
  [TD_OP_RESIZE_BICUBIC] = { "x", NULL, NULL, NULL },
};

/* Formats a shape into a caller-provided buffer for messages. */
#define SHAPE(t, buf) td_shape_string ((t)->ndim, (t)->shape, (buf), sizeof (buf))

static const char *
operand_name (const td_op *op, int index)
{
  const char *name = operand_names[op->type][index];
  return name != NULL ? name : "unused input";
}

/* Inputs an op does not take must be NULL: a stray tensor means the caller
 * wired the op wrongly. */
static td_status
check_unused (const td_op *op, int first_unused, td_error *err)
{
  for (int i = first_unused; i < TD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL)
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s: input %d is not used by this op and must be NULL",
                           td_op_name (op->type), i);
  return TD_OK;
}

static td_status
check_present (const td_op *op, int index, td_error *err)
{
  if (op->src[index] == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s (input %d) is missing", td_op_name (op->type),
                         operand_name (op, index), index);
  return TD_OK;
}

static td_status
check_contiguous (const td_op *op, int index, td_error *err)
{
  if (!td_tensor_is_contiguous (op->src[index]))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must be contiguous (materialise the view with a copy first)",
                         td_op_name (op->type), operand_name (op, index));
  return TD_OK;
}

/* Checks the input is f32 (activations, tables, masks) and contiguous. */
static td_status
check_f32_input (const td_op *op, int index, td_error *err)
{
  const td_tensor *t = op->src[index];
  if (t->dtype != TD_F32)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must be f32, got %s", td_op_name (op->type),
                         operand_name (op, index), td_dtype_name (t->dtype));
  return check_contiguous (op, index, err);
}

/* Keys and values may come from a key/value cache kept in f16 or bf16; both share one dtype. */
static td_status
check_kv_inputs (const td_op *op, td_error *err)
{
  const td_tensor *k = op->src[1], *v = op->src[2];
  if (k->dtype != TD_F32 && k->dtype != TD_F16 && k->dtype != TD_BF16)
    return td_error_set (err, TD_ERR_INVALID_ARG, "attention: k must be f32, f16 or bf16, got %s",
                         td_dtype_name (k->dtype));
  if (v->dtype != k->dtype)
    return td_error_set (err, TD_ERR_INVALID_ARG, "attention: v (%s) must have k's dtype (%s)",
                         td_dtype_name (v->dtype), td_dtype_name (k->dtype));
  td_status s = check_contiguous (op, 1, err);
  return s != TD_OK ? s : check_contiguous (op, 2, err);
}

static td_status
check_rank (const td_op *op, const td_tensor *t, const char *what, int ndim, td_error *err)
{
  char buf[96];
  if (t->ndim != ndim)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s must have %d dims, got %s", td_op_name (op->type), what,
                         ndim, SHAPE (t, buf));
  return TD_OK;
}

static td_status
check_dst_f32 (const td_op *op, td_error *err)
{
  if (op->dst->dtype != TD_F32)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: the output must be f32, got %s", td_op_name (op->type),
                         td_dtype_name (op->dst->dtype));
  return TD_OK;
}

/* dst must have exactly `ndim` dims equal to `shape`. */
static td_status
check_dst_shape (const td_op *op, int ndim, const int64_t *shape, td_error *err)
{
  char want[96], got[96];
  bool same = op->dst->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = op->dst->shape[i] == shape[i];
  if (!same)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: the output must have shape %s, got %s",
                         td_op_name (op->type), td_shape_string (ndim, shape, want, sizeof want),
                         SHAPE (op->dst, got));
  return TD_OK;
}

/* x [..., T, H, D] against cos/sin tables [T, R/2] with R <= D, and the pairing mode. */
static td_status
check_rope_tables (const td_op *op, const td_tensor *x, const td_tensor *cos_t, const td_tensor *sin_t,
                   td_rope_mode mode, td_error *err)
{
  const char *name = td_op_name (op->type);
  char xs[96], cs[96], ss[96];
  td_status s;
  if (mode != TD_ROPE_HALF_SPLIT && mode != TD_ROPE_INTERLEAVED)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: unknown mode %d", name, (int) mode);
  if (x->ndim < 3)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: x must be [..., T, H, D] with at least 3 dims, got %s", name,
                         SHAPE (x, xs));
  if ((s = check_rank (op, cos_t, "cos", 2, err)) || (s = check_rank (op, sin_t, "sin", 2, err)))
    return s;
  if (!td_tensor_same_shape (cos_t, sin_t))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: cos %s and sin %s must have the same shape", name,
                         SHAPE (cos_t, cs), SHAPE (sin_t, ss));
  int64_t positions = x->shape[x->ndim - 3], head_dim = x->shape[x->ndim - 1];
  if (cos_t->shape[0] != positions)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: cos/sin %s have %lld rows but x %s has T = %lld positions",
                         name, SHAPE (cos_t, cs), (long long) cos_t->shape[0], SHAPE (x, xs), (long long) positions);
  if (2 * cos_t->shape[1] > head_dim)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: cos/sin %s rotate %lld dims but x %s has head dim D = %lld",
                         name, SHAPE (cos_t, cs), (long long) (2 * cos_t->shape[1]), SHAPE (x, xs),
                         (long long) head_dim);
  return check_dst_shape (op, x->ndim, x->shape, err);
}

static td_status
check_rope (const td_op *op, td_error *err)
{
  td_status s;
  if ((s = check_present (op, 1, err)) || (s = check_present (op, 2, err)) || (s = check_unused (op, 3, err)))
    return s;
  if ((s = check_f32_input (op, 0, err)) || (s = check_f32_input (op, 1, err)) || (s = check_f32_input (op, 2, err))
      || (s = check_dst_f32 (op, err)))
    return s;
  return check_rope_tables (op, op->src[0], op->src[1], op->src[2], op->p.rope.mode, err);
}

/* True when the bytes of a and b in one buffer intersect (both contiguous). */
static bool
contiguous_overlap (const td_tensor *a, const td_tensor *b)
{
  if (a->buffer != b->buffer)
    return false;
  size_t a_end = a->offset + td_tensor_nbytes (a), b_end = b->offset + td_tensor_nbytes (b);
  return a->offset < b_end && b->offset < a_end;
}

static td_status
check_rms_norm_rope (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1];
  char xs[96], ws[96];
  float eps = op->p.rope_norm.eps;
  td_status s;
  if ((s = check_present (op, 2, err)) || (s = check_present (op, 3, err)))
    return s;
  if ((s = check_f32_input (op, 0, err)) || (s = check_f32_input (op, 2, err)) || (s = check_f32_input (op, 3, err))
      || (s = check_dst_f32 (op, err)))
    return s;
  if (!(eps >= 0.0f) || eps == INFINITY)
    return td_error_set (err, TD_ERR_INVALID_ARG, "rms_norm_rope: eps %g must be finite and non-negative",
                         (double) eps);
  if (w != NULL)
    {
      if ((s = check_contiguous (op, 1, err)))
        return s;
      if (w->dtype != TD_F32 && w->dtype != TD_F16 && w->dtype != TD_BF16)
        return td_error_set (err, TD_ERR_INVALID_ARG, "rms_norm_rope: weight must be f32, f16 or bf16, got %s",
                             td_dtype_name (w->dtype));
      if (x->ndim < 1 || w->ndim != 1 || w->shape[0] != x->shape[x->ndim - 1])
        return td_error_set (err, TD_ERR_INVALID_ARG, "rms_norm_rope: weight %s should be [D] for x %s",
                             SHAPE (w, ws), SHAPE (x, xs));
    }
  /* A row's partner elements are read after other rows may have been written. */
  if (contiguous_overlap (op->dst, x))
    return td_error_set (err, TD_ERR_INVALID_ARG, "rms_norm_rope: the output overlaps x in memory");
  return check_rope_tables (op, x, op->src[2], op->src[3], op->p.rope_norm.mode, err);
}

static td_status
check_attention_bias (const td_op *op, int64_t B, int64_t H, int64_t Tq, int64_t Tk, td_error *err)
{
  const td_tensor *bias = op->src[3];
  char bs[96];
  td_status s;
  if ((s = check_f32_input (op, 3, err)) || (s = check_rank (op, bias, "bias", 4, err)))
    return s;
  if ((bias->shape[0] != 1 && bias->shape[0] != B) || (bias->shape[1] != 1 && bias->shape[1] != H)
      || bias->shape[2] != Tq || bias->shape[3] != Tk)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "attention: bias %s must be [1 or B=%lld, 1 or H=%lld, Tq=%lld, Tk=%lld]",
                         SHAPE (bias, bs), (long long) B, (long long) H, (long long) Tq, (long long) Tk);
  return TD_OK;
}

static td_status
check_attention (const td_op *op, td_error *err)
{
  const td_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
  char qs[96], ks[96], vs[96];
  td_status s;

  if ((s = check_present (op, 1, err)) || (s = check_present (op, 2, err)))
    return s;
  if ((s = check_f32_input (op, 0, err)) || (s = check_kv_inputs (op, err)) || (s = check_dst_f32 (op, err)))
    return s;
  if ((s = check_rank (op, q, "q", 4, err)) || (s = check_rank (op, k, "k", 4, err))
      || (s = check_rank (op, v, "v", 4, err)))
    return s;
  int64_t B = q->shape[0], Tq = q->shape[1], H = q->shape[2], D = q->shape[3];
  int64_t Tk = k->shape[1], Hkv = k->shape[2];
  if (k->shape[0] != B || k->shape[3] != D)
    return td_error_set (err, TD_ERR_INVALID_ARG, "attention: k %s must be [B=%lld, Tk, Hkv, D=%lld] for q %s",
                         SHAPE (k, ks), (long long) B, (long long) D, SHAPE (q, qs));
  if (v->shape[0] != B || v->shape[1] != Tk || v->shape[2] != Hkv)
    return td_error_set (err, TD_ERR_INVALID_ARG, "attention: v %s must be [B=%lld, Tk=%lld, Hkv=%lld, Dv] for k %s",
                         SHAPE (v, vs), (long long) B, (long long) Tk, (long long) Hkv, SHAPE (k, ks));
  if (Hkv <= 0 || H % Hkv != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "attention: q has %lld heads, which is not a multiple of k/v's %lld heads", (long long) H,
                         (long long) Hkv);
  if (op->src[3] != NULL && (s = check_attention_bias (op, B, H, Tq, Tk, err)))
    return s;
  int64_t out_shape[4] = { B, Tq, H, v->shape[3] };
  return check_dst_shape (op, 4, out_shape, err);
}

static td_status
check_conv2d (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2];
  char xs[96], ws[96], bs[96];
  td_status s;
  int sh = op->p.conv2d.stride_h, sw = op->p.conv2d.stride_w;
  int ph = op->p.conv2d.pad_h, pw = op->p.conv2d.pad_w;

  if ((s = check_present (op, 1, err)) || (s = check_unused (op, 3, err)))
    return s;
  if ((s = check_f32_input (op, 0, err)) || (s = check_contiguous (op, 1, err)) || (s = check_dst_f32 (op, err)))
    return s;
  if (w->dtype != TD_F32 && w->dtype != TD_F16 && w->dtype != TD_BF16)
    return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: weight must be f32, f16 or bf16, got %s",
                         td_dtype_name (w->dtype));
  if ((s = check_rank (op, x, "x", 4, err)) || (s = check_rank (op, w, "weight", 4, err)))
    return s;
  if (sh < 1 || sw < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: strides must be >= 1, got %d×%d", sh, sw);
  if (ph < 0 || pw < 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: padding must be >= 0, got %d×%d", ph, pw);
  if (w->shape[1] != x->shape[1])
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "conv2d: weight %s expects %lld input channels but x %s has %lld (groups = 1 only)",
                         SHAPE (w, ws), (long long) w->shape[1], SHAPE (x, xs), (long long) x->shape[1]);
  int64_t kh = w->shape[2], kw = w->shape[3];
  if (kh < 1 || kw < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: weight %s has an empty kernel", SHAPE (w, ws));
  int64_t padded_h = x->shape[2] + 2 * (int64_t) ph, padded_w = x->shape[3] + 2 * (int64_t) pw;
  if (padded_h < kh || padded_w < kw)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "conv2d: the %lldx%lld kernel is larger than the padded input %lldx%lld of x %s",
                         (long long) kh, (long long) kw, (long long) padded_h, (long long) padded_w, SHAPE (x, xs));
  if (bias != NULL)
    {
      if ((s = check_contiguous (op, 2, err)))
        return s;
      if (!td_dtype_is_float (bias->dtype))
        return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: bias must be a float dtype, got %s",
                             td_dtype_name (bias->dtype));
      if (bias->ndim != 1 || bias->shape[0] != w->shape[0])
        return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: bias %s must be [Cout=%lld]", SHAPE (bias, bs),
                             (long long) w->shape[0]);
    }
  int64_t out_shape[4] = { x->shape[0], w->shape[0], (padded_h - kh) / sh + 1, (padded_w - kw) / sw + 1 };
  return check_dst_shape (op, 4, out_shape, err);
}

/* UPSAMPLE_NEAREST2X, RESIZE_BILINEAR, RESIZE_BICUBIC: [B, C, H, W] → [B, C, Ho, Wo]. */
static td_status
check_resize (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  char xs[96], ds[96];
  td_status s;

  if ((s = check_unused (op, 1, err)) || (s = check_f32_input (op, 0, err)) || (s = check_dst_f32 (op, err)))
    return s;
  if ((s = check_rank (op, x, "x", 4, err)))
    return s;
  if (op->type == TD_OP_UPSAMPLE_NEAREST2X)
    {
      int64_t out_shape[4] = { x->shape[0], x->shape[1], 2 * x->shape[2], 2 * x->shape[3] };
      return check_dst_shape (op, 4, out_shape, err);
    }
  if ((s = check_rank (op, op->dst, "the output", 4, err)))
    return s;
  if (op->dst->shape[0] != x->shape[0] || op->dst->shape[1] != x->shape[1])
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: the output %s must keep x %s's batch and channels",
                         td_op_name (op->type), SHAPE (op->dst, ds), SHAPE (x, xs));
  bool empty_out = op->dst->shape[2] == 0 || op->dst->shape[3] == 0;
  bool empty_in = x->shape[2] == 0 || x->shape[3] == 0;
  if (empty_in && !empty_out)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: cannot resize the empty image x %s to %s",
                         td_op_name (op->type), SHAPE (x, xs), SHAPE (op->dst, ds));
  if (x->shape[2] > INT32_MAX || x->shape[3] > INT32_MAX || op->dst->shape[2] > INT32_MAX
      || op->dst->shape[3] > INT32_MAX)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: image sides must be below 2^31", td_op_name (op->type));
  return TD_OK;
}

td_status
td_op_check_spatial (const td_op *op, td_error *err)
{
  switch (op->type)
    {
    case TD_OP_ROPE: return check_rope (op, err);
    case TD_OP_RMS_NORM_ROPE: return check_rms_norm_rope (op, err);
    case TD_OP_ATTENTION: return check_attention (op, err);
    case TD_OP_CONV2D: return check_conv2d (op, err);
    case TD_OP_UPSAMPLE_NEAREST2X:
    case TD_OP_RESIZE_BILINEAR:
    case TD_OP_RESIZE_BICUBIC:
      return check_resize (op, err);
    default:
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s is not a spatial op", td_op_name (op->type));
    }
}
