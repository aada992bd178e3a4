#include "models/flux_dit.h"

#include <glib.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "models/flux_keys.h"
#include "models/layers.h"
#include "models/model_config.h"
#include "models/rope_tables.h"

/* Weight names are built from internal printf patterns with one block index. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

struct td_flux_dit {
  td_flux_config config;
  td_backend *backend;
  td_weights *weights;
  bool bfl_layout;       /* single file with Black Forest Labs key names */
  GHashTable *derived;   /* diffusers name → td_tensor* view or rearranged copy (BFL layout) */
  td_block_stream stream; /* group 0: double blocks, group 1: single blocks */
};

#define INNER(c) ((c)->num_heads * (c)->head_dim)

static void init_stream (td_flux_dit *model);

static td_status
read_diffusers_config (td_flux_config *c, const char *path, td_error *err)
{
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  long long v[8], out_channels, axes[3];
  int n_axes = 0;
  bool guidance;
  td_status st;
  if ((st = td_config_int (config, NULL, "in_channels", true, 0, 1, 1 << 16, &v[0], err))
      || (st = td_config_int (config, NULL, "num_layers", true, 0, 0, 1024, &v[1], err))
      || (st = td_config_int (config, NULL, "num_single_layers", true, 0, 0, 1024, &v[2], err))
      || (st = td_config_int (config, NULL, "attention_head_dim", true, 0, 2, 1024, &v[3], err))
      || (st = td_config_int (config, NULL, "num_attention_heads", true, 0, 1, 1024, &v[4], err))
      || (st = td_config_int (config, NULL, "joint_attention_dim", true, 0, 1, 1 << 16, &v[5], err))
      || (st = td_config_int (config, NULL, "pooled_projection_dim", true, 0, 1, 1 << 16, &v[6], err))
      || (st = td_config_int (config, NULL, "out_channels", false, 0, 0, 1 << 16, &out_channels, err))
      || (st = td_config_bool (config, NULL, "guidance_embeds", false, false, &guidance, err))
      || (st = td_config_int_array (config, NULL, "axes_dims_rope", axes, 3, &n_axes, err)))
    goto out;
  bool axes_ok = n_axes == 3;
  for (int i = 0; axes_ok && i < 3; i++)
    axes_ok = axes[i] > 0 && axes[i] <= v[3] && axes[i] % 2 == 0;
  if (!axes_ok || axes[0] + axes[1] + axes[2] != v[3])
    {
      st = td_error_set (err, TD_ERR_FORMAT, "%s: axes_dims_rope must be 3 positive even numbers adding up to "
                         "attention_head_dim", path);
      goto out;
    }
  c->in_channels = (int) v[0];
  c->num_layers = (int) v[1];
  c->num_single_layers = (int) v[2];
  c->head_dim = (int) v[3];
  c->num_heads = (int) v[4];
  c->joint_attention_dim = (int) v[5];
  c->pooled_projection_dim = (int) v[6];
  c->out_channels = out_channels > 0 ? (int) out_channels : c->in_channels;
  c->guidance_embeds = guidance;
  for (int i = 0; i < 3; i++)
    c->axes_dim[i] = (int) axes[i];
  c->theta = 10000;
  c->mlp_ratio_x100 = 400;
out:
  td_model_config_free (config);
  return st;
}

static int
count_blocks (td_weights *weights, const char *fmt)
{
  char name[160];
  int n = 0;
  for (;;)
    {
      snprintf (name, sizeof name, fmt, n);
      if (!td_weights_has (weights, name))
        return n;
      n++;
    }
}

/* A BFL file carries no config: read the sizes off the tensors. */
static td_status
infer_bfl_config (td_flux_config *c, td_weights *weights, td_error *err)
{
  const td_tensor *img_in = td_weights_get_host (weights, "img_in.weight", err);
  const td_tensor *txt_in = img_in ? td_weights_get_host (weights, "txt_in.weight", err) : NULL;
  const td_tensor *vector_in = txt_in ? td_weights_get_host (weights, "vector_in.in_layer.weight", err) : NULL;
  const td_tensor *q_norm = vector_in ? td_weights_get_host (weights, "double_blocks.0.img_attn.norm.query_norm.scale", err) : NULL;
  const td_tensor *final = q_norm ? td_weights_get_host (weights, "final_layer.linear.weight", err) : NULL;
  if (final == NULL)
    return err != NULL ? err->status : TD_ERR_NOT_FOUND;
  /* Sizes read off tensors are bounded as a config's would be, so that products stay in range. */
  const td_tensor *sized[] = { img_in, txt_in, vector_in, q_norm, final };
  for (size_t i = 0; i < G_N_ELEMENTS (sized); i++)
    if (sized[i]->ndim < 1 || sized[i]->ndim > 2 || sized[i]->shape[0] < 1 || sized[i]->shape[0] > (1 << 16)
        || sized[i]->shape[sized[i]->ndim - 1] > (1 << 16))
      return td_error_set (err, TD_ERR_FORMAT, "%s: a FLUX size tensor has shape outside 1..65536 per dimension",
                           td_weights_path (weights));
  if (img_in->ndim != 2 || txt_in->ndim != 2 || vector_in->ndim != 2 || q_norm->ndim != 1 || final->ndim != 2)
    return td_error_set (err, TD_ERR_FORMAT, "%s: img_in, txt_in, vector_in and final_layer.linear must be 2-D and "
                         "the query norm 1-D", td_weights_path (weights));
  int inner = (int) img_in->shape[0];
  c->in_channels = (int) img_in->shape[1];
  c->out_channels = (int) final->shape[0];
  c->joint_attention_dim = (int) txt_in->shape[1];
  c->pooled_projection_dim = (int) vector_in->shape[1];
  c->head_dim = (int) q_norm->shape[0];
  if (c->head_dim <= 0 || inner % c->head_dim != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: img_in width %d is not a multiple of the head size %d",
                         td_weights_path (weights), inner, c->head_dim);
  c->num_heads = inner / c->head_dim;
  c->num_layers = count_blocks (weights, "double_blocks.%d.img_mod.lin.weight");
  c->num_single_layers = count_blocks (weights, "single_blocks.%d.linear2.weight");
  c->guidance_embeds = td_weights_has (weights, "guidance_in.in_layer.weight");
  c->theta = 10000;
  c->mlp_ratio_x100 = 400;
  /* FLUX.1 splits a 128-wide head as 16 + 56 + 56. A file may state its own split
   * in its metadata ("axes_dims_rope": "16,56,56"), as converted small models do. */
  c->axes_dim[0] = c->head_dim / 8;
  c->axes_dim[1] = c->axes_dim[2] = (c->head_dim - c->axes_dim[0]) / 2;
  const char *axes = td_weights_metadata (weights, "axes_dims_rope");
  if (axes != NULL)
    {
      int a[3];
      bool ok = true;
      const char *p = axes;
      for (int i = 0; i < 3 && ok; i++)
        {
          char *end;
          long long value = g_ascii_strtoll (p, &end, 10);
          ok = end != p && g_ascii_isdigit (*p) && value > 0 && value <= c->head_dim && value % 2 == 0 && *end == (i < 2 ? ',' : '\0');
          a[i] = ok ? (int) value : 0;
          p = end + 1;
        }
      if (!ok || a[0] + a[1] + a[2] != c->head_dim)
        return td_error_set (err, TD_ERR_FORMAT, "%s: metadata axes_dims_rope \"%s\" is not three even numbers "
                             "adding up to the head size %d", td_weights_path (weights), axes, c->head_dim);
      memcpy (c->axes_dim, a, sizeof a);
    }
  return TD_OK;
}

