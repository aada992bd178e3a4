/* qwen2vl_vision.c — the Qwen2-VL vision tower: patch embedding, ViT blocks with
 * 2-D rotary positions (each image attends only to itself), and the merger that
 * turns each 2×2 block of patches into one language-model token. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/qwen2vl_private.h"
#include "models/rope_tables.h"

#define VISION_EPS 1e-6f

/* A view of a weight (no copy); NULL and a failure recorded when missing. */
static td_tensor *
weight_view (td_layer_ctx *ctx, const char *name, int dim, int64_t start, int64_t length)
{
  if (!td_layer_ok (ctx))
    return NULL;
  const td_tensor *w = td_weights_get (ctx->weights, name, ctx->err);
  td_tensor *view = w ? td_tensor_slice (w, dim, start, length, ctx->err) : NULL;
  if (view == NULL)
    td_layer_fail (ctx, ctx->err != NULL && ctx->err->status != TD_OK ? ctx->err->status : TD_ERR_NOT_FOUND);
  return view;
}

/* cos/sin [N, head_dim / 2] for every patch of every image, on the backend. */
static td_status
vision_rope (td_qwen2vl *model, td_layer_ctx *ctx, const int (*grids)[3], int n_images, int64_t n_patches,
             td_tensor **cos, td_tensor **sin)
{
  const td_qwen2vl_vision_config *vc = &model->config.vision;
  const int half = vc->embed_dim / vc->num_heads / 2;
  float *c = malloc ((size_t) n_patches * half * sizeof *c);
  float *s = malloc ((size_t) n_patches * half * sizeof *s);
  td_status st = c && s ? TD_OK : td_error_set (ctx->err, TD_ERR_NO_MEMORY, "Qwen2-VL vision: out of memory");
  int64_t row = 0;
  for (int i = 0; i < n_images && st == TD_OK; i++)
    {
      st = td_rope_table_qwen2vl_vision (grids[i][0], grids[i][1], grids[i][2], vc->merge_size, 2 * half,
                                         vc->rope_theta, c + row * half, s + row * half, ctx->err);
      row += (int64_t) grids[i][0] * grids[i][1] * grids[i][2];
    }
  const int64_t shape[2] = { n_patches, half };
  if (st != TD_OK)
    td_layer_fail (ctx, st);
  *cos = td_layer_from_host (ctx, TD_F32, 2, shape, c);
  *sin = td_layer_from_host (ctx, TD_F32, 2, shape, s);
  free (c);
  free (s);
  return ctx->status;
}

/* Non-causal attention restricted to each image's own patches ([1, N, H, D] each). */
static td_tensor *
attend_per_image (td_layer_ctx *ctx, const td_tensor *q, const td_tensor *k, const td_tensor *v,
                  const int (*grids)[3], int n_images)
{
  if (!td_layer_ok (ctx))
    return NULL;
  float scale = 1.0f / sqrtf ((float) q->shape[3]);
  if (n_images == 1)
    return td_layer_attention (ctx, q, k, v, NULL, scale, false);
  td_tensor *out = td_layer_new (ctx, TD_F32, 4, q->shape);
  int64_t start = 0;
  for (int i = 0; i < n_images && td_layer_ok (ctx); i++)
    {
      int64_t len = (int64_t) grids[i][0] * grids[i][1] * grids[i][2];
      td_tensor *views[4] = { NULL, NULL, NULL, NULL };
      const td_tensor *whole[4] = { out, q, k, v };
      for (int j = 0; j < 4; j++)
        if ((views[j] = td_tensor_slice (whole[j], 1, start, len, ctx->err)) == NULL)
          td_layer_fail (ctx, TD_ERR_INVALID_ARG);
      td_status st = td_layer_ok (ctx) ? td_attention (ctx->backend, views[0], views[1], views[2], views[3], NULL,
                                                       scale, false, ctx->err)
                                       : TD_OK;
      if (st != TD_OK)
        td_layer_fail (ctx, st);
      for (int j = 0; j < 4; j++)
        td_tensor_free (views[j]);
      start += len;
    }
  return out;
}

