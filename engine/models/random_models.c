#include "models/random_models.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* Declarations share one sticky status, like td_layer_ctx. */
typedef struct declarer {
  td_weights *weights;
  td_dtype dtype;
  td_error *err;
  td_status status;
} declarer;

static void
declare (declarer *d, float scale, float offset, int ndim, const int64_t *shape, const char *fmt, ...)
  __attribute__ ((format (printf, 6, 7)));

static void
declare (declarer *d, float scale, float offset, int ndim, const int64_t *shape, const char *fmt, ...)
{
  if (d->status != TD_OK)
    return;
  char name[256];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (name, sizeof name, fmt, ap);
  va_end (ap);
  /* A block type is for linear weights only (linear_weight); the rest is in bf16. */
  td_dtype dtype = td_dtype_is_quantized (d->dtype) ? TD_BF16 : d->dtype;
  d->status = td_weights_declare (d->weights, name, dtype, ndim, shape, scale, offset, d->err);
}

/* A linear layer's weight [out, in]: in a block type when `in` is a whole number of its
 * blocks, else in bf16 like the rest. */
static void
linear_weight (declarer *d, float scale, const int64_t *shape, const char *prefix)
{
  if (d->status != TD_OK)
    return;
  char name[256];
  snprintf (name, sizeof name, "%s.weight", prefix);
  td_dtype dtype = d->dtype;
  if (td_dtype_is_quantized (dtype) && shape[1] % td_dtype_block_elems (dtype) != 0)
    dtype = TD_BF16;
  d->status = td_weights_declare (d->weights, name, dtype, 2, shape, scale, 0.0f, d->err);
}

/* prefix.weight [out, in] and prefix.bias [out], uniform in ±1/√in as PyTorch initialises them. */
static void
linear (declarer *d, const char *prefix, int64_t out, int64_t in, bool bias)
{
  const int64_t w[2] = { out, in }, b[1] = { out };
  float bound = 1.0f / sqrtf ((float) in);
  linear_weight (d, bound, w, prefix);
  if (bias)
    declare (d, bound, 0.0f, 1, b, "%s.bias", prefix);
}

/* A norm's scale (near 1) and, for affine norms, its shift (near 0). */
static void
norm (declarer *d, const char *prefix, int64_t n, bool bias)
{
  const int64_t shape[1] = { n };
  declare (d, 0.05f, 1.0f, 1, shape, "%s.weight", prefix);
  if (bias)
    declare (d, 0.05f, 0.0f, 1, shape, "%s.bias", prefix);
}

static void
conv (declarer *d, const char *prefix, int64_t out, int64_t in, int64_t k)
{
  const int64_t w[4] = { out, in, k, k }, b[1] = { out };
  float bound = 1.0f / sqrtf ((float) (in * k * k));
  declare (d, bound, 0.0f, 4, w, "%s.weight", prefix);
  declare (d, bound, 0.0f, 1, b, "%s.bias", prefix);
}

td_flux_config
td_flux_config_dev (void)
{
  return (td_flux_config) {
    .in_channels = 64, .out_channels = 64, .num_layers = 19, .num_single_layers = 38, .head_dim = 128,
    .num_heads = 24, .joint_attention_dim = 4096, .pooled_projection_dim = 768, .mlp_ratio_x100 = 400,
    .guidance_embeds = true, .axes_dim = { 16, 56, 56 }, .theta = 10000,
  };
}

td_flux_config
td_flux_config_small (void)
{
  return (td_flux_config) {
    .in_channels = 64, .out_channels = 64, .num_layers = 2, .num_single_layers = 4, .head_dim = 32, .num_heads = 4,
    .joint_attention_dim = 256, .pooled_projection_dim = 64, .mlp_ratio_x100 = 400, .guidance_embeds = true,
    .axes_dim = { 4, 14, 14 }, .theta = 10000,
  };
}

td_vae_config
td_vae_config_flux (void)
{
  return (td_vae_config) {
    .in_channels = 3, .out_channels = 3, .latent_channels = 16, .levels = 4,
    .block_out_channels = { 128, 256, 512, 512 }, .layers_per_block = 2, .norm_num_groups = 32,
    .mid_attention = 1, .scaling_factor = 0.3611f, .shift_factor = 0.1159f,
  };
}

