#include "models/t5_encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/layers.h"
#include "models/model_config.h"
#include "models/t5_gguf_keys.h"

struct td_t5_encoder {
  td_t5_config config;
  td_backend *backend;
  td_weights *weights;
  td_block_stream stream;
};

/* A block's weights as the forward pass reads them (absent ones are skipped). */
static const char *const block_weights[] = {
  "layer.0.layer_norm.weight", "layer.0.SelfAttention.q.weight", "layer.0.SelfAttention.k.weight",
  "layer.0.SelfAttention.v.weight", "layer.0.SelfAttention.o.weight", "layer.1.layer_norm.weight",
  "layer.1.DenseReluDense.wi_0.weight", "layer.1.DenseReluDense.wi_1.weight", "layer.1.DenseReluDense.wi.weight",
  "layer.1.DenseReluDense.wo.weight", NULL,
};

static void
init_stream (td_t5_encoder *encoder)
{
  const td_block_group blocks = { .prefixes = { "encoder.block.%d.", "enc.blk.%d." }, .weights = block_weights,
                                  .count = encoder->config.num_layers, .then = -1 };
  td_block_stream_init (&encoder->stream, encoder->weights, &blocks, 1, NULL, NULL, NULL);
}

static td_status
read_config (td_t5_config *c, const char *dir, td_error *err)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;

  long long v[8];
  double eps;
  const char *proj = NULL, *act = NULL;
  td_status st = TD_OK;
  if ((st = td_config_int (config, NULL, "vocab_size", true, 0, 1, 1 << 24, &v[0], err))
      || (st = td_config_int (config, NULL, "d_model", true, 0, 1, 1 << 16, &v[1], err))
      || (st = td_config_int (config, NULL, "d_kv", true, 0, 1, 1 << 12, &v[2], err))
      || (st = td_config_int (config, NULL, "d_ff", true, 0, 1, 1 << 18, &v[3], err))
      || (st = td_config_int (config, NULL, "num_heads", true, 0, 1, 1024, &v[4], err))
      || (st = td_config_int (config, NULL, "num_layers", true, 0, 1, 1024, &v[5], err))
      || (st = td_config_int (config, NULL, "relative_attention_num_buckets", false, 32, 4, 4096, &v[6], err))
      || (st = td_config_int (config, NULL, "relative_attention_max_distance", false, 128, 2, 1 << 20, &v[7], err))
      || (st = td_config_double (config, NULL, "layer_norm_epsilon", false, 1e-6, &eps, err))
      || (st = td_config_string (config, NULL, "feed_forward_proj", false, "relu", &proj, err))
      || (st = td_config_string (config, NULL, "dense_act_fn", false, NULL, &act, err)))
    goto out;

  c->vocab_size = (int) v[0];
  c->d_model = (int) v[1];
  c->d_kv = (int) v[2];
  c->d_ff = (int) v[3];
  c->num_heads = (int) v[4];
  c->num_layers = (int) v[5];
  c->num_buckets = (int) v[6];
  c->max_distance = (int) v[7];
  /* Half the buckets per direction, half of those exact: the logarithmic rest needs a
   * max_distance past the exact ones. */
  if (c->num_buckets % 2 != 0 || c->max_distance <= c->num_buckets / 4)
    {
      st = td_error_set (err, TD_ERR_FORMAT, "%s: relative_attention_num_buckets %d must be even and "
                         "relative_attention_max_distance %d above a quarter of it", path, c->num_buckets,
                         c->max_distance);
      goto out;
    }
  c->eps = (float) eps;
  c->gated = strncmp (proj, "gated-", 6) == 0;
  const char *name = act != NULL ? act : (c->gated ? proj + 6 : proj);
  if (strcmp (name, "gelu_new") == 0 || strcmp (name, "gelu_pytorch_tanh") == 0)
    c->activation = TD_UNARY_GELU_TANH;
  else if (strcmp (name, "gelu") == 0)
    c->activation = TD_UNARY_GELU;
  else if (strcmp (name, "relu") == 0)
    c->activation = TD_UNARY_RELU;
  else if (strcmp (name, "silu") == 0)
    c->activation = TD_UNARY_SILU;
  else
    st = td_error_set (err, TD_ERR_UNSUPPORTED, "%s: activation \"%s\" is not supported", path, name);
out:
  td_model_config_free (config);
  return st;
}

