#include "models/flux_vae.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/flux_vae_bfl.h"
#include "models/layers.h"
#include "models/model_config.h"

struct td_flux_vae {
  td_vae_config config;
  td_backend *backend;
  td_weights *weights;
  const volatile int *cancel;
};

static td_status
read_config (td_vae_config *c, const char *dir, td_error *err)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  long long v[5], channels[TD_VAE_MAX_LEVELS];
  double scaling, shift;
  bool mid_attention, quant_conv, post_quant_conv;
  td_status st;
  if ((st = td_config_int (config, NULL, "in_channels", false, 3, 1, 64, &v[0], err))
      || (st = td_config_int (config, NULL, "out_channels", false, 3, 1, 64, &v[1], err))
      || (st = td_config_int (config, NULL, "latent_channels", true, 0, 1, 1024, &v[2], err))
      || (st = td_config_int (config, NULL, "layers_per_block", true, 0, 1, 16, &v[3], err))
      || (st = td_config_int (config, NULL, "norm_num_groups", false, 32, 1, 1024, &v[4], err))
      || (st = td_config_int_array (config, NULL, "block_out_channels", channels, TD_VAE_MAX_LEVELS, &c->levels, err))
      || (st = td_config_double (config, NULL, "scaling_factor", true, 0, &scaling, err))
      || (st = td_config_double (config, NULL, "shift_factor", false, 0, &shift, err))
      || (st = td_config_bool (config, NULL, "mid_block_add_attention", false, true, &mid_attention, err))
      || (st = td_config_bool (config, NULL, "use_quant_conv", false, true, &quant_conv, err))
      || (st = td_config_bool (config, NULL, "use_post_quant_conv", false, true, &post_quant_conv, err)))
    goto out;
  if (quant_conv || post_quant_conv)
    {
      st = td_error_set (err, TD_ERR_UNSUPPORTED, "%s: quant convs are not used by FLUX's VAE and not supported", path);
      goto out;
    }
  if (c->levels < 1)
    {
      st = td_error_set (err, TD_ERR_FORMAT, "%s: block_out_channels is empty", path);
      goto out;
    }
  c->in_channels = (int) v[0];
  c->out_channels = (int) v[1];
  c->latent_channels = (int) v[2];
  c->layers_per_block = (int) v[3];
  c->norm_num_groups = (int) v[4];
  for (int i = 0; i < c->levels; i++)
    {
      if (channels[i] < 1 || channels[i] > 65536 || channels[i] % c->norm_num_groups != 0)
        {
          st = td_error_set (err, TD_ERR_FORMAT, "%s: block_out_channels[%d] = %lld is not a positive multiple of %d",
                             path, i, channels[i], c->norm_num_groups);
          goto out;
        }
      c->block_out_channels[i] = (int) channels[i];
    }
  c->mid_attention = mid_attention;
  c->scaling_factor = (float) scaling;
  c->shift_factor = (float) shift;
out:
  td_model_config_free (config);
  return st;
}

static td_status
expect_resnet (td_weights *w, td_error *err, const char *prefix, int64_t in, int64_t out)
{
  td_status st;
  if ((st = td_weights_expect_norm (w, err, in, true, "%s.norm1", prefix))
      || (st = td_weights_expect_conv (w, err, out, in, 3, true, "%s.conv1", prefix))
      || (st = td_weights_expect_norm (w, err, out, true, "%s.norm2", prefix))
      || (st = td_weights_expect_conv (w, err, out, out, 3, true, "%s.conv2", prefix)))
    return st;
  return in != out ? td_weights_expect_conv (w, err, out, in, 1, true, "%s.conv_shortcut", prefix) : TD_OK;
}

