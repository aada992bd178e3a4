#include "models/eva_vision.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/layers.h"
#include "models/model_config.h"
#include "models/weight_folder.h"

struct td_eva_vision {
  td_eva_config config;
  td_backend *backend;
  td_weights *weights;
  td_tensor *qkv_bias; /* assembled from q_bias and v_bias when the checkpoint has no fused bias */
  td_block_stream stream;
};

/* A layer's device weights as the forward pass reads them (absent ones are skipped). */
static const char *const layer_weights[] = {
  "layer_norm1.weight", "layer_norm1.bias", "self_attn.qkv.weight", "self_attn.qkv.bias",
  "self_attn.projection.weight", "self_attn.projection.bias", "layer_norm2.weight", "layer_norm2.bias",
  "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias", NULL,
};

static td_status
read_config (td_eva_config *c, const char *dir, td_error *err)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  JsonObject *vision = td_config_object (config, NULL, "vision_config");
  long long v[6];
  double eps;
  const char *act;
  td_status st;
  if ((st = td_config_int (config, vision, "hidden_size", false, 1408, 1, 1 << 16, &v[0], err))
      || (st = td_config_int (config, vision, "intermediate_size", false, 6144, 1, 1 << 18, &v[1], err))
      || (st = td_config_int (config, vision, "num_attention_heads", false, 16, 1, 1024, &v[2], err))
      || (st = td_config_int (config, vision, "num_hidden_layers", false, 39, 1, 1024, &v[3], err))
      || (st = td_config_int (config, vision, "image_size", false, 224, 14, 4096, &v[4], err))
      || (st = td_config_int (config, vision, "patch_size", false, 14, 1, 1024, &v[5], err))
      || (st = td_config_double (config, vision, "layer_norm_eps", false, 1e-6, &eps, err))
      || (st = td_config_string (config, vision, "hidden_act", false, "gelu", &act, err)))
    goto out;
  c->hidden_size = (int) v[0];
  c->intermediate_size = (int) v[1];
  c->num_heads = (int) v[2];
  c->num_layers = (int) v[3];
  c->image_size = (int) v[4];
  c->patch_size = (int) v[5];
  c->eps = (float) eps;
  if (c->hidden_size % c->num_heads != 0 || c->image_size % c->patch_size != 0)
    st = td_error_set (err, TD_ERR_FORMAT, "%s: hidden_size must split into heads and image_size into patches", path);
  else if (g_str_equal (act, "gelu"))
    c->activation = TD_UNARY_GELU;
  else if (g_str_equal (act, "quick_gelu"))
    c->activation = TD_UNARY_QUICK_GELU;
  else
    st = td_error_set (err, TD_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported", path, act);
out:
  td_model_config_free (config);
  return st;
}

/* Every tensor the forward pass reads, with its shape, before any is used. */
static td_status
check_weights (td_weights *w, const td_eva_config *c, td_error *err)
{
  const int64_t d = c->hidden_size, ff = c->intermediate_size, p = c->patch_size;
  const int64_t grid = (int64_t) (c->image_size / c->patch_size) * (c->image_size / c->patch_size);
  td_status st;
  if ((st = td_weights_expectf (w, err, TD_DIMS (d, 3, p, p), "embeddings.patch_embedding.weight"))
      || (st = td_weights_expectf (w, err, TD_DIMS (d), "embeddings.patch_embedding.bias"))
      || (st = td_weights_expectf (w, err, TD_DIMS (1, 1, d), "embeddings.class_embedding"))
      || (st = td_weights_expectf (w, err, TD_DIMS (1, grid + 1, d), "embeddings.position_embedding"))
      || (st = td_weights_expect_norm (w, err, d, true, "post_layernorm")))
    return st;
  for (int l = 0; l < c->num_layers; l++)
    {
      char name[128];
      snprintf (name, sizeof name, "encoder.layers.%d.self_attn.qkv.bias", l);
      bool fused_bias = td_weights_has (w, name);
      char q_bias[128];
      snprintf (q_bias, sizeof q_bias, "encoder.layers.%d.self_attn.q_bias", l);
      if (!fused_bias && !td_weights_has (w, q_bias))
        return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor '%s', nor '%s' with v_bias", td_weights_path (w),
                             name, q_bias);
      if ((st = td_weights_expect_linear (w, err, 3 * d, d, fused_bias, "encoder.layers.%d.self_attn.qkv", l))
          || (!fused_bias
              && ((st = td_weights_expectf (w, err, TD_DIMS (d), "encoder.layers.%d.self_attn.q_bias", l))
                  || (st = td_weights_expectf (w, err, TD_DIMS (d), "encoder.layers.%d.self_attn.v_bias", l))))
          || (st = td_weights_expect_linear (w, err, d, d, true, "encoder.layers.%d.self_attn.projection", l))
          || (st = td_weights_expect_norm (w, err, d, true, "encoder.layers.%d.layer_norm1", l))
          || (st = td_weights_expect_norm (w, err, d, true, "encoder.layers.%d.layer_norm2", l))
          || (st = td_weights_expect_linear (w, err, ff, d, true, "encoder.layers.%d.mlp.fc1", l))
          || (st = td_weights_expect_linear (w, err, d, ff, true, "encoder.layers.%d.mlp.fc2", l)))
        return st;
    }
  return TD_OK;
}

