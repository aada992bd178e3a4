#include "models/qwen2vl_gguf_keys.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "io/gguf.h"

typedef struct {
  const char *transformers; /* after the block prefix */
  const char *llama_cpp;
} key_pair;

/* After "layers.N." / "blk.N.". */
static const key_pair llm_block_keys[] = {
  { "self_attn.q_proj.weight", "attn_q.weight" },
  { "self_attn.q_proj.bias", "attn_q.bias" },
  { "self_attn.k_proj.weight", "attn_k.weight" },
  { "self_attn.k_proj.bias", "attn_k.bias" },
  { "self_attn.v_proj.weight", "attn_v.weight" },
  { "self_attn.v_proj.bias", "attn_v.bias" },
  { "self_attn.o_proj.weight", "attn_output.weight" },
  { "mlp.gate_proj.weight", "ffn_gate.weight" },
  { "mlp.up_proj.weight", "ffn_up.weight" },
  { "mlp.down_proj.weight", "ffn_down.weight" },
  { "input_layernorm.weight", "attn_norm.weight" },
  { "post_attention_layernorm.weight", "ffn_norm.weight" },
};

static const key_pair llm_top_keys[] = {
  { "embed_tokens.weight", "token_embd.weight" },
  { "norm.weight", "output_norm.weight" },
  { "lm_head.weight", "output.weight" },
};

/* After "visual.blocks.N." / "v.blk.N."; attn.q/k/v are the parts of the fused qkv. */
static const key_pair vision_block_keys[] = {
  { "attn.q.weight", "attn_q.weight" },   { "attn.q.bias", "attn_q.bias" },
  { "attn.k.weight", "attn_k.weight" },   { "attn.k.bias", "attn_k.bias" },
  { "attn.v.weight", "attn_v.weight" },   { "attn.v.bias", "attn_v.bias" },
  { "attn.proj.weight", "attn_out.weight" }, { "attn.proj.bias", "attn_out.bias" },
  { "norm1.weight", "ln1.weight" },       { "norm1.bias", "ln1.bias" },
  { "norm2.weight", "ln2.weight" },       { "norm2.bias", "ln2.bias" },
  { "mlp.fc1.weight", "ffn_up.weight" },  { "mlp.fc1.bias", "ffn_up.bias" },
  { "mlp.fc2.weight", "ffn_down.weight" }, { "mlp.fc2.bias", "ffn_down.bias" },
};

static const key_pair vision_top_keys[] = {
  { "visual.merger.ln_q.weight", "v.post_ln.weight" },
  { "visual.merger.ln_q.bias", "v.post_ln.bias" },
  { "visual.merger.mlp.0.weight", "mm.0.weight" },
  { "visual.merger.mlp.0.bias", "mm.0.bias" },
  { "visual.merger.mlp.2.weight", "mm.2.weight" },
  { "visual.merger.mlp.2.bias", "mm.2.bias" },
};

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

static bool
rename_with (const char *name, char *stored, size_t size, const char *block_in, const char *block_out,
             const key_pair *block_keys, size_t n_block, const key_pair *top_keys, size_t n_top)
{
  for (size_t i = 0; i < n_top; i++)
    if (strcmp (name, top_keys[i].transformers) == 0)
      return (size_t) snprintf (stored, size, "%s", top_keys[i].llama_cpp) < size;
  size_t in_len = strlen (block_in);
  if (strncmp (name, block_in, in_len) != 0)
    return false;
  unsigned block;
  int consumed = 0;
  if (sscanf (name + in_len, "%u.%n", &block, &consumed) != 1 || consumed == 0)
    return false;
  const char *rest = name + in_len + consumed;
  for (size_t i = 0; i < n_block; i++)
    if (strcmp (rest, block_keys[i].transformers) == 0)
      return (size_t) snprintf (stored, size, "%s%u.%s", block_out, block, block_keys[i].llama_cpp) < size;
  return false;
}

bool
td_qwen2vl_gguf_rename_llm (const char *name, char *stored, size_t size, void *user_data)
{
  (void) user_data;
  return rename_with (name, stored, size, "layers.", "blk.", llm_block_keys, N_OF (llm_block_keys), llm_top_keys,
                      N_OF (llm_top_keys));
}

bool
td_qwen2vl_gguf_rename_vision (const char *name, char *stored, size_t size, void *user_data)
{
  (void) user_data;
  return rename_with (name, stored, size, "visual.blocks.", "v.blk.", vision_block_keys, N_OF (vision_block_keys),
                      vision_top_keys, N_OF (vision_top_keys));
}