/* BFL's final modulation holds (shift, scale) where diffusers' holds (scale, shift):
 * swapped once on the host, by bytes, so that it works for every stored type (rows
 * of a block type are whole blocks), and found under the diffusers names. */
static td_status
swap_final_modulation (td_flux_dit *model, td_error *err)
{
  static const char *const suffixes[] = { "weight", "bias" };
  for (int i = 0; i < 2; i++)
    {
      char bfl[96], diffusers[64];
      snprintf (bfl, sizeof bfl, "final_layer.adaLN_modulation.1.%s", suffixes[i]);
      snprintf (diffusers, sizeof diffusers, "norm_out.linear.%s", suffixes[i]);
      const td_tensor *stored = td_weights_get_host (model->weights, bfl, err);
      if (stored == NULL)
        return err != NULL ? err->status : TD_ERR_NOT_FOUND;
      int64_t row = stored->ndim == 2 ? stored->shape[1] : 1;
      if (stored->ndim < 1 || stored->ndim > 2 || stored->shape[0] % 2 != 0
          || ((stored->shape[0] / 2) * row) % td_dtype_block_elems (stored->dtype) != 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' is not two halves of whole rows",
                             td_weights_path (model->weights), bfl);
      td_tensor *swapped = td_tensor_new (td_backend_host (), stored->dtype, stored->ndim, stored->shape, err);
      if (swapped == NULL)
        return err != NULL ? err->status : TD_ERR_NO_MEMORY;
      size_t half = td_tensor_nbytes (stored) / 2;
      const uint8_t *from = td_tensor_host_data (stored);
      uint8_t *to = td_tensor_host_data (swapped);
      memcpy (to, from + half, half);
      memcpy (to + half, from, half);
      td_weights_add_composed (model->weights, diffusers, swapped);
    }
  return TD_OK;
}

/* A diffusers-named weight: as named, or (BFL layout) the fused tensor it is cut from,
 * whose rank alone is known here; the cut is checked where it is used. */
static td_status
expect (td_flux_dit *model, td_error *err, const char *name, int ndim, const int64_t *shape)
{
  if (!model->bfl_layout)
    return td_weights_expect (model->weights, name, ndim, shape, err);
  td_flux_bfl_ref ref;
  if (!td_flux_bfl_translate (name, &ref))
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no tensor for '%s'", td_weights_path (model->weights), name);
  int64_t any[TD_MAX_DIMS];
  for (int i = 0; i < TD_MAX_DIMS; i++)
    any[i] = TD_ANY;
  return td_weights_expect (model->weights, ref.name, ndim, any, err);
}

static td_status
expect_linear (td_flux_dit *model, td_error *err, int64_t out, int64_t in, const char *fmt, int index)
{
  char prefix[160], name[176];
  snprintf (prefix, sizeof prefix, fmt, index);
  snprintf (name, sizeof name, "%s.weight", prefix);
  td_status st = expect (model, err, name, TD_DIMS (out, in));
  snprintf (name, sizeof name, "%s.bias", prefix);
  return st != TD_OK ? st : expect (model, err, name, TD_DIMS (out));
}