td_eva_vision *
td_eva_vision_load (const char *dir, td_backend *backend, td_error *err)
{
  return td_eva_vision_load_chosen (dir, NULL, backend, err);
}

/* file when chosen, else the folder's first choice, else the folder as td_weights_open reads it. */
static char *
weights_path (const char *dir, const char *file)
{
  if (file != NULL)
    return g_strdup (file);
  g_autoptr (GPtrArray) choices = td_weight_folder_choices (dir);
  return g_strdup (choices->len > 0 ? choices->pdata[0] : dir);
}

td_eva_vision *
td_eva_vision_load_chosen (const char *dir, const char *file, td_backend *backend, td_error *err)
{
  td_eva_vision *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading the vision tower");
      return NULL;
    }
  model->backend = backend != NULL ? backend : td_backend_host ();
  g_autofree char *path = weights_path (dir, file);
  if (read_config (&model->config, dir, err) != TD_OK
      || (file != NULL && td_weight_folder_check (dir, "BLIP-2 vision", file, err) != TD_OK)
      || (model->weights = td_weights_open (path, model->backend, err)) == NULL)
    goto fail;
  td_weights_add_prefix (model->weights, "vision_model.");
  if (check_weights (model->weights, &model->config, err) != TD_OK)
    goto fail;
  const td_block_group layers = { .prefixes = { "encoder.layers.%d." }, .weights = layer_weights,
                                  .count = model->config.num_layers, .then = -1 };
  td_block_stream_init (&model->stream, model->weights, &layers, 1, NULL, NULL, NULL);
  return model;
fail:
  td_error_prefix (err, "loading the BLIP-2 vision tower from %s", file != NULL ? file : dir);
  td_eva_vision_free (model);
  return NULL;
}

td_weights *
td_eva_vision_weights (td_eva_vision *model)
{
  return model->weights;
}

void
td_eva_vision_set_resident_blocks (td_eva_vision *model, int resident)
{
  td_block_stream_set_resident (&model->stream, resident);
}

int
td_eva_vision_resident_blocks (const td_eva_vision *model)
{
  return td_block_stream_resident (&model->stream);
}

void
td_eva_vision_free (td_eva_vision *model)
{
  if (model == NULL)
    return;
  td_tensor_free (model->qkv_bias);
  td_weights_free (model->weights);
  free (model);
}

const td_eva_config *
td_eva_vision_config (const td_eva_vision *model)
{
  return &model->config;
}

/* The bias of the fused qkv projection: stored as is, or q_bias ‖ 0 ‖ v_bias
 * (BLIP-2 has no key bias) in the original checkpoints. */
