/* demo_models_flux.c — the demo FLUX folder: transformer, VAE, scheduler, and the
 * CLIP-L and T5 text encoders with the real tokenizers. */
#include <glib.h>
#include <stdio.h>

#include "pipeline/demo_models_private.h"

/* ---- FLUX ---- */

enum {
  DEMO_HEADS = 2,
  DEMO_HEAD_DIM = 32,     /* axes 4 + 14 + 14 */
  DEMO_T5_VOCAB = 32128,
  DEMO_CLIP_VOCAB = 49408,
};

static td_status
write_transformer (const char *dir, td_error *err)
{
  const int inner = DEMO_HEADS * DEMO_HEAD_DIM, mlp = 4 * inner;
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, 1);
  td_demo_add_linear (&c, inner, 64, true, "x_embedder");
  td_demo_add_linear (&c, inner, TD_DEMO_TEXT_WIDTH, true, "context_embedder");
  td_demo_add_linear (&c, inner, 256, true, "time_text_embed.timestep_embedder.linear_1");
  td_demo_add_linear (&c, inner, inner, true, "time_text_embed.timestep_embedder.linear_2");
  td_demo_add_linear (&c, inner, 256, true, "time_text_embed.guidance_embedder.linear_1");
  td_demo_add_linear (&c, inner, inner, true, "time_text_embed.guidance_embedder.linear_2");
  td_demo_add_linear (&c, inner, TD_DEMO_POOLED_WIDTH, true, "time_text_embed.text_embedder.linear_1");
  td_demo_add_linear (&c, inner, inner, true, "time_text_embed.text_embedder.linear_2");
  char p[128];
  const char *double_linears[][2] = {
    { "attn.to_q", "i" }, { "attn.to_k", "i" }, { "attn.to_v", "i" }, { "attn.add_q_proj", "i" },
    { "attn.add_k_proj", "i" }, { "attn.add_v_proj", "i" }, { "attn.to_out.0", "i" }, { "attn.to_add_out", "i" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (double_linears); i++)
    {
      snprintf (p, sizeof p, "transformer_blocks.0.%s", double_linears[i][0]);
      td_demo_add_linear (&c, inner, inner, true, p);
    }
  const char *qk[] = { "norm_q", "norm_k", "norm_added_q", "norm_added_k" };
  for (size_t i = 0; i < G_N_ELEMENTS (qk); i++)
    td_demo_add (&c, 'o', TD_S1 (DEMO_HEAD_DIM), "transformer_blocks.0.attn.%s.weight", qk[i]);
  td_demo_add_linear (&c, mlp, inner, true, "transformer_blocks.0.ff.net.0.proj");
  td_demo_add_linear (&c, inner, mlp, true, "transformer_blocks.0.ff.net.2");
  td_demo_add_linear (&c, mlp, inner, true, "transformer_blocks.0.ff_context.net.0.proj");
  td_demo_add_linear (&c, inner, mlp, true, "transformer_blocks.0.ff_context.net.2");
  td_demo_add_linear (&c, 6 * inner, inner, true, "transformer_blocks.0.norm1.linear");
  td_demo_add_linear (&c, 6 * inner, inner, true, "transformer_blocks.0.norm1_context.linear");
  for (int b = 0; b < 2; b++)
    {
      const char *names[] = { "attn.to_q", "attn.to_k", "attn.to_v" };
      for (int i = 0; i < 3; i++)
        {
          snprintf (p, sizeof p, "single_transformer_blocks.%d.%s", b, names[i]);
          td_demo_add_linear (&c, inner, inner, true, p);
        }
      td_demo_add (&c, 'o', TD_S1 (DEMO_HEAD_DIM), "single_transformer_blocks.%d.attn.norm_q.weight", b);
      td_demo_add (&c, 'o', TD_S1 (DEMO_HEAD_DIM), "single_transformer_blocks.%d.attn.norm_k.weight", b);
      snprintf (p, sizeof p, "single_transformer_blocks.%d.proj_mlp", b);
      td_demo_add_linear (&c, mlp, inner, true, p);
      snprintf (p, sizeof p, "single_transformer_blocks.%d.proj_out", b);
      td_demo_add_linear (&c, inner, inner + mlp, true, p);
      snprintf (p, sizeof p, "single_transformer_blocks.%d.norm.linear", b);
      td_demo_add_linear (&c, 3 * inner, inner, true, p);
    }
  td_demo_add_linear (&c, 2 * inner, inner, true, "norm_out.linear");
  td_demo_add_linear (&c, 64, inner, true, "proj_out");
  td_status st = td_demo_checkpoint_write (&c, dir, "diffusion_pytorch_model.safetensors", err);
  td_demo_checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"_class_name\": \"FluxTransformer2DModel\", \"attention_head_dim\": %d, \"axes_dims_rope\": [4, 14, 14], "
    "\"guidance_embeds\": true, \"in_channels\": 64, \"joint_attention_dim\": %d, \"num_attention_heads\": %d, "
    "\"num_layers\": 1, \"num_single_layers\": 2, \"out_channels\": null, \"patch_size\": 1, "
    "\"pooled_projection_dim\": %d}\n", DEMO_HEAD_DIM, TD_DEMO_TEXT_WIDTH, DEMO_HEADS, TD_DEMO_POOLED_WIDTH);
  return td_demo_write_text (dir, "config.json", config, err);
}

