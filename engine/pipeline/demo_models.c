#include "pipeline/demo_models.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "backend/op.h"
#include "io/safetensors.h"

/* ---- a checkpoint being built: named tensors with deterministic random values ---- */

typedef struct {
  GPtrArray *names;
  GArray *entries;  /* td_safetensors_entry */
  GPtrArray *data;  /* float arrays */
  GPtrArray *shapes;
  uint64_t seed;
  uint64_t counter;
} checkpoint;

static void
checkpoint_init (checkpoint *c, uint64_t seed)
{
  c->names = g_ptr_array_new_with_free_func (g_free);
  c->entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  c->data = g_ptr_array_new_with_free_func (g_free);
  c->shapes = g_ptr_array_new_with_free_func (g_free);
  c->seed = seed;
}

static void
checkpoint_clear (checkpoint *c)
{
  g_ptr_array_unref (c->names);
  g_array_unref (c->entries);
  g_ptr_array_unref (c->data);
  g_ptr_array_unref (c->shapes);
}

/* Adds a tensor: kind 'w' small normal weights (std 0.02·fan-in scaled), 'o' ones,
 * 'z' zeros. Names are printf patterns. */
static void G_GNUC_PRINTF (5, 6)
add (checkpoint *c, char kind, int ndim, const int64_t *shape, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *values = g_new (float, n);
  /* Scale like a trained layer so activations stay in range: std ≈ 1/sqrt(fan-in). */
  double fan_in = ndim >= 2 ? (double) n / shape[0] : 1.0;
  float scale = (float) (1.0 / sqrt (fan_in > 1 ? fan_in : 1));
  for (int64_t i = 0; i < n; i++)
    {
      if (kind == 'o')
        values[i] = 1.0f;
      else if (kind == 'z')
        values[i] = 0.0f;
      else
        {
          float u1 = td_rng_uniform (c->seed, c->counter++) + 1e-7f;
          float u2 = td_rng_uniform (c->seed, c->counter++);
          values[i] = scale * sqrtf (-2.0f * logf (u1)) * cosf (6.2831853f * u2);
        }
    }
  int64_t *shape_copy = g_memdup2 (shape, sizeof (int64_t) * (ndim > 0 ? ndim : 1));
  td_safetensors_entry entry = { name, TD_F32, ndim, shape_copy, values, (size_t) n * sizeof (float) };
  g_ptr_array_add (c->names, name);
  g_ptr_array_add (c->data, values);
  g_ptr_array_add (c->shapes, shape_copy);
  g_array_append_val (c->entries, entry);
}

#define S1(a) 1, (const int64_t[]) { a }
#define S2(a, b) 2, (const int64_t[]) { a, b }
#define S3(a, b, c) 3, (const int64_t[]) { a, b, c }
#define S4(a, b, c, d) 4, (const int64_t[]) { a, b, c, d }

static void
add_linear (checkpoint *c, int out, int in, bool bias, const char *prefix)
{
  add (c, 'w', S2 (out, in), "%s.weight", prefix);
  if (bias)
    add (c, 'z', S1 (out), "%s.bias", prefix);
}

static void
add_norm (checkpoint *c, int n, bool bias, const char *prefix)
{
  add (c, 'o', S1 (n), "%s.weight", prefix);
  if (bias)
    add (c, 'z', S1 (n), "%s.bias", prefix);
}

static td_status
checkpoint_write (checkpoint *c, const char *dir, const char *file, td_error *err)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create the folder", dir);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  const char *metadata[] = { "format", "pt", "thinkdiff", "untrained demo model", NULL };
  return td_safetensors_write (path, (td_safetensors_entry *) c->entries->data, c->entries->len, metadata, err);
}

static td_status
write_text (const char *dir, const char *file, const char *text, td_error *err)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create the folder", dir);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents (path, text, -1, &error))
    return td_error_set (err, TD_ERR_IO, "%s: %s", path, error->message);
  return TD_OK;
}

