/* qwen2vl.c — Qwen2-VL loading, M-RoPE positions, and the language model with its
 * key/value cache. The vision tower is in qwen2vl_vision.c, decoding in
 * qwen2vl_generate.c. */
#include "models/qwen2vl.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/qwen2vl_files.h"
#include "models/qwen2vl_gguf_keys.h"
#include "models/qwen2vl_private.h"
#include "models/rope_tables.h"

static td_status
check_vision_weights (td_weights *w, const td_qwen2vl_vision_config *vc, td_error *err)
{
  const int64_t e = vc->embed_dim, merged = (int64_t) vc->embed_dim * vc->merge_size * vc->merge_size;
  td_status st;
  /* The Conv3d kernel, or the same as the [embed_dim, C·T·P·P] matrix the encoder
   * uses (a GGUF file holds at most 4 dimensions; `thinkdiff quantize` folds it). */
  const int64_t patch = (int64_t) vc->in_channels * vc->temporal_patch_size * vc->patch_size * vc->patch_size;
  const td_tensor *kernel = td_weights_get_host (w, "visual.patch_embed.proj.weight", NULL);
  if (kernel != NULL && kernel->ndim == 2)
    st = td_weights_expectf (w, err, TD_DIMS (e, patch), "visual.patch_embed.proj.weight");
  else
    st = td_weights_expectf (w, err,
                             TD_DIMS (e, vc->in_channels, vc->temporal_patch_size, vc->patch_size, vc->patch_size),
                             "visual.patch_embed.proj.weight");
  if (st
      || (st = td_weights_expect_norm (w, err, e, true, "visual.merger.ln_q"))
      || (st = td_weights_expect_linear (w, err, merged, merged, true, "visual.merger.mlp.0"))
      || (st = td_weights_expect_linear (w, err, vc->out_dim, merged, true, "visual.merger.mlp.2")))
    return st;
  for (int b = 0; b < vc->depth; b++)
    if ((st = td_weights_expect_linear (w, err, 3 * e, e, true, "visual.blocks.%d.attn.qkv", b))
        || (st = td_weights_expect_linear (w, err, e, e, true, "visual.blocks.%d.attn.proj", b))
        || (st = td_weights_expect_norm (w, err, e, true, "visual.blocks.%d.norm1", b))
        || (st = td_weights_expect_norm (w, err, e, true, "visual.blocks.%d.norm2", b))
        || (st = td_weights_expect_linear (w, err, vc->mlp_dim, e, true, "visual.blocks.%d.mlp.fc1", b))
        || (st = td_weights_expect_linear (w, err, e, vc->mlp_dim, true, "visual.blocks.%d.mlp.fc2", b)))
      return st;
  return TD_OK;
}

/* Every tensor the language model and the vision tower read, with its shape, before any is used. */
static td_status
check_weights (td_weights *w, const td_qwen2vl_config *c, td_error *err)
{
  const int64_t d = c->hidden_size, q = (int64_t) c->num_heads * c->head_dim;
  const int64_t kv = (int64_t) c->num_kv_heads * c->head_dim, ff = c->intermediate_size;
  td_status st;
  if ((st = td_weights_expectf (w, err, TD_DIMS (c->vocab_size, d), "embed_tokens.weight"))
      || (!c->tie_embeddings && (st = td_weights_expectf (w, err, TD_DIMS (c->vocab_size, d), "lm_head.weight")))
      || (st = td_weights_expectf (w, err, TD_DIMS (d), "norm.weight"))
      || (st = check_vision_weights (w, &c->vision, err)))
    return st;
  for (int l = 0; l < c->num_layers; l++)
    if ((st = td_weights_expect_linear (w, err, q, d, true, "layers.%d.self_attn.q_proj", l))
        || (st = td_weights_expect_linear (w, err, kv, d, true, "layers.%d.self_attn.k_proj", l))
        || (st = td_weights_expect_linear (w, err, kv, d, true, "layers.%d.self_attn.v_proj", l))
        || (st = td_weights_expect_linear (w, err, d, q, false, "layers.%d.self_attn.o_proj", l))
        || (st = td_weights_expect_linear (w, err, ff, d, false, "layers.%d.mlp.gate_proj", l))
        || (st = td_weights_expect_linear (w, err, ff, d, false, "layers.%d.mlp.up_proj", l))
        || (st = td_weights_expect_linear (w, err, d, ff, false, "layers.%d.mlp.down_proj", l))
        || (st = td_weights_expectf (w, err, TD_DIMS (d), "layers.%d.input_layernorm.weight", l))
        || (st = td_weights_expectf (w, err, TD_DIMS (d), "layers.%d.post_attention_layernorm.weight", l)))
      return st;
  return TD_OK;
}