/* Every tensor the forward pass reads, with its shape, before any is used. */
static td_status
check_weights (td_flux_dit *model, td_error *err)
{
  const td_flux_config *c = &model->config;
  const int64_t inner = INNER (c), mlp = inner * c->mlp_ratio_x100 / 100, hd = c->head_dim;
  td_status st;
  if ((st = expect_linear (model, err, inner, c->in_channels, "x_embedder", 0))
      || (st = expect_linear (model, err, inner, c->joint_attention_dim, "context_embedder", 0))
      || (st = expect_linear (model, err, inner, 256, "time_text_embed.timestep_embedder.linear_1", 0))
      || (st = expect_linear (model, err, inner, inner, "time_text_embed.timestep_embedder.linear_2", 0))
      || (st = expect_linear (model, err, inner, c->pooled_projection_dim, "time_text_embed.text_embedder.linear_1", 0))
      || (st = expect_linear (model, err, inner, inner, "time_text_embed.text_embedder.linear_2", 0))
      || (c->guidance_embeds
          && ((st = expect_linear (model, err, inner, 256, "time_text_embed.guidance_embedder.linear_1", 0))
              || (st = expect_linear (model, err, inner, inner, "time_text_embed.guidance_embedder.linear_2", 0))))
      || (st = expect_linear (model, err, 2 * inner, inner, "norm_out.linear", 0))
      || (st = expect_linear (model, err, c->out_channels, inner, "proj_out", 0)))
    return st;
  static const char *const double_square[] = {
    "attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj",
    "attn.to_out.0", "attn.to_add_out",
  };
  static const char *const double_norms[] = { "norm_q", "norm_k", "norm_added_q", "norm_added_k" };
  char fmt[160], name[176];
  for (int b = 0; b < c->num_layers; b++)
    {
      for (size_t i = 0; i < G_N_ELEMENTS (double_square); i++)
        {
          snprintf (fmt, sizeof fmt, "transformer_blocks.%%d.%s", double_square[i]);
          if ((st = expect_linear (model, err, inner, inner, fmt, b)))
            return st;
        }
      for (size_t i = 0; i < G_N_ELEMENTS (double_norms); i++)
        {
          snprintf (name, sizeof name, "transformer_blocks.%d.attn.%s.weight", b, double_norms[i]);
          if ((st = expect (model, err, name, TD_DIMS (hd))))
            return st;
        }
      if ((st = expect_linear (model, err, 6 * inner, inner, "transformer_blocks.%d.norm1.linear", b))
          || (st = expect_linear (model, err, 6 * inner, inner, "transformer_blocks.%d.norm1_context.linear", b))
          || (st = expect_linear (model, err, mlp, inner, "transformer_blocks.%d.ff.net.0.proj", b))
          || (st = expect_linear (model, err, inner, mlp, "transformer_blocks.%d.ff.net.2", b))
          || (st = expect_linear (model, err, mlp, inner, "transformer_blocks.%d.ff_context.net.0.proj", b))
          || (st = expect_linear (model, err, inner, mlp, "transformer_blocks.%d.ff_context.net.2", b)))
        return st;
    }
  for (int b = 0; b < c->num_single_layers; b++)
    {
      if ((st = expect_linear (model, err, 3 * inner, inner, "single_transformer_blocks.%d.norm.linear", b))
          || (st = expect_linear (model, err, mlp, inner, "single_transformer_blocks.%d.proj_mlp", b))
          || (st = expect_linear (model, err, inner, inner, "single_transformer_blocks.%d.attn.to_q", b))
          || (st = expect_linear (model, err, inner, inner, "single_transformer_blocks.%d.attn.to_k", b))
          || (st = expect_linear (model, err, inner, inner, "single_transformer_blocks.%d.attn.to_v", b))
          || (st = expect_linear (model, err, inner, inner + mlp, "single_transformer_blocks.%d.proj_out", b)))
        return st;
      for (int i = 0; i < 2; i++)
        {
          snprintf (name, sizeof name, "single_transformer_blocks.%d.attn.%s.weight", b, i ? "norm_k" : "norm_q");
          if ((st = expect (model, err, name, TD_DIMS (hd))))
            return st;
        }
    }
  return TD_OK;
}

td_flux_dit *
td_flux_dit_load (const char *path, td_backend *backend, td_error *err)
{
  td_flux_dit *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading FLUX");
      return NULL;
    }
  model->backend = backend != NULL ? backend : td_backend_host ();
  model->derived = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) td_tensor_free);
  model->weights = td_weights_open (path, backend, err);
  if (model->weights == NULL)
    goto fail;
  /* Single files saved from ComfyUI keep the model's place in the whole checkpoint. */
  td_weights_add_prefix (model->weights, "model.diffusion_model.");
  model->bfl_layout = td_weights_has (model->weights, "img_in.weight");
  if (model->bfl_layout)
    {
      if (infer_bfl_config (&model->config, model->weights, err) != TD_OK
          || swap_final_modulation (model, err) != TD_OK)
        goto fail;
    }
  else
    {
      /* A diffusers-named file (a GGUF made by `thinkdiff quantize`) reads the
       * config.json of the transformer/ folder it sits in. */
      g_autofree char *folder = g_file_test (path, G_FILE_TEST_IS_DIR) ? g_strdup (path) : g_path_get_dirname (path);
      g_autofree char *config_path = g_build_filename (folder, "config.json", NULL);
      if (read_diffusers_config (&model->config, config_path, err) != TD_OK)
        goto fail;
    }
  /* A GGUF (city96's flux1-dev-Q8_0.gguf) holds the transformer alone: anything else is not FLUX. */
  if (check_weights (model, err) != TD_OK
      || (model->bfl_layout && td_weights_gguf (model->weights) != NULL
          && td_weights_refuse_unused (model->weights, "the FLUX transformer", NULL, err) != TD_OK))
    goto fail;
  init_stream (model);
  return model;

fail:
  td_error_prefix (err, "loading the FLUX transformer from %s", path);
  td_flux_dit_free (model);
  return NULL;
}

td_flux_dit *
td_flux_dit_new_from_config (const td_flux_config *config, td_weights *weights, td_error *err)
{
  const td_flux_config *c = config;
  if (c->in_channels < 1 || c->out_channels < 1 || c->num_layers < 0 || c->num_single_layers < 0 || c->head_dim < 2
      || c->num_heads < 1 || c->joint_attention_dim < 1 || c->pooled_projection_dim < 1 || c->mlp_ratio_x100 < 1
      || c->axes_dim[0] + c->axes_dim[1] + c->axes_dim[2] != c->head_dim || c->theta < 1)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "FLUX config: sizes must be positive and the rotary axes must add up "
                    "to the head size");
      td_weights_free (weights);
      return NULL;
    }
  td_flux_dit *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory creating FLUX");
      td_weights_free (weights);
      return NULL;
    }
  model->config = *config;
  model->weights = weights;
  model->backend = td_weights_backend (weights);
  model->derived = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) td_tensor_free);
  init_stream (model);
  return model;
}