static td_status
expect_mid_block (td_weights *w, const td_vae_config *c, td_error *err, const char *part, int64_t channels)
{
  char prefix[96];
  td_status st;
  for (int i = 0; i < 2; i++)
    {
      snprintf (prefix, sizeof prefix, "%s.mid_block.resnets.%d", part, i);
      if ((st = expect_resnet (w, err, prefix, channels, channels)))
        return st;
    }
  if (!c->mid_attention)
    return TD_OK;
  static const char *const projections[4] = { "to_q", "to_k", "to_v", "to_out.0" };
  for (int i = 0; i < 4; i++)
    {
      /* BFL's single file stores these as 1×1 convs [C, C, 1, 1]. */
      char name[160];
      snprintf (name, sizeof name, "%s.mid_block.attentions.0.%s.weight", part, projections[i]);
      const td_tensor *stored = td_weights_has (w, name) ? td_weights_get_host (w, name, NULL) : NULL;
      if (stored != NULL && stored->ndim == 4)
        st = td_weights_expect_conv (w, err, channels, channels, 1, true, "%s.mid_block.attentions.0.%s", part,
                                     projections[i]);
      else
        st = td_weights_expect_linear (w, err, channels, channels, true, "%s.mid_block.attentions.0.%s", part,
                                       projections[i]);
      if (st != TD_OK)
        return st;
    }
  return td_weights_expect_norm (w, err, channels, true, "%s.mid_block.attentions.0.group_norm", part);
}

/* Every tensor the decoder (and the encoder, when the file has one) reads, with its
 * shape, before any is used. */
static td_status
check_weights (td_weights *w, const td_vae_config *c, td_error *err)
{
  const int64_t top = c->block_out_channels[c->levels - 1], bottom = c->block_out_channels[0];
  char prefix[96];
  td_status st;
  if ((st = td_weights_expect_conv (w, err, top, c->latent_channels, 3, true, "decoder.conv_in"))
      || (st = expect_mid_block (w, c, err, "decoder", top))
      || (st = td_weights_expect_norm (w, err, bottom, true, "decoder.conv_norm_out"))
      || (st = td_weights_expect_conv (w, err, c->out_channels, bottom, 3, true, "decoder.conv_out")))
    return st;
  int64_t in = top;
  for (int level = 0; level < c->levels; level++)
    {
      const int64_t out = c->block_out_channels[c->levels - 1 - level];
      for (int j = 0; j < c->layers_per_block + 1; j++, in = out)
        {
          snprintf (prefix, sizeof prefix, "decoder.up_blocks.%d.resnets.%d", level, j);
          if ((st = expect_resnet (w, err, prefix, in, out)))
            return st;
        }
      if (level < c->levels - 1
          && (st = td_weights_expect_conv (w, err, out, out, 3, true, "decoder.up_blocks.%d.upsamplers.0.conv", level)))
        return st;
    }
  /* A decoder-only file has none of the encoder's tensors; with any of them, all must be there. */
  static const char *const encoder_probes[] = { "encoder.conv_in.weight", "encoder.conv_out.weight",
                                                "encoder.conv_norm_out.weight", "encoder.mid_block.resnets.0.conv1.weight" };
  bool has_encoder = false;
  for (size_t i = 0; i < G_N_ELEMENTS (encoder_probes); i++)
    has_encoder = has_encoder || td_weights_has (w, encoder_probes[i]);
  if (!has_encoder)
    return TD_OK;
  if ((st = td_weights_expect_conv (w, err, bottom, c->in_channels, 3, true, "encoder.conv_in"))
      || (st = expect_mid_block (w, c, err, "encoder", top))
      || (st = td_weights_expect_norm (w, err, top, true, "encoder.conv_norm_out"))
      || (st = td_weights_expect_conv (w, err, 2 * (int64_t) c->latent_channels, top, 3, true, "encoder.conv_out")))
    return st;
  in = bottom;
  for (int level = 0; level < c->levels; level++)
    {
      const int64_t out = c->block_out_channels[level];
      for (int j = 0; j < c->layers_per_block; j++, in = out)
        {
          snprintf (prefix, sizeof prefix, "encoder.down_blocks.%d.resnets.%d", level, j);
          if ((st = expect_resnet (w, err, prefix, in, out)))
            return st;
        }
      if (level < c->levels - 1
          && (st = td_weights_expect_conv (w, err, out, out, 3, true, "encoder.down_blocks.%d.downsamplers.0.conv",
                                           level)))
        return st;
    }
  return TD_OK;
}