static td_status
copy_file (const char *from_dir, const char *name, const char *to_dir, td_error *err)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  if (g_mkdir_with_parents (to_dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create the folder", to_dir);
  if (!g_file_get_contents (from, &contents, &length, &error)
      || !g_file_set_contents (to, contents, (gssize) length, &error))
    return td_error_set (err, TD_ERR_IO, "copying %s: %s", from, error->message);
  return TD_OK;
}

/* ---- FLUX ---- */

enum {
  DEMO_TEXT_WIDTH = 64,   /* T5 d_model = FLUX joint_attention_dim */
  DEMO_POOLED_WIDTH = 64, /* CLIP hidden = FLUX pooled_projection_dim */
  DEMO_HEADS = 2,
  DEMO_HEAD_DIM = 32,     /* axes 4 + 14 + 14 */
  DEMO_T5_VOCAB = 32128,
  DEMO_CLIP_VOCAB = 49408,
};

static td_status
write_transformer (const char *dir, td_error *err)
{
  const int inner = DEMO_HEADS * DEMO_HEAD_DIM, mlp = 4 * inner;
  checkpoint c;
  checkpoint_init (&c, 1);
  add_linear (&c, inner, 64, true, "x_embedder");
  add_linear (&c, inner, DEMO_TEXT_WIDTH, true, "context_embedder");
  add_linear (&c, inner, 256, true, "time_text_embed.timestep_embedder.linear_1");
  add_linear (&c, inner, inner, true, "time_text_embed.timestep_embedder.linear_2");
  add_linear (&c, inner, 256, true, "time_text_embed.guidance_embedder.linear_1");
  add_linear (&c, inner, inner, true, "time_text_embed.guidance_embedder.linear_2");
  add_linear (&c, inner, DEMO_POOLED_WIDTH, true, "time_text_embed.text_embedder.linear_1");
  add_linear (&c, inner, inner, true, "time_text_embed.text_embedder.linear_2");
  char p[128];
  const char *double_linears[][2] = {
    { "attn.to_q", "i" }, { "attn.to_k", "i" }, { "attn.to_v", "i" }, { "attn.add_q_proj", "i" },
    { "attn.add_k_proj", "i" }, { "attn.add_v_proj", "i" }, { "attn.to_out.0", "i" }, { "attn.to_add_out", "i" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (double_linears); i++)
    {
      snprintf (p, sizeof p, "transformer_blocks.0.%s", double_linears[i][0]);
      add_linear (&c, inner, inner, true, p);
    }
  const char *qk[] = { "norm_q", "norm_k", "norm_added_q", "norm_added_k" };
  for (size_t i = 0; i < G_N_ELEMENTS (qk); i++)
    add (&c, 'o', S1 (DEMO_HEAD_DIM), "transformer_blocks.0.attn.%s.weight", qk[i]);
  add_linear (&c, mlp, inner, true, "transformer_blocks.0.ff.net.0.proj");
  add_linear (&c, inner, mlp, true, "transformer_blocks.0.ff.net.2");
  add_linear (&c, mlp, inner, true, "transformer_blocks.0.ff_context.net.0.proj");
  add_linear (&c, inner, mlp, true, "transformer_blocks.0.ff_context.net.2");
  add_linear (&c, 6 * inner, inner, true, "transformer_blocks.0.norm1.linear");
  add_linear (&c, 6 * inner, inner, true, "transformer_blocks.0.norm1_context.linear");
  for (int b = 0; b < 2; b++)
    {
      const char *names[] = { "attn.to_q", "attn.to_k", "attn.to_v" };
      for (int i = 0; i < 3; i++)
        {
          snprintf (p, sizeof p, "single_transformer_blocks.%d.%s", b, names[i]);
          add_linear (&c, inner, inner, true, p);
        }
      add (&c, 'o', S1 (DEMO_HEAD_DIM), "single_transformer_blocks.%d.attn.norm_q.weight", b);
      add (&c, 'o', S1 (DEMO_HEAD_DIM), "single_transformer_blocks.%d.attn.norm_k.weight", b);
      snprintf (p, sizeof p, "single_transformer_blocks.%d.proj_mlp", b);
      add_linear (&c, mlp, inner, true, p);
      snprintf (p, sizeof p, "single_transformer_blocks.%d.proj_out", b);
      add_linear (&c, inner, inner + mlp, true, p);
      snprintf (p, sizeof p, "single_transformer_blocks.%d.norm.linear", b);
      add_linear (&c, 3 * inner, inner, true, p);
    }
  add_linear (&c, 2 * inner, inner, true, "norm_out.linear");
  add_linear (&c, 64, inner, true, "proj_out");
  td_status st = checkpoint_write (&c, dir, "diffusion_pytorch_model.safetensors", err);
  checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"_class_name\": \"FluxTransformer2DModel\", \"attention_head_dim\": %d, \"axes_dims_rope\": [4, 14, 14], "
    "\"guidance_embeds\": true, \"in_channels\": 64, \"joint_attention_dim\": %d, \"num_attention_heads\": %d, "
    "\"num_layers\": 1, \"num_single_layers\": 2, \"out_channels\": null, \"patch_size\": 1, "
    "\"pooled_projection_dim\": %d}\n", DEMO_HEAD_DIM, DEMO_TEXT_WIDTH, DEMO_HEADS, DEMO_POOLED_WIDTH);
  return write_text (dir, "config.json", config, err);
}

static void
add_resnet (checkpoint *c, int in, int out, const char *prefix)
{
  char p[192];
  snprintf (p, sizeof p, "%s.norm1", prefix);
  add_norm (c, in, true, p);
  add (c, 'w', S4 (out, in, 3, 3), "%s.conv1.weight", prefix);
  add (c, 'z', S1 (out), "%s.conv1.bias", prefix);
  snprintf (p, sizeof p, "%s.norm2", prefix);
  add_norm (c, out, true, p);
  add (c, 'w', S4 (out, out, 3, 3), "%s.conv2.weight", prefix);
  add (c, 'z', S1 (out), "%s.conv2.bias", prefix);
  if (in != out)
    {
      add (c, 'w', S4 (out, in, 1, 1), "%s.conv_shortcut.weight", prefix);
      add (c, 'z', S1 (out), "%s.conv_shortcut.bias", prefix);
    }
}

static void
add_mid_block (checkpoint *c, int ch, const char *part)
{
  char p[128];
  snprintf (p, sizeof p, "%s.mid_block.resnets.0", part);
  add_resnet (c, ch, ch, p);
  snprintf (p, sizeof p, "%s.mid_block.attentions.0.group_norm", part);
  add_norm (c, ch, true, p);
  const char *names[] = { "to_q", "to_k", "to_v", "to_out.0" };
  for (int i = 0; i < 4; i++)
    {
      snprintf (p, sizeof p, "%s.mid_block.attentions.0.%s", part, names[i]);
      add_linear (c, ch, ch, true, p);
    }
  snprintf (p, sizeof p, "%s.mid_block.resnets.1", part);
  add_resnet (c, ch, ch, p);
}

/* Four levels like the real VAE (8× per side), 16 channels each to stay tiny. */
static td_status
write_vae (const char *dir, td_error *err)
{
  const int ch = 16, levels = 4;
  checkpoint c;
  checkpoint_init (&c, 2);
  char p[128];
  add (&c, 'w', S4 (ch, 16, 3, 3), "decoder.conv_in.weight");
  add (&c, 'z', S1 (ch), "decoder.conv_in.bias");
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
          add (&c, 'w', S4 (ch, ch, 3, 3), "decoder.up_blocks.%d.upsamplers.0.conv.weight", level);
          add (&c, 'z', S1 (ch), "decoder.up_blocks.%d.upsamplers.0.conv.bias", level);
        }
    }
  add_norm (&c, ch, true, "decoder.conv_norm_out");
  add (&c, 'w', S4 (3, ch, 3, 3), "decoder.conv_out.weight");
  add (&c, 'z', S1 (3), "decoder.conv_out.bias");

  add (&c, 'w', S4 (ch, 3, 3, 3), "encoder.conv_in.weight");
  add (&c, 'z', S1 (ch), "encoder.conv_in.bias");
  for (int level = 0; level < levels; level++)
    {
      snprintf (p, sizeof p, "encoder.down_blocks.%d.resnets.0", level);
      add_resnet (&c, ch, ch, p);
      if (level < levels - 1)
        {
          add (&c, 'w', S4 (ch, ch, 3, 3), "encoder.down_blocks.%d.downsamplers.0.conv.weight", level);
          add (&c, 'z', S1 (ch), "encoder.down_blocks.%d.downsamplers.0.conv.bias", level);
        }
    }
  add_mid_block (&c, ch, "encoder");
  add_norm (&c, ch, true, "encoder.conv_norm_out");
  add (&c, 'w', S4 (32, ch, 3, 3), "encoder.conv_out.weight");
  add (&c, 'z', S1 (32), "encoder.conv_out.bias");
  td_status st = checkpoint_write (&c, dir, "diffusion_pytorch_model.safetensors", err);
  checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  return write_text (dir, "config.json",
                     "{\"_class_name\": \"AutoencoderKL\", \"block_out_channels\": [16, 16, 16, 16], "
                     "\"in_channels\": 3, \"out_channels\": 3, \"latent_channels\": 16, \"layers_per_block\": 1, "
                     "\"norm_num_groups\": 4, \"scaling_factor\": 0.3611, \"shift_factor\": 0.1159, "
                     "\"use_quant_conv\": false, \"use_post_quant_conv\": false, "
                     "\"mid_block_add_attention\": true}\n", err);
}