/* A block's device weights as the forward passes read them (absent ones are skipped). */
static const char *const layer_weights[] = {
  "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
  "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight",
  "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", NULL,
};
static const char *const vision_block_weights[] = {
  "norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
  "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias", NULL,
};

/* The language model's layers come first: decoding reads every one per token, so
 * they are the ones kept resident when only some fit. llama.cpp names them
 * "blk.N." and the tower's "v.blk.N.". */
static void
init_stream (td_qwen2vl *model)
{
  const td_block_group groups[2] = {
    [TD_QWEN2VL_LAYERS] = { .prefixes = { "layers.%d.", "blk.%d." }, .weights = layer_weights,
                            .count = model->config.num_layers, .then = -1 },
    [TD_QWEN2VL_VISION_BLOCKS] = { .prefixes = { "visual.blocks.%d.", "v.blk.%d." }, .weights = vision_block_weights,
                                   .count = model->config.vision.depth, .then = -1 },
  };
  td_block_stream_init (&model->stream, model->weights, groups, 2, NULL, NULL, NULL);
}

void
td_qwen2vl_set_resident_blocks (td_qwen2vl *model, int resident)
{
  td_block_stream_set_resident (&model->stream, resident);
}

int
td_qwen2vl_resident_blocks (const td_qwen2vl *model)
{
  return td_block_stream_resident (&model->stream);
}

td_qwen2vl *
td_qwen2vl_load (const char *dir, td_backend *backend, td_error *err)
{
  return td_qwen2vl_load_chosen (dir, NULL, backend, err);
}

td_qwen2vl *
td_qwen2vl_load_chosen (const char *dir, const char *file, td_backend *backend, td_error *err)
{
  td_qwen2vl *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading Qwen2-VL");
      return NULL;
    }
  model->backend = backend != NULL ? backend : td_backend_host ();
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *generation_path = g_build_filename (dir, "generation_config.json", NULL);
  td_qwen2vl_source source = { 0 };
  if (td_qwen2vl_config_read (config_path, &model->config, err) != TD_OK)
    goto fail;
  /* The official sampler keeps every EOS id of both files from being picked early. */
  if (g_file_test (generation_path, G_FILE_TEST_EXISTS)
      && td_qwen2vl_generation_config_read (generation_path, &model->config, err) != TD_OK)
    goto fail;
  if (td_qwen2vl_source_find (dir, file, &source, err) != TD_OK)
    goto fail;
  const bool gguf_pair = source.llm != NULL;
  model->weights = gguf_pair ? td_qwen2vl_gguf_open (source.llm, source.mmproj, &model->config, backend, err)
                             : td_weights_open (source.weights, backend, err);
  if (model->weights == NULL)
    goto fail;
  /* Names are asked for as the language model and the tower know them ("layers.0…",
   * "visual.…"); published checkpoints prefix them with "model." (and newer saves
   * with "model.language_model."). */
  td_weights_add_prefix (model->weights, "model.");
  td_weights_add_prefix (model->weights, "model.language_model.");

  if (check_weights (model->weights, &model->config, err) != TD_OK
      || (gguf_pair && td_weights_refuse_unused (model->weights, "Qwen2-VL", NULL, err) != TD_OK))
    goto fail;
  td_qwen2vl_source_clear (&source);
  init_stream (model);
  return model;