/* The metadata `key` as an integer, checked against what config.json says. */
static td_status
expect_meta (td_weights *w, const char *key, long long want, td_error *err)
{
  const td_gguf_kv *kv = td_gguf_find_kv (td_weights_gguf (w), key);
  int64_t value;
  if (kv == NULL)
    return TD_OK; /* not every converter writes every key; the tensors' shapes are checked anyway */
  if (kv->type == TD_GGUF_ARRAY || !td_gguf_kv_integer (kv, 0, &value) || value != want)
    return td_error_set (err, TD_ERR_FORMAT, "%s: metadata '%s' is not %lld as config.json says", td_weights_path (w),
                         key, want);
  return TD_OK;
}

static td_status
expect_string (td_weights *w, const char *key, const char *want, bool required, td_error *err)
{
  const char *value = td_weights_metadata (w, key);
  if (value == NULL && !required)
    return TD_OK;
  if (value == NULL || strcmp (value, want) != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: metadata '%s' is %s%s%s, not \"%s\"", td_weights_path (w), key,
                         value ? "\"" : "", value ? value : "absent", value ? "\"" : "", want);
  return TD_OK;
}

static td_status
check_metadata (td_weights *llm, td_weights *vision, const td_qwen2vl_config *c, td_error *err)
{
  td_status st;
  if ((st = expect_string (llm, "general.architecture", "qwen2vl", true, err))
      || (st = expect_meta (llm, "qwen2vl.block_count", c->num_layers, err))
      || (st = expect_meta (llm, "qwen2vl.embedding_length", c->hidden_size, err))
      || (st = expect_meta (llm, "qwen2vl.attention.head_count", c->num_heads, err))
      || (st = expect_meta (llm, "qwen2vl.attention.head_count_kv", c->num_kv_heads, err))
      || (st = expect_string (vision, "general.architecture", "clip", true, err))
      || (st = expect_string (vision, "clip.projector_type", "qwen2vl_merger", false, err))
      || (st = expect_meta (vision, "clip.vision.block_count", c->vision.depth, err))
      || (st = expect_meta (vision, "clip.vision.embedding_length", c->vision.embed_dim, err)))
    return st;
  /* M-RoPE sections: llama.cpp pads transformers' three to four with zeros. */
  const td_gguf_kv *sections = td_gguf_find_kv (td_weights_gguf (llm), "qwen2vl.rope.dimension_sections");
  for (uint64_t i = 0; sections != NULL && i < 4; i++)
    {
      int64_t value;
      long long want = i < 3 ? c->mrope_section[i] : 0;
      if (sections->type != TD_GGUF_ARRAY || sections->count != 4 || !td_gguf_kv_integer (sections, i, &value)
          || value != want)
        return td_error_set (err, TD_ERR_FORMAT, "%s: qwen2vl.rope.dimension_sections is not config.json's "
                             "mrope_section [%d, %d, %d] padded to four", td_weights_path (llm), c->mrope_section[0],
                             c->mrope_section[1], c->mrope_section[2]);
    }
  return TD_OK;
}

/* q, k and v of a vision block stacked back into the fused qkv (rows of a plain or
 * block type are whole, so stacking is concatenating bytes). */
static td_status
compose_qkv (td_weights *w, int block, const char *suffix, td_error *err)
{
  const td_tensor *part[3];
  static const char *const names[3] = { "q", "k", "v" };
  char name[96];
  for (int i = 0; i < 3; i++)
    {
      snprintf (name, sizeof name, "visual.blocks.%d.attn.%s.%s", block, names[i], suffix);
      if ((part[i] = td_weights_get_host (w, name, err)) == NULL)
        return err != NULL ? err->status : TD_ERR_NOT_FOUND;
    }
  int64_t rows = 0;
  for (int i = 0; i < 3; i++)
    {
      bool same = part[i]->dtype == part[0]->dtype && part[i]->ndim == part[0]->ndim
                  && (part[i]->ndim == 1 || part[i]->shape[1] == part[0]->shape[1]);
      if (!same || part[i]->ndim > 2)
        return td_error_set (err, TD_ERR_FORMAT, "%s: v.blk.%d.attn_q/k/v.%s differ in type or width",
                             td_weights_path (w), block, suffix);
      rows += part[i]->shape[0];
    }
  int64_t shape[2] = { rows, part[0]->ndim == 2 ? part[0]->shape[1] : 1 };
  td_tensor *fused = td_tensor_new (td_backend_host (), part[0]->dtype, part[0]->ndim, shape, err);
  if (fused == NULL)
    return err != NULL ? err->status : TD_ERR_NO_MEMORY;
  uint8_t *at = td_tensor_host_data (fused);
  for (int i = 0; i < 3; i++)
    {
      size_t n = td_tensor_nbytes (part[i]);
      memcpy (at, td_tensor_host_data (part[i]), n);
      at += n;
    }
  snprintf (name, sizeof name, "visual.blocks.%d.attn.qkv.%s", block, suffix);
  td_weights_add_composed (w, name, fused);
  return TD_OK;
}