td_vae_config
td_vae_config_small (void)
{
  td_vae_config c = td_vae_config_flux ();
  c.block_out_channels[0] = 32;
  c.block_out_channels[1] = 32;
  c.block_out_channels[2] = 64;
  c.block_out_channels[3] = 64;
  c.layers_per_block = 1;
  c.norm_num_groups = 8;
  return c;
}

td_t5_config
td_t5_config_xxl (void)
{
  return (td_t5_config) {
    .vocab_size = 32128, .d_model = 4096, .d_kv = 64, .d_ff = 10240, .num_heads = 64, .num_layers = 24,
    .num_buckets = 32, .max_distance = 128, .eps = 1e-6f, .gated = 1, .activation = TD_UNARY_GELU_TANH,
  };
}

td_t5_config
td_t5_config_small (void)
{
  td_t5_config c = td_t5_config_xxl ();
  c.d_model = 256;
  c.d_kv = 32;
  c.num_heads = 8;
  c.d_ff = 640;
  c.num_layers = 2;
  return c;
}

td_qwen2vl_config
td_qwen2vl_config_7b (void)
{
  return (td_qwen2vl_config) {
    .vocab_size = 152064, .hidden_size = 3584, .intermediate_size = 18944, .num_layers = 28, .num_heads = 28,
    .num_kv_heads = 4, .head_dim = 128, .max_positions = 32768, .activation = TD_UNARY_SILU, .rms_eps = 1e-6f,
    .rope_theta = 1000000.0, .mrope_section = { 16, 24, 24 }, .tie_embeddings = false, .image_token_id = 151655,
    .video_token_id = 151656, .vision_start_token_id = 151652, .vision_end_token_id = 151653,
    .eos_token_id = 151645, .eos_token_ids = { 151645, 151643 }, .n_eos_token_ids = 2,
    .vision = { .depth = 32, .embed_dim = 1280, .num_heads = 16, .mlp_dim = 5120, .out_dim = 3584, .in_channels = 3,
                .patch_size = 14, .temporal_patch_size = 2, .merge_size = 2, .activation = TD_UNARY_QUICK_GELU,
                .rope_theta = 10000.0 },
  };
}

td_qwen2vl_config
td_qwen2vl_config_small (void)
{
  td_qwen2vl_config c = td_qwen2vl_config_7b ();
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 512;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 64;
  c.max_positions = 4096;
  c.mrope_section[0] = 8;
  c.mrope_section[1] = 12;
  c.mrope_section[2] = 12;
  c.vision_start_token_id = 4088;
  c.vision_end_token_id = 4089;
  c.image_token_id = 4090;
  c.video_token_id = 4091;
  c.eos_token_id = c.eos_token_ids[0] = 4092;
  c.n_eos_token_ids = 1;
  c.vision.depth = 2;
  c.vision.embed_dim = 64;
  c.vision.num_heads = 2;
  c.vision.mlp_dim = 256;
  c.vision.out_dim = c.hidden_size;
  return c;
}

static void
flux_double_block (declarer *d, const td_flux_config *c, int i)
{
  const int64_t inner = (int64_t) c->num_heads * c->head_dim, mlp = inner * c->mlp_ratio_x100 / 100;
  char p[160];
  static const char *const modulations[2] = { "norm1.linear", "norm1_context.linear" };
  for (int k = 0; k < 2; k++)
    {
      snprintf (p, sizeof p, "transformer_blocks.%d.%s", i, modulations[k]);
      linear (d, p, 6 * inner, inner, true);
    }
  static const char *const projections[8] = { "to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj",
                                              "to_out.0", "to_add_out" };
  for (int k = 0; k < 8; k++)
    {
      snprintf (p, sizeof p, "transformer_blocks.%d.attn.%s", i, projections[k]);
      linear (d, p, inner, inner, true);
    }
  static const char *const qk_norms[4] = { "norm_q", "norm_k", "norm_added_q", "norm_added_k" };
  for (int k = 0; k < 4; k++)
    {
      snprintf (p, sizeof p, "transformer_blocks.%d.attn.%s", i, qk_norms[k]);
      norm (d, p, c->head_dim, false);
    }
  static const char *const feed_forwards[2] = { "ff", "ff_context" };
  for (int k = 0; k < 2; k++)
    {
      snprintf (p, sizeof p, "transformer_blocks.%d.%s.net.0.proj", i, feed_forwards[k]);
      linear (d, p, mlp, inner, true);
      snprintf (p, sizeof p, "transformer_blocks.%d.%s.net.2", i, feed_forwards[k]);
      linear (d, p, inner, mlp, true);
    }
}