static td_status
write_t5 (const char *dir, td_error *err)
{
  const int d = DEMO_TEXT_WIDTH, heads = 2, d_kv = 32, d_ff = 128;
  checkpoint c;
  checkpoint_init (&c, 3);
  add (&c, 'w', S2 (DEMO_T5_VOCAB, d), "shared.weight");
  add (&c, 'w', S2 (32, heads), "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  for (int layer = 0; layer < 2; layer++)
    {
      const char *names[] = { "q", "k", "v" };
      for (int i = 0; i < 3; i++)
        add (&c, 'w', S2 (heads * d_kv, d), "encoder.block.%d.layer.0.SelfAttention.%s.weight", layer, names[i]);
      add (&c, 'w', S2 (d, heads * d_kv), "encoder.block.%d.layer.0.SelfAttention.o.weight", layer);
      add (&c, 'o', S1 (d), "encoder.block.%d.layer.0.layer_norm.weight", layer);
      add (&c, 'w', S2 (d_ff, d), "encoder.block.%d.layer.1.DenseReluDense.wi_0.weight", layer);
      add (&c, 'w', S2 (d_ff, d), "encoder.block.%d.layer.1.DenseReluDense.wi_1.weight", layer);
      add (&c, 'w', S2 (d, d_ff), "encoder.block.%d.layer.1.DenseReluDense.wo.weight", layer);
      add (&c, 'o', S1 (d), "encoder.block.%d.layer.1.layer_norm.weight", layer);
    }
  add (&c, 'o', S1 (d), "encoder.final_layer_norm.weight");
  td_status st = checkpoint_write (&c, dir, "model.safetensors", err);
  checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"architectures\": [\"T5EncoderModel\"], \"d_ff\": %d, \"d_kv\": %d, \"d_model\": %d, "
    "\"dense_act_fn\": \"gelu_new\", \"feed_forward_proj\": \"gated-gelu\", \"layer_norm_epsilon\": 1e-06, "
    "\"model_type\": \"t5\", \"num_heads\": %d, \"num_layers\": 2, \"relative_attention_max_distance\": 128, "
    "\"relative_attention_num_buckets\": 32, \"vocab_size\": %d}\n", d_ff, d_kv, d, heads, DEMO_T5_VOCAB);
  return write_text (dir, "config.json", config, err);
}