void
td_flux_dit_free (td_flux_dit *model)
{
  if (model == NULL)
    return;
  g_hash_table_unref (model->derived);
  td_weights_free (model->weights);
  free (model);
}

const td_flux_config *
td_flux_dit_config (const td_flux_dit *model)
{
  return &model->config;
}

/* A BFL tensor rearranged into the diffusers one it stands for. */
static td_tensor *
derive_from_bfl (td_flux_dit *model, const td_tensor *fused, td_flux_part part, td_error *err)
{
  int64_t inner = INNER (&model->config);
  switch (part)
    {
    case TD_FLUX_Q:
    case TD_FLUX_K:
    case TD_FLUX_V:
      return td_tensor_slice (fused, 0, part * inner, inner, err);
    case TD_FLUX_MLP:
      return td_tensor_slice (fused, 0, 3 * inner, fused->shape[0] - 3 * inner, err);
    case TD_FLUX_SWAPPED_HALVES: /* swapped at load (swap_final_modulation), never cut from here */
      td_error_set (err, TD_ERR_INVALID_ARG, "the final modulation is not cut from the stored tensor");
      return NULL;
    case TD_FLUX_WHOLE:
    default:
      return td_tensor_slice (fused, 0, 0, fused->shape[0], err);
    }
}

/* The weight called `name` in diffusers terms, whatever the file's layout. */
static const td_tensor *
flux_weight (td_flux_dit *model, td_layer_ctx *ctx, const char *name, bool required)
{
  if (!td_layer_ok (ctx))
    return NULL;
  if (!model->bfl_layout)
    {
      const td_tensor *t = required ? td_weights_get (model->weights, name, ctx->err)
                                    : td_weights_get_optional (model->weights, name);
      if (t == NULL && required)
        td_layer_fail (ctx, TD_ERR_NOT_FOUND);
      return t;
    }
  td_tensor *cached = g_hash_table_lookup (model->derived, name);
  if (cached != NULL)
    return cached;
  if (td_weights_has (model->weights, name)) /* the final modulation, swapped at load */
    return td_weights_get (model->weights, name, ctx->err);
  td_flux_bfl_ref ref;
  if (!td_flux_bfl_translate (name, &ref) || (!required && !td_weights_has (model->weights, ref.name)))
    {
      if (required)
        {
          td_error_set (ctx->err, TD_ERR_NOT_FOUND, "%s: no tensor for '%s'", td_weights_path (model->weights), name);
          td_layer_fail (ctx, TD_ERR_NOT_FOUND);
        }
      return NULL;
    }
  const td_tensor *fused = td_weights_get (model->weights, ref.name, ctx->err);
  td_tensor *derived = fused ? derive_from_bfl (model, fused, ref.part, ctx->err) : NULL;
  if (derived == NULL)
    {
      td_layer_fail (ctx, ctx->err ? ctx->err->status : TD_ERR_NOT_FOUND);
      return NULL;
    }
  g_hash_table_insert (model->derived, g_strdup (name), derived);
  return derived;
}

/* The weight and bias of the linear layer `prefix` (fmt with the block index) for x;
 * false (ctx failed) when the weight is missing or does not take x's last dim. */
static bool
linear_weights (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, const char *fmt, int block,
                char *prefix, size_t prefix_size, const td_tensor **w, const td_tensor **b)
{
  char name[176];
  snprintf (prefix, prefix_size, fmt, block);
  snprintf (name, sizeof name, "%s.weight", prefix);
  *w = flux_weight (model, ctx, name, true);
  snprintf (name, sizeof name, "%s.bias", prefix);
  *b = flux_weight (model, ctx, name, false);
  if (*w != NULL && x != NULL && ((*w)->ndim != 2 || (*w)->shape[1] != x->shape[x->ndim - 1]))
    {
      char got[96];
      td_layer_fail (ctx, td_error_set (ctx->err, TD_ERR_FORMAT, "%s: tensor for '%s.weight' has shape %s, expected "
                                        "[*, %" PRId64 "]", td_weights_path (model->weights), prefix,
                                        td_shape_string ((*w)->ndim, (*w)->shape, got, sizeof got),
                                        x->shape[x->ndim - 1]));
      return false;
    }
  return *w != NULL && x != NULL;
}

/* The linear layer prefix (fmt with the block index), then activation when activate. */
static td_tensor *
linear_then (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, const char *fmt, int block, bool activate,
             td_unary_kind activation)
{
  char prefix[160];
  const td_tensor *w, *b;
  if (!linear_weights (model, ctx, x, fmt, block, prefix, sizeof prefix, &w, &b))
    return NULL;
  return activate ? td_layer_linear_wp_act (ctx, x, w, b, prefix, activation)
                  : td_layer_linear_wp (ctx, x, w, b, prefix);
}

static td_tensor *
linear (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, const char *fmt, int block)
{
  return linear_then (model, ctx, x, fmt, block, false, 0);
}

/* activation (linear (x)) in one pass: the activation is the matmul's epilogue. */
static td_tensor *
linear_act (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, const char *fmt, int block,
            td_unary_kind activation)
{
  return linear_then (model, ctx, x, fmt, block, true, activation);
}

/* The projection fmt of x [1, n, inner] as heads [1, n, H, D], FLUX's QK-norm (RMSNorm,
 * eps 1e-6, weight norm_fmt) and the rotation, in one op: the stream's positions are
 * rows [first, first + n) of the rotary tables. */
