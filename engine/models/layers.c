#include "models/layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void
td_layer_fail (td_layer_ctx *ctx, td_status status)
{
  if (ctx->status == TD_OK)
    ctx->status = status;
}

static bool
check (td_layer_ctx *ctx, td_status status)
{
  if (status != TD_OK)
    td_layer_fail (ctx, status);
  return status == TD_OK;
}

static td_tensor *
checked (td_layer_ctx *ctx, td_tensor *t)
{
  if (t == NULL)
    td_layer_fail (ctx, ctx->err != NULL && ctx->err->status != TD_OK ? ctx->err->status : TD_ERR_NO_MEMORY);
  return t;
}

td_tensor *
td_layer_new (td_layer_ctx *ctx, td_dtype dtype, int ndim, const int64_t *shape)
{
  if (!td_layer_ok (ctx))
    return NULL;
  return checked (ctx, td_tensor_new (ctx->backend, dtype, ndim, shape, ctx->err));
}

td_tensor *
td_layer_from_host (td_layer_ctx *ctx, td_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
  td_tensor *t = td_layer_new (ctx, dtype, ndim, shape);
  if (t != NULL && !check (ctx, td_tensor_upload (t, data, td_tensor_nbytes (t), ctx->err)))
    {
      td_tensor_free (t);
      return NULL;
    }
  return t;
}

td_tensor *
td_layer_reshape (td_layer_ctx *ctx, const td_tensor *x, int ndim, const int64_t *shape)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  return checked (ctx, td_tensor_reshape (x, ndim, shape, ctx->err));
}