td_flux_vae *
td_flux_vae_load (const char *dir, td_backend *backend, td_error *err)
{
  td_flux_vae *vae = calloc (1, sizeof *vae);
  if (vae == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading the VAE");
      return NULL;
    }
  vae->backend = backend != NULL ? backend : td_backend_host ();
  if (g_file_test (dir, G_FILE_TEST_IS_REGULAR))
    {
      /* BFL's single file (ae.safetensors): no config.json, BFL key names. */
      bool ok = (vae->weights = td_weights_open (dir, backend, err)) != NULL
                && td_flux_vae_bfl_config (vae->weights, &vae->config, err) == TD_OK;
      if (ok)
        td_weights_set_rename (vae->weights, td_flux_vae_bfl_name, &vae->config);
      if (!ok || check_weights (vae->weights, &vae->config, err) != TD_OK)
        {
          td_error_prefix (err, "loading the VAE from %s", dir);
          td_flux_vae_free (vae);
          return NULL;
        }
      return vae;
    }
  if (read_config (&vae->config, dir, err) != TD_OK || (vae->weights = td_weights_open (dir, backend, err)) == NULL
      || check_weights (vae->weights, &vae->config, err) != TD_OK)
    {
      td_error_prefix (err, "loading the VAE from %s", dir);
      td_flux_vae_free (vae);
      return NULL;
    }
  return vae;
}

td_flux_vae *
td_flux_vae_new_from_config (const td_vae_config *config, td_weights *weights, td_error *err)
{
  const td_vae_config *c = config;
  bool valid = c->in_channels >= 1 && c->out_channels >= 1 && c->latent_channels >= 1 && c->levels >= 1
               && c->levels <= TD_VAE_MAX_LEVELS && c->layers_per_block >= 1 && c->norm_num_groups >= 1;
  for (int i = 0; valid && i < c->levels; i++)
    valid = c->block_out_channels[i] >= 1 && c->block_out_channels[i] % c->norm_num_groups == 0;
  td_flux_vae *vae = valid ? calloc (1, sizeof *vae) : NULL;
  if (vae == NULL)
    {
      td_error_set (err, valid ? TD_ERR_NO_MEMORY : TD_ERR_INVALID_ARG,
                    valid ? "out of memory creating the VAE"
                          : "VAE config: sizes must be positive, channels multiples of the group count");
      td_weights_free (weights);
      return NULL;
    }
  vae->config = *config;
  vae->weights = weights;
  vae->backend = td_weights_backend (weights);
  return vae;
}

void
td_flux_vae_free (td_flux_vae *vae)
{
  if (vae == NULL)
    return;
  td_weights_free (vae->weights);
  free (vae);
}

const td_vae_config *
td_flux_vae_config (const td_flux_vae *vae)
{
  return &vae->config;
}

td_backend *
td_flux_vae_backend (const td_flux_vae *vae)
{
  return vae->backend;
}

int
td_flux_vae_scale_factor (const td_flux_vae *vae)
{
  return 1 << (vae->config.levels - 1);
}

static td_tensor *
norm_silu (td_flux_vae *vae, td_layer_ctx *ctx, const td_tensor *x, const char *prefix)
{
  td_tensor *h = td_layer_group_norm (ctx, x, prefix, vae->config.norm_num_groups, 1e-6f);
  return td_layer_unary_ (ctx, h, TD_UNARY_SILU);
}

/* ResnetBlock2D: x + conv2(silu(norm2(conv1(silu(norm1(x)))))), with a 1×1 shortcut
 * when the channel count changes. */