fail:
  td_qwen2vl_source_clear (&source);
  td_error_prefix (err, "loading Qwen2-VL from %s", file != NULL ? file : dir);
  td_qwen2vl_free (model);
  return NULL;
}

td_qwen2vl *
td_qwen2vl_new_from_config (const td_qwen2vl_config *config, td_weights *weights, td_error *err)
{
  td_qwen2vl *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory creating Qwen2-VL");
      td_weights_free (weights);
      return NULL;
    }
  model->config = *config;
  model->backend = td_weights_backend (weights);
  model->weights = weights;
  if (check_weights (weights, config, err) != TD_OK)
    {
      td_qwen2vl_free (model);
      return NULL;
    }
  return model;
}

void
td_qwen2vl_free (td_qwen2vl *model)
{
  if (model == NULL)
    return;
  td_weights_free (model->weights);
  free (model);
}

const td_qwen2vl_config *
td_qwen2vl_config_of (const td_qwen2vl *model)
{
  return &model->config;
}

td_backend *
td_qwen2vl_backend (const td_qwen2vl *model)
{
  return model->backend;
}

td_weights *
td_qwen2vl_weights (td_qwen2vl *model)
{
  return model->weights;
}

/* ---- M-RoPE positions (transformers' get_rope_index) ---------------------- */

static void
text_positions (int64_t *positions, int n, int from, int count, int64_t start)
{
  for (int i = 0; i < count; i++)
    for (int s = 0; s < 3; s++)
      positions[(int64_t) s * n + from + i] = start + i;
}