static void
flux_single_block (declarer *d, const td_flux_config *c, int i)
{
  const int64_t inner = (int64_t) c->num_heads * c->head_dim, mlp = inner * c->mlp_ratio_x100 / 100;
  char p[160];
  snprintf (p, sizeof p, "single_transformer_blocks.%d.norm.linear", i);
  linear (d, p, 3 * inner, inner, true);
  snprintf (p, sizeof p, "single_transformer_blocks.%d.proj_mlp", i);
  linear (d, p, mlp, inner, true);
  static const char *const projections[3] = { "to_q", "to_k", "to_v" };
  for (int k = 0; k < 3; k++)
    {
      snprintf (p, sizeof p, "single_transformer_blocks.%d.attn.%s", i, projections[k]);
      linear (d, p, inner, inner, true);
    }
  snprintf (p, sizeof p, "single_transformer_blocks.%d.attn.norm_q", i);
  norm (d, p, c->head_dim, false);
  snprintf (p, sizeof p, "single_transformer_blocks.%d.attn.norm_k", i);
  norm (d, p, c->head_dim, false);
  snprintf (p, sizeof p, "single_transformer_blocks.%d.proj_out", i);
  linear (d, p, inner, inner + mlp, true);
}

td_status
td_flux_dit_declare_weights (const td_flux_config *c, td_weights *weights, td_dtype dtype, td_error *err)
{
  declarer d = { .weights = weights, .dtype = dtype, .err = err };
  const int64_t inner = (int64_t) c->num_heads * c->head_dim;
  linear (&d, "x_embedder", inner, c->in_channels, true);
  linear (&d, "context_embedder", inner, c->joint_attention_dim, true);
  linear (&d, "time_text_embed.timestep_embedder.linear_1", inner, 256, true);
  linear (&d, "time_text_embed.timestep_embedder.linear_2", inner, inner, true);
  if (c->guidance_embeds)
    {
      linear (&d, "time_text_embed.guidance_embedder.linear_1", inner, 256, true);
      linear (&d, "time_text_embed.guidance_embedder.linear_2", inner, inner, true);
    }
  linear (&d, "time_text_embed.text_embedder.linear_1", inner, c->pooled_projection_dim, true);
  linear (&d, "time_text_embed.text_embedder.linear_2", inner, inner, true);
  for (int i = 0; i < c->num_layers; i++)
    flux_double_block (&d, c, i);
  for (int i = 0; i < c->num_single_layers; i++)
    flux_single_block (&d, c, i);
  linear (&d, "norm_out.linear", 2 * inner, inner, true);
  linear (&d, "proj_out", c->out_channels, inner, true);
  return d.status;
}

/* ResnetBlock2D: two norm + 3×3 conv pairs, a 1×1 shortcut when the width changes. */
static void
vae_resnet (declarer *d, const char *prefix, int64_t in, int64_t out)
{
  char p[192];
  snprintf (p, sizeof p, "%s.norm1", prefix);
  norm (d, p, in, true);
  snprintf (p, sizeof p, "%s.conv1", prefix);
  conv (d, p, out, in, 3);
  snprintf (p, sizeof p, "%s.norm2", prefix);
  norm (d, p, out, true);
  snprintf (p, sizeof p, "%s.conv2", prefix);
  conv (d, p, out, out, 3);
  if (in != out)
    {
      snprintf (p, sizeof p, "%s.conv_shortcut", prefix);
      conv (d, p, out, in, 1);
    }
}

static void
vae_mid_block (declarer *d, const td_vae_config *c, const char *part, int64_t ch)
{
  char p[192];
  for (int k = 0; k < 2; k++)
    {
      snprintf (p, sizeof p, "%s.mid_block.resnets.%d", part, k);
      vae_resnet (d, p, ch, ch);
    }
  if (!c->mid_attention)
    return;
  snprintf (p, sizeof p, "%s.mid_block.attentions.0.group_norm", part);
  norm (d, p, ch, true);
  static const char *const projections[4] = { "to_q", "to_k", "to_v", "to_out.0" };
  for (int k = 0; k < 4; k++)
    {
      snprintf (p, sizeof p, "%s.mid_block.attentions.0.%s", part, projections[k]);
      linear (d, p, ch, ch, true);
    }
}

