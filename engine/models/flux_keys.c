#include "models/flux_keys.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *diffusers;  /* module path after the block prefix */
  const char *bfl;
  td_flux_part part;
} key_rule;

static const key_rule double_block_rules[] = {
  { "attn.to_q", "img_attn.qkv", TD_FLUX_Q },
  { "attn.to_k", "img_attn.qkv", TD_FLUX_K },
  { "attn.to_v", "img_attn.qkv", TD_FLUX_V },
  { "attn.add_q_proj", "txt_attn.qkv", TD_FLUX_Q },
  { "attn.add_k_proj", "txt_attn.qkv", TD_FLUX_K },
  { "attn.add_v_proj", "txt_attn.qkv", TD_FLUX_V },
  { "attn.norm_q", "img_attn.norm.query_norm", TD_FLUX_WHOLE },
  { "attn.norm_k", "img_attn.norm.key_norm", TD_FLUX_WHOLE },
  { "attn.norm_added_q", "txt_attn.norm.query_norm", TD_FLUX_WHOLE },
  { "attn.norm_added_k", "txt_attn.norm.key_norm", TD_FLUX_WHOLE },
  { "attn.to_out.0", "img_attn.proj", TD_FLUX_WHOLE },
  { "attn.to_add_out", "txt_attn.proj", TD_FLUX_WHOLE },
  { "ff.net.0.proj", "img_mlp.0", TD_FLUX_WHOLE },
  { "ff.net.2", "img_mlp.2", TD_FLUX_WHOLE },
  { "ff_context.net.0.proj", "txt_mlp.0", TD_FLUX_WHOLE },
  { "ff_context.net.2", "txt_mlp.2", TD_FLUX_WHOLE },
  { "norm1.linear", "img_mod.lin", TD_FLUX_WHOLE },
  { "norm1_context.linear", "txt_mod.lin", TD_FLUX_WHOLE },
};

static const key_rule single_block_rules[] = {
  { "attn.to_q", "linear1", TD_FLUX_Q },
  { "attn.to_k", "linear1", TD_FLUX_K },
  { "attn.to_v", "linear1", TD_FLUX_V },
  { "proj_mlp", "linear1", TD_FLUX_MLP },
  { "attn.norm_q", "norm.query_norm", TD_FLUX_WHOLE },
  { "attn.norm_k", "norm.key_norm", TD_FLUX_WHOLE },
  { "proj_out", "linear2", TD_FLUX_WHOLE },
  { "norm.linear", "modulation.lin", TD_FLUX_WHOLE },
};

static const key_rule top_rules[] = {
  { "x_embedder", "img_in", TD_FLUX_WHOLE },
  { "context_embedder", "txt_in", TD_FLUX_WHOLE },
  { "time_text_embed.timestep_embedder.linear_1", "time_in.in_layer", TD_FLUX_WHOLE },
  { "time_text_embed.timestep_embedder.linear_2", "time_in.out_layer", TD_FLUX_WHOLE },
  { "time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer", TD_FLUX_WHOLE },
  { "time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer", TD_FLUX_WHOLE },
  { "time_text_embed.text_embedder.linear_1", "vector_in.in_layer", TD_FLUX_WHOLE },
  { "time_text_embed.text_embedder.linear_2", "vector_in.out_layer", TD_FLUX_WHOLE },
  { "norm_out.linear", "final_layer.adaLN_modulation.1", TD_FLUX_SWAPPED_HALVES },
  { "proj_out", "final_layer.linear", TD_FLUX_WHOLE },
};

/* Matches "<module>.<suffix>" against the rules; suffix is "weight" or "bias". */
static bool
apply_rules (const key_rule *rules, size_t n_rules, const char *prefix_out, const char *name, td_flux_bfl_ref *out)
{
  const char *dot = strrchr (name, '.');
  if (dot == NULL)
    return false;
  size_t module_len = (size_t) (dot - name);
  const char *suffix = dot + 1;
  for (size_t i = 0; i < n_rules; i++)
    {
      if (strlen (rules[i].diffusers) != module_len || strncmp (rules[i].diffusers, name, module_len) != 0)
        continue;
      /* BFL's RMSNorm parameters are called "scale". */
      bool is_norm = strstr (rules[i].bfl, "_norm") != NULL;
      if (is_norm && strcmp (suffix, "weight") != 0)
        return false;
      snprintf (out->name, sizeof out->name, "%s%s.%s", prefix_out, rules[i].bfl, is_norm ? "scale" : suffix);
      out->part = rules[i].part;
      return true;
    }
  return false;
}

bool
td_flux_bfl_translate (const char *name, td_flux_bfl_ref *out)
{
  unsigned block;
  int consumed = 0;
  char prefix[64];
  if (sscanf (name, "transformer_blocks.%u.%n", &block, &consumed) == 1 && consumed > 0)
    {
      snprintf (prefix, sizeof prefix, "double_blocks.%u.", block);
      return apply_rules (double_block_rules, sizeof double_block_rules / sizeof double_block_rules[0], prefix,
                          name + consumed, out);
    }
  consumed = 0;
  if (sscanf (name, "single_transformer_blocks.%u.%n", &block, &consumed) == 1 && consumed > 0)
    {
      snprintf (prefix, sizeof prefix, "single_blocks.%u.", block);
      return apply_rules (single_block_rules, sizeof single_block_rules / sizeof single_block_rules[0], prefix,
                          name + consumed, out);
    }
  return apply_rules (top_rules, sizeof top_rules / sizeof top_rules[0], "", name, out);
}