td_status
td_qwen2vl_rope_index (const td_qwen2vl_config *config, const int32_t *ids, int n, const int (*grids)[3],
                       int n_images, int64_t *positions, int64_t *delta, td_error *err)
{
  const int merge = config->vision.merge_size;
  if (n < 0 || ids == NULL || n_images < 0 || (n_images > 0 && grids == NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: positions need the ids and one grid per image");
  for (int image = 0; image < n_images; image++)
    if (grids[image][0] < 1 || grids[image][1] < merge || grids[image][2] < merge || grids[image][1] % merge != 0
        || grids[image][2] % merge != 0)
      return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: image %d has grid %d×%d×%d, not a positive multiple "
                           "of the merge size %d", image, grids[image][0], grids[image][1], grids[image][2], merge);
  int64_t next = 0; /* max position so far + 1 */
  int st = 0;       /* first token not yet placed */
  for (int image = 0; image < n_images; image++)
    {
      int ed = st;
      while (ed < n && ids[ed] != config->image_token_id)
        ed++;
      const int64_t gt = grids[image][0], gh = grids[image][1] / merge, gw = grids[image][2] / merge;
      const int64_t count = gt * gh * gw;
      if (ed == n || count > n - ed)
        return td_error_set (err, TD_ERR_INVALID_ARG,
                             "Qwen2-VL: image %d needs %lld image tokens, the prompt has too few", image,
                             (long long) count);
      for (int64_t i = 0; i < count; i++)
        if (ids[ed + i] != config->image_token_id)
          return td_error_set (err, TD_ERR_INVALID_ARG,
                               "Qwen2-VL: image %d needs a run of %lld image tokens at position %d, found %lld",
                               image, (long long) count, ed, (long long) i);

      /* Text before the image counts on; the image's patches take (t, row, column)
       * offsets from where the text stopped. */
      text_positions (positions, n, st, ed - st, next);
      const int64_t base = next + (ed - st);
      int64_t largest = base;
      for (int64_t i = 0; i < count; i++)
        {
          int64_t t = i / (gh * gw), y = (i / gw) % gh, x = i % gw;
          positions[ed + i] = base + t;
          positions[(int64_t) n + ed + i] = base + y;
          positions[2 * (int64_t) n + ed + i] = base + x;
          int64_t top = base + (t > y ? (t > x ? t : x) : (y > x ? y : x));
          largest = top > largest ? top : largest;
        }
      next = largest + 1;
      st = ed + (int) count;
    }
  for (int i = st; i < n; i++)
    if (ids[i] == config->image_token_id)
      return td_error_set (err, TD_ERR_INVALID_ARG,
                           "Qwen2-VL: the prompt has image tokens at position %d beyond the %d image(s) given", i,
                           n_images);
  text_positions (positions, n, st, n - st, next);
  if (n > st)
    next += n - st;
  *delta = next - n;
  return TD_OK;
}

/* ---- the language model ------------------------------------------------- */

/* A view of dims [start, start + length) along dim 1 of a cache; NULL on failure. */
static td_tensor *
cache_view (td_layer_ctx *ctx, const td_tensor *cache, int64_t start, int64_t length)
{
  if (!td_layer_ok (ctx))
    return NULL;
  td_tensor *view = td_tensor_slice (cache, 1, start, length, ctx->err);
  if (view == NULL)
    td_layer_fail (ctx, TD_ERR_INVALID_ARG);
  return view;
}

static void
run_op (td_layer_ctx *ctx, td_status st)
{
  if (st != TD_OK)
    td_layer_fail (ctx, st);
}

/* Rounds new keys or values (f32) into their slot of a 16-bit cache; frees both
 * (once, when the slot is the f32 cache itself). */
static void
store_in_cache (td_layer_ctx *ctx, td_tensor *slot, td_tensor *values)
{
  if (values != slot && td_layer_ok (ctx))
    run_op (ctx, td_copy (ctx->backend, slot, values, ctx->err));
  if (values != slot)
    td_tensor_free (values);
  td_tensor_free (slot);
}

/* Self-attention of n new tokens h [1, n, hidden]; their rotated keys and values go
 * into the cache at the session's length, and queries attend to everything cached. */
static td_tensor *
self_attention (td_qwen2vl_session *session, td_layer_ctx *ctx, const td_tensor *h, const td_tensor *cos,
                const td_tensor *sin, int layer)
{
  const td_qwen2vl_config *c = &session->model->config;
  const int64_t n = h->shape[1], past = session->length;
  char name[128];

  /* Queries: projected and rotated in one op (the rotation is the matmul's epilogue). */
  snprintf (name, sizeof name, "layers.%d.self_attn.q_proj", layer);
  const int64_t q_shape[4] = { 1, n, c->num_heads, c->head_dim };
  td_tensor *q = td_layer_new (ctx, TD_F32, 4, q_shape);
  td_layer_linear_rope (ctx, q, h, name, cos, sin, TD_ROPE_HALF_SPLIT);

  /* Keys: projected and rotated straight into the cache. */
  snprintf (name, sizeof name, "layers.%d.self_attn.k_proj", layer);
  const int64_t kv_shape[4] = { 1, n, c->num_kv_heads, c->head_dim };
  td_tensor *k_slot = cache_view (ctx, session->k_cache[layer], past, n);
  td_tensor *k_rot = session->cache_dtype == TD_F32 ? k_slot : td_layer_new (ctx, TD_F32, 4, kv_shape);
  td_layer_linear_rope (ctx, k_rot, h, name, cos, sin, TD_ROPE_HALF_SPLIT);
  store_in_cache (ctx, k_slot, k_rot);

  /* Values: an f32 cache takes the projection directly. */
  td_tensor *v_slot = cache_view (ctx, session->v_cache[layer], past, n);
  td_tensor *v_new = session->cache_dtype == TD_F32 ? v_slot : td_layer_new (ctx, TD_F32, 4, kv_shape);
  const int64_t v_flat_shape[3] = { 1, n, (int64_t) c->num_kv_heads * c->head_dim };
  td_tensor *v_flat = td_layer_reshape (ctx, v_new, 3, v_flat_shape);
  snprintf (name, sizeof name, "layers.%d.self_attn.v_proj.weight", layer);
  const td_tensor *v_w = td_layer_ok (ctx) ? td_weights_get (ctx->weights, name, ctx->err) : NULL;
  snprintf (name, sizeof name, "layers.%d.self_attn.v_proj.bias", layer);
  const td_tensor *v_b = td_weights_get_optional (ctx->weights, name);
  if (td_layer_ok (ctx) && v_w == NULL)
    td_layer_fail (ctx, TD_ERR_NOT_FOUND);
  /* An fp8 weight's scale: s · (h · Wᵀ) + b, in place in the cache. */
  float v_scale = 1.0f;
  snprintf (name, sizeof name, "layers.%d.self_attn.v_proj", layer);
  if (td_layer_ok (ctx) && td_layer_fp8_scale (ctx, v_w, name, &v_scale) && v_scale != 1.0f)
    {
      run_op (ctx, td_matmul (ctx->backend, v_flat, h, v_w, NULL, ctx->err));
      if (td_layer_ok (ctx))
        run_op (ctx, td_scale (ctx->backend, v_flat, v_flat, v_scale, 0.0f, ctx->err));
      if (v_b != NULL)
        td_layer_add_ (ctx, v_flat, v_b);
    }
  else if (td_layer_ok (ctx))
    run_op (ctx, td_matmul (ctx->backend, v_flat, h, v_w, v_b, ctx->err));
  td_tensor_free (v_flat);
  store_in_cache (ctx, v_slot, v_new);

  td_tensor *k_all = cache_view (ctx, session->k_cache[layer], 0, past + n);
  td_tensor *v_all = cache_view (ctx, session->v_cache[layer], 0, past + n);
  td_tensor *attended = td_layer_attention (ctx, q, k_all, v_all, NULL, 1.0f / sqrtf ((float) c->head_dim), true);
  td_tensor_free (q);
  td_tensor_free (k_all);
  td_tensor_free (v_all);

  const int64_t flat_shape[3] = { 1, n, (int64_t) c->num_heads * c->head_dim };
  td_tensor *flat = td_layer_reshape (ctx, attended, 3, flat_shape);
  td_tensor_free (attended);
  snprintf (name, sizeof name, "layers.%d.self_attn.o_proj", layer);
  td_tensor *out = td_layer_linear (ctx, flat, name);
  td_tensor_free (flat);
  return out;
}

/* down(act(gate(h)) ⊙ up(h)) */
static td_tensor *
mlp (td_qwen2vl *model, td_layer_ctx *ctx, const td_tensor *h, int layer)
{
  char name[128];
  snprintf (name, sizeof name, "layers.%d.mlp.gate_proj", layer);
  td_tensor *inner = td_layer_linear_act (ctx, h, name, model->config.activation);
  snprintf (name, sizeof name, "layers.%d.mlp.up_proj", layer);
  td_tensor *up = td_layer_linear (ctx, h, name);
  td_layer_mul_ (ctx, inner, up);
  td_tensor_free (up);
  snprintf (name, sizeof name, "layers.%d.mlp.down_proj", layer);
  td_tensor *out = td_layer_linear (ctx, inner, name);
  td_tensor_free (inner);
  return out;
}

td_tensor *
td_qwen2vl_decode (td_qwen2vl_session *session, td_layer_ctx *ctx, td_tensor *x, const int64_t *positions)
{
  td_qwen2vl *model = session->model;
  const td_qwen2vl_config *c = &model->config;
  const int64_t n = x->shape[1];

  /* The rotary tables for these positions, shared by every layer. */
  const int half = c->head_dim / 2;
  float *cos_host = malloc ((size_t) n * half * sizeof *cos_host);
  float *sin_host = malloc ((size_t) n * half * sizeof *sin_host);
  td_status st = cos_host && sin_host ? td_rope_table_mrope (positions, n, c->mrope_section, c->head_dim,
                                                             c->rope_theta, cos_host, sin_host, ctx->err)
                                      : td_error_set (ctx->err, TD_ERR_NO_MEMORY, "Qwen2-VL: out of memory");
  run_op (ctx, st);
  const int64_t table_shape[2] = { n, half };
  td_tensor *cos = td_layer_from_host (ctx, TD_F32, 2, table_shape, cos_host);
  td_tensor *sin = td_layer_from_host (ctx, TD_F32, 2, table_shape, sin_host);
  free (cos_host);
  free (sin_host);

  char name[128];
  for (int layer = 0; layer < c->num_layers && td_layer_ok (ctx); layer++)
    {
      td_block_stream_before (&model->stream, ctx, TD_QWEN2VL_LAYERS, layer);
      snprintf (name, sizeof name, "layers.%d.input_layernorm.weight", layer);
      td_tensor *h = td_layer_rms_norm (ctx, x, name, c->rms_eps);
      td_tensor *attn = h ? self_attention (session, ctx, h, cos, sin, layer) : NULL;
      td_tensor_free (h);
      td_layer_add_ (ctx, x, attn);
      td_tensor_free (attn);

      snprintf (name, sizeof name, "layers.%d.post_attention_layernorm.weight", layer);
      h = td_layer_rms_norm (ctx, x, name, c->rms_eps);
      td_tensor *ff = mlp (model, ctx, h, layer);
      td_tensor_free (h);
      td_layer_add_ (ctx, x, ff);
      td_tensor_free (ff);
      td_block_stream_after (&model->stream, TD_QWEN2VL_LAYERS, layer);
    }
  td_tensor_free (cos);
  td_tensor_free (sin);
  td_tensor *out = td_layer_rms_norm (ctx, x, "norm.weight", c->rms_eps);
  if (td_layer_ok (ctx))
    session->length += (int) n;
  return out;
}

td_tensor *
td_qwen2vl_logits (td_qwen2vl *model, const td_tensor *hidden, td_error *err)
{
  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  const char *prefix = model->config.tie_embeddings ? "embed_tokens" : "lm_head";
  char name[32];
  snprintf (name, sizeof name, "%s.weight", prefix);
  const td_tensor *w = td_weights_get (model->weights, name, err);
  if (w == NULL)
    return NULL;
  td_tensor *logits = td_layer_linear_wp (&ctx, hidden, w, NULL, prefix);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (logits);
      td_error_prefix (err, "Qwen2-VL lm_head");
      return NULL;
    }
  return logits;
}

