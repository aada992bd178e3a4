/* demo_models_vision.c — the demo vision-language parts: BLIP-2's vision tower and the
 * ThinkDiff-CLIP aligner, Qwen2-VL with the real tokenizer and the ThinkDiff-LVLM
 * aligner. Every width is tiny; the layouts, key names and config forms are the
 * published ones, so the loaders read them exactly as they read the real files. */
#include <glib.h>
#include <stdio.h>

#include "pipeline/demo_models_private.h"

/* BLIP-2 EVA: the real 224 px / 14 px grid (257 tokens), a narrow width. */
enum {
  DEMO_EVA_WIDTH = 32,
  DEMO_EVA_HEADS = 2,
  DEMO_EVA_LAYERS = 2,
  DEMO_EVA_IMAGE = 224,
  DEMO_EVA_PATCH = 14,
};

/* Qwen2-VL: the real vocabulary (every id of the tokenizer embeds), a narrow width. */
enum {
  DEMO_QWEN_VOCAB = 152064,
  DEMO_QWEN_WIDTH = 64,
  DEMO_QWEN_HEADS = 2,     /* head_dim 32 = 2 · (4 + 6 + 6) */
  DEMO_QWEN_KV_HEADS = 1,
  DEMO_QWEN_FFN = 128,
  DEMO_QWEN_LAYERS = 2,
  DEMO_QWEN_VISION_WIDTH = 32,
  DEMO_QWEN_VISION_HEADS = 2,
  DEMO_QWEN_VISION_DEPTH = 2,
  DEMO_QWEN_VISION_MLP_RATIO = 2,
};

/* ---- BLIP-2 vision tower ---- */

td_status
td_demo_write_blip2_vision (const char *root, td_error *err)
{
  const int d = DEMO_EVA_WIDTH, grid = DEMO_EVA_IMAGE / DEMO_EVA_PATCH;
  g_autofree char *dir = g_build_filename (root, "blip2-vision", NULL);
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, 5);
  td_demo_add (&c, 'w', TD_S3 (1, 1, d), "vision_model.embeddings.class_embedding");
  td_demo_add (&c, 'w', TD_S4 (d, 3, DEMO_EVA_PATCH, DEMO_EVA_PATCH), "vision_model.embeddings.patch_embedding.weight");
  td_demo_add (&c, 'z', TD_S1 (d), "vision_model.embeddings.patch_embedding.bias");
  td_demo_add (&c, 'w', TD_S3 (1, 1 + grid * grid, d), "vision_model.embeddings.position_embedding");
  char p[128];
  for (int layer = 0; layer < DEMO_EVA_LAYERS; layer++)
    {
      /* The published checkpoints keep q_bias and v_bias apart (the key has no bias). */
      td_demo_add (&c, 'w', TD_S2 (3 * d, d), "vision_model.encoder.layers.%d.self_attn.qkv.weight", layer);
      td_demo_add (&c, 'z', TD_S1 (d), "vision_model.encoder.layers.%d.self_attn.q_bias", layer);
      td_demo_add (&c, 'z', TD_S1 (d), "vision_model.encoder.layers.%d.self_attn.v_bias", layer);
      snprintf (p, sizeof p, "vision_model.encoder.layers.%d.self_attn.projection", layer);
      td_demo_add_linear (&c, d, d, true, p);
      snprintf (p, sizeof p, "vision_model.encoder.layers.%d.layer_norm1", layer);
      td_demo_add_norm (&c, d, true, p);
      snprintf (p, sizeof p, "vision_model.encoder.layers.%d.layer_norm2", layer);
      td_demo_add_norm (&c, d, true, p);
      snprintf (p, sizeof p, "vision_model.encoder.layers.%d.mlp.fc1", layer);
      td_demo_add_linear (&c, 4 * d, d, true, p);
      snprintf (p, sizeof p, "vision_model.encoder.layers.%d.mlp.fc2", layer);
      td_demo_add_linear (&c, d, 4 * d, true, p);
    }
  td_demo_add_norm (&c, d, true, "vision_model.post_layernorm");
  td_status st = td_demo_checkpoint_write (&c, dir, "model.safetensors", err);
  td_demo_checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  g_autofree char *config = g_strdup_printf (
    "{\"architectures\": [\"Blip2ForConditionalGeneration\"], \"model_type\": \"blip-2\", "
    "\"num_query_tokens\": 32, \"vision_config\": {\"hidden_act\": \"gelu\", \"hidden_size\": %d, "
    "\"image_size\": %d, \"initializer_range\": 1e-10, \"intermediate_size\": %d, \"layer_norm_eps\": 1e-06, "
    "\"model_type\": \"blip_2_vision_model\", \"num_attention_heads\": %d, \"num_hidden_layers\": %d, "
    "\"patch_size\": %d, \"qkv_bias\": true}}\n",
    d, DEMO_EVA_IMAGE, 4 * d, DEMO_EVA_HEADS, DEMO_EVA_LAYERS, DEMO_EVA_PATCH);
  if ((st = td_demo_write_text (dir, "config.json", config, err)) != TD_OK)
    return st;
  return td_demo_write_readme (dir, err);
}