td_tensor *
td_layer_contiguous (td_layer_ctx *ctx, const td_tensor *x)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  td_tensor *y = td_layer_new (ctx, x->dtype, x->ndim, x->shape);
  if (y != NULL && !check (ctx, td_copy (ctx->backend, y, x, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

td_tensor *
td_layer_slice (td_layer_ctx *ctx, const td_tensor *x, int dim, int64_t start, int64_t length)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  td_tensor *view = checked (ctx, td_tensor_slice (x, dim, start, length, ctx->err));
  td_tensor *y = td_layer_contiguous (ctx, view);
  td_tensor_free (view);
  return y;
}

/* A new f32 tensor shaped like x but with the last dim replaced. */
static td_tensor *
new_like_last (td_layer_ctx *ctx, const td_tensor *x, int64_t last)
{
  int64_t shape[TD_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++)
    shape[i] = x->shape[i];
  shape[x->ndim - 1] = last;
  return td_layer_new (ctx, TD_F32, x->ndim, shape);
}

/* prefix + suffix, checked to have NDIM dimensions of these sizes (TD_ANY: any), then
 * fetched. Errors name the checkpoint and the tensor. */
static const td_tensor *
weight (td_layer_ctx *ctx, const char *prefix, const char *suffix, int ndim, const int64_t *shape)
{
  if (!td_layer_ok (ctx))
    return NULL;
  char name[512];
  snprintf (name, sizeof name, "%s%s", prefix, suffix);
  td_status st = td_weights_expect (ctx->weights, name, ndim, shape, ctx->err);
  const td_tensor *w = st == TD_OK ? td_weights_get (ctx->weights, name, ctx->err) : NULL;
  if (w == NULL)
    td_layer_fail (ctx, st != TD_OK ? st : ctx->err != NULL ? ctx->err->status : TD_ERR_NOT_FOUND);
  return w;
}

/* As weight, but NULL without an error when the tensor is absent (biases). */
static const td_tensor *
optional_weight (td_layer_ctx *ctx, const char *prefix, const char *suffix, int ndim, const int64_t *shape)
{
  char name[512];
  snprintf (name, sizeof name, "%s%s", prefix, suffix);
  if (!td_layer_ok (ctx) || !td_weights_has (ctx->weights, name))
    return NULL;
  return weight (ctx, prefix, suffix, ndim, shape);
}

/* A 1-D [size] parameter (norm scale, bias). */
static const td_tensor *
vector (td_layer_ctx *ctx, const char *prefix, const char *suffix, int64_t size, bool required)
{
  return required ? weight (ctx, prefix, suffix, 1, &size) : optional_weight (ctx, prefix, suffix, 1, &size);
}

/* Refuses a scalar where a layer works over the last dimension. */
static bool
has_last_dim (td_layer_ctx *ctx, const td_tensor *x)
{
  if (x->ndim < 1 && td_layer_ok (ctx))
    td_layer_fail (ctx, td_error_set (ctx->err, TD_ERR_INVALID_ARG, "a layer's input has no dimensions"));
  return x->ndim >= 1;
}

/* x · wᵀ + b, then activation (a td_unary_kind) when activate. */
static td_tensor *
linear_w (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b, bool activate,
          td_unary_kind activation)
{
  if (!td_layer_ok (ctx) || x == NULL || w == NULL)
    return NULL;
  if (x->ndim < 1 || w->ndim != 2 || w->shape[1] != x->shape[x->ndim - 1] || (b != NULL && (b->ndim != 1 || b->shape[0] != w->shape[0])))
    {
      char ws[96], xs[96];
      td_layer_fail (ctx, td_error_set (ctx->err, TD_ERR_FORMAT, "%s: a linear weight of shape %s does not fit an input "
                                        "of shape %s", td_weights_path (ctx->weights),
                                        td_shape_string (w->ndim, w->shape, ws, sizeof ws),
                                        td_shape_string (x->ndim, x->shape, xs, sizeof xs)));
      return NULL;
    }
  td_tensor *y = new_like_last (ctx, x, w->shape[w->ndim - 2]);
  if (y == NULL)
    return NULL;
  td_status st = activate ? td_matmul_act (ctx->backend, y, x, w, b, activation, ctx->err)
                          : td_matmul (ctx->backend, y, x, w, b, ctx->err);
  if (!check (ctx, st))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

td_tensor *
td_layer_linear_w (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b)
{
  return linear_w (ctx, x, w, b, false, 0);
}

td_tensor *
td_layer_linear_w_act (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                       td_unary_kind activation)
{
  return linear_w (ctx, x, w, b, true, activation);
}

/* fp8 checkpoints as ComfyUI writes them store W/s in fp8 with the per-tensor
 * scale s as prefix.scale_weight; returns 1 when there is none. */
bool
td_layer_fp8_scale (td_layer_ctx *ctx, const td_tensor *w, const char *prefix, float *scale)
{
  *scale = 1.0f;
  char name[512];
  snprintf (name, sizeof name, "%s.scale_weight", prefix);
  if ((w->dtype != TD_F8_E4M3 && w->dtype != TD_F8_E5M2) || !td_weights_has (ctx->weights, name))
    return true;
  const td_tensor *s = td_weights_get_host (ctx->weights, name, ctx->err);
  if (s == NULL)
    return check (ctx, ctx->err->status);
  if (td_tensor_numel (s) != 1 || !td_dtype_is_float (s->dtype))
    return check (ctx, td_error_set (ctx->err, TD_ERR_FORMAT, "%s: '%s' should be one float, the weight's scale",
                                     td_weights_path (ctx->weights), name));
  float *value = td_tensor_to_f32 (s, ctx->err);
  if (value == NULL)
    return check (ctx, ctx->err->status);
  *scale = value[0];
  free (value);
  if (!isfinite (*scale))
    return check (ctx, td_error_set (ctx->err, TD_ERR_FORMAT, "%s: '%s' is not a finite number",
                                     td_weights_path (ctx->weights), name));
  return true;
}

static td_tensor *linear_scaled (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                                 float scale, bool activate, td_unary_kind activation);

static td_tensor *
linear (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, bool activate, td_unary_kind activation)
{
  if (x == NULL || !has_last_dim (ctx, x))
    return NULL;
  const int64_t w_shape[2] = { TD_ANY, x->shape[x->ndim - 1] };
  const td_tensor *w = weight (ctx, prefix, ".weight", 2, w_shape);
  float scale;
  if (w == NULL || !td_layer_fp8_scale (ctx, w, prefix, &scale))
    return NULL;
  const td_tensor *b = vector (ctx, prefix, ".bias", w->shape[0], false);
  return linear_scaled (ctx, x, w, b, scale, activate, activation);
}

td_tensor *
td_layer_linear (td_layer_ctx *ctx, const td_tensor *x, const char *prefix)
{
  return linear (ctx, x, prefix, false, 0);
}

td_tensor *
td_layer_linear_act (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, td_unary_kind activation)
{
  return linear (ctx, x, prefix, true, activation);
}

td_tensor *
td_layer_linear_wp (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                    const char *prefix)
{
  float scale;
  if (x == NULL || w == NULL || !td_layer_fp8_scale (ctx, w, prefix, &scale))
    return NULL;
  return linear_scaled (ctx, x, w, b, scale, false, 0);
}

td_tensor *
td_layer_linear_wp_act (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                        const char *prefix, td_unary_kind activation)
{
  float scale;
  if (x == NULL || w == NULL || !td_layer_fp8_scale (ctx, w, prefix, &scale))
    return NULL;
  return linear_scaled (ctx, x, w, b, scale, true, activation);
}

/* x · (s·W)ᵀ + b = s · (x · Wᵀ) + b; with a scale the activation comes after it, so not
 * in the matmul's epilogue. */
static td_tensor *
linear_scaled (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b, float scale,
               bool activate, td_unary_kind activation)
{
  if (scale == 1.0f)
    return linear_w (ctx, x, w, b, activate, activation);
  td_tensor *y = td_layer_linear_w (ctx, x, w, NULL);
  if (y != NULL && !check (ctx, td_scale (ctx->backend, y, y, scale, 0.0f, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  if (b != NULL)
    td_layer_add_ (ctx, y, b);
  if (activate)
    td_layer_unary_ (ctx, y, activation);
  if (!td_layer_ok (ctx))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

/* Below this many rows the projection and its norm/rope run as separate ops. */
#define FUSED_ROPE_MIN_ROWS 8

bool
td_layer_linear_wp_norm_rope (td_layer_ctx *ctx, td_tensor *y, const td_tensor *x, const td_tensor *w,
                              const td_tensor *b, const char *prefix, bool normalise, const td_tensor *norm_w,
                              float eps, const td_tensor *cos, const td_tensor *sin, td_rope_mode mode)
{
  float scale;
  if (!td_layer_ok (ctx) || y == NULL || x == NULL || w == NULL || !td_layer_fp8_scale (ctx, w, prefix, &scale))
    return false;
  /* The fused epilogue runs one workgroup per head; for a decoded row that is a few
   * workgroups (Qwen2-VL-7B's k: 4), so short inputs keep the wide GEMV and a rope pass. */
  const int64_t last = x->ndim > 0 ? x->shape[x->ndim - 1] : 0;
  const int64_t rows = last > 0 ? td_tensor_numel (x) / last : 0;
  if (scale == 1.0f && rows >= FUSED_ROPE_MIN_ROWS)
    return check (ctx, td_matmul_norm_rope (ctx->backend, y, x, w, b, normalise, norm_w, eps, cos, sin, mode,
                                            ctx->err));
  /* Separate passes (an fp8 scale comes between the product and the norm). */
  td_tensor *flat = linear_scaled (ctx, x, w, b, scale, false, 0);
  td_tensor *heads = td_layer_reshape (ctx, flat, y->ndim, y->shape);
  td_tensor_free (flat);
  bool ok = heads != NULL
            && check (ctx, normalise ? td_rms_norm_rope (ctx->backend, y, heads, norm_w, eps, cos, sin, mode, ctx->err)
                                     : td_rope (ctx->backend, y, heads, cos, sin, mode, ctx->err));
  td_tensor_free (heads);
  return ok;
}

bool
td_layer_linear_rope (td_layer_ctx *ctx, td_tensor *y, const td_tensor *x, const char *prefix, const td_tensor *cos,
                      const td_tensor *sin, td_rope_mode mode)
{
  if (!td_layer_ok (ctx) || x == NULL || !has_last_dim (ctx, x))
    return false;
  const int64_t w_shape[2] = { TD_ANY, x->shape[x->ndim - 1] };
  const td_tensor *w = weight (ctx, prefix, ".weight", 2, w_shape);
  const td_tensor *b = w != NULL ? vector (ctx, prefix, ".bias", w->shape[0], false) : NULL;
  return td_layer_linear_wp_norm_rope (ctx, y, x, w, b, prefix, false, NULL, 0.0f, cos, sin, mode);
}

td_tensor *
td_layer_layer_norm (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, float eps)
{
  if (x == NULL || !has_last_dim (ctx, x))
    return NULL;
  const int64_t c = x->shape[x->ndim - 1];
  const td_tensor *w = vector (ctx, prefix, ".weight", c, true);
  const td_tensor *b = vector (ctx, prefix, ".bias", c, false);
  if (w == NULL || !td_layer_ok (ctx))
    return NULL;
  td_tensor *y = td_layer_new (ctx, TD_F32, x->ndim, x->shape);
  if (y != NULL && !check (ctx, td_layer_norm (ctx->backend, y, x, w, b, eps, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

td_tensor *
td_layer_rms_norm (td_layer_ctx *ctx, const td_tensor *x, const char *weight_name, float eps)
{
  if (x == NULL || !has_last_dim (ctx, x))
    return NULL;
  const td_tensor *w = vector (ctx, weight_name, "", x->shape[x->ndim - 1], true);
  if (w == NULL)
    return NULL;
  td_tensor *y = td_layer_new (ctx, TD_F32, x->ndim, x->shape);
  if (y != NULL && !check (ctx, td_rms_norm (ctx->backend, y, x, w, eps, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

td_tensor *
td_layer_group_norm (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, int groups, float eps)
{
  if (x == NULL || x->ndim < 2)
    return NULL;
  const td_tensor *w = vector (ctx, prefix, ".weight", x->shape[1], true);
  const td_tensor *b = vector (ctx, prefix, ".bias", x->shape[1], true);
  if (w == NULL || b == NULL)
    return NULL;
  td_tensor *y = td_layer_new (ctx, TD_F32, x->ndim, x->shape);
  if (y != NULL && !check (ctx, td_group_norm (ctx->backend, y, x, w, b, groups, eps, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

td_tensor *
td_layer_conv2d (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, int stride, int pad)
{
  if (x == NULL || x->ndim != 4)
    return NULL;
  const int64_t w_shape[4] = { TD_ANY, x->shape[1], TD_ANY, TD_ANY };
  const td_tensor *w = weight (ctx, prefix, ".weight", 4, w_shape);
  const td_tensor *b = w != NULL ? vector (ctx, prefix, ".bias", w->shape[0], false) : NULL;
  if (w == NULL || !td_layer_ok (ctx))
    return NULL;
  if (w->shape[2] < 1 || w->shape[3] < 1 || stride < 1 || x->shape[2] + 2 * pad < w->shape[2]
      || x->shape[3] + 2 * pad < w->shape[3])
    {
      char ws[96];
      td_layer_fail (ctx, td_error_set (ctx->err, TD_ERR_FORMAT, "%s: tensor '%s.weight' has shape %s, a kernel larger "
                                        "than its input", td_weights_path (ctx->weights), prefix,
                                        td_shape_string (w->ndim, w->shape, ws, sizeof ws)));
      return NULL;
    }
  int64_t ho = (x->shape[2] + 2 * pad - w->shape[2]) / stride + 1;
  int64_t wo = (x->shape[3] + 2 * pad - w->shape[3]) / stride + 1;
  const int64_t shape[4] = { x->shape[0], w->shape[0], ho, wo };
  td_tensor *y = td_layer_new (ctx, TD_F32, 4, shape);
  if (y != NULL && !check (ctx, td_conv2d (ctx->backend, y, x, w, b, stride, stride, pad, pad, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

td_tensor *
td_layer_unary_ (td_layer_ctx *ctx, td_tensor *x, td_unary_kind kind)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  check (ctx, td_unary (ctx->backend, x, x, kind, ctx->err));
  return x;
}

td_tensor *
td_layer_add_ (td_layer_ctx *ctx, td_tensor *x, const td_tensor *y)
{
  if (!td_layer_ok (ctx) || x == NULL || y == NULL)
    return NULL;
  check (ctx, td_add (ctx->backend, x, x, y, ctx->err));
  return x;
}

td_tensor *
td_layer_mul_ (td_layer_ctx *ctx, td_tensor *x, const td_tensor *y)
{
  if (!td_layer_ok (ctx) || x == NULL || y == NULL)
    return NULL;
  check (ctx, td_mul (ctx->backend, x, x, y, ctx->err));
  return x;
}

td_tensor *
td_layer_scale_ (td_layer_ctx *ctx, td_tensor *x, float scale, float bias)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  check (ctx, td_scale (ctx->backend, x, x, scale, bias, ctx->err));
  return x;
}

td_tensor *
td_layer_attention (td_layer_ctx *ctx, const td_tensor *q, const td_tensor *k, const td_tensor *v,
                    const td_tensor *bias, float scale, bool causal)
{
  if (!td_layer_ok (ctx) || q == NULL || k == NULL || v == NULL)
    return NULL;
  const int64_t shape[4] = { q->shape[0], q->shape[1], q->shape[2], v->shape[3] };
  td_tensor *out = td_layer_new (ctx, TD_F32, 4, shape);
  if (out != NULL && !check (ctx, td_attention (ctx->backend, out, q, k, v, bias, scale, causal, ctx->err)))
    {
      td_tensor_free (out);
      return NULL;
    }
  return out;
}

td_tensor *
td_layer_concat (td_layer_ctx *ctx, const td_tensor *a, const td_tensor *b, int dim)
{
  if (!td_layer_ok (ctx) || a == NULL || b == NULL)
    return NULL;
  int64_t shape[TD_MAX_DIMS];
  for (int i = 0; i < a->ndim; i++)
    shape[i] = a->shape[i];
  shape[dim] = a->shape[dim] + b->shape[dim];
  td_tensor *y = td_layer_new (ctx, a->dtype, a->ndim, shape);
  if (y != NULL && !check (ctx, td_concat (ctx->backend, y, a, b, dim, ctx->err)))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}

float *
td_layer_read_f32 (td_layer_ctx *ctx, const td_tensor *x)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  if (!check (ctx, td_backend_sync (ctx->backend, ctx->err)))
    return NULL;
  float *data = td_tensor_to_f32 (x, ctx->err);
  if (data == NULL)
    td_layer_fail (ctx, ctx->err != NULL ? ctx->err->status : TD_ERR_NO_MEMORY);
  return data;
}