td_status
td_flux_vae_declare_weights (const td_vae_config *c, td_weights *weights, td_dtype dtype, td_error *err)
{
  declarer d = { .weights = weights, .dtype = dtype, .err = err };
  const int *ch = c->block_out_channels;
  const int last = c->levels - 1;
  char p[192];

  /* Encoder: down blocks from the widest resolution, then the mid block, then the moments. */
  conv (&d, "encoder.conv_in", ch[0], c->in_channels, 3);
  for (int level = 0; level < c->levels; level++)
    {
      int64_t in = level == 0 ? ch[0] : ch[level - 1];
      for (int j = 0; j < c->layers_per_block; j++)
        {
          snprintf (p, sizeof p, "encoder.down_blocks.%d.resnets.%d", level, j);
          vae_resnet (&d, p, j == 0 ? in : ch[level], ch[level]);
        }
      if (level < last)
        {
          snprintf (p, sizeof p, "encoder.down_blocks.%d.downsamplers.0.conv", level);
          conv (&d, p, ch[level], ch[level], 3);
        }
    }
  vae_mid_block (&d, c, "encoder", ch[last]);
  norm (&d, "encoder.conv_norm_out", ch[last], true);
  conv (&d, "encoder.conv_out", 2 * c->latent_channels, ch[last], 3);

  /* Decoder: up block `level` works at width ch[last − level]. */
  conv (&d, "decoder.conv_in", ch[last], c->latent_channels, 3);
  vae_mid_block (&d, c, "decoder", ch[last]);
  for (int level = 0; level < c->levels; level++)
    {
      int64_t out = ch[last - level], in = level == 0 ? ch[last] : ch[last - level + 1];
      for (int j = 0; j < c->layers_per_block + 1; j++)
        {
          snprintf (p, sizeof p, "decoder.up_blocks.%d.resnets.%d", level, j);
          vae_resnet (&d, p, j == 0 ? in : out, out);
        }
      if (level < last)
        {
          snprintf (p, sizeof p, "decoder.up_blocks.%d.upsamplers.0.conv", level);
          conv (&d, p, out, out, 3);
        }
    }
  norm (&d, "decoder.conv_norm_out", ch[0], true);
  conv (&d, "decoder.conv_out", c->out_channels, ch[0], 3);
  return d.status;
}