/* The Conv3d kernel [embed, channels, 2, patch, patch] from its two temporal slices. */
static td_status
compose_patch_embedding (td_weights *w, const td_qwen2vl_vision_config *vc, td_error *err)
{
  if (vc->temporal_patch_size != 2)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: llama.cpp stores a temporal patch of 2 frames, the config "
                         "says %d", td_weights_path (w), vc->temporal_patch_size);
  const td_tensor *frame[2];
  static const char *const names[2] = { "v.patch_embd.weight", "v.patch_embd.weight.1" };
  const int64_t want[4] = { vc->embed_dim, vc->in_channels, vc->patch_size, vc->patch_size };
  for (int i = 0; i < 2; i++)
    {
      if ((frame[i] = td_weights_get_host (w, names[i], err)) == NULL)
        return err != NULL ? err->status : TD_ERR_NOT_FOUND;
      bool same = frame[i]->ndim == 4 && frame[i]->dtype == frame[0]->dtype
                  && td_dtype_block_elems (frame[i]->dtype) == 1;
      for (int d = 0; same && d < 4; d++)
        same = frame[i]->shape[d] == want[d];
      if (!same)
        {
          char got[96];
          return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' has shape %s (%s), expected [%d, %d, %d, %d] "
                               "in a plain float type like the other frame's", td_weights_path (w), names[i],
                               td_shape_string (frame[i]->ndim, frame[i]->shape, got, sizeof got),
                               td_dtype_name (frame[i]->dtype), vc->embed_dim, vc->in_channels, vc->patch_size,
                               vc->patch_size);
        }
    }
  const int64_t shape[5] = { vc->embed_dim, vc->in_channels, 2, vc->patch_size, vc->patch_size };
  td_tensor *kernel = td_tensor_new (td_backend_host (), frame[0]->dtype, 5, shape, err);
  if (kernel == NULL)
    return err != NULL ? err->status : TD_ERR_NO_MEMORY;
  const size_t plane = (size_t) vc->patch_size * vc->patch_size * td_dtype_size (frame[0]->dtype);
  uint8_t *out = td_tensor_host_data (kernel);
  const uint8_t *in[2] = { td_tensor_host_data (frame[0]), td_tensor_host_data (frame[1]) };
  for (int64_t i = 0; i < (int64_t) vc->embed_dim * vc->in_channels; i++)
    for (int t = 0; t < 2; t++)
      memcpy (out + ((size_t) i * 2 + t) * plane, in[t] + (size_t) i * plane, plane);
  td_weights_add_composed (w, "visual.patch_embed.proj.weight", kernel);
  return TD_OK;
}

td_weights *
td_qwen2vl_gguf_open (const char *llm_path, const char *mmproj_path, const td_qwen2vl_config *config,
                      td_backend *backend, td_error *err)
{
  td_weights *llm = td_weights_open (llm_path, backend, err);
  td_weights *vision = llm ? td_weights_open (mmproj_path, backend, err) : NULL;
  if (vision == NULL)
    {
      td_weights_free (llm);
      return NULL;
    }
  if (td_weights_gguf (llm) == NULL || td_weights_gguf (vision) == NULL)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s, %s: not both GGUF files", llm_path, mmproj_path);
      td_weights_free (llm);
      td_weights_free (vision);
      return NULL;
    }
  td_weights_set_rename (llm, td_qwen2vl_gguf_rename_llm, NULL);
  td_weights_set_rename (vision, td_qwen2vl_gguf_rename_vision, NULL);
  td_status st = check_metadata (llm, vision, config, err);
  if (st == TD_OK)
    st = compose_patch_embedding (vision, &config->vision, err);
  for (int b = 0; st == TD_OK && b < config->vision.depth; b++)
    if ((st = compose_qkv (vision, b, "weight", err)) == TD_OK)
      st = compose_qkv (vision, b, "bias", err);
  td_weights_chain (llm, vision);
  if (st != TD_OK)
    {
      td_weights_free (llm);
      return NULL;
    }
  return llm;
}
