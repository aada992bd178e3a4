/* flux_vae_bfl.c — FLUX's VAE from Black Forest Labs' single file (ae.safetensors,
 * as ComfyUI and stable-diffusion.cpp users have it): diffusers names mapped to
 * BFL's, the config read from the shapes. See flux_vae_bfl.h. */
#include "models/flux_vae_bfl.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* FLUX.1's autoencoder: GroupNorm(32) throughout, latents scaled and shifted by these. */
#define BFL_NORM_GROUPS 32
#define BFL_SCALING 0.3611f
#define BFL_SHIFT 0.1159f

/* Maps the part after "<encoder|decoder>.mid_block." */
static bool
mid_name (const char *rest, GString *out)
{
  int index = -1, used = 0;
  if (sscanf (rest, "resnets.%d.%n", &index, &used) == 1 && used > 0 && (index == 0 || index == 1))
    {
      g_string_append_printf (out, "mid.block_%d.%s", index + 1, rest + used);
      return true;
    }
  static const struct { const char *diffusers, *bfl; } attention[] = {
    { "attentions.0.group_norm.", "mid.attn_1.norm." }, { "attentions.0.to_q.", "mid.attn_1.q." },
    { "attentions.0.to_k.", "mid.attn_1.k." },          { "attentions.0.to_v.", "mid.attn_1.v." },
    { "attentions.0.to_out.0.", "mid.attn_1.proj_out." },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (attention); i++)
    if (g_str_has_prefix (rest, attention[i].diffusers))
      {
        g_string_append_printf (out, "%s%s", attention[i].bfl, rest + strlen (attention[i].diffusers));
        return true;
      }
  return false;
}

/* "resnets.J.<param>" of a down/up block → "block.J.<param>" (conv_shortcut is nin_shortcut). */
static bool
resnet_name (const char *rest, GString *out)
{
  int j = -1, used = 0;
  if (sscanf (rest, "resnets.%d.%n", &j, &used) != 1 || used == 0 || j < 0)
    return false;
  const char *param = rest + used;
  if (g_str_has_prefix (param, "conv_shortcut."))
    g_string_append_printf (out, "block.%d.nin_shortcut.%s", j, param + strlen ("conv_shortcut."));
  else
    g_string_append_printf (out, "block.%d.%s", j, param);
  return true;
}

bool
td_flux_vae_bfl_name (const char *name, char *stored, size_t size, void *user_data)
{
  const td_vae_config *config = user_data;
  bool encoder = g_str_has_prefix (name, "encoder.");
  if (!encoder && !g_str_has_prefix (name, "decoder."))
    return false;
  const char *rest = name + strlen ("encoder.");
  g_autoptr (GString) out = g_string_new (encoder ? "encoder." : "decoder.");
  int level = -1, used = 0;
  bool ok = false;
  if (g_str_has_prefix (rest, "conv_in.") || g_str_has_prefix (rest, "conv_out."))
    ok = (g_string_append (out, rest), true);
  else if (g_str_has_prefix (rest, "conv_norm_out."))
    ok = (g_string_append_printf (out, "norm_out.%s", rest + strlen ("conv_norm_out.")), true);
  else if (g_str_has_prefix (rest, "mid_block."))
    ok = mid_name (rest + strlen ("mid_block."), out);
  else if (encoder && sscanf (rest, "down_blocks.%d.%n", &level, &used) == 1 && used > 0 && level >= 0)
    {
      g_string_append_printf (out, "down.%d.", level);
      if (g_str_has_prefix (rest + used, "downsamplers.0.conv."))
        ok = (g_string_append_printf (out, "downsample.conv.%s", rest + used + strlen ("downsamplers.0.conv.")), true);
      else
        ok = resnet_name (rest + used, out);
    }
  else if (!encoder && sscanf (rest, "up_blocks.%d.%n", &level, &used) == 1 && used > 0 && level >= 0
           && level < config->levels)
    {
      /* diffusers counts up blocks from the deepest; BFL's up[i] is at resolution level i. */
      g_string_append_printf (out, "up.%d.", config->levels - 1 - level);
      if (g_str_has_prefix (rest + used, "upsamplers.0.conv."))
        ok = (g_string_append_printf (out, "upsample.conv.%s", rest + used + strlen ("upsamplers.0.conv.")), true);
      else
        ok = resnet_name (rest + used, out);
    }
  if (!ok || out->len >= size)
    return false;
  memcpy (stored, out->str, out->len + 1);
  return true;
}

/* dims[i] of a tensor stored under its BFL name, or −1. */
static int64_t
dim_of (td_weights *w, const char *name, int i)
{
  td_error ignored = { 0 };
  const td_tensor *t = td_weights_has (w, name) ? td_weights_get_host (w, name, &ignored) : NULL;
  return t != NULL && i < t->ndim ? t->shape[i] : -1;
}

td_status
td_flux_vae_bfl_config (td_weights *w, td_vae_config *c, td_error *err)
{
  memset (c, 0, sizeof *c);
  const char *path = td_weights_path (w);
  char name[96];
  for (int i = 0; i < TD_VAE_MAX_LEVELS; i++)
    {
      snprintf (name, sizeof name, "encoder.down.%d.block.0.conv2.weight", i);
      int64_t channels = dim_of (w, name, 0);
      if (channels < 0)
        break;
      if (channels < BFL_NORM_GROUPS || channels > 65536 || channels % BFL_NORM_GROUPS != 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: %s has %lld channels, not a multiple of %d", path, name,
                             (long long) channels, BFL_NORM_GROUPS);
      c->block_out_channels[c->levels++] = (int) channels;
    }
  snprintf (name, sizeof name, "encoder.down.%d.block.0.conv2.weight", TD_VAE_MAX_LEVELS);
  if (c->levels == 0 || td_weights_has (w, name))
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a FLUX autoencoder (encoder.down.N.block.0.* missing or over %d"
                         " levels)", path, TD_VAE_MAX_LEVELS);
  while (c->layers_per_block < 64)
    {
      snprintf (name, sizeof name, "encoder.down.0.block.%d.conv1.weight", c->layers_per_block);
      if (!td_weights_has (w, name))
        break;
      c->layers_per_block++;
    }
  int64_t in = dim_of (w, "encoder.conv_in.weight", 1), out = dim_of (w, "decoder.conv_out.weight", 0);
  int64_t latent = dim_of (w, "decoder.conv_in.weight", 1);
  if (in < 1 || in > 64 || out < 1 || out > 64 || latent < 1 || latent > 1024 || c->layers_per_block == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a FLUX autoencoder (conv_in/conv_out/down blocks missing)", path);
  c->in_channels = (int) in;
  c->out_channels = (int) out;
  c->latent_channels = (int) latent;
  c->norm_num_groups = BFL_NORM_GROUPS;
  c->mid_attention = td_weights_has (w, "decoder.mid.attn_1.q.weight");
  c->scaling_factor = BFL_SCALING;
  c->shift_factor = BFL_SHIFT;
  return TD_OK;
}