static const td_tensor *
qkv_bias (td_eva_vision *model, td_layer_ctx *ctx, int layer)
{
  char name[128];
  snprintf (name, sizeof name, "encoder.layers.%d.self_attn.qkv.bias", layer);
  if (td_weights_has (model->weights, name))
    return td_weights_get (model->weights, name, ctx->err);
  int hidden = model->config.hidden_size;
  float *bias = calloc ((size_t) 3 * hidden, sizeof *bias);
  snprintf (name, sizeof name, "encoder.layers.%d.self_attn.q_bias", layer);
  const td_tensor *q = td_weights_get_host (model->weights, name, ctx->err);
  snprintf (name, sizeof name, "encoder.layers.%d.self_attn.v_bias", layer);
  const td_tensor *v = q ? td_weights_get_host (model->weights, name, ctx->err) : NULL;
  float *qf = v ? td_tensor_to_f32 (q, ctx->err) : NULL;
  float *vf = qf ? td_tensor_to_f32 (v, ctx->err) : NULL;
  if (bias == NULL || vf == NULL || td_tensor_numel (q) != hidden || td_tensor_numel (v) != hidden)
    {
      if (ctx->err != NULL && ctx->err->status == TD_OK)
        td_error_set (ctx->err, TD_ERR_FORMAT, "%s: layer %d has neither qkv.bias nor q_bias/v_bias of %d values",
                      td_weights_path (model->weights), layer, hidden);
      td_layer_fail (ctx, TD_ERR_FORMAT);
    }
  else
    {
      memcpy (bias, qf, (size_t) hidden * sizeof *bias);
      memcpy (bias + 2 * hidden, vf, (size_t) hidden * sizeof *bias);
      const int64_t shape[1] = { 3 * hidden };
      td_tensor_free (model->qkv_bias);
      model->qkv_bias = td_layer_from_host (ctx, TD_F32, 1, shape, bias);
    }
  free (bias);
  free (qf);
  free (vf);
  return model->qkv_bias;
}

static td_tensor *
self_attention (td_eva_vision *model, td_layer_ctx *ctx, const td_tensor *h, int layer)
{
  const td_eva_config *c = &model->config;
  const int64_t n = h->shape[1], head_dim = c->hidden_size / c->num_heads;
  char name[128];
  snprintf (name, sizeof name, "encoder.layers.%d.self_attn.qkv.weight", layer);
  const td_tensor *w = td_layer_ok (ctx) ? td_weights_get (model->weights, name, ctx->err) : NULL;
  const td_tensor *b = w ? qkv_bias (model, ctx, layer) : NULL;
  if (w == NULL || b == NULL)
    {
      td_layer_fail (ctx, TD_ERR_NOT_FOUND);
      return NULL;
    }
  /* Rows [0, C) of the fused projection are q, [C, 2C) k, [2C, 3C) v. */
  const int64_t heads[4] = { 1, n, c->num_heads, head_dim };
  td_tensor *qkv[3];
  for (int i = 0; i < 3; i++)
    {
      td_tensor *wi = td_tensor_slice (w, 0, (int64_t) i * c->hidden_size, c->hidden_size, ctx->err);
      td_tensor *bi = td_tensor_slice (b, 0, (int64_t) i * c->hidden_size, c->hidden_size, ctx->err);
      if (wi == NULL || bi == NULL)
        td_layer_fail (ctx, TD_ERR_INVALID_ARG);
      td_tensor *flat = td_layer_linear_w (ctx, h, wi, bi);
      qkv[i] = td_layer_reshape (ctx, flat, 4, heads);
      td_tensor_free (flat);
      td_tensor_free (wi);
      td_tensor_free (bi);
    }
  td_tensor *attended = td_layer_attention (ctx, qkv[0], qkv[1], qkv[2], NULL, 1.0f / sqrtf ((float) head_dim), false);
  for (int i = 0; i < 3; i++)
    td_tensor_free (qkv[i]);
  const int64_t flat_shape[3] = { 1, n, c->hidden_size };
  td_tensor *flat = td_layer_reshape (ctx, attended, 3, flat_shape);
  td_tensor_free (attended);
  snprintf (name, sizeof name, "encoder.layers.%d.self_attn.projection", layer);
  td_tensor *out = td_layer_linear (ctx, flat, name);
  td_tensor_free (flat);
  return out;
}