static td_tensor *
resnet (td_flux_vae *vae, td_layer_ctx *ctx, td_tensor *x, const char *prefix)
{
  char name[192];
  snprintf (name, sizeof name, "%s.norm1", prefix);
  td_tensor *h = norm_silu (vae, ctx, x, name);
  snprintf (name, sizeof name, "%s.conv1", prefix);
  td_tensor *h1 = td_layer_conv2d (ctx, h, name, 1, 1);
  td_tensor_free (h);
  snprintf (name, sizeof name, "%s.norm2", prefix);
  h = norm_silu (vae, ctx, h1, name);
  td_tensor_free (h1);
  snprintf (name, sizeof name, "%s.conv2", prefix);
  td_tensor *out = td_layer_conv2d (ctx, h, name, 1, 1);
  td_tensor_free (h);

  snprintf (name, sizeof name, "%s.conv_shortcut.weight", prefix);
  if (td_weights_has (vae->weights, name))
    {
      snprintf (name, sizeof name, "%s.conv_shortcut", prefix);
      td_tensor *shortcut = td_layer_conv2d (ctx, x, name, 1, 0);
      td_layer_add_ (ctx, out, shortcut);
      td_tensor_free (shortcut);
    }
  else
    td_layer_add_ (ctx, out, x);
  td_tensor_free (x);
  return out;
}

/* Single-head self-attention over the H·W positions, plus the residual. */
/* A linear layer whose weight may be stored as a 1×1 conv [out, in, 1, 1] (BFL's layout). */
static td_tensor *
attention_linear (td_layer_ctx *ctx, const td_tensor *x, const char *prefix)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  char name[200];
  snprintf (name, sizeof name, "%s.weight", prefix);
  const td_tensor *w = td_weights_get (ctx->weights, name, ctx->err);
  if (w == NULL)
    {
      td_layer_fail (ctx, ctx->err != NULL ? ctx->err->status : TD_ERR_NOT_FOUND);
      return NULL;
    }
  if (w->ndim != 4 || w->shape[2] != 1 || w->shape[3] != 1)
    return td_layer_linear (ctx, x, prefix);
  const int64_t matrix[2] = { w->shape[0], w->shape[1] };
  td_tensor *view = td_layer_reshape (ctx, w, 2, matrix);
  snprintf (name, sizeof name, "%s.bias", prefix);
  td_tensor *y = td_layer_linear_w (ctx, x, view, td_weights_get_optional (ctx->weights, name));
  td_tensor_free (view);
  return y;
}

static td_tensor *
attention (td_flux_vae *vae, td_layer_ctx *ctx, td_tensor *x, const char *prefix)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return x;
  const int64_t c = x->shape[1], hw = x->shape[2] * x->shape[3];
  char name[192];
  snprintf (name, sizeof name, "%s.group_norm", prefix);
  td_tensor *h = td_layer_group_norm (ctx, x, name, vae->config.norm_num_groups, 1e-6f);
  /* [1, C, H, W] → [1, HW, C] */
  const int64_t chw[3] = { 1, c, hw };
  td_tensor *flat = td_layer_reshape (ctx, h, 3, chw);
  td_tensor_free (h);
  static const int to_tokens[3] = { 0, 2, 1 };
  td_tensor *view = flat ? td_tensor_permute (flat, to_tokens, ctx->err) : NULL;
  td_tensor *tokens = td_layer_contiguous (ctx, view);
  td_tensor_free (view);
  td_tensor_free (flat);

  const int64_t heads[4] = { 1, hw, 1, c };
  td_tensor *qkv[3];
  const char *names[3] = { "to_q", "to_k", "to_v" };
  for (int i = 0; i < 3; i++)
    {
      snprintf (name, sizeof name, "%s.%s", prefix, names[i]);
      td_tensor *p = attention_linear (ctx, tokens, name);
      qkv[i] = td_layer_reshape (ctx, p, 4, heads);
      td_tensor_free (p);
    }
  td_tensor_free (tokens);
  td_tensor *attended = td_layer_attention (ctx, qkv[0], qkv[1], qkv[2], NULL, 1.0f / sqrtf ((float) c), false);
  for (int i = 0; i < 3; i++)
    td_tensor_free (qkv[i]);
  const int64_t token_shape[3] = { 1, hw, c };
  td_tensor *attended_flat = td_layer_reshape (ctx, attended, 3, token_shape);
  td_tensor_free (attended);
  snprintf (name, sizeof name, "%s.to_out.0", prefix);
  td_tensor *projected = attention_linear (ctx, attended_flat, name);
  td_tensor_free (attended_flat);

  /* [1, HW, C] → [1, C, H, W] */
  td_tensor *back = projected ? td_tensor_permute (projected, to_tokens, ctx->err) : NULL;
  td_tensor *channels = td_layer_contiguous (ctx, back);
  td_tensor_free (back);
  td_tensor_free (projected);
  td_tensor *image = td_layer_reshape (ctx, channels, 4, x->shape);
  td_tensor_free (channels);
  td_layer_add_ (ctx, x, image);
  td_tensor_free (image);
  return x;
}