static td_status
write_clip_text (const char *dir, td_error *err)
{
  const int d = DEMO_POOLED_WIDTH;
  checkpoint c;
  checkpoint_init (&c, 4);
  add (&c, 'w', S2 (DEMO_CLIP_VOCAB, d), "text_model.embeddings.token_embedding.weight");
  add (&c, 'w', S2 (77, d), "text_model.embeddings.position_embedding.weight");
  char p[128];
  for (int layer = 0; layer < 2; layer++)
    {
      const char *names[] = { "q_proj", "k_proj", "v_proj", "out_proj" };
      for (int i = 0; i < 4; i++)
        {
          snprintf (p, sizeof p, "text_model.encoder.layers.%d.self_attn.%s", layer, names[i]);
          add_linear (&c, d, d, true, p);
        }
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.layer_norm1", layer);
      add_norm (&c, d, true, p);
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.layer_norm2", layer);
      add_norm (&c, d, true, p);
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.mlp.fc1", layer);
      add_linear (&c, 4 * d, d, true, p);
      snprintf (p, sizeof p, "text_model.encoder.layers.%d.mlp.fc2", layer);
      add_linear (&c, d, 4 * d, true, p);
    }
  add_norm (&c, d, true, "text_model.final_layer_norm");
  td_status st = checkpoint_write (&c, dir, "model.safetensors", err);
  checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": \"quick_gelu\", \"hidden_size\": %d, "
    "\"intermediate_size\": %d, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 77, "
    "\"model_type\": \"clip_text_model\", \"num_attention_heads\": 2, \"num_hidden_layers\": 2, "
    "\"eos_token_id\": 2, \"bos_token_id\": 0, \"pad_token_id\": 1, \"vocab_size\": %d}\n",
    d, 4 * d, DEMO_CLIP_VOCAB);
  return write_text (dir, "config.json", config, err);
}