/* Patch embedding + CLS + position embedding: [1, 1 + P, C]. */
static td_tensor *
embed (td_eva_vision *model, td_layer_ctx *ctx, const td_tensor *pixels)
{
  const td_eva_config *c = &model->config;
  td_tensor *patches = td_layer_conv2d (ctx, pixels, "embeddings.patch_embedding", c->patch_size, 0);
  if (patches == NULL)
    return NULL;
  /* [1, C, g, g] → [1, g·g, C] */
  const int64_t grid = patches->shape[2] * patches->shape[3];
  const int64_t flat_shape[3] = { 1, c->hidden_size, grid };
  td_tensor *flat = td_layer_reshape (ctx, patches, 3, flat_shape);
  td_tensor_free (patches);
  static const int to_tokens[3] = { 0, 2, 1 };
  td_tensor *view = flat ? td_tensor_permute (flat, to_tokens, ctx->err) : NULL;
  td_tensor *tokens = td_layer_contiguous (ctx, view);
  td_tensor_free (view);
  td_tensor_free (flat);

  const td_tensor *cls = td_layer_ok (ctx) ? td_weights_get (model->weights, "embeddings.class_embedding", ctx->err) : NULL;
  const td_tensor *positions = cls ? td_weights_get (model->weights, "embeddings.position_embedding", ctx->err) : NULL;
  if (positions == NULL)
    {
      td_layer_fail (ctx, TD_ERR_NOT_FOUND);
      td_tensor_free (tokens);
      return NULL;
    }
  if (positions->ndim != 3 || positions->shape[1] != grid + 1)
    {
      td_error_set (ctx->err, TD_ERR_INVALID_ARG, "the image gives %lld patches but the model has %lld positions",
                    (long long) grid, (long long) positions->shape[1] - 1);
      td_layer_fail (ctx, TD_ERR_INVALID_ARG);
      td_tensor_free (tokens);
      return NULL;
    }
  td_tensor *cls_f32 = td_layer_contiguous (ctx, cls);
  td_tensor *x = td_layer_concat (ctx, cls_f32, tokens, 1);
  td_tensor_free (cls_f32);
  td_tensor_free (tokens);
  return td_layer_add_ (ctx, x, positions);
}

td_tensor *
td_eva_vision_forward (td_eva_vision *model, const td_tensor *pixel_values, td_error *err)
{
  const td_eva_config *c = &model->config;
  if (pixel_values->ndim != 4 || pixel_values->shape[0] != 1 || pixel_values->shape[1] != 3)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "vision tower: pixel_values must be [1, 3, H, W]");
      return NULL;
    }
  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  td_tensor *x = embed (model, &ctx, pixel_values);
  char name[128];
  for (int layer = 0; layer < c->num_layers && td_layer_ok (&ctx); layer++)
    {
      td_block_stream_before (&model->stream, &ctx, 0, layer);
      snprintf (name, sizeof name, "encoder.layers.%d.layer_norm1", layer);
      td_tensor *h = td_layer_layer_norm (&ctx, x, name, c->eps);
      td_tensor *attn = self_attention (model, &ctx, h, layer);
      td_tensor_free (h);
      td_layer_add_ (&ctx, x, attn);
      td_tensor_free (attn);

      snprintf (name, sizeof name, "encoder.layers.%d.layer_norm2", layer);
      h = td_layer_layer_norm (&ctx, x, name, c->eps);
      snprintf (name, sizeof name, "encoder.layers.%d.mlp.fc1", layer);
      td_tensor *inner = td_layer_linear_act (&ctx, h, name, c->activation);
      td_tensor_free (h);
      snprintf (name, sizeof name, "encoder.layers.%d.mlp.fc2", layer);
      td_tensor *ff = td_layer_linear (&ctx, inner, name);
      td_tensor_free (inner);
      td_layer_add_ (&ctx, x, ff);
      td_tensor_free (ff);
      td_block_stream_after (&model->stream, 0, layer);
    }
  td_tensor *out = td_layer_layer_norm (&ctx, x, "post_layernorm", c->eps);
  td_tensor_free (x);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      td_error_prefix (err, "BLIP-2 vision tower");
      return NULL;
    }
  return out;
}