static td_tensor *
mid_block (td_flux_vae *vae, td_layer_ctx *ctx, td_tensor *x, const char *part)
{
  char name[128];
  snprintf (name, sizeof name, "%s.mid_block.resnets.0", part);
  x = resnet (vae, ctx, x, name);
  if (vae->config.mid_attention)
    {
      snprintf (name, sizeof name, "%s.mid_block.attentions.0", part);
      x = attention (vae, ctx, x, name);
    }
  snprintf (name, sizeof name, "%s.mid_block.resnets.1", part);
  return resnet (vae, ctx, x, name);
}

static td_tensor *
output_head (td_flux_vae *vae, td_layer_ctx *ctx, td_tensor *x, const char *part)
{
  char name[128];
  snprintf (name, sizeof name, "%s.conv_norm_out", part);
  td_tensor *h = norm_silu (vae, ctx, x, name);
  td_tensor_free (x);
  snprintf (name, sizeof name, "%s.conv_out", part);
  td_tensor *out = td_layer_conv2d (ctx, h, name, 1, 1);
  td_tensor_free (h);
  return out;
}

void
td_flux_vae_set_cancel (td_flux_vae *vae, const volatile int *cancel)
{
  vae->cancel = cancel;
}

/* Fails the context when the cancel flag is set: checked between blocks, as one block of
 * a large decode is the longest stretch without a check. */
static bool
go_on (td_flux_vae *vae, td_layer_ctx *ctx)
{
  if (td_layer_ok (ctx) && vae->cancel != NULL && *vae->cancel)
    {
      td_error_set (ctx->err, TD_ERR_CANCELLED, "cancelled");
      td_layer_fail (ctx, TD_ERR_CANCELLED);
    }
  return td_layer_ok (ctx);
}

td_tensor *
td_flux_vae_decode (td_flux_vae *vae, const td_tensor *z, td_error *err)
{
  const td_vae_config *c = &vae->config;
  if (z->ndim != 4 || z->shape[0] != 1 || z->shape[1] != c->latent_channels)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "VAE decode: latents must be [1, %d, h, w]", c->latent_channels);
      return NULL;
    }
  td_layer_ctx ctx = { .backend = vae->backend, .weights = vae->weights, .err = err };
  td_tensor *x = go_on (vae, &ctx) ? td_layer_conv2d (&ctx, z, "decoder.conv_in", 1, 1) : NULL;
  x = mid_block (vae, &ctx, x, "decoder");
  char name[128];
  for (int level = 0; level < c->levels && go_on (vae, &ctx); level++)
    {
      for (int j = 0; j < c->layers_per_block + 1 && go_on (vae, &ctx); j++)
        {
          snprintf (name, sizeof name, "decoder.up_blocks.%d.resnets.%d", level, j);
          x = resnet (vae, &ctx, x, name);
        }
      if (level < c->levels - 1 && x != NULL)
        {
          const int64_t up_shape[4] = { 1, x->shape[1], x->shape[2] * 2, x->shape[3] * 2 };
          td_tensor *up = td_layer_new (&ctx, TD_F32, 4, up_shape);
          td_status st;
          if (up != NULL && (st = td_upsample_nearest2x (vae->backend, up, x, err)) != TD_OK)
            td_layer_fail (&ctx, st);
          td_tensor_free (x);
          snprintf (name, sizeof name, "decoder.up_blocks.%d.upsamplers.0.conv", level);
          x = td_layer_conv2d (&ctx, up, name, 1, 1);
          td_tensor_free (up);
        }
    }
  td_tensor *out = output_head (vae, &ctx, x, "decoder");
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      td_error_prefix (err, "VAE decode");
      return NULL;
    }
  return out;
}