static const char demo_readme[] =
  "# Untrained demo models\n\n"
  "Written by `thinkdiff make-demo-models`: tiny, randomly initialised models in the real\n"
  "file layouts, so the whole pipeline can run without downloading the real checkpoints.\n"
  "They are NOT trained: the images they make are noise. Get the real models with\n"
  "`thinkdiff models pull lvlm|clip|flux-dev`.\n";

static td_status
write_flux (const char *root, const char *tokenizers_dir, td_error *err)
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
      || (st = write_text (scheduler, "scheduler_config.json",
                           "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"base_image_seq_len\": 256, "
                           "\"base_shift\": 0.5, \"max_image_seq_len\": 4096, \"max_shift\": 1.15, "
                           "\"num_train_timesteps\": 1000, \"shift\": 3.0, \"use_dynamic_shifting\": true}\n", err))
      || (st = copy_file (t5_source, "tokenizer.json", t5_tok, err))
      || (st = copy_file (clip_source, "tokenizer.json", clip_tok, err))
      || (st = write_text (dir, "README.md", demo_readme, err)))
    return st;
  return write_text (dir, "model_index.json",
                     "{\"_class_name\": \"FluxPipeline\", \"scheduler\": [\"diffusers\", "
                     "\"FlowMatchEulerDiscreteScheduler\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"], "
                     "\"text_encoder_2\": [\"transformers\", \"T5EncoderModel\"], \"tokenizer\": [\"transformers\", "
                     "\"CLIPTokenizer\"], \"tokenizer_2\": [\"transformers\", \"T5TokenizerFast\"], \"transformer\": "
                     "[\"diffusers\", \"FluxTransformer2DModel\"], \"vae\": [\"diffusers\", \"AutoencoderKL\"]}\n",
                     err);
}

td_status
td_demo_models_write (const char *dir, const char *tokenizers_dir, td_error *err)
{
  if (tokenizers_dir == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "the tokenizer files were not found (reinstall, or pass --tokenizers)");
  td_status st = write_flux (dir, tokenizers_dir, err);
  if (st == TD_OK)
    st = write_text (dir, "README.md", demo_readme, err);
  return st;
}

const char *
td_demo_tokenizers_dir (void)
{
  static const char *const candidates[] = { TD_DATADIR "/thinkdiff-studio/tokenizers",
                                            TD_SOURCE_DIR "/tests/data/tokenizers" };
  for (size_t i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *probe = g_build_filename (candidates[i], "t5", "tokenizer.json", NULL);
      if (g_file_test (probe, G_FILE_TEST_IS_REGULAR))
        return candidates[i];
    }
  return NULL;
}
