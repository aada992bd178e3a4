#include "models/clip_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/layers.h"
#include "models/model_config.h"

struct td_clip_text {
  td_clip_text_config config;
  td_backend *backend;
  td_weights *weights;
};

static td_status
read_config (td_clip_text_config *c, const char *dir, td_error *err)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  /* CLIPTextModelWithProjection and CLIPModel configs nest the text part. */
  JsonObject *text = td_config_object (config, NULL, "text_config");

  long long v[7];
  double eps;
  const char *act = NULL;
  td_status st;
  if ((st = td_config_int (config, text, "vocab_size", true, 0, 1, 1 << 24, &v[0], err))
      || (st = td_config_int (config, text, "hidden_size", true, 0, 1, 1 << 16, &v[1], err))
      || (st = td_config_int (config, text, "intermediate_size", true, 0, 1, 1 << 18, &v[2], err))
      || (st = td_config_int (config, text, "num_attention_heads", true, 0, 1, 1024, &v[3], err))
      || (st = td_config_int (config, text, "num_hidden_layers", true, 0, 1, 1024, &v[4], err))
      || (st = td_config_int (config, text, "max_position_embeddings", false, 77, 1, 1 << 16, &v[5], err))
      || (st = td_config_int (config, text, "eos_token_id", false, 2, 0, 1 << 24, &v[6], err))
      || (st = td_config_double (config, text, "layer_norm_eps", false, 1e-5, &eps, err))
      || (st = td_config_string (config, text, "hidden_act", false, "quick_gelu", &act, err)))
    goto out;
  c->vocab_size = (int) v[0];
  c->hidden_size = (int) v[1];
  c->intermediate_size = (int) v[2];
  c->num_heads = (int) v[3];
  c->num_layers = (int) v[4];
  c->max_positions = (int) v[5];
  c->eos_token_id = (int) v[6];
  c->eps = (float) eps;
  if (c->hidden_size % c->num_heads != 0)
    st = td_error_set (err, TD_ERR_FORMAT, "%s: hidden_size %d is not a multiple of %d heads", path,
                       c->hidden_size, c->num_heads);
  else if (strcmp (act, "quick_gelu") == 0)
    c->activation = TD_UNARY_QUICK_GELU;
  else if (strcmp (act, "gelu") == 0)
    c->activation = TD_UNARY_GELU;
  else
    st = td_error_set (err, TD_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported", path, act);
out:
  td_model_config_free (config);
  return st;
}

/* dims[i] of a tensor, or −1 when it is missing. */
static int64_t
dim_of (td_weights *w, const char *name, int i)
{
  td_error ignored = { 0 };
  const td_tensor *t = td_weights_has (w, name) ? td_weights_get_host (w, name, &ignored) : NULL;
  return t != NULL && i < t->ndim ? t->shape[i] : -1;
}

/* A single file without config.json (ComfyUI's clip_l.safetensors): sizes from the
 * shapes; what shapes cannot tell is CLIP-L's (OpenAI CLIP: 64-wide heads,
 * quick_gelu, eps 1e-5, pooling at the highest id, i.e. the end token). */