static td_tensor *
vision_attention (td_qwen2vl *model, td_layer_ctx *ctx, const td_tensor *h, const td_tensor *cos,
                  const td_tensor *sin, const int (*grids)[3], int n_images, int block)
{
  const td_qwen2vl_vision_config *vc = &model->config.vision;
  const int64_t n = h->shape[1], E = vc->embed_dim;
  const int64_t heads[4] = { 1, n, vc->num_heads, E / vc->num_heads };
  char w_name[128], b_name[128], qkv_prefix[128];
  snprintf (qkv_prefix, sizeof qkv_prefix, "visual.blocks.%d.attn.qkv", block);
  snprintf (w_name, sizeof w_name, "visual.blocks.%d.attn.qkv.weight", block);
  snprintf (b_name, sizeof b_name, "visual.blocks.%d.attn.qkv.bias", block);

  /* The fused qkv projection as three matmuls over row blocks of its weight. */
  td_tensor *qkv[3] = { NULL, NULL, NULL };
  for (int i = 0; i < 3; i++)
    {
      td_tensor *w = weight_view (ctx, w_name, 0, i * E, E);
      td_tensor *b = weight_view (ctx, b_name, 0, i * E, E);
      td_tensor *flat = td_layer_linear_wp (ctx, h, w, b, qkv_prefix); /* [1, N, E] */
      td_tensor *split = td_layer_reshape (ctx, flat, 4, heads);
      td_tensor_free (flat);
      td_tensor_free (w);
      td_tensor_free (b);
      if (i < 2 && split != NULL)
        {
          qkv[i] = td_layer_new (ctx, TD_F32, 4, heads);
          td_status st = qkv[i] ? td_rope (ctx->backend, qkv[i], split, cos, sin, TD_ROPE_HALF_SPLIT, ctx->err)
                                : TD_OK;
          if (st != TD_OK)
            td_layer_fail (ctx, st);
          td_tensor_free (split);
        }
      else
        qkv[i] = split;
    }

  td_tensor *attended = attend_per_image (ctx, qkv[0], qkv[1], qkv[2], grids, n_images);
  for (int i = 0; i < 3; i++)
    td_tensor_free (qkv[i]);
  const int64_t flat_shape[3] = { 1, n, E };
  td_tensor *flat = td_layer_reshape (ctx, attended, 3, flat_shape);
  td_tensor_free (attended);
  snprintf (w_name, sizeof w_name, "visual.blocks.%d.attn.proj", block);
  td_tensor *out = td_layer_linear (ctx, flat, w_name);
  td_tensor_free (flat);
  return out;
}

static void
vision_block (td_qwen2vl *model, td_layer_ctx *ctx, td_tensor *x, const td_tensor *cos, const td_tensor *sin,
              const int (*grids)[3], int n_images, int block)
{
  char name[128];
  snprintf (name, sizeof name, "visual.blocks.%d.norm1", block);
  td_tensor *h = td_layer_layer_norm (ctx, x, name, VISION_EPS);
  td_tensor *attn = h ? vision_attention (model, ctx, h, cos, sin, grids, n_images, block) : NULL;
  td_tensor_free (h);
  td_layer_add_ (ctx, x, attn);
  td_tensor_free (attn);

  snprintf (name, sizeof name, "visual.blocks.%d.norm2", block);
  h = td_layer_layer_norm (ctx, x, name, VISION_EPS);
  snprintf (name, sizeof name, "visual.blocks.%d.mlp.fc1", block);
  td_tensor *inner = td_layer_linear_act (ctx, h, name, model->config.vision.activation);
  td_tensor_free (h);
  snprintf (name, sizeof name, "visual.blocks.%d.mlp.fc2", block);
  td_tensor *ff = td_layer_linear (ctx, inner, name);
  td_tensor_free (inner);
  td_layer_add_ (ctx, x, ff);
  td_tensor_free (ff);
}

/* ln_q, then each merge_size² consecutive patches (one 2×2 block in the processor's
 * order) become one row through Linear, GELU, Linear. */
static td_tensor *
merge_patches (td_qwen2vl *model, td_layer_ctx *ctx, const td_tensor *x)
{
  const td_qwen2vl_vision_config *vc = &model->config.vision;
  const int64_t group = (int64_t) vc->merge_size * vc->merge_size;
  td_tensor *normed = td_layer_layer_norm (ctx, x, "visual.merger.ln_q", VISION_EPS);
  const int64_t merged_shape[3] = { 1, x->shape[1] / group, group * vc->embed_dim };
  td_tensor *merged = td_layer_reshape (ctx, normed, 3, merged_shape);
  td_tensor_free (normed);
  td_tensor *inner = td_layer_linear_act (ctx, merged, "visual.merger.mlp.0", TD_UNARY_GELU);
  td_tensor_free (merged);
  td_tensor *out = td_layer_linear (ctx, inner, "visual.merger.mlp.2");
  td_tensor_free (inner);
  const int64_t out_shape[2] = { x->shape[1] / group, vc->out_dim };
  td_tensor *flat = td_layer_reshape (ctx, out, 2, out_shape);
  td_tensor_free (out);
  return flat;
}