/* ---- the aligners: Linear in→out, GELU, Linear out→out, T5LayerNorm ---- */

static td_status
write_aligner (const char *root, const char *folder, const char *file, int in, uint64_t seed, td_error *err)
{
  const int out = TD_DEMO_TEXT_WIDTH;
  g_autofree char *dir = g_build_filename (root, folder, NULL);
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, seed);
  td_demo_add_linear (&c, out, in, true, "mm_projector.0");
  td_demo_add_linear (&c, out, out, true, "mm_projector.2");
  td_demo_add (&c, 'o', TD_S1 (out), "mm_projector.3.weight");
  td_status st = td_demo_checkpoint_write (&c, dir, file, err);
  td_demo_checkpoint_clear (&c);
  if (st != TD_OK)
    return st;
  return td_demo_write_readme (dir, err);
}

td_status
td_demo_write_clip_aligner (const char *root, td_error *err)
{
  return write_aligner (root, "thinkdiff-clip", "thinkdiff_clip.safetensors", DEMO_EVA_WIDTH, 6, err);
}

td_status
td_demo_write_lvlm_aligner (const char *root, td_error *err)
{
  return write_aligner (root, "thinkdiff-lvlm", "thinkdiff_lvlm.safetensors", DEMO_QWEN_WIDTH, 7, err);
}

/* ---- Qwen2-VL ---- */

static void
add_qwen_vision (td_demo_checkpoint *c)
{
  const int e = DEMO_QWEN_VISION_WIDTH, mlp = e * DEMO_QWEN_VISION_MLP_RATIO, merged = 4 * e;
  td_demo_add (c, 'w', TD_S5 (e, 3, 2, 14, 14), "visual.patch_embed.proj.weight");
  char p[128];
  for (int block = 0; block < DEMO_QWEN_VISION_DEPTH; block++)
    {
      snprintf (p, sizeof p, "visual.blocks.%d.norm1", block);
      td_demo_add_norm (c, e, true, p);
      snprintf (p, sizeof p, "visual.blocks.%d.norm2", block);
      td_demo_add_norm (c, e, true, p);
      snprintf (p, sizeof p, "visual.blocks.%d.attn.qkv", block);
      td_demo_add_linear (c, 3 * e, e, true, p);
      snprintf (p, sizeof p, "visual.blocks.%d.attn.proj", block);
      td_demo_add_linear (c, e, e, true, p);
      snprintf (p, sizeof p, "visual.blocks.%d.mlp.fc1", block);
      td_demo_add_linear (c, mlp, e, true, p);
      snprintf (p, sizeof p, "visual.blocks.%d.mlp.fc2", block);
      td_demo_add_linear (c, e, mlp, true, p);
    }
  td_demo_add_norm (c, e, true, "visual.merger.ln_q");
  td_demo_add_linear (c, merged, merged, true, "visual.merger.mlp.0");
  td_demo_add_linear (c, DEMO_QWEN_WIDTH, merged, true, "visual.merger.mlp.2");
}

/* The language model under the original checkpoints' names ("model.layers.…"). The
 * embedding table is the bulk of the file: bf16, and tied to lm_head. */
static void
add_qwen_language_model (td_demo_checkpoint *c)
{
  const int d = DEMO_QWEN_WIDTH, head_dim = DEMO_QWEN_WIDTH / DEMO_QWEN_HEADS;
  const int kv = DEMO_QWEN_KV_HEADS * head_dim;
  td_demo_add (c, 'w', TD_S2 (DEMO_QWEN_VOCAB, d), "model.embed_tokens.weight");
  td_demo_last_to_bf16 (c);
  char p[128];
  for (int layer = 0; layer < DEMO_QWEN_LAYERS; layer++)
    {
      snprintf (p, sizeof p, "model.layers.%d.input_layernorm", layer);
      td_demo_add_norm (c, d, false, p);
      snprintf (p, sizeof p, "model.layers.%d.post_attention_layernorm", layer);
      td_demo_add_norm (c, d, false, p);
      snprintf (p, sizeof p, "model.layers.%d.self_attn.q_proj", layer);
      td_demo_add_linear (c, d, d, true, p);
      snprintf (p, sizeof p, "model.layers.%d.self_attn.k_proj", layer);
      td_demo_add_linear (c, kv, d, true, p);
      snprintf (p, sizeof p, "model.layers.%d.self_attn.v_proj", layer);
      td_demo_add_linear (c, kv, d, true, p);
      snprintf (p, sizeof p, "model.layers.%d.self_attn.o_proj", layer);
      td_demo_add_linear (c, d, d, false, p);
      snprintf (p, sizeof p, "model.layers.%d.mlp.gate_proj", layer);
      td_demo_add_linear (c, DEMO_QWEN_FFN, d, false, p);
      snprintf (p, sizeof p, "model.layers.%d.mlp.up_proj", layer);
      td_demo_add_linear (c, DEMO_QWEN_FFN, d, false, p);
      snprintf (p, sizeof p, "model.layers.%d.mlp.down_proj", layer);
      td_demo_add_linear (c, d, DEMO_QWEN_FFN, false, p);
    }
  td_demo_add_norm (c, d, false, "model.norm");
}