/* ---- sessions ----------------------------------------------------------- */

td_qwen2vl_session *
td_qwen2vl_session_new (td_qwen2vl *model, int max_tokens, td_error *err)
{
  return td_qwen2vl_session_new_cache (model, max_tokens, TD_F16, err);
}

td_qwen2vl_session *
td_qwen2vl_session_new_cache (td_qwen2vl *model, int max_tokens, td_dtype cache_dtype, td_error *err)
{
  const td_qwen2vl_config *c = &model->config;
  if (cache_dtype != TD_F32 && cache_dtype != TD_F16 && cache_dtype != TD_BF16)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: a key/value cache in %s (f32, f16 or bf16 only)",
                    td_dtype_name (cache_dtype));
      return NULL;
    }
  if (max_tokens < 1 || max_tokens > c->max_positions)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: a session of %d tokens is outside 1..%d", max_tokens,
                    c->max_positions);
      return NULL;
    }
  td_qwen2vl_session *session = calloc (1, sizeof *session);
  if (session != NULL)
    {
      session->k_cache = calloc ((size_t) c->num_layers, sizeof *session->k_cache);
      session->v_cache = calloc ((size_t) c->num_layers, sizeof *session->v_cache);
    }
  if (session == NULL || session->k_cache == NULL || session->v_cache == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL: out of memory for a session");
      td_qwen2vl_session_free (session);
      return NULL;
    }
  session->model = model;
  session->max_tokens = max_tokens;
  session->cache_dtype = cache_dtype;
  session->layers = c->num_layers;
  const int64_t shape[4] = { 1, max_tokens, c->num_kv_heads, c->head_dim };
  for (int layer = 0; layer < c->num_layers; layer++)
    {
      session->k_cache[layer] = td_tensor_new (model->backend, cache_dtype, 4, shape, err);
      session->v_cache[layer] = session->k_cache[layer] ? td_tensor_new (model->backend, cache_dtype, 4, shape, err)
                                                        : NULL;
      if (session->v_cache[layer] == NULL)
        {
          td_error_prefix (err, "Qwen2-VL: allocating the key/value cache for %d tokens", max_tokens);
          td_qwen2vl_session_free (session);
          return NULL;
        }
    }
  return session;
}