td_status
td_t5_encoder_declare_weights (const td_t5_config *c, td_weights *weights, td_dtype dtype, td_error *err)
{
  declarer d = { .weights = weights, .dtype = dtype, .err = err };
  const int64_t inner = (int64_t) c->num_heads * c->d_kv;
  const int64_t table[2] = { c->vocab_size, c->d_model }, bias[2] = { c->num_buckets, c->num_heads };
  declare (&d, 1.0f, 0.0f, 2, table, "shared.weight");
  declare (&d, 0.5f, 0.0f, 2, bias, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  char p[160];
  for (int i = 0; i < c->num_layers; i++)
    {
      snprintf (p, sizeof p, "encoder.block.%d.layer.0.layer_norm", i);
      norm (&d, p, c->d_model, false);
      static const char *const projections[3] = { "q", "k", "v" };
      for (int k = 0; k < 3; k++)
        {
          snprintf (p, sizeof p, "encoder.block.%d.layer.0.SelfAttention.%s", i, projections[k]);
          linear (&d, p, inner, c->d_model, false);
        }
      snprintf (p, sizeof p, "encoder.block.%d.layer.0.SelfAttention.o", i);
      linear (&d, p, c->d_model, inner, false);
      snprintf (p, sizeof p, "encoder.block.%d.layer.1.layer_norm", i);
      norm (&d, p, c->d_model, false);
      for (int k = 0; k < (c->gated ? 2 : 1); k++)
        {
          if (c->gated)
            snprintf (p, sizeof p, "encoder.block.%d.layer.1.DenseReluDense.wi_%d", i, k);
          else
            snprintf (p, sizeof p, "encoder.block.%d.layer.1.DenseReluDense.wi", i);
          linear (&d, p, c->d_ff, c->d_model, false);
        }
      snprintf (p, sizeof p, "encoder.block.%d.layer.1.DenseReluDense.wo", i);
      linear (&d, p, c->d_model, c->d_ff, false);
    }
  norm (&d, "encoder.final_layer_norm", c->d_model, false);
  return d.status;
}

static void
qwen2vl_vision (declarer *d, const td_qwen2vl_vision_config *vc)
{
  const int64_t e = vc->embed_dim, merged = e * vc->merge_size * vc->merge_size;
  const int64_t kernel[5] = { e, vc->in_channels, vc->temporal_patch_size, vc->patch_size, vc->patch_size };
  declare (d, 1.0f / sqrtf ((float) (kernel[1] * kernel[2] * kernel[3] * kernel[4])), 0.0f, 5, kernel,
           "visual.patch_embed.proj.weight");
  char p[160];
  for (int b = 0; b < vc->depth; b++)
    {
      snprintf (p, sizeof p, "visual.blocks.%d.norm1", b);
      norm (d, p, e, true);
      snprintf (p, sizeof p, "visual.blocks.%d.attn.qkv", b);
      linear (d, p, 3 * e, e, true);
      snprintf (p, sizeof p, "visual.blocks.%d.attn.proj", b);
      linear (d, p, e, e, true);
      snprintf (p, sizeof p, "visual.blocks.%d.norm2", b);
      norm (d, p, e, true);
      snprintf (p, sizeof p, "visual.blocks.%d.mlp.fc1", b);
      linear (d, p, vc->mlp_dim, e, true);
      snprintf (p, sizeof p, "visual.blocks.%d.mlp.fc2", b);
      linear (d, p, e, vc->mlp_dim, true);
    }
  norm (d, "visual.merger.ln_q", e, true);
  linear (d, "visual.merger.mlp.0", merged, merged, true);
  linear (d, "visual.merger.mlp.2", vc->out_dim, merged, true);
}

td_status
td_qwen2vl_declare_weights (const td_qwen2vl_config *c, td_weights *weights, td_dtype dtype, td_error *err)
{
  declarer d = { .weights = weights, .dtype = dtype, .err = err };
  const int64_t hidden = c->hidden_size, q = (int64_t) c->num_heads * c->head_dim;
  const int64_t kv = (int64_t) c->num_kv_heads * c->head_dim;
  const int64_t table[2] = { c->vocab_size, hidden };
  declare (&d, 0.05f, 0.0f, 2, table, "embed_tokens.weight");
  char p[160];
  for (int l = 0; l < c->num_layers; l++)
    {
      snprintf (p, sizeof p, "layers.%d.input_layernorm", l);
      norm (&d, p, hidden, false);
      snprintf (p, sizeof p, "layers.%d.self_attn.q_proj", l);
      linear (&d, p, q, hidden, true);
      snprintf (p, sizeof p, "layers.%d.self_attn.k_proj", l);
      linear (&d, p, kv, hidden, true);
      snprintf (p, sizeof p, "layers.%d.self_attn.v_proj", l);
      linear (&d, p, kv, hidden, true);
      snprintf (p, sizeof p, "layers.%d.self_attn.o_proj", l);
      linear (&d, p, hidden, q, false);
      snprintf (p, sizeof p, "layers.%d.post_attention_layernorm", l);
      norm (&d, p, hidden, false);
      static const char *const up[2] = { "gate_proj", "up_proj" };
      for (int k = 0; k < 2; k++)
        {
          snprintf (p, sizeof p, "layers.%d.mlp.%s", l, up[k]);
          linear (&d, p, c->intermediate_size, hidden, false);
        }
      snprintf (p, sizeof p, "layers.%d.mlp.down_proj", l);
      linear (&d, p, hidden, c->intermediate_size, false);
    }
  norm (&d, "norm", hidden, false);
  if (!c->tie_embeddings)
    linear (&d, "lm_head", c->vocab_size, hidden, false);
  qwen2vl_vision (&d, &c->vision);
  return d.status;
}

td_status
td_aligner_declare_weights (int in_dim, int out_dim, td_weights *weights, td_dtype dtype, td_error *err)
{
  declarer d = { .weights = weights, .dtype = dtype, .err = err };
  linear (&d, "0", out_dim, in_dim, true);
  linear (&d, "2", out_dim, out_dim, true);
  const int64_t scale[1] = { out_dim };
  declare (&d, 0.05f, 1.0f, 1, scale, "3.weight");
  return d.status;
}

td_status
td_qwen2vl_board_prompt (const td_qwen2vl_config *c, int n, int side, int32_t *ids, int (*grids)[3], td_error *err)
{
  const td_qwen2vl_vision_config *vc = &c->vision;
  const int factor = vc->patch_size * vc->merge_size;
  if (factor < 1 || side < factor || side % factor != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL prompt: the images' side %d is not a multiple of %d",
                         side, factor);
  const int patches = side / vc->patch_size, image_tokens = patches * patches / (vc->merge_size * vc->merge_size);
  const int text = n - TD_QWEN2VL_BOARD_IMAGES * (image_tokens + 2);
  if (text < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "Qwen2-VL prompt: %d tokens cannot hold %d images of %d tokens and some text", n,
                         TD_QWEN2VL_BOARD_IMAGES, image_tokens);
  /* Text ids stay below every special token (151643 and up in Qwen2-VL's vocabulary),
   * so that none opens an image by chance. */
  int id_limit = c->vocab_size < 151643 ? c->vocab_size : 151643;
  const int specials[4] = { c->image_token_id, c->video_token_id, c->vision_start_token_id, c->vision_end_token_id };
  for (int i = 0; i < 4; i++)
    if (specials[i] >= 0 && specials[i] < id_limit)
      id_limit = specials[i];
  if (id_limit < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL prompt: no ids below the special tokens");
  int at = 0;
  const int before = text / 5;
  for (; at < before; at++)
    ids[at] = (int32_t) (td_rng_uniform (10, (uint64_t) at) * (float) (id_limit - 1));
  for (int image = 0; image < TD_QWEN2VL_BOARD_IMAGES; image++)
    {
      grids[image][0] = 1;
      grids[image][1] = grids[image][2] = patches;
      ids[at++] = c->vision_start_token_id;
      for (int i = 0; i < image_tokens; i++)
        ids[at++] = c->image_token_id;
      ids[at++] = c->vision_end_token_id;
    }
  for (; at < n; at++)
    ids[at] = (int32_t) (td_rng_uniform (10, (uint64_t) at) * (float) (id_limit - 1));
  return TD_OK;
}

td_flux_dit *
td_flux_dit_new_random (const td_flux_config *config, td_backend *backend, td_dtype dtype, uint64_t seed,
                        td_error *err)
{
  td_weights *weights = td_weights_new_random (backend, seed);
  if (td_flux_dit_declare_weights (config, weights, dtype, err) != TD_OK)
    {
      td_weights_free (weights);
      return NULL;
    }
  return td_flux_dit_new_from_config (config, weights, err);
}

td_flux_vae *
td_flux_vae_new_random (const td_vae_config *config, td_backend *backend, td_dtype dtype, uint64_t seed,
                        td_error *err)
{
  td_weights *weights = td_weights_new_random (backend, seed);
  if (td_flux_vae_declare_weights (config, weights, dtype, err) != TD_OK)
    {
      td_weights_free (weights);
      return NULL;
    }
  return td_flux_vae_new_from_config (config, weights, err);
}

td_t5_encoder *
td_t5_encoder_new_random (const td_t5_config *config, td_backend *backend, td_dtype dtype, uint64_t seed,
                          td_error *err)
{
  td_weights *weights = td_weights_new_random (backend, seed);
  if (td_t5_encoder_declare_weights (config, weights, dtype, err) != TD_OK)
    {
      td_weights_free (weights);
      return NULL;
    }
  return td_t5_encoder_new_from_config (config, weights, err);
}

td_qwen2vl *
td_qwen2vl_new_random (const td_qwen2vl_config *config, td_backend *backend, td_dtype dtype, uint64_t seed,
                       td_error *err)
{
  td_weights *weights = td_weights_new_random (backend, seed);
  if (td_qwen2vl_declare_weights (config, weights, dtype, err) != TD_OK)
    {
      td_weights_free (weights);
      return NULL;
    }
  return td_qwen2vl_new_from_config (config, weights, err);
}

td_aligner *
td_aligner_new_random (int in_dim, int out_dim, td_backend *backend, td_dtype dtype, uint64_t seed, td_error *err)
{
  td_weights *weights = td_weights_new_random (backend, seed);
  if (td_aligner_declare_weights (in_dim, out_dim, weights, dtype, err) != TD_OK)
    {
      td_weights_free (weights);
      return NULL;
    }
  return td_aligner_new_from_weights (weights, err);
}