static td_tensor *
project_norm_rope (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, const char *fmt, const char *norm_fmt,
                   int block, const td_tensor *cos, const td_tensor *sin, int64_t first)
{
  const td_flux_config *c = &model->config;
  char prefix[160], name[160];
  const td_tensor *w, *b;
  if (!linear_weights (model, ctx, x, fmt, block, prefix, sizeof prefix, &w, &b))
    return NULL;
  snprintf (name, sizeof name, norm_fmt, block);
  const td_tensor *norm_w = flux_weight (model, ctx, name, true);
  if (norm_w == NULL || !td_layer_ok (ctx))
    return NULL;
  td_tensor *cos_rows = td_tensor_slice (cos, 0, first, x->shape[1], ctx->err);
  td_tensor *sin_rows = cos_rows ? td_tensor_slice (sin, 0, first, x->shape[1], ctx->err) : NULL;
  if (sin_rows == NULL)
    td_layer_fail (ctx, ctx->err ? ctx->err->status : TD_ERR_INVALID_ARG);
  const int64_t shape[4] = { 1, x->shape[1], c->num_heads, c->head_dim };
  td_tensor *y = td_layer_new (ctx, TD_F32, 4, shape);
  if (!td_layer_linear_wp_norm_rope (ctx, y, x, w, b, prefix, true, norm_w, 1e-6f, cos_rows, sin_rows,
                                     TD_ROPE_INTERLEAVED))
    {
      td_tensor_free (y);
      y = NULL;
    }
  td_tensor_free (cos_rows);
  td_tensor_free (sin_rows);
  return y;
}

/* Chunk i of a modulation vector [1, k·inner], as an [inner] view. */
static td_tensor *
chunk (td_layer_ctx *ctx, const td_tensor *mod, int i, int64_t inner)
{
  if (!td_layer_ok (ctx) || mod == NULL)
    return NULL;
  td_tensor *slice = td_tensor_slice (mod, 1, i * inner, inner, ctx->err);
  const int64_t shape[1] = { inner };
  td_tensor *view = slice ? td_tensor_reshape (slice, 1, shape, ctx->err) : NULL;
  td_tensor_free (slice);
  if (view == NULL)
    td_layer_fail (ctx, ctx->err ? ctx->err->status : TD_ERR_INVALID_ARG);
  return view;
}

/* LayerNorm without affine, then x · (1 + scale) + shift, in one op. */
static td_tensor *
modulate (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *shift, const td_tensor *scale)
{
  if (!td_layer_ok (ctx) || x == NULL)
    return NULL;
  td_tensor *y = td_layer_new (ctx, TD_F32, x->ndim, x->shape);
  td_status st;
  if (y != NULL && (st = td_ada_layer_norm (ctx->backend, y, x, scale, shift, 1e-6f, ctx->err)) != TD_OK)
    td_layer_fail (ctx, st);
  return y;
}

/* x += gate ⊙ y (y is freed). */
static void
gated_residual (td_layer_ctx *ctx, td_tensor *x, td_tensor *y, const td_tensor *gate)
{
  td_layer_mul_ (ctx, y, gate);
  td_layer_add_ (ctx, x, y);
  td_tensor_free (y);
}

static td_tensor *
heads_view (td_flux_dit *model, td_layer_ctx *ctx, td_tensor *flat)
{
  const td_flux_config *c = &model->config;
  if (flat == NULL)
    return NULL;
  const int64_t shape[4] = { 1, flat->shape[1], c->num_heads, c->head_dim };
  td_tensor *view = td_layer_reshape (ctx, flat, 4, shape);
  td_tensor_free (flat);
  return view;
}

/* Joint attention over q, k (normed and rotated), v [1, S, H, D] → [1, S, H·D]. */
static td_tensor *
joint_attention (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *q, const td_tensor *k, const td_tensor *v)
{
  const td_flux_config *c = &model->config;
  td_tensor *out = td_layer_attention (ctx, q, k, v, NULL, 1.0f / sqrtf ((float) c->head_dim), false);
  if (out == NULL)
    return NULL;
  const int64_t shape[3] = { 1, out->shape[1], INNER (c) };
  td_tensor *flat = td_layer_reshape (ctx, out, 3, shape);
  td_tensor_free (out);
  return flat;
}

/* q, k, v of one stream, q and k normed and rotated (the stream's positions start at
 * row `first` of the rotary tables): [1, n, H, D] each. */
static void
project_qkv (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, int block, bool context,
             const td_tensor *cos, const td_tensor *sin, int64_t first, td_tensor **qkv)
{
  static const char *const image_names[3] = { "transformer_blocks.%d.attn.to_q", "transformer_blocks.%d.attn.to_k",
                                              "transformer_blocks.%d.attn.to_v" };
  static const char *const text_names[3] = { "transformer_blocks.%d.attn.add_q_proj",
                                             "transformer_blocks.%d.attn.add_k_proj",
                                             "transformer_blocks.%d.attn.add_v_proj" };
  const char *const *names = context ? text_names : image_names;
  const char *q_norm = context ? "transformer_blocks.%d.attn.norm_added_q.weight" : "transformer_blocks.%d.attn.norm_q.weight";
  const char *k_norm = context ? "transformer_blocks.%d.attn.norm_added_k.weight" : "transformer_blocks.%d.attn.norm_k.weight";
  qkv[0] = project_norm_rope (model, ctx, x, names[0], q_norm, block, cos, sin, first);
  qkv[1] = project_norm_rope (model, ctx, x, names[1], k_norm, block, cos, sin, first);
  qkv[2] = heads_view (model, ctx, linear (model, ctx, x, names[2], block));
}