void
td_qwen2vl_session_free (td_qwen2vl_session *session)
{
  if (session == NULL)
    return;
  for (int layer = 0; layer < session->layers; layer++)
    {
      td_tensor_free (session->k_cache[layer]);
      td_tensor_free (session->v_cache[layer]);
    }
  free (session->k_cache);
  free (session->v_cache);
  free (session);
}

int
td_qwen2vl_session_length (const td_qwen2vl_session *session)
{
  return session->length;
}

void
td_qwen2vl_session_reset (td_qwen2vl_session *session)
{
  session->length = 0;
  session->rope_delta = 0;
}

/* Token embeddings [1, n, hidden] of host ids or of an i32 [1, n] tensor on the backend. */
static td_tensor *
embed (td_qwen2vl *model, td_layer_ctx *ctx, const int32_t *ids, const td_tensor *ids_tensor, int n)
{
  const int64_t ids_shape[2] = { 1, n };
  td_tensor *uploaded = ids != NULL ? td_layer_from_host (ctx, TD_I32, 2, ids_shape, ids) : NULL;
  const td_tensor *table = td_layer_ok (ctx) ? td_weights_get (model->weights, "embed_tokens.weight", ctx->err)
                                             : NULL;
  if (td_layer_ok (ctx) && table == NULL)
    td_layer_fail (ctx, TD_ERR_NOT_FOUND);
  const int64_t x_shape[3] = { 1, n, model->config.hidden_size };
  td_tensor *x = td_layer_new (ctx, TD_F32, 3, x_shape);
  if (td_layer_ok (ctx))
    run_op (ctx, td_embedding (ctx->backend, x, uploaded != NULL ? uploaded : ids_tensor, table, ctx->err));
  td_tensor_free (uploaded);
  return x;
}