static int64_t
dim_of (td_weights *w, const char *name, int i)
{
  td_error ignored = { 0 };
  const td_tensor *t = td_weights_has (w, name) ? td_weights_get_host (w, name, &ignored) : NULL;
  return t != NULL && i < t->ndim ? t->shape[i] : -1;
}

/* A single file without config.json (ComfyUI's t5xxl_fp16.safetensors): sizes from
 * the shapes (heads from the relative attention bias); what shapes cannot tell is
 * T5 v1.1's (max distance 128, eps 1e-6, gelu_new in the gated feed-forward). */
static td_status
infer_config (td_t5_config *c, td_weights *w, td_error *err)
{
  const char *path = td_weights_path (w);
  int64_t vocab = dim_of (w, "shared.weight", 0), d_model = dim_of (w, "shared.weight", 1);
  const char *bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  int64_t buckets = dim_of (w, bias, 0), heads = dim_of (w, bias, 1);
  int64_t inner = dim_of (w, "encoder.block.0.layer.0.SelfAttention.q.weight", 0);
  bool gated = td_weights_has (w, "encoder.block.0.layer.1.DenseReluDense.wi_0.weight");
  int64_t d_ff = dim_of (w, gated ? "encoder.block.0.layer.1.DenseReluDense.wi_0.weight"
                                  : "encoder.block.0.layer.1.DenseReluDense.wi.weight", 0);
  int layers = 0;
  char name[96];
  for (; layers < 1024; layers++)
    {
      snprintf (name, sizeof name, "encoder.block.%d.layer.0.SelfAttention.q.weight", layers);
      if (!td_weights_has (w, name))
        break;
    }
  if (vocab < 1 || vocab > 1 << 24 || d_model < 1 || d_model > 1 << 16 || buckets < 2 || buckets > 1024
      || heads < 1 || heads > 1024 || inner < heads || inner % heads != 0 || d_ff < 1 || d_ff > 1 << 18 || layers == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a T5 encoder (shared.weight, encoder.block.N.*)", path);
  *c = (td_t5_config) {
    .vocab_size = (int) vocab, .d_model = (int) d_model, .d_kv = (int) (inner / heads), .d_ff = (int) d_ff,
    .num_heads = (int) heads, .num_layers = layers, .num_buckets = (int) buckets, .max_distance = 128,
    .eps = 1e-6f, .gated = gated, .activation = gated ? TD_UNARY_GELU_TANH : TD_UNARY_RELU,
  };
  return TD_OK;
}

/* The token embeddings: the encoder's own table when the file has one, else the shared one. */
static const char *
embedding_table (td_weights *w)
{
  return td_weights_has (w, "encoder.embed_tokens.weight") ? "encoder.embed_tokens.weight" : "shared.weight";
}

/* Every tensor the forward pass reads, with its shape, before any is used. */
static td_status
check_weights (td_weights *w, const td_t5_config *c, td_error *err)
{
  const int64_t d = c->d_model, inner = (int64_t) c->num_heads * c->d_kv, ff = c->d_ff;
  const char *table = embedding_table (w);
  td_status st;
  if ((st = td_weights_expectf (w, err, TD_DIMS (c->vocab_size, d), "%s", table)) != TD_OK
      || (st = td_weights_expectf (w, err, TD_DIMS (c->num_buckets, c->num_heads),
                                   "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")) != TD_OK
      || (st = td_weights_expectf (w, err, TD_DIMS (d), "encoder.final_layer_norm.weight")) != TD_OK)
    return st;
  static const char *const qkv[3] = { "q", "k", "v" };
  for (int l = 0; l < c->num_layers; l++)
    {
      const char *block = "encoder.block";
      for (int i = 0; i < 3; i++)
        if ((st = td_weights_expectf (w, err, TD_DIMS (inner, d), "%s.%d.layer.0.SelfAttention.%s.weight", block, l,
                                      qkv[i])) != TD_OK)
          return st;
      if ((st = td_weights_expectf (w, err, TD_DIMS (d, inner), "%s.%d.layer.0.SelfAttention.o.weight", block, l))
          || (st = td_weights_expectf (w, err, TD_DIMS (d), "%s.%d.layer.0.layer_norm.weight", block, l))
          || (st = td_weights_expectf (w, err, TD_DIMS (d), "%s.%d.layer.1.layer_norm.weight", block, l))
          || (st = td_weights_expectf (w, err, TD_DIMS (d, ff), "%s.%d.layer.1.DenseReluDense.wo.weight", block, l)))
        return st;
      if (c->gated
            ? (st = td_weights_expectf (w, err, TD_DIMS (ff, d), "%s.%d.layer.1.DenseReluDense.wi_0.weight", block, l))
                || (st = td_weights_expectf (w, err, TD_DIMS (ff, d), "%s.%d.layer.1.DenseReluDense.wi_1.weight", block,
                                             l))
            : (st = td_weights_expectf (w, err, TD_DIMS (ff, d), "%s.%d.layer.1.DenseReluDense.wi.weight", block, l)))
        return st;
    }
  return TD_OK;
}

static bool
folder_has_gguf (const char *dir)
{
  GDir *folder = g_dir_open (dir, 0, NULL);
  const char *name;
  bool found = false;
  while (!found && folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    found = g_str_has_suffix (name, ".gguf");
  if (folder != NULL)
    g_dir_close (folder);
  return found;
}

td_t5_encoder *
td_t5_encoder_load (const char *dir, td_backend *backend, td_error *err)
{
  td_t5_encoder *encoder = calloc (1, sizeof *encoder);
  if (encoder == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading T5");
      return NULL;
    }
  encoder->backend = backend != NULL ? backend : td_backend_host ();
  bool single_file = g_file_test (dir, G_FILE_TEST_IS_REGULAR);
  g_autofree char *config_path = single_file ? NULL : g_build_filename (dir, "config.json", NULL);
  bool has_config = config_path != NULL && g_file_test (config_path, G_FILE_TEST_EXISTS);
  /* llama.cpp's GGUF (the file itself, or a folder's .gguf without config.json)
   * carries its own hyperparameters. */
  bool from_json = has_config || (!single_file && !folder_has_gguf (dir));
  if (from_json && read_config (&encoder->config, dir, err) != TD_OK)
    goto fail;
  encoder->weights = td_weights_open (dir, backend, err);
  if (encoder->weights == NULL)
    goto fail;
  td_gguf *gguf = td_weights_gguf (encoder->weights);
  bool llama_cpp = gguf != NULL && td_t5_gguf_is_llama_cpp (gguf);
  if (llama_cpp)
    td_weights_set_rename (encoder->weights, td_t5_gguf_rename, NULL);
  if (!from_json
      && (llama_cpp     ? td_t5_gguf_config (gguf, &encoder->config, err)
          : single_file ? infer_config (&encoder->config, encoder->weights, err)
                        : td_error_set (err, TD_ERR_NOT_FOUND, "%s: no config.json next to a GGUF not in llama.cpp's "
                                        "naming", dir)) != TD_OK)
    goto fail;

  if (check_weights (encoder->weights, &encoder->config, err) != TD_OK
      || (llama_cpp
          && td_weights_refuse_unused (encoder->weights, "the T5 encoder", td_t5_gguf_decoder_prefixes, err) != TD_OK))
    goto fail;
  init_stream (encoder);
  return encoder;

fail:
  td_error_prefix (err, "loading the T5 encoder from %s", dir);
  td_t5_encoder_free (encoder);
  return NULL;
}

td_t5_encoder *
td_t5_encoder_new_from_config (const td_t5_config *config, td_weights *weights, td_error *err)
{
  const td_t5_config *c = config;
  bool valid = c->vocab_size >= 1 && c->d_model >= 1 && c->d_kv >= 1 && c->d_ff >= 1 && c->num_heads >= 1
               && c->num_layers >= 1 && c->num_buckets >= 4 && c->num_buckets % 2 == 0
               && c->max_distance > c->num_buckets / 4;
  td_t5_encoder *encoder = valid ? calloc (1, sizeof *encoder) : NULL;
  if (encoder == NULL)
    {
      td_error_set (err, valid ? TD_ERR_NO_MEMORY : TD_ERR_INVALID_ARG,
                    valid ? "out of memory creating T5" : "T5 config: sizes must be positive");
      td_weights_free (weights);
      return NULL;
    }
  encoder->config = *config;
  encoder->weights = weights;
  encoder->backend = td_weights_backend (weights);
  init_stream (encoder);
  return encoder;
}

void
td_t5_encoder_set_resident_blocks (td_t5_encoder *encoder, int resident)
{
  td_block_stream_set_resident (&encoder->stream, resident);
}

int
td_t5_encoder_resident_blocks (const td_t5_encoder *encoder)
{
  return td_block_stream_resident (&encoder->stream);
}

void
td_t5_encoder_free (td_t5_encoder *encoder)
{
  if (encoder == NULL)
    return;
  td_weights_free (encoder->weights);
  free (encoder);
}

const td_t5_config *
td_t5_encoder_config (const td_t5_encoder *encoder)
{
  return &encoder->config;
}

td_weights *
td_t5_encoder_weights (td_t5_encoder *encoder)
{
  return encoder->weights;
}

int
td_t5_relative_bucket (int relative_position, int num_buckets, int max_distance)
{
  /* Half the buckets for keys before the query, half for keys after. */
  num_buckets /= 2;
  int bucket = relative_position > 0 ? num_buckets : 0;
  int n = abs (relative_position);
  int max_exact = num_buckets / 2;
  if (n < max_exact)
    return bucket + n;
  /* Logarithmic buckets up to max_distance, in f32 as the reference computes them. */
  float scaled = logf ((float) n / (float) max_exact) / logf ((float) max_distance / (float) max_exact)
                 * (float) (num_buckets - max_exact);
  /* Clamped on both sides: a config whose max_distance is below max_exact would give a
   * negative logarithm. */
  int large = scaled >= (float) (num_buckets - max_exact) || !(scaled >= 0.0f) ? num_buckets - 1
                                                                               : max_exact + (int) scaled;
  if (large > num_buckets - 1)
    large = num_buckets - 1;
  return bucket + large;
}

/* position_bias [1, H, n, n]: bias[h, i, j] = table[bucket(j − i), h]. */
static td_tensor *
position_bias (td_t5_encoder *encoder, td_layer_ctx *ctx, int n)
{
  const td_t5_config *c = &encoder->config;
  const td_tensor *table_host = td_weights_get_host (
    encoder->weights, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", ctx->err);
  if (table_host == NULL)
    {
      td_layer_fail (ctx, TD_ERR_NOT_FOUND);
      return NULL;
    }
  float *table = td_tensor_to_f32 (table_host, ctx->err);
  float *bias = malloc ((size_t) c->num_heads * n * n * sizeof *bias);
  int *buckets = malloc ((size_t) 2 * n * sizeof *buckets);
  td_tensor *result = NULL;
  if (table == NULL || bias == NULL || buckets == NULL)
    {
      td_error_set (ctx->err, TD_ERR_NO_MEMORY, "out of memory for the T5 position bias");
      td_layer_fail (ctx, TD_ERR_NO_MEMORY);
      goto out;
    }
  /* Relative positions run from −(n−1) to n−1. */
  for (int r = -(n - 1); r <= n - 1; r++)
    buckets[r + n - 1] = td_t5_relative_bucket (r, c->num_buckets, c->max_distance);
  for (int h = 0; h < c->num_heads; h++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++)
        bias[((size_t) h * n + i) * n + j] = table[buckets[j - i + n - 1] * c->num_heads + h];
  const int64_t shape[4] = { 1, c->num_heads, n, n };
  result = td_layer_from_host (ctx, TD_F32, 4, shape, bias);
out:
  free (table);
  free (bias);
  free (buckets);
  return result;
}

static td_tensor *
self_attention (td_t5_encoder *encoder, td_layer_ctx *ctx, const td_tensor *x, const td_tensor *bias, int layer)
{
  const td_t5_config *c = &encoder->config;
  char prefix[128];
  snprintf (prefix, sizeof prefix, "encoder.block.%d.layer.0.layer_norm.weight", layer);
  td_tensor *h = td_layer_rms_norm (ctx, x, prefix, c->eps);

  td_tensor *qkv[3] = { NULL, NULL, NULL };
  const char *names[3] = { "q", "k", "v" };
  const int64_t heads[4] = { 1, x->shape[1], c->num_heads, c->d_kv };
  for (int i = 0; i < 3; i++)
    {
      snprintf (prefix, sizeof prefix, "encoder.block.%d.layer.0.SelfAttention.%s", layer, names[i]);
      td_tensor *flat = td_layer_linear (ctx, h, prefix); /* [1, n, H·d_kv] */
      qkv[i] = td_layer_reshape (ctx, flat, 4, heads);    /* [1, n, H, d_kv] */
      td_tensor_free (flat);
    }
  td_tensor_free (h);

  /* T5 folds the 1/sqrt(d) scale into its weights: scores are plain q·k + bias. */
  td_tensor *attended = td_layer_attention (ctx, qkv[0], qkv[1], qkv[2], bias, 1.0f, false);
  for (int i = 0; i < 3; i++)
    td_tensor_free (qkv[i]);
  const int64_t flat_shape[3] = { 1, x->shape[1], (int64_t) c->num_heads * c->d_kv };
  td_tensor *flat = td_layer_reshape (ctx, attended, 3, flat_shape);
  td_tensor_free (attended);
  snprintf (prefix, sizeof prefix, "encoder.block.%d.layer.0.SelfAttention.o", layer);
  td_tensor *out = td_layer_linear (ctx, flat, prefix);
  td_tensor_free (flat);
  return out;
}

static td_tensor *
feed_forward (td_t5_encoder *encoder, td_layer_ctx *ctx, const td_tensor *x, int layer)
{
  const td_t5_config *c = &encoder->config;
  char name[128];
  snprintf (name, sizeof name, "encoder.block.%d.layer.1.layer_norm.weight", layer);
  td_tensor *h = td_layer_rms_norm (ctx, x, name, c->eps);
  td_tensor *inner;
  if (c->gated)
    {
      /* wo(act(wi_0 · h) ⊙ (wi_1 · h)) */
      snprintf (name, sizeof name, "encoder.block.%d.layer.1.DenseReluDense.wi_0", layer);
      inner = td_layer_linear_act (ctx, h, name, c->activation);
      snprintf (name, sizeof name, "encoder.block.%d.layer.1.DenseReluDense.wi_1", layer);
      td_tensor *gate = td_layer_linear (ctx, h, name);
      td_layer_mul_ (ctx, inner, gate);
      td_tensor_free (gate);
    }
  else
    {
      snprintf (name, sizeof name, "encoder.block.%d.layer.1.DenseReluDense.wi", layer);
      inner = td_layer_linear_act (ctx, h, name, c->activation);
    }
  td_tensor_free (h);
  snprintf (name, sizeof name, "encoder.block.%d.layer.1.DenseReluDense.wo", layer);
  td_tensor *out = td_layer_linear (ctx, inner, name);
  td_tensor_free (inner);
  return out;
}

td_tensor *
td_t5_encoder_forward (td_t5_encoder *encoder, const int32_t *ids, int n, td_error *err)
{
  const td_t5_config *c = &encoder->config;
  if (n <= 0 || n > 4096)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "T5: %d tokens is outside 1..4096", n);
      return NULL;
    }
  for (int i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= c->vocab_size)
      {
        td_error_set (err, TD_ERR_INVALID_ARG, "T5: token id %d at position %d is outside the vocabulary (%d)",
                      ids[i], i, c->vocab_size);
        return NULL;
      }

  td_layer_ctx ctx = { .backend = encoder->backend, .weights = encoder->weights, .err = err };
  const int64_t ids_shape[2] = { 1, n };
  td_tensor *ids_tensor = td_layer_from_host (&ctx, TD_I32, 2, ids_shape, ids);
  const char *table_name = embedding_table (encoder->weights);
  const td_tensor *table = td_layer_ok (&ctx) ? td_weights_get (encoder->weights, table_name, err) : NULL;
  if (table == NULL)
    td_layer_fail (&ctx, TD_ERR_NOT_FOUND);
  const int64_t x_shape[3] = { 1, n, c->d_model };
  td_tensor *x = td_layer_new (&ctx, TD_F32, 3, x_shape);
  if (td_layer_ok (&ctx))
    {
      td_status st = td_embedding (encoder->backend, x, ids_tensor, table, err);
      if (st != TD_OK)
        td_layer_fail (&ctx, st);
    }
  td_tensor_free (ids_tensor);

  td_tensor *bias = position_bias (encoder, &ctx, n);
  for (int layer = 0; layer < c->num_layers && td_layer_ok (&ctx); layer++)
    {
      td_block_stream_before (&encoder->stream, &ctx, 0, layer);
      td_tensor *attn = self_attention (encoder, &ctx, x, bias, layer);
      td_layer_add_ (&ctx, x, attn);
      td_tensor_free (attn);
      td_tensor *ff = feed_forward (encoder, &ctx, x, layer);
      td_layer_add_ (&ctx, x, ff);
      td_tensor_free (ff);
      td_block_stream_after (&encoder->stream, 0, layer);
    }
  td_tensor_free (bias);
  td_tensor *out = td_layer_rms_norm (&ctx, x, "encoder.final_layer_norm.weight", c->eps);
  td_tensor_free (x);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      td_error_prefix (err, "T5 encoder");
      return NULL;
    }
  return out;
}