static td_tensor *
feed_forward (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, int block, bool context)
{
  td_tensor *h = linear_act (model, ctx, x, context ? "transformer_blocks.%d.ff_context.net.0.proj"
                                                     : "transformer_blocks.%d.ff.net.0.proj", block, TD_UNARY_GELU_TANH);
  td_tensor *out = linear (model, ctx, h, context ? "transformer_blocks.%d.ff_context.net.2"
                                                   : "transformer_blocks.%d.ff.net.2", block);
  td_tensor_free (h);
  return out;
}

/* One double-stream block: image x [1, N, inner] and text ctx_x [1, L, inner], in place. */
static void
double_block (td_flux_dit *model, td_layer_ctx *ctx, td_tensor *x, td_tensor *ctx_x, const td_tensor *silu_temb,
              const td_tensor *cos, const td_tensor *sin, int block)
{
  const td_flux_config *c = &model->config;
  const int64_t inner = INNER (c);
  const int64_t n_txt = ctx_x->shape[1];

  /* shift, scale, gate for attention, then for the MLP, per stream. */
  td_tensor *mod = linear (model, ctx, silu_temb, "transformer_blocks.%d.norm1.linear", block);
  td_tensor *ctx_mod = linear (model, ctx, silu_temb, "transformer_blocks.%d.norm1_context.linear", block);
  td_tensor *m[6], *cm[6];
  for (int i = 0; i < 6; i++)
    {
      m[i] = chunk (ctx, mod, i, inner);
      cm[i] = chunk (ctx, ctx_mod, i, inner);
    }

  td_tensor *h = modulate (ctx, x, m[0], m[1]);
  td_tensor *ch = modulate (ctx, ctx_x, cm[0], cm[1]);
  td_tensor *img_qkv[3] = { NULL }, *txt_qkv[3] = { NULL };
  if (td_layer_ok (ctx))
    {
      project_qkv (model, ctx, h, block, false, cos, sin, n_txt, img_qkv);
      project_qkv (model, ctx, ch, block, true, cos, sin, 0, txt_qkv);
    }
  td_tensor_free (h);
  td_tensor_free (ch);
  /* Text first, then image, along the sequence. */
  td_tensor *joint[3];
  for (int i = 0; i < 3; i++)
    {
      joint[i] = td_layer_concat (ctx, txt_qkv[i], img_qkv[i], 1);
      td_tensor_free (txt_qkv[i]);
      td_tensor_free (img_qkv[i]);
    }
  td_tensor *attn = joint_attention (model, ctx, joint[0], joint[1], joint[2]);
  for (int i = 0; i < 3; i++)
    td_tensor_free (joint[i]);
  td_tensor *txt_attn = td_layer_slice (ctx, attn, 1, 0, n_txt);
  td_tensor *img_attn = td_layer_slice (ctx, attn, 1, n_txt, attn ? attn->shape[1] - n_txt : 0);
  td_tensor_free (attn);

  gated_residual (ctx, x, linear (model, ctx, img_attn, "transformer_blocks.%d.attn.to_out.0", block), m[2]);
  gated_residual (ctx, ctx_x, linear (model, ctx, txt_attn, "transformer_blocks.%d.attn.to_add_out", block), cm[2]);
  td_tensor_free (img_attn);
  td_tensor_free (txt_attn);

  h = modulate (ctx, x, m[3], m[4]);
  gated_residual (ctx, x, feed_forward (model, ctx, h, block, false), m[5]);
  td_tensor_free (h);
  ch = modulate (ctx, ctx_x, cm[3], cm[4]);
  gated_residual (ctx, ctx_x, feed_forward (model, ctx, ch, block, true), cm[5]);
  td_tensor_free (ch);

  for (int i = 0; i < 6; i++)
    {
      td_tensor_free (m[i]);
      td_tensor_free (cm[i]);
    }
  td_tensor_free (mod);
  td_tensor_free (ctx_mod);
}

/* One single-stream block on the joint sequence x [1, L + N, inner], in place. */
static void
single_block (td_flux_dit *model, td_layer_ctx *ctx, td_tensor *x, const td_tensor *silu_temb, const td_tensor *cos,
              const td_tensor *sin, int block)
{
  const int64_t inner = INNER (&model->config);
  td_tensor *mod = linear (model, ctx, silu_temb, "single_transformer_blocks.%d.norm.linear", block);
  td_tensor *shift = chunk (ctx, mod, 0, inner);
  td_tensor *scale = chunk (ctx, mod, 1, inner);
  td_tensor *gate = chunk (ctx, mod, 2, inner);
  td_tensor *h = modulate (ctx, x, shift, scale);

  td_tensor *mlp = linear_act (model, ctx, h, "single_transformer_blocks.%d.proj_mlp", block, TD_UNARY_GELU_TANH);
  td_tensor *qn = project_norm_rope (model, ctx, h, "single_transformer_blocks.%d.attn.to_q",
                                     "single_transformer_blocks.%d.attn.norm_q.weight", block, cos, sin, 0);
  td_tensor *kn = project_norm_rope (model, ctx, h, "single_transformer_blocks.%d.attn.to_k",
                                     "single_transformer_blocks.%d.attn.norm_k.weight", block, cos, sin, 0);
  td_tensor *v = heads_view (model, ctx, linear (model, ctx, h, "single_transformer_blocks.%d.attn.to_v", block));
  td_tensor_free (h);
  td_tensor *attn = joint_attention (model, ctx, qn, kn, v);
  td_tensor_free (qn);
  td_tensor_free (kn);
  td_tensor_free (v);

  td_tensor *both = td_layer_concat (ctx, attn, mlp, 2);
  td_tensor_free (attn);
  td_tensor_free (mlp);
  gated_residual (ctx, x, linear (model, ctx, both, "single_transformer_blocks.%d.proj_out", block), gate);
  td_tensor_free (both);
  td_tensor_free (shift);
  td_tensor_free (scale);
  td_tensor_free (gate);
  td_tensor_free (mod);
}