/* Zero-pads one row at the bottom and one column at the right, as diffusers'
 * Downsample2D does before its stride-2 convolution without padding. */
static td_tensor *
pad_bottom_right (td_layer_ctx *ctx, const td_tensor *x)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  const int64_t column_shape[4] = { 1, x->shape[1], x->shape[2], 1 };
  const int64_t row_shape[4] = { 1, x->shape[1], 1, x->shape[3] + 1 };
  size_t largest = (size_t) (x->shape[1] * (x->shape[2] > x->shape[3] + 1 ? x->shape[2] : x->shape[3] + 1));
  float *zeros = g_new0 (float, largest);
  td_tensor *column = td_layer_from_host (ctx, TD_F32, 4, column_shape, zeros);
  td_tensor *row = td_layer_from_host (ctx, TD_F32, 4, row_shape, zeros);
  g_free (zeros);
  td_tensor *wider = td_layer_concat (ctx, x, column, 3);
  td_tensor *padded = td_layer_concat (ctx, wider, row, 2);
  td_tensor_free (column);
  td_tensor_free (row);
  td_tensor_free (wider);
  return padded;
}

td_tensor *
td_flux_vae_encode_mean (td_flux_vae *vae, const td_tensor *image, td_error *err)
{
  const td_vae_config *c = &vae->config;
  int factor = td_flux_vae_scale_factor (vae);
  if (image->ndim != 4 || image->shape[0] != 1 || image->shape[1] != c->in_channels
      || image->shape[2] % factor != 0 || image->shape[3] % factor != 0)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "VAE encode: the image must be [1, %d, H, W] with H and W multiples of %d",
                    c->in_channels, factor);
      return NULL;
    }
  td_layer_ctx ctx = { .backend = vae->backend, .weights = vae->weights, .err = err };
  td_tensor *x = td_layer_conv2d (&ctx, image, "encoder.conv_in", 1, 1);
  char name[128];
  for (int level = 0; level < c->levels && td_layer_ok (&ctx); level++)
    {
      for (int j = 0; j < c->layers_per_block; j++)
        {
          snprintf (name, sizeof name, "encoder.down_blocks.%d.resnets.%d", level, j);
          x = resnet (vae, &ctx, x, name);
        }
      if (level < c->levels - 1)
        {
          td_tensor *padded = pad_bottom_right (&ctx, x);
          td_tensor_free (x);
          snprintf (name, sizeof name, "encoder.down_blocks.%d.downsamplers.0.conv", level);
          x = td_layer_conv2d (&ctx, padded, name, 2, 0);
          td_tensor_free (padded);
        }
    }
  x = mid_block (vae, &ctx, x, "encoder");
  td_tensor *moments = output_head (vae, &ctx, x, "encoder");
  /* The first latent_channels channels are the mean, the rest the log-variance. */
  td_tensor *mean = td_layer_slice (&ctx, moments, 1, 0, c->latent_channels);
  td_tensor_free (moments);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (mean);
      td_error_prefix (err, "VAE encode");
      return NULL;
    }
  return mean;
}