static td_status
infer_config (td_clip_text_config *c, td_weights *w, td_error *err)
{
  const char *path = td_weights_path (w);
  int64_t vocab = dim_of (w, "embeddings.token_embedding.weight", 0);
  int64_t hidden = dim_of (w, "embeddings.token_embedding.weight", 1);
  int64_t positions = dim_of (w, "embeddings.position_embedding.weight", 0);
  int64_t intermediate = dim_of (w, "encoder.layers.0.mlp.fc1.weight", 0);
  int layers = 0;
  char name[96];
  for (; layers < 1024; layers++)
    {
      snprintf (name, sizeof name, "encoder.layers.%d.self_attn.q_proj.weight", layers);
      if (!td_weights_has (w, name))
        break;
    }
  if (vocab < 1 || vocab > 1 << 24 || hidden < 64 || hidden > 1 << 16 || hidden % 64 != 0 || positions < 1
      || positions > 1 << 16 || intermediate < 1 || intermediate > 1 << 18 || layers == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a CLIP text model with 64-wide heads (text_model.embeddings.*,"
                         " encoder.layers.N.*)", path);
  *c = (td_clip_text_config) {
    .vocab_size = (int) vocab, .hidden_size = (int) hidden, .intermediate_size = (int) intermediate,
    .num_heads = (int) (hidden / 64), .num_layers = layers, .max_positions = (int) positions,
    .eos_token_id = 2, .eps = 1e-5f, .activation = TD_UNARY_QUICK_GELU,
  };
  return TD_OK;
}

/* Every tensor the forward pass reads, with its shape, before any is used. */
static td_status
check_weights (td_weights *w, const td_clip_text_config *c, td_error *err)
{
  const int64_t d = c->hidden_size, ff = c->intermediate_size;
  td_status st;
  if ((st = td_weights_expectf (w, err, TD_DIMS (c->vocab_size, d), "embeddings.token_embedding.weight"))
      || (st = td_weights_expectf (w, err, TD_DIMS (c->max_positions, d), "embeddings.position_embedding.weight"))
      || (st = td_weights_expect_norm (w, err, d, true, "final_layer_norm")))
    return st;
  static const char *const projections[4] = { "q_proj", "k_proj", "v_proj", "out_proj" };
  for (int l = 0; l < c->num_layers; l++)
    {
      for (int i = 0; i < 4; i++)
        if ((st = td_weights_expect_linear (w, err, d, d, true, "encoder.layers.%d.self_attn.%s", l, projections[i])))
          return st;
      if ((st = td_weights_expect_norm (w, err, d, true, "encoder.layers.%d.layer_norm1", l))
          || (st = td_weights_expect_norm (w, err, d, true, "encoder.layers.%d.layer_norm2", l))
          || (st = td_weights_expect_linear (w, err, ff, d, true, "encoder.layers.%d.mlp.fc1", l))
          || (st = td_weights_expect_linear (w, err, d, ff, true, "encoder.layers.%d.mlp.fc2", l)))
        return st;
    }
  return TD_OK;
}

td_clip_text *
td_clip_text_load (const char *dir, td_backend *backend, td_error *err)
{
  td_clip_text *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading CLIP");
      return NULL;
    }
  model->backend = backend != NULL ? backend : td_backend_host ();
  bool single_file = g_file_test (dir, G_FILE_TEST_IS_REGULAR);
  if (!single_file && read_config (&model->config, dir, err) != TD_OK)
    goto fail;
  model->weights = td_weights_open (dir, backend, err);
  if (model->weights == NULL)
    goto fail;
  /* FLUX's text_encoder is a CLIPTextModel saved with the "text_model." prefix. */
  td_weights_add_prefix (model->weights, "text_model.");
  if (single_file && infer_config (&model->config, model->weights, err) != TD_OK)
    goto fail;
  if (check_weights (model->weights, &model->config, err) != TD_OK)
    goto fail;
  return model;

fail:
  td_error_prefix (err, "loading the CLIP text encoder from %s", dir);
  td_clip_text_free (model);
  return NULL;
}

void
td_clip_text_free (td_clip_text *model)
{
  if (model == NULL)
    return;
  td_weights_free (model->weights);
  free (model);
}

const td_clip_text_config *
td_clip_text_config_of (const td_clip_text *model)
{
  return &model->config;
}

int
td_clip_text_pool_position (const int32_t *ids, int n, int eos_token_id)
{
  int best = 0;
  if (eos_token_id == 2)
    {
      for (int i = 1; i < n; i++)
        if (ids[i] > ids[best])
          best = i;
      return best;
    }
  for (int i = 0; i < n; i++)
    if (ids[i] == eos_token_id)
      return i;
  return n - 1;
}

static td_tensor *
self_attention (td_clip_text *model, td_layer_ctx *ctx, const td_tensor *h, int layer)
{
  const td_clip_text_config *c = &model->config;
  const int64_t n = h->shape[1];
  const int64_t heads[4] = { 1, n, c->num_heads, c->hidden_size / c->num_heads };
  const char *names[3] = { "q_proj", "k_proj", "v_proj" };
  td_tensor *qkv[3] = { NULL, NULL, NULL };
  char prefix[128];
  for (int i = 0; i < 3; i++)
    {
      snprintf (prefix, sizeof prefix, "encoder.layers.%d.self_attn.%s", layer, names[i]);
      td_tensor *flat = td_layer_linear (ctx, h, prefix);
      qkv[i] = td_layer_reshape (ctx, flat, 4, heads);
      td_tensor_free (flat);
    }
  float scale = 1.0f / sqrtf ((float) heads[3]);
  td_tensor *attended = td_layer_attention (ctx, qkv[0], qkv[1], qkv[2], NULL, scale, true);
  for (int i = 0; i < 3; i++)
    td_tensor_free (qkv[i]);
  const int64_t flat_shape[3] = { 1, n, c->hidden_size };
  td_tensor *flat = td_layer_reshape (ctx, attended, 3, flat_shape);
  td_tensor_free (attended);
  snprintf (prefix, sizeof prefix, "encoder.layers.%d.self_attn.out_proj", layer);
  td_tensor *out = td_layer_linear (ctx, flat, prefix);
  td_tensor_free (flat);
  return out;
}