/* Sinusoidal embedding of 256 dims, cos half first (flip_sin_to_cos), in f32 as the reference. */
static void
timestep_features (float t, float *out, int dim)
{
  int half = dim / 2;
  for (int i = 0; i < half; i++)
    {
      float exponent = -logf (10000.0f) * (float) i / (float) half;
      float arg = t * expf (exponent);
      out[i] = cosf (arg);
      out[half + i] = sinf (arg);
    }
}

static td_tensor *
mlp_embed (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *x, const char *prefix)
{
  char name[160];
  snprintf (name, sizeof name, "%s.linear_1", prefix);
  td_tensor *h = linear_act (model, ctx, x, name, 0, TD_UNARY_SILU);
  snprintf (name, sizeof name, "%s.linear_2", prefix);
  td_tensor *out = linear (model, ctx, h, name, 0);
  td_tensor_free (h);
  return out;
}

static td_tensor *
scalar_embedding (td_flux_dit *model, td_layer_ctx *ctx, float value, const char *prefix)
{
  float features[256];
  timestep_features (value, features, 256);
  const int64_t shape[2] = { 1, 256 };
  td_tensor *x = td_layer_from_host (ctx, TD_F32, 2, shape, features);
  td_tensor *out = mlp_embed (model, ctx, x, prefix);
  td_tensor_free (x);
  return out;
}

/* silu(timestep + guidance + pooled-text embedding) [1, inner]: every block's modulation input. */
static td_tensor *
conditioning (td_flux_dit *model, td_layer_ctx *ctx, const td_tensor *pooled, float timestep, float guidance)
{
  td_tensor *temb = scalar_embedding (model, ctx, timestep * 1000.0f, "time_text_embed.timestep_embedder");
  if (model->config.guidance_embeds)
    {
      td_tensor *g = scalar_embedding (model, ctx, guidance * 1000.0f, "time_text_embed.guidance_embedder");
      td_layer_add_ (ctx, temb, g);
      td_tensor_free (g);
    }
  td_tensor *text = mlp_embed (model, ctx, pooled, "time_text_embed.text_embedder");
  td_layer_add_ (ctx, temb, text);
  td_tensor_free (text);
  return td_layer_unary_ (ctx, temb, TD_UNARY_SILU);
}

td_status
td_flux_dit_rope (td_flux_dit *model, const float *txt_ids, int n_txt, const float *img_ids, int n_img,
                  td_tensor **cos, td_tensor **sin, td_error *err)
{
  const td_flux_config *c = &model->config;
  int n = n_txt + n_img;
  int half = c->head_dim / 2;
  float *ids = malloc ((size_t) n * 3 * sizeof *ids);
  float *cos_host = malloc ((size_t) n * half * sizeof *cos_host);
  float *sin_host = malloc ((size_t) n * half * sizeof *sin_host);
  td_status st = TD_OK;
  *cos = *sin = NULL;
  if (ids == NULL || cos_host == NULL || sin_host == NULL)
    {
      st = td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for rotary tables");
      goto out;
    }
  memcpy (ids, txt_ids, (size_t) n_txt * 3 * sizeof *ids);
  memcpy (ids + (size_t) n_txt * 3, img_ids, (size_t) n_img * 3 * sizeof *ids);
  if ((st = td_rope_table_flux (ids, n, 3, c->axes_dim, c->theta, cos_host, sin_host, err)) != TD_OK)
    goto out;
  const int64_t shape[2] = { n, half };
  *cos = td_tensor_new (model->backend, TD_F32, 2, shape, err);
  *sin = *cos ? td_tensor_new (model->backend, TD_F32, 2, shape, err) : NULL;
  if (*sin == NULL || (st = td_tensor_upload (*cos, cos_host, (size_t) n * half * sizeof (float), err)) != TD_OK
      || (st = td_tensor_upload (*sin, sin_host, (size_t) n * half * sizeof (float), err)) != TD_OK)
    {
      if (st == TD_OK)
        st = err ? err->status : TD_ERR_NO_MEMORY;
      td_tensor_free (*cos);
      td_tensor_free (*sin);
      *cos = *sin = NULL;
    }
out:
  free (ids);
  free (cos_host);
  free (sin_host);
  return st;
}

td_dtype
td_flux_dit_stored_dtype (td_flux_dit *model)
{
  td_error err = { 0 };
  /* A block's matrix: quantised files keep the outer layers in a wider type. */
  const char *matrix = model->config.num_layers == 0 ? (model->bfl_layout ? "final_layer.linear.weight"
                                                                           : "proj_out.weight")
                       : model->bfl_layout ? "double_blocks.0.img_mlp.0.weight"
                                           : "transformer_blocks.0.ff.net.0.proj.weight";
  const td_tensor *t = td_weights_get_host (model->weights, matrix, &err);
  return t != NULL ? t->dtype : TD_BF16;
}

void
td_flux_dit_set_resident_blocks (td_flux_dit *model, int resident)
{
  td_block_stream_set_resident (&model->stream, resident);
}

int
td_flux_dit_resident_blocks (const td_flux_dit *model)
{
  return td_block_stream_resident (&model->stream);
}

/* Every weight of a block, in diffusers names (the bias where there is one). */
static const char *const double_block_weights[] = {
  "norm1.linear", "norm1_context.linear", "attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj",
  "attn.add_k_proj", "attn.add_v_proj", "attn.to_out.0", "attn.to_add_out", "ff.net.0.proj", "ff.net.2",
  "ff_context.net.0.proj", "ff_context.net.2",
};
static const char *const double_block_norms[] = {
  "attn.norm_q", "attn.norm_k", "attn.norm_added_q", "attn.norm_added_k",
};
static const char *const single_block_weights[] = {
  "norm.linear", "attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp", "proj_out",
};
static const char *const single_block_norms[] = { "attn.norm_q", "attn.norm_k" };