td_tensor *
td_eva_downsample_tokens (td_backend *backend, const td_tensor *hidden, int factor, td_error *err)
{
  int64_t grid = (int64_t) llround (sqrt ((double) (hidden->shape[1] - 1)));
  if (hidden->ndim != 3 || hidden->shape[0] != 1 || grid * grid + 1 != hidden->shape[1] || factor < 1
      || grid % factor != 0)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "token downsampling needs [1, 1 + g², C] with g divisible by %d", factor);
      return NULL;
    }
  td_layer_ctx ctx = { .backend = backend, .err = err };
  const int64_t c = hidden->shape[2], small = grid / factor;
  /* Patches [1, g², C] → image [1, C, g, g] → resized [1, C, g/f, g/f] → tokens [1, (g/f)², C]. */
  td_tensor *patches = td_layer_slice (&ctx, hidden, 1, 1, grid * grid);
  td_tensor *cls = td_layer_slice (&ctx, hidden, 1, 0, 1);
  static const int swap[3] = { 0, 2, 1 };
  td_tensor *view = patches ? td_tensor_permute (patches, swap, err) : NULL;
  td_tensor *planar = td_layer_contiguous (&ctx, view);
  td_tensor_free (view);
  const int64_t image_shape[4] = { 1, c, grid, grid };
  td_tensor *image = td_layer_reshape (&ctx, planar, 4, image_shape);
  const int64_t small_shape[4] = { 1, c, small, small };
  td_tensor *resized = td_layer_new (&ctx, TD_F32, 4, small_shape);
  td_status st;
  if (resized != NULL && (st = td_resize_bilinear (backend, resized, image, err)) != TD_OK)
    td_layer_fail (&ctx, st);
  const int64_t flat_shape[3] = { 1, c, small * small };
  td_tensor *flat = td_layer_reshape (&ctx, resized, 3, flat_shape);
  td_tensor *tokens_view = flat ? td_tensor_permute (flat, swap, err) : NULL;
  td_tensor *tokens = td_layer_contiguous (&ctx, tokens_view);
  td_tensor *out = td_layer_concat (&ctx, cls, tokens, 1);
  td_tensor *garbage[] = { patches, cls, planar, image, resized, flat, tokens_view, tokens };
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
    td_tensor_free (garbage[i]);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      return NULL;
    }
  return out;
}

/* Rounds and clamps every value of a host tensor to a byte level, as PIL stores
 * each pass of an 8-bit resize. */
static void
round_to_bytes (td_tensor *t)
{
  float *v = td_tensor_host_data (t);
  for (int64_t i = 0; i < td_tensor_numel (t); i++)
    {
      float r = roundf (v[i]);
      v[i] = r < 0.0f ? 0.0f : r > 255.0f ? 255.0f : r;
    }
}

/* One PIL resize pass on the host: [1, 3, h, w] → [1, 3, out_h, out_w] (one axis changes). */
static td_tensor *
resize_pass (td_tensor *in, int64_t out_h, int64_t out_w, td_error *err)
{
  td_backend *host = td_backend_host ();
  const int64_t shape[4] = { 1, 3, out_h, out_w };
  td_tensor *out = td_tensor_new (host, TD_F32, 4, shape, err);
  if (out != NULL && td_resize_bicubic (host, out, in, err) != TD_OK)
    {
      td_tensor_free (out);
      return NULL;
    }
  if (out != NULL)
    round_to_bytes (out);
  return out;
}

td_tensor *
td_eva_preprocess (td_backend *backend, const uint8_t *rgb, int width, int height, int size, td_error *err)
{
  static const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
  static const float std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };
  if (width < 1 || height < 1 || size < 1)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "cannot preprocess a %d×%d image to %d²", width, height, size);
      return NULL;
    }
  /* The resize runs on the CPU reference (images are small). PIL resizes an 8-bit
   * image along x, then along y, storing bytes after each pass (so overshoot at
   * sharp edges is clamped before the second pass); an axis already at size is
   * not resampled. */
  const int64_t in_shape[4] = { 1, 3, height, width };
  const int64_t out_shape[4] = { 1, 3, size, size };
  td_tensor *in = td_tensor_new (td_backend_host (), TD_F32, 4, in_shape, err);
  td_tensor *out = NULL, *horizontal = NULL, *resized = NULL;
  if (in == NULL)
    return NULL;
  float *planar = td_tensor_host_data (in);
  for (int c = 0; c < 3; c++)
    for (long p = 0; p < (long) width * height; p++)
      planar[c * (long) width * height + p] = rgb[p * 3 + c];
  horizontal = width != size ? resize_pass (in, height, size, err) : in;
  resized = horizontal == NULL ? NULL : height != size ? resize_pass (horizontal, size, size, err) : horizontal;
  if (resized == NULL)
    goto done;
  float *pixels = td_tensor_host_data (resized);
  for (int c = 0; c < 3; c++)
    for (long p = 0; p < (long) size * size; p++)
      pixels[c * (long) size * size + p] = (pixels[c * (long) size * size + p] / 255.0f - mean[c]) / std[c];
  out = td_tensor_new (backend, TD_F32, 4, out_shape, err);
  if (out != NULL && td_tensor_upload (out, pixels, td_tensor_nbytes (out), err) != TD_OK)
    {
      td_tensor_free (out);
      out = NULL;
    }
done:
  if (resized != horizontal)
    td_tensor_free (resized);
  if (horizontal != in)
    td_tensor_free (horizontal);
  td_tensor_free (in);
  return out;
}