static void
add_resnet (td_demo_checkpoint *c, int in, int out, const char *prefix)
{
  char p[192];
  snprintf (p, sizeof p, "%s.norm1", prefix);
  td_demo_add_norm (c, in, true, p);
  td_demo_add (c, 'w', TD_S4 (out, in, 3, 3), "%s.conv1.weight", prefix);
  td_demo_add (c, 'z', TD_S1 (out), "%s.conv1.bias", prefix);
  snprintf (p, sizeof p, "%s.norm2", prefix);
  td_demo_add_norm (c, out, true, p);
  td_demo_add (c, 'w', TD_S4 (out, out, 3, 3), "%s.conv2.weight", prefix);
  td_demo_add (c, 'z', TD_S1 (out), "%s.conv2.bias", prefix);
  if (in != out)
    {
      td_demo_add (c, 'w', TD_S4 (out, in, 1, 1), "%s.conv_shortcut.weight", prefix);
      td_demo_add (c, 'z', TD_S1 (out), "%s.conv_shortcut.bias", prefix);
    }
}

static void
add_mid_block (td_demo_checkpoint *c, int ch, const char *part)
{
  char p[128];
  snprintf (p, sizeof p, "%s.mid_block.resnets.0", part);
  add_resnet (c, ch, ch, p);
  snprintf (p, sizeof p, "%s.mid_block.attentions.0.group_norm", part);
  td_demo_add_norm (c, ch, true, p);
  const char *names[] = { "to_q", "to_k", "to_v", "to_out.0" };
  for (int i = 0; i < 4; i++)
    {
      snprintf (p, sizeof p, "%s.mid_block.attentions.0.%s", part, names[i]);
      td_demo_add_linear (c, ch, ch, true, p);
    }
  snprintf (p, sizeof p, "%s.mid_block.resnets.1", part);
  add_resnet (c, ch, ch, p);
}