/* Uploads a block's weights ahead of its compute, BFL-layout views included (they stay
 * cached until dropped). */
static void
fetch_block (void *user, td_layer_ctx *ctx, int group, int block)
{
  td_flux_dit *model = user;
  const bool single = group == 1;
  const char *kind = single ? "single_transformer_blocks" : "transformer_blocks";
  const char *const *linears = single ? single_block_weights : double_block_weights;
  const char *const *norms = single ? single_block_norms : double_block_norms;
  const size_t n_linears = single ? G_N_ELEMENTS (single_block_weights) : G_N_ELEMENTS (double_block_weights);
  const size_t n_norms = single ? G_N_ELEMENTS (single_block_norms) : G_N_ELEMENTS (double_block_norms);
  char name[200];
  for (size_t i = 0; i < n_linears && td_layer_ok (ctx); i++)
    {
      snprintf (name, sizeof name, "%s.%d.%s.weight", kind, block, linears[i]);
      flux_weight (model, ctx, name, true);
      snprintf (name, sizeof name, "%s.%d.%s.bias", kind, block, linears[i]);
      flux_weight (model, ctx, name, false);
    }
  for (size_t i = 0; i < n_norms && td_layer_ok (ctx); i++)
    {
      snprintf (name, sizeof name, "%s.%d.%s.weight", kind, block, norms[i]);
      flux_weight (model, ctx, name, true);
    }
}

static gboolean
derived_in_block (gpointer key, gpointer value, gpointer prefix)
{
  return g_str_has_prefix (key, prefix);
}

/* The BFL-layout views of a dropped block's weights go with them. */
static void
drop_derived (void *user, int group, int block)
{
  td_flux_dit *model = user;
  char prefix[64];
  snprintf (prefix, sizeof prefix, "%s.%d.", group == 1 ? "single_transformer_blocks" : "transformer_blocks", block);
  g_hash_table_foreach_remove (model->derived, derived_in_block, prefix);
}

static void
init_stream (td_flux_dit *model)
{
  const td_block_group groups[2] = {
    { .prefixes = { "transformer_blocks.%d.", "double_blocks.%d." }, .count = model->config.num_layers, .then = 1 },
    { .prefixes = { "single_transformer_blocks.%d.", "single_blocks.%d." }, .count = model->config.num_single_layers,
      .then = -1 },
  };
  td_block_stream_init (&model->stream, model->weights, groups, 2, model, fetch_block, drop_derived);
}

td_tensor *
td_flux_dit_forward (td_flux_dit *model, const td_tensor *latents, const td_tensor *txt, const td_tensor *pooled,
                     float timestep, float guidance, const td_tensor *rope_cos, const td_tensor *rope_sin,
                     td_error *err)
{
  const td_flux_config *c = &model->config;
  if (latents->ndim != 3 || latents->shape[0] != 1 || latents->shape[2] != c->in_channels || txt->ndim != 3
      || txt->shape[0] != 1 || txt->shape[2] != c->joint_attention_dim || pooled->ndim != 2
      || pooled->shape[1] != c->pooled_projection_dim
      || rope_cos->shape[0] != latents->shape[1] + txt->shape[1])
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "FLUX: inputs do not match the model (latents [1, N, %d], text [1, L, %d], "
                    "pooled [1, %d], rotary tables [L + N, %d])", c->in_channels, c->joint_attention_dim,
                    c->pooled_projection_dim, c->head_dim / 2);
      return NULL;
    }
  td_layer_ctx ctx = { .backend = model->backend, .weights = model->weights, .err = err };
  const int64_t n_txt = txt->shape[1];

  td_tensor *silu_temb = conditioning (model, &ctx, pooled, timestep, guidance);
  td_tensor *x = linear (model, &ctx, latents, "x_embedder", 0);
  td_tensor *ctx_x = linear (model, &ctx, txt, "context_embedder", 0);
  for (int block = 0; block < c->num_layers && td_layer_ok (&ctx); block++)
    {
      td_block_stream_before (&model->stream, &ctx, 0, block);
      double_block (model, &ctx, x, ctx_x, silu_temb, rope_cos, rope_sin, block);
      td_block_stream_after (&model->stream, 0, block);
    }

  td_tensor *joint = td_layer_concat (&ctx, ctx_x, x, 1);
  td_tensor_free (x);
  td_tensor_free (ctx_x);
  for (int block = 0; block < c->num_single_layers && td_layer_ok (&ctx); block++)
    {
      td_block_stream_before (&model->stream, &ctx, 1, block);
      single_block (model, &ctx, joint, silu_temb, rope_cos, rope_sin, block);
      td_block_stream_after (&model->stream, 1, block);
    }
  td_tensor *img = td_layer_slice (&ctx, joint, 1, n_txt, joint ? joint->shape[1] - n_txt : 0);
  td_tensor_free (joint);

  /* AdaLayerNormContinuous: scale first, then shift. */
  td_tensor *mod = linear (model, &ctx, silu_temb, "norm_out.linear", 0);
  td_tensor *scale = chunk (&ctx, mod, 0, INNER (c));
  td_tensor *shift = chunk (&ctx, mod, 1, INNER (c));
  td_tensor *h = modulate (&ctx, img, shift, scale);
  td_tensor *out = linear (model, &ctx, h, "proj_out", 0);
  td_tensor_free (h);
  td_tensor_free (img);
  td_tensor_free (scale);
  td_tensor_free (shift);
  td_tensor_free (mod);
  td_tensor_free (silu_temb);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (out);
      td_error_prefix (err, "FLUX transformer");
      return NULL;
    }
  return out;
}