/* Copies image feature rows over the embeddings of the image-token runs, in order. */
static void
splice_images (td_qwen2vl *model, td_layer_ctx *ctx, td_tensor *x, const int32_t *ids, int n,
               const td_tensor *features)
{
  int64_t row = 0;
  for (int i = 0; i < n && td_layer_ok (ctx);)
    {
      if (ids[i] != model->config.image_token_id)
        {
          i++;
          continue;
        }
      int run = 1;
      while (i + run < n && ids[i + run] == model->config.image_token_id)
        run++;
      td_tensor *dst = td_tensor_slice (x, 1, i, run, ctx->err);
      td_tensor *src_rows = dst ? td_tensor_slice (features, 0, row, run, ctx->err) : NULL;
      const int64_t src_shape[3] = { 1, run, features->shape[1] };
      td_tensor *src = src_rows ? td_tensor_reshape (src_rows, 3, src_shape, ctx->err) : NULL;
      if (src == NULL)
        td_layer_fail (ctx, TD_ERR_INVALID_ARG);
      else
        run_op (ctx, td_copy (ctx->backend, dst, src, ctx->err));
      td_tensor_free (dst);
      td_tensor_free (src_rows);
      td_tensor_free (src);
      row += run;
      i += run;
    }
}

static td_status
check_ids (const td_qwen2vl_session *session, const int32_t *ids, int n, td_error *err)
{
  const td_qwen2vl_config *c = &session->model->config;
  if (n < 1 || n > session->max_tokens - session->length)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: %d more tokens do not fit the session (%d of %d used)",
                         n, session->length, session->max_tokens);
  for (int i = 0; ids != NULL && i < n; i++)
    if (ids[i] < 0 || ids[i] >= c->vocab_size)
      return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: token id %d at position %d is outside the vocabulary "
                           "(%d)", ids[i], i, c->vocab_size);
  return TD_OK;
}