/* Four levels like the real VAE (8× per side), 16 channels each to stay tiny. */
static td_status
write_vae (const char *dir, td_error *err)
{
  const int ch = 16, levels = 4;
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, 2);
  char p[128];
  td_demo_add (&c, 'w', TD_S4 (ch, 16, 3, 3), "decoder.conv_in.weight");
  td_demo_add (&c, 'z', TD_S1 (ch), "decoder.conv_in.bias");
  add_mid_block (&c, ch, "decoder");
  for (int level = 0; level < levels; level++)
    {
      for (int j = 0; j < 2; j++)
        {
          snprintf (p, sizeof p, "decoder.up_blocks.%d.resnets.%d", level, j);
          add_resnet (&c, ch, ch, p);
        }
      if (level < levels - 1)
        {
          td_demo_add (&c, 'w', TD_S4 (ch, ch, 3, 3), "decoder.up_blocks.%d.upsamplers.0.conv.weight", level);
          td_demo_add (&c, 'z', TD_S1 (ch), "decoder.up_blocks.%d.upsamplers.0.conv.bias", level);
        }
    }
  td_demo_add_norm (&c, ch, true, "decoder.conv_norm_out");
  td_demo_add (&c, 'w', TD_S4 (3, ch, 3, 3), "decoder.conv_out.weight");
  td_demo_add (&c, 'z', TD_S1 (3), "decoder.conv_out.bias");

  td_demo_add (&c, 'w', TD_S4 (ch, 3, 3, 3), "encoder.conv_in.weight");
  td_demo_add (&c, 'z', TD_S1 (ch), "encoder.conv_in.bias");
  for (int level = 0; level < levels; level++)
    {
      snprintf (p, sizeof p, "encoder.down_blocks.%d.resnets.0", level);
      add_resnet (&c, ch, ch, p);
      if (level < levels - 1)
        {
          td_demo_add (&c, 'w', TD_S4 (ch, ch, 3, 3), "encoder.down_blocks.%d.downsamplers.0.conv.weight", level);
          td_demo_add (&c, 'z', TD_S1 (ch), "encoder.down_blocks.%d.downsamplers.0.conv.bias", level);
        }
    }
  add_mid_block (&c, ch, "encoder");
  td_demo_add_norm (&c, ch, true, "encoder.conv_norm_out");
  td_demo_add (&c, 'w', TD_S4 (32, ch, 3, 3), "encoder.conv_out.weight");
  td_demo_add (&c, 'z', TD_S1 (32), "encoder.conv_out.bias");
  td_status st = td_demo_checkpoint_write (&c, dir, "diffusion_pytorch_model.safetensors", err);
  td_demo_checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  return td_demo_write_text (dir, "config.json",
                     "{\"_class_name\": \"AutoencoderKL\", \"block_out_channels\": [16, 16, 16, 16], "
                     "\"in_channels\": 3, \"out_channels\": 3, \"latent_channels\": 16, \"layers_per_block\": 1, "
                     "\"norm_num_groups\": 4, \"scaling_factor\": 0.3611, \"shift_factor\": 0.1159, "
                     "\"use_quant_conv\": false, \"use_post_quant_conv\": false, "
                     "\"mid_block_add_attention\": true}\n", err);
}

static td_status
write_t5 (const char *dir, td_error *err)
{
  const int d = TD_DEMO_TEXT_WIDTH, heads = 2, d_kv = 32, d_ff = 128;
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, 3);
  td_demo_add (&c, 'w', TD_S2 (DEMO_T5_VOCAB, d), "shared.weight");
  td_demo_add (&c, 'w', TD_S2 (32, heads), "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  for (int layer = 0; layer < 2; layer++)
    {
      const char *names[] = { "q", "k", "v" };
      for (int i = 0; i < 3; i++)
        td_demo_add (&c, 'w', TD_S2 (heads * d_kv, d), "encoder.block.%d.layer.0.SelfAttention.%s.weight", layer, names[i]);
      td_demo_add (&c, 'w', TD_S2 (d, heads * d_kv), "encoder.block.%d.layer.0.SelfAttention.o.weight", layer);
      td_demo_add (&c, 'o', TD_S1 (d), "encoder.block.%d.layer.0.layer_norm.weight", layer);
      td_demo_add (&c, 'w', TD_S2 (d_ff, d), "encoder.block.%d.layer.1.DenseReluDense.wi_0.weight", layer);
      td_demo_add (&c, 'w', TD_S2 (d_ff, d), "encoder.block.%d.layer.1.DenseReluDense.wi_1.weight", layer);
      td_demo_add (&c, 'w', TD_S2 (d, d_ff), "encoder.block.%d.layer.1.DenseReluDense.wo.weight", layer);
      td_demo_add (&c, 'o', TD_S1 (d), "encoder.block.%d.layer.1.layer_norm.weight", layer);
    }
  td_demo_add (&c, 'o', TD_S1 (d), "encoder.final_layer_norm.weight");
  td_status st = td_demo_checkpoint_write (&c, dir, "model.safetensors", err);
  td_demo_checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"architectures\": [\"T5EncoderModel\"], \"d_ff\": %d, \"d_kv\": %d, \"d_model\": %d, "
    "\"dense_act_fn\": \"gelu_new\", \"feed_forward_proj\": \"gated-gelu\", \"layer_norm_epsilon\": 1e-06, "
    "\"model_type\": \"t5\", \"num_heads\": %d, \"num_layers\": 2, \"relative_attention_max_distance\": 128, "
    "\"relative_attention_num_buckets\": 32, \"vocab_size\": %d}\n", d_ff, d_kv, d, heads, DEMO_T5_VOCAB);
  return td_demo_write_text (dir, "config.json", config, err);
}