static td_tensor *
mlp (td_clip_text *model, td_layer_ctx *ctx, const td_tensor *h, int layer)
{
  char prefix[128];
  snprintf (prefix, sizeof prefix, "encoder.layers.%d.mlp.fc1", layer);
  td_tensor *inner = td_layer_linear_act (ctx, h, prefix, model->config.activation);
  snprintf (prefix, sizeof prefix, "encoder.layers.%d.mlp.fc2", layer);
  td_tensor *out = td_layer_linear (ctx, inner, prefix);
  td_tensor_free (inner);
  return out;
}

static td_tensor *
embed (td_clip_text *model, td_layer_ctx *ctx, const int32_t *ids, int n)
{
  const td_clip_text_config *c = &model->config;
  int32_t *positions = malloc ((size_t) n * sizeof *positions);
  if (positions == NULL)
    {
      td_error_set (ctx->err, TD_ERR_NO_MEMORY, "out of memory");
      td_layer_fail (ctx, TD_ERR_NO_MEMORY);
      return NULL;
    }
  for (int i = 0; i < n; i++)
    positions[i] = i;
  const int64_t ids_shape[2] = { 1, n };
  const int64_t x_shape[3] = { 1, n, c->hidden_size };
  td_tensor *token_ids = td_layer_from_host (ctx, TD_I32, 2, ids_shape, ids);
  td_tensor *position_ids = td_layer_from_host (ctx, TD_I32, 2, ids_shape, positions);
  free (positions);
  td_tensor *x = td_layer_new (ctx, TD_F32, 3, x_shape);
  td_tensor *pos = td_layer_new (ctx, TD_F32, 3, x_shape);
  const td_tensor *token_table = td_layer_ok (ctx)
    ? td_weights_get (model->weights, "embeddings.token_embedding.weight", ctx->err) : NULL;
  const td_tensor *position_table = td_layer_ok (ctx)
    ? td_weights_get (model->weights, "embeddings.position_embedding.weight", ctx->err) : NULL;
  if (token_table == NULL || position_table == NULL)
    td_layer_fail (ctx, TD_ERR_NOT_FOUND);
  td_status st;
  if (td_layer_ok (ctx) && (st = td_embedding (ctx->backend, x, token_ids, token_table, ctx->err)) != TD_OK)
    td_layer_fail (ctx, st);
  if (td_layer_ok (ctx) && (st = td_embedding (ctx->backend, pos, position_ids, position_table, ctx->err)) != TD_OK)
    td_layer_fail (ctx, st);
  td_layer_add_ (ctx, x, pos);
  td_tensor_free (token_ids);
  td_tensor_free (position_ids);
  td_tensor_free (pos);
  return x;
}

td_status
td_clip_text_forward (td_clip_text *model, const int32_t *ids, int n, td_tensor **last_hidden_state,
                      td_tensor **pooled, td_error *err)
{
  const td_clip_text_config *c = &model->config;
  *last_hidden_state = NULL;
  *pooled = NULL;
  if (n <= 0 || n > c->max_positions)
    return td_error_set (err, TD_ERR_INVALID_ARG, "CLIP: %d tokens is outside 1..%d", n, c->max_positions);
  for (int i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= c->vocab_size)
      return td_error_set (err, TD_ERR_INVALID_ARG, "CLIP: token id %d at position %d is outside the vocabulary (%d)",
                           ids[i], i, c->vocab_size);

  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  td_tensor *x = embed (model, &ctx, ids, n);
  char prefix[128];
  for (int layer = 0; layer < c->num_layers && td_layer_ok (&ctx); layer++)
    {
      snprintf (prefix, sizeof prefix, "encoder.layers.%d.layer_norm1", layer);
      td_tensor *h = td_layer_layer_norm (&ctx, x, prefix, c->eps);
      td_tensor *attn = self_attention (model, &ctx, h, layer);
      td_tensor_free (h);
      td_layer_add_ (&ctx, x, attn);
      td_tensor_free (attn);

      snprintf (prefix, sizeof prefix, "encoder.layers.%d.layer_norm2", layer);
      h = td_layer_layer_norm (&ctx, x, prefix, c->eps);
      td_tensor *ff = mlp (model, &ctx, h, layer);
      td_tensor_free (h);
      td_layer_add_ (&ctx, x, ff);
      td_tensor_free (ff);
    }
  td_tensor *out = td_layer_layer_norm (&ctx, x, "final_layer_norm", c->eps);
  td_tensor_free (x);

  int position = td_clip_text_pool_position (ids, n, c->eos_token_id);
  td_tensor *row = td_layer_slice (&ctx, out, 1, position, 1); /* [1, 1, hidden] */
  const int64_t pooled_shape[2] = { 1, c->hidden_size };
  td_tensor *pooled_out = td_layer_reshape (&ctx, row, 2, pooled_shape);
  td_tensor_free (row);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      td_tensor_free (pooled_out);
      return td_error_prefix (err, "CLIP text encoder");
    }
  *last_hidden_state = out;
  *pooled = pooled_out;
  return TD_OK;
}