/* config.json in the flat form Qwen2-VL-7B-Instruct was published in. */
static char *
qwen_config (void)
{
  return g_strdup_printf (
    "{\"architectures\": [\"Qwen2VLForConditionalGeneration\"], \"attention_dropout\": 0.0, "
    "\"bos_token_id\": 151643, \"eos_token_id\": 151645, \"vision_start_token_id\": 151652, "
    "\"vision_end_token_id\": 151653, \"vision_token_id\": 151654, \"image_token_id\": 151655, "
    "\"video_token_id\": 151656, \"hidden_act\": \"silu\", \"hidden_size\": %d, \"initializer_range\": 0.02, "
    "\"intermediate_size\": %d, \"max_position_embeddings\": 32768, \"max_window_layers\": %d, "
    "\"model_type\": \"qwen2_vl\", \"num_attention_heads\": %d, \"num_hidden_layers\": %d, "
    "\"num_key_value_heads\": %d, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"sliding_window\": 32768, "
    "\"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\", \"use_cache\": true, "
    "\"use_sliding_window\": false, \"vision_config\": {\"depth\": %d, \"embed_dim\": %d, \"mlp_ratio\": %d, "
    "\"num_heads\": %d, \"in_chans\": 3, \"hidden_size\": %d, \"patch_size\": 14, \"spatial_merge_size\": 2, "
    "\"spatial_patch_size\": 14, \"temporal_patch_size\": 2}, "
    "\"rope_scaling\": {\"type\": \"mrope\", \"mrope_section\": [4, 6, 6]}, \"vocab_size\": %d}\n",
    DEMO_QWEN_WIDTH, DEMO_QWEN_FFN, DEMO_QWEN_LAYERS, DEMO_QWEN_HEADS, DEMO_QWEN_LAYERS, DEMO_QWEN_KV_HEADS,
    DEMO_QWEN_VISION_DEPTH, DEMO_QWEN_VISION_WIDTH, DEMO_QWEN_VISION_MLP_RATIO, DEMO_QWEN_VISION_HEADS,
    DEMO_QWEN_WIDTH, DEMO_QWEN_VOCAB);
}

static const char qwen_preprocessor_config[] =
  "{\"min_pixels\": 3136, \"max_pixels\": 12845056, \"patch_size\": 14, \"temporal_patch_size\": 2, "
  "\"merge_size\": 2, \"image_mean\": [0.48145466, 0.4578275, 0.40821073], "
  "\"image_std\": [0.26862954, 0.26130258, 0.27577711], \"image_processor_type\": \"Qwen2VLImageProcessor\", "
  "\"processor_class\": \"Qwen2VLProcessor\"}\n";

td_status
td_demo_write_qwen2vl (const char *root, const char *tokenizers_dir, td_error *err)
{
  g_autofree char *dir = g_build_filename (root, "qwen2-vl-7b-instruct", NULL);
  g_autofree char *tokenizer_source = g_build_filename (tokenizers_dir, "qwen2", NULL);
  td_demo_checkpoint c;
  td_demo_checkpoint_init (&c, 8);
  add_qwen_vision (&c);
  add_qwen_language_model (&c);
  td_status st = td_demo_checkpoint_write (&c, dir, "model.safetensors", err);
  td_demo_checkpoint_clear (&c);
  g_autofree char *config = qwen_config ();
  if (st != TD_OK || (st = td_demo_write_text (dir, "config.json", config, err))
      || (st = td_demo_write_text (dir, "preprocessor_config.json", qwen_preprocessor_config, err))
      || (st = td_demo_copy_file (tokenizer_source, "tokenizer.json", dir, err)))
    return st;
  return td_demo_write_readme (dir, err);
}