static td_status
write_clip_text (const char *dir, td_error *err)
{
  const int d = TD_DEMO_POOLED_WIDTH;
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, 4);
  td_demo_add (&c, 'w', TD_S2 (DEMO_CLIP_VOCAB, d), "text_model.embeddings.token_embedding.weight");
  td_demo_add (&c, 'w', TD_S2 (77, d), "text_model.embeddings.position_embedding.weight");
  char p[128];
  for (int layer = 0; layer < 2; layer++)
    {
      const char *names[] = { "q_proj", "k_proj", "v_proj", "out_proj" };
      for (int i = 0; i < 4; i++)
        {
          snprintf (p, sizeof p, "text_model.encoder.layers.%d.self_attn.%s", layer, names[i]);
          td_demo_add_linear (&c, d, d, true, p);
        }
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.layer_norm1", layer);
      td_demo_add_norm (&c, d, true, p);
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.layer_norm2", layer);
      td_demo_add_norm (&c, d, true, p);
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.mlp.fc1", layer);
      td_demo_add_linear (&c, 4 * d, d, true, p);
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.mlp.fc2", layer);
      td_demo_add_linear (&c, d, 4 * d, true, p);
    }
  td_demo_add_norm (&c, d, true, "text_model.final_layer_norm");
  td_status st = td_demo_checkpoint_write (&c, dir, "model.safetensors", err);
  td_demo_checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": \"quick_gelu\", \"hidden_size\": %d, "
    "\"intermediate_size\": %d, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 77, "
    "\"model_type\": \"clip_text_model\", \"num_attention_heads\": 2, \"num_hidden_layers\": 2, "
    "\"eos_token_id\": 2, \"bos_token_id\": 0, \"pad_token_id\": 1, \"vocab_size\": %d}\n",
    d, 4 * d, DEMO_CLIP_VOCAB);
  return td_demo_write_text (dir, "config.json", config, err);
}

td_status
td_demo_write_flux (const char *root, const char *tokenizers_dir, td_error *err)
{
  g_autofree char *dir = g_build_filename (root, "flux-dev", NULL);
  g_autofree char *transformer = g_build_filename (dir, "transformer", NULL);
  g_autofree char *vae = g_build_filename (dir, "vae", NULL);
  g_autofree char *scheduler = g_build_filename (dir, "scheduler", NULL);
  g_autofree char *t5 = g_build_filename (dir, "text_encoder_2", NULL);
  g_autofree char *clip = g_build_filename (dir, "text_encoder", NULL);
  g_autofree char *t5_tok = g_build_filename (dir, "tokenizer_2", NULL);
  g_autofree char *clip_tok = g_build_filename (dir, "tokenizer", NULL);
  g_autofree char *t5_source = g_build_filename (tokenizers_dir, "t5", NULL);
  g_autofree char *clip_source = g_build_filename (tokenizers_dir, "clip", NULL);
  td_status st;
  if ((st = write_transformer (transformer, err)) || (st = write_vae (vae, err)) || (st = write_t5 (t5, err))
      || (st = write_clip_text (clip, err))
      || (st = td_demo_write_text (scheduler, "scheduler_config.json",
                           "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"base_image_seq_len\": 256, "
                           "\"base_shift\": 0.5, \"max_image_seq_len\": 4096, \"max_shift\": 1.15, "
                           "\"num_train_timesteps\": 1000, \"shift\": 3.0, \"use_dynamic_shifting\": true}\n", err))
      || (st = td_demo_copy_file (t5_source, "tokenizer.json", t5_tok, err))
      || (st = td_demo_copy_file (clip_source, "tokenizer.json", clip_tok, err))
      || (st = td_demo_write_readme (dir, err)))
    return st;
  return td_demo_write_text (dir, "model_index.json",
                     "{\"_class_name\": \"FluxPipeline\", \"scheduler\": [\"diffusers\", "
                     "\"FlowMatchEulerDiscreteScheduler\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"], "
                     "\"text_encoder_2\": [\"transformers\", \"T5EncoderModel\"], \"tokenizer\": [\"transformers\", "
                     "\"CLIPTokenizer\"], \"tokenizer_2\": [\"transformers\", \"T5TokenizerFast\"], \"transformer\": "
                     "[\"diffusers\", \"FluxTransformer2DModel\"], \"vae\": [\"diffusers\", \"AutoencoderKL\"]}\n",
                     err);
}