static td_status
check_images (const td_qwen2vl_vision_config *vc, const td_tensor *pixel_values, const int (*grids)[3],
              int n_images, int64_t *n_patches, td_error *err)
{
  const int64_t row = (int64_t) vc->in_channels * vc->temporal_patch_size * vc->patch_size * vc->patch_size;
  if (n_images < 1 || grids == NULL || pixel_values == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL vision: no images");
  int64_t total = 0;
  for (int i = 0; i < n_images; i++)
    {
      const int *g = grids[i];
      if (g[0] < 1 || g[1] < 1 || g[2] < 1 || g[1] % vc->merge_size || g[2] % vc->merge_size
          || g[1] > 65536 || g[2] > 65536 || g[0] > 65536)
        return td_error_set (err, TD_ERR_INVALID_ARG,
                             "Qwen2-VL vision: image %d has grid %d×%d×%d; sides must be positive multiples of %d", i,
                             g[0], g[1], g[2], vc->merge_size);
      total += (int64_t) g[0] * g[1] * g[2];
    }
  if (pixel_values->ndim != 2 || pixel_values->shape[0] != total || pixel_values->shape[1] != row
      || pixel_values->dtype != TD_F32)
    {
      char shape[64];
      return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL vision: pixel_values %s, f32 [%lld, %lld] expected",
                           td_shape_string (pixel_values->ndim, pixel_values->shape, shape, sizeof shape),
                           (long long) total, (long long) row);
    }
  *n_patches = total;
  return TD_OK;
}

td_tensor *
td_qwen2vl_encode_images (td_qwen2vl *model, const td_tensor *pixel_values, const int (*grids)[3], int n_images,
                          td_error *err)
{
  const td_qwen2vl_vision_config *vc = &model->config.vision;
  int64_t n = 0;
  if (check_images (vc, pixel_values, grids, n_images, &n, err) != TD_OK)
    return NULL;

  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  /* Conv3d with kernel = stride over a flattened patch is a matmul with the kernel
   * viewed as [embed_dim, C·T·P·P]. */
  const td_tensor *kernel = td_weights_get (model->weights, "visual.patch_embed.proj.weight", err);
  const int64_t kernel_shape[2] = { vc->embed_dim, pixel_values->shape[1] };
  td_tensor *kernel_flat = NULL;
  if (kernel == NULL)
    td_layer_fail (&ctx, TD_ERR_NOT_FOUND);
  else
    kernel_flat = td_layer_reshape (&ctx, kernel, 2, kernel_shape);
  const int64_t x_shape[3] = { 1, n, pixel_values->shape[1] };
  td_tensor *pixels = td_layer_reshape (&ctx, pixel_values, 3, x_shape);
  td_tensor *x = td_layer_linear_w (&ctx, pixels, kernel_flat, NULL); /* [1, N, embed_dim] */
  td_tensor_free (pixels);
  td_tensor_free (kernel_flat);

  td_tensor *cos = NULL, *sin = NULL;
  if (td_layer_ok (&ctx))
    vision_rope (model, &ctx, grids, n_images, n, &cos, &sin);
  for (int block = 0; block < vc->depth && td_layer_ok (&ctx); block++)
    {
      td_block_stream_before (&model->stream, &ctx, TD_QWEN2VL_VISION_BLOCKS, block);
      vision_block (model, &ctx, x, cos, sin, grids, n_images, block);
      td_block_stream_after (&model->stream, TD_QWEN2VL_VISION_BLOCKS, block);
    }
  td_tensor_free (cos);
  td_tensor_free (sin);
  td_tensor *features = x ? merge_patches (model, &ctx, x) : NULL;
  td_tensor_free (x);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (features);
      td_error_prefix (err, "Qwen2-VL vision tower");
      return NULL;
    }
  return features;
}