td_tensor *
td_qwen2vl_session_prefill (td_qwen2vl_session *session, const int32_t *ids, int n, const td_tensor *image_features,
                            const int (*grids)[3], int n_images, td_error *err)
{
  td_qwen2vl *model = session->model;
  const td_qwen2vl_config *c = &model->config;
  if (session->length != 0)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: prefill needs an empty session");
      return NULL;
    }
  if (ids == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: no prompt");
      return NULL;
    }
  if (check_ids (session, ids, n, err) != TD_OK)
    return NULL;
  int64_t image_tokens = 0;
  for (int i = 0; i < n; i++)
    image_tokens += ids[i] == c->image_token_id;
  int64_t feature_rows = image_features != NULL ? image_features->shape[0] : 0;
  if (image_tokens != feature_rows
      || (image_features != NULL && (image_features->ndim != 2 || image_features->shape[1] != c->hidden_size)))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: the prompt has %lld image tokens but %lld image features",
                    (long long) image_tokens, (long long) feature_rows);
      return NULL;
    }

  int64_t *positions = malloc ((size_t) 3 * n * sizeof *positions);
  if (positions == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL: out of memory");
      return NULL;
    }
  int64_t delta = 0;
  if (td_qwen2vl_rope_index (c, ids, n, grids, image_features != NULL ? n_images : 0, positions, &delta, err)
      != TD_OK)
    {
      free (positions);
      return NULL;
    }

  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  td_tensor *x = embed (model, &ctx, ids, NULL, n);
  if (image_features != NULL)
    splice_images (model, &ctx, x, ids, n, image_features);
  td_tensor *out = x ? td_qwen2vl_decode (session, &ctx, x, positions) : NULL;
  td_tensor_free (x);
  free (positions);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      session->length = 0;
      td_error_prefix (err, "Qwen2-VL prefill");
      return NULL;
    }
  session->rope_delta = delta;
  return out;
}

td_tensor *
td_qwen2vl_session_append (td_qwen2vl_session *session, const int32_t *ids, const td_tensor *ids_tensor, int n,
                           td_error *err)
{
  td_qwen2vl *model = session->model;
  if ((ids == NULL) == (ids_tensor == NULL))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: append takes host ids or an ids tensor");
      return NULL;
    }
  if (check_ids (session, ids, n, err) != TD_OK)
    return NULL;
  if (ids_tensor != NULL && (ids_tensor->dtype != TD_I32 || td_tensor_numel (ids_tensor) != n))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: the ids tensor should hold %d i32 ids", n);
      return NULL;
    }
  int64_t *positions = malloc ((size_t) 3 * n * sizeof *positions);
  if (positions == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL: out of memory");
      return NULL;
    }
  /* After the prompt every token sits at the same position in all three streams. */
  text_positions (positions, n, 0, n, session->length + session->rope_delta);

  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  td_tensor *x = embed (model, &ctx, ids, ids_tensor, n);
  td_tensor *out = x ? td_qwen2vl_decode (session, &ctx, x, positions) : NULL;
  td_tensor_free (x);
  free (positions);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      td_error_prefix (err, "Qwen2-VL decode");
      return NULL;
    }
  return out;
}
