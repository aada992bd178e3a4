/* memory_plan.c — stage memory from shapes alone.
 *
 * Weights: every matrix and token-embedding table in the requested format (ggml block sizes),
 * everything else bf16.
 * Activations are f32 and count the tensors alive at a block's busiest point; workspace
 * counts what lives across the whole stage (rotary tables, latents, KV cache, inputs). */
#include "pipeline/memory_plan.h"
#include "core/error_optional.h"

#include <string.h>

#include "backend/op.h"
#include "core/dtype.h"
#include "models/random_models.h"

#define F32 4u
#define BF16 2u

typedef struct {
  const char *name;
  td_dtype dtype; /* its block layout comes from the engine's dtype table (ggml's) */
} format_info;

static const format_info formats[TD_PLAN_FORMAT_COUNT] = {
  [TD_PLAN_F32] = { "f32", TD_F32 },
  [TD_PLAN_BF16] = { "bf16", TD_BF16 },
  [TD_PLAN_F16] = { "f16", TD_F16 },
  [TD_PLAN_FP8] = { "fp8", TD_F8_E4M3 },
  [TD_PLAN_Q8_0] = { "q8_0", TD_Q8_0 },
  [TD_PLAN_Q6_K] = { "q6_k", TD_Q6_K },
  [TD_PLAN_Q5_K] = { "q5_k", TD_Q5_K },
  [TD_PLAN_Q4_K] = { "q4_k", TD_Q4_K },
  [TD_PLAN_Q4_0] = { "q4_0", TD_Q4_0 },
};

const char *
td_plan_format_name (td_plan_format format)
{
  return format < TD_PLAN_FORMAT_COUNT ? formats[format].name : "?";
}

bool
td_plan_format_parse (const char *name, td_plan_format *format)
{
  for (int i = 0; i < TD_PLAN_FORMAT_COUNT; i++)
    if (strcmp (name, formats[i].name) == 0)
      {
        *format = (td_plan_format) i;
        return true;
      }
  return false;
}

bool
td_plan_format_of_dtype (td_dtype dtype, td_plan_format *format)
{
  for (int i = 0; i < TD_PLAN_FORMAT_COUNT; i++)
    if (formats[i].dtype == dtype)
      {
        *format = (td_plan_format) i;
        return true;
      }
  return false;
}

uint64_t
td_plan_format_bytes (td_plan_format format, uint64_t n, uint64_t row)
{
  const td_dtype dtype = formats[format].dtype;
  const uint64_t block = (uint64_t) td_dtype_block_elems (dtype);
  if (row == 0 || row % block != 0)
    return n * BF16;
  return n / block * td_dtype_block_bytes (dtype);
}

const char *
td_plan_strategy_name (td_plan_strategy strategy)
{
  static const char *names[] = { "all resident", "stage by stage", "weights streamed by block", "VAE tiled",
                                 "does not fit" };
  return strategy <= TD_PLAN_DOES_NOT_FIT ? names[strategy] : "?";
}

/* A model's measured weights replace the formulas' (the stage keeps its activations). */
static void
use_stored (td_plan_stage *s, const td_plan_stored *stored)
{
  if (stored == NULL || stored->total == 0)
    return;
  s->weights = stored->total;
  s->fixed_weights = stored->fixed;
  s->block_weights = stored->block;
  s->blocks = stored->blocks;
  s->files[0] = stored->files;
  /* Measured, every block counts at the largest one's size. */
  for (int g = 0; g < s->n_groups; g++)
    s->group[g].bytes = stored->block;
}

static void
add_group (td_plan_stage *s, int count, uint64_t bytes, uint64_t activations)
{
  s->group[s->n_groups].count = count;
  s->group[s->n_groups].bytes = bytes;
  s->group[s->n_groups].activations = activations;
  s->n_groups++;
}

/* Weight bytes and the parameter count, summed as layers are added. */
typedef struct {
  td_plan_format format;
  uint64_t bytes, params;
} tally;

static void
matrix (tally *t, uint64_t in, uint64_t out, bool bias)
{
  t->bytes += td_plan_format_bytes (t->format, in * out, in);
  t->params += in * out;
  if (bias)
    t->bytes += out * BF16, t->params += out;
}

static void
vector (tally *t, uint64_t n)
{
  t->bytes += n * (t->format == TD_PLAN_F32 ? F32 : BF16);
  t->params += n;
}

/* A token-embedding table of `rows` rows of `row` values: read as stored, so in the
 * requested format like a matrix (community GGUF files quantise it). */
static void
table (tally *t, uint64_t rows, uint64_t row)
{
  matrix (t, row, rows, false);
}

/* FLUX --------------------------------------------------------------------------- */

static void
flux_outer (tally *t, const td_flux_config *c)
{
  const uint64_t d = (uint64_t) c->num_heads * c->head_dim;
  matrix (t, c->in_channels, d, true);          /* x_embedder */
  matrix (t, c->joint_attention_dim, d, true);  /* context_embedder */
  matrix (t, 256, d, true), matrix (t, d, d, true); /* timestep_embedder */
  if (c->guidance_embeds)
    matrix (t, 256, d, true), matrix (t, d, d, true);
  matrix (t, c->pooled_projection_dim, d, true), matrix (t, d, d, true); /* text_embedder */
  matrix (t, d, 2 * d, true);                   /* norm_out */
  matrix (t, d, c->out_channels, true);         /* proj_out */
}

static void
flux_double (tally *t, const td_flux_config *c)
{
  const uint64_t d = (uint64_t) c->num_heads * c->head_dim, mlp = d * c->mlp_ratio_x100 / 100;
  for (int stream = 0; stream < 2; stream++)
    {
      matrix (t, d, 6 * d, true);               /* norm1(_context).linear */
      for (int i = 0; i < 4; i++)
        matrix (t, d, d, true);                 /* q, k, v, out */
      vector (t, c->head_dim), vector (t, c->head_dim); /* q, k RMS norms */
      matrix (t, d, mlp, true), matrix (t, mlp, d, true);
    }
}

static void
flux_single (tally *t, const td_flux_config *c)
{
  const uint64_t d = (uint64_t) c->num_heads * c->head_dim, mlp = d * c->mlp_ratio_x100 / 100;
  matrix (t, d, 3 * d, true);                   /* norm.linear */
  for (int i = 0; i < 3; i++)
    matrix (t, d, d, true);
  vector (t, c->head_dim), vector (t, c->head_dim);
  matrix (t, d, mlp, true);                     /* proj_mlp */
  matrix (t, d + mlp, d, true);                 /* proj_out */
}

uint64_t
td_plan_flux_params (const td_flux_config *c)
{
  tally t = { TD_PLAN_BF16, 0, 0 };
  flux_outer (&t, c);
  for (int i = 0; i < c->num_layers; i++)
    flux_double (&t, c);
  for (int i = 0; i < c->num_single_layers; i++)
    flux_single (&t, c);
  return t.params;
}

static void
plan_flux (const td_flux_config *c, const td_plan_stored *stored, const td_plan_request *r, td_plan_stage *s)
{
  tally outer = { r->format[TD_PLAN_FAMILY_FLUX] }, dbl = outer, sgl = outer;
  flux_outer (&outer, c);
  flux_double (&dbl, c);
  flux_single (&sgl, c);
  if (stored != NULL && stored->total != 0)
    {
      /* Measured: every block at the largest one's size, the rest outside them. */
      dbl.bytes = sgl.bytes = stored->block;
      outer.bytes = stored->fixed;
    }
  const uint64_t d = (uint64_t) c->num_heads * c->head_dim, mlp = d * c->mlp_ratio_x100 / 100;
  const uint64_t n = (uint64_t) (r->width / 16) * (r->height / 16), l = r->text_tokens, seq = n + l;
  s->name = "flux transformer";
  s->fixed_weights = outer.bytes;
  s->block_weights = dbl.bytes > sgl.bytes ? dbl.bytes : sgl.bytes;
  s->blocks = c->num_layers + c->num_single_layers;
  s->weights = outer.bytes + dbl.bytes * c->num_layers + sgl.bytes * c->num_single_layers;
  /* Double block, at the QK norms: both residual streams, both modulated copies, q/k/v
   * of both streams and one norm's output. */
  uint64_t dbl_act = seq * d * 5 + (n > l ? n : l) * d;
  /* Single block, at the concatenation: residual, attention, MLP activation, and the
   * [attention | MLP] input of the output projection. */
  uint64_t sgl_act = seq * (3 * d + 2 * mlp);
  s->activations = (dbl_act > sgl_act ? dbl_act : sgl_act) * F32;
  /* Streamed, each kind of block runs beside the next one's weights. */
  const uint64_t dbl_phase = 2 * dbl.bytes + dbl_act * F32, sgl_phase = 2 * sgl.bytes + sgl_act * F32;
  const uint64_t stream_run = dbl_phase > sgl_phase ? dbl_phase : sgl_phase;
  /* Latents, velocity and noise; the text embeddings; rotary cos/sin over the sequence. */
  s->workspace = (n * c->in_channels * 3 + l * c->joint_attention_dim + seq * c->head_dim) * (uint64_t) F32;
  s->streamed_peak = s->fixed_weights + stream_run + s->workspace;
  s->streamable = true;
  add_group (s, c->num_layers, dbl.bytes, dbl_act * F32);
  add_group (s, c->num_single_layers, sgl.bytes, sgl_act * F32);
  if (stored != NULL)
    use_stored (s, stored);
}

td_plan_stage
td_plan_flux_stage (const td_flux_config *config, int width, int height, int text_tokens, td_plan_format format)
{
  td_plan_request r = td_plan_request_default (TD_PLAN_T2I, width, height);
  r.text_tokens = text_tokens;
  r.format[TD_PLAN_FAMILY_FLUX] = format;
  td_plan_stage s = { 0 };
  plan_flux (config, NULL, &r, &s);
  s.peak = s.weights + s.activations + s.workspace;
  s.planned = s.peak;
  s.strategy = TD_PLAN_STAGE_BY_STAGE;
  return s;
}

/* A stage alone, unbudgeted. */
static td_plan_stage
alone (td_plan_stage s)
{
  s.peak = s.weights + s.activations + s.workspace;
  s.planned = s.peak;
  s.resident_blocks = s.blocks;
  s.strategy = TD_PLAN_STAGE_BY_STAGE;
  return s;
}

static void plan_t5 (const td_t5_config *t5, const td_plan_stored *stored, const td_plan_request *r,
                     td_plan_stage *s);
static void plan_qwen2vl (const td_qwen2vl_config *c, const td_plan_stored *stored, const td_plan_request *r,
                          td_plan_stage *s);
static void plan_eva (const td_eva_config *c, const td_plan_stored *stored, const td_plan_request *r,
                      td_plan_stage *s);

td_plan_stage
td_plan_t5_stage (const td_t5_config *config, int text_tokens, td_plan_format format)
{
  td_plan_request r = td_plan_request_default (TD_PLAN_T2I, 16, 16);
  r.text_tokens = text_tokens;
  r.format[TD_PLAN_FAMILY_T5] = format;
  td_plan_stage s = { 0 };
  plan_t5 (config, NULL, &r, &s);
  return alone (s);
}

td_plan_stage
td_plan_qwen2vl_stage (const td_qwen2vl_config *config, int image_width, int image_height, int thought_tokens,
                       td_plan_format format)
{
  td_plan_request r = td_plan_request_default (TD_PLAN_LVLM, image_width, image_height);
  r.thought_tokens = thought_tokens;
  r.format[TD_PLAN_FAMILY_LVLM] = format;
  td_plan_stage s = { 0 };
  plan_qwen2vl (config, NULL, &r, &s);
  return alone (s);
}

td_plan_stage
td_plan_eva_stage (const td_eva_config *config, td_plan_format format)
{
  td_plan_request r = td_plan_request_default (TD_PLAN_CLIP, 16, 16);
  r.format[TD_PLAN_FAMILY_LVLM] = format;
  td_plan_stage s = { 0 };
  plan_eva (config, NULL, &r, &s);
  return alone (s);
}

uint64_t
td_plan_stage_peak_with (const td_plan_stage *s, int resident)
{
  if (resident >= s->blocks || s->n_groups == 0)
    return s->weights + s->activations + s->workspace;
  uint64_t kept = 0, busiest = s->other_activations;
  int left = resident < 0 ? 0 : resident;
  for (int g = 0; g < s->n_groups; g++)
    {
      const int count = s->group[g].count, held = left < count ? left : count;
      const int streamed = count - held;
      left -= held;
      kept += (uint64_t) held * s->group[g].bytes;
      /* A streamed block runs beside the next one's weights. */
      const uint64_t run = (uint64_t) (streamed < 2 ? streamed : 2) * s->group[g].bytes + s->group[g].activations;
      busiest = run > busiest ? run : busiest;
    }
  return s->fixed_weights + kept + busiest + s->workspace;
}

int
td_plan_resident_blocks (const td_plan_stage *s, uint64_t budget)
{
  if (budget == 0 || s->weights + s->activations + s->workspace <= budget)
    return s->blocks;
  if (!s->streamable || s->n_groups == 0)
    return -1;
  /* The peak grows with every block kept: the largest count under budget. */
  int best = -1;
  for (int resident = 0; resident < s->blocks; resident++)
    if (td_plan_stage_peak_with (s, resident) <= budget)
      best = resident;
  return best;
}

uint64_t
td_plan_streamed_peak (const td_plan_stage *stage)
{
  if (stage->n_groups > 0)
    return td_plan_stage_peak_with (stage, 0);
  if (stage->streamed_peak != 0)
    return stage->streamed_peak;
  return stage->fixed_weights + 2 * stage->block_weights + stage->activations + stage->workspace;
}

/* The VAE decoder ------------------------------------------------------------------- */

static void
plan_vae (const td_vae_config *c, const td_plan_request *r, uint64_t declared_bytes, td_plan_stage *s)
{
  s->name = "vae decode";
  s->weights = declared_bytes;
  s->fixed_weights = declared_bytes;
  const uint64_t top = (uint64_t) c->block_out_channels[0];
  const uint64_t below = (uint64_t) c->block_out_channels[c->levels > 1 ? 1 : 0];
  const uint64_t pixels = (uint64_t) r->width * r->height;
  /* At full resolution: the upsampled input and its convolution (at the channels of the
   * block below), and the first full-resolution output. */
  s->activations = pixels * (2 * below + top) * F32;
  const uint64_t lat = pixels / 64;
  /* The latents, unscaled; the image comes after the full-resolution tensors are gone. */
  s->workspace = lat * c->latent_channels * 2 * (uint64_t) F32;
}

uint64_t
td_plan_vae_run_bytes (const td_vae_config *config, int width, int height)
{
  td_plan_request r = td_plan_request_default (TD_PLAN_T2I, width, height);
  td_plan_stage s = { 0 };
  plan_vae (config, &r, 0, &s);
  return s.activations + s.workspace;
}

/* T5 ----------------------------------------------------------------------------------- */

static void
t5_layer (tally *t, const td_t5_config *c)
{
  const uint64_t inner = (uint64_t) c->num_heads * c->d_kv;
  vector (t, c->d_model);
  for (int i = 0; i < 3; i++)
    matrix (t, c->d_model, inner, false);
  matrix (t, inner, c->d_model, false);
  vector (t, c->d_model);
  for (int i = 0; i < (c->gated ? 2 : 1); i++)
    matrix (t, c->d_model, c->d_ff, false);
  matrix (t, c->d_ff, c->d_model, false);
}

static void
t5_outer (tally *t, const td_t5_config *c)
{
  table (t, (uint64_t) c->vocab_size, c->d_model);
  vector (t, (uint64_t) c->num_buckets * c->num_heads);
  vector (t, c->d_model);
}

uint64_t
td_plan_t5_params (const td_t5_config *c)
{
  tally t = { TD_PLAN_BF16 };
  t5_outer (&t, c);
  for (int i = 0; i < c->num_layers; i++)
    t5_layer (&t, c);
  return t.params;
}

/* The T5 encoder alone, from the formulas or its measured files. */
static void
plan_t5 (const td_t5_config *t5, const td_plan_stored *stored, const td_plan_request *r, td_plan_stage *s)
{
  tally outer = { r->format[TD_PLAN_FAMILY_T5] }, layer = outer;
  t5_outer (&outer, t5);
  t5_layer (&layer, t5);
  if (stored != NULL && stored->total != 0)
    {
      layer.bytes = stored->block;
      outer.bytes = stored->fixed;
      s->files[1] = stored->files;
    }
  const uint64_t l = r->text_tokens, inner = (uint64_t) t5->num_heads * t5->d_kv;
  s->name = "t5 encoder";
  s->weights = stored != NULL && stored->total != 0 ? stored->total : outer.bytes + layer.bytes * t5->num_layers;
  s->fixed_weights = outer.bytes;
  s->block_weights = layer.bytes;
  s->blocks = t5->num_layers;
  s->activations = l * (t5->d_model * 3 + inner * 4 + (uint64_t) t5->d_ff * 3) * F32;
  /* The relative position bias [heads, L, L] lives through the encoder. */
  s->workspace = (uint64_t) t5->num_heads * l * l * F32 + l * t5->d_model * F32;
  s->streamable = true;
  add_group (s, t5->num_layers, layer.bytes, s->activations);
}

static void
plan_text (const td_plan_models *m, const td_plan_request *r, bool with_t5, td_plan_stage *s)
{
  const td_clip_text_config *clip = &m->clip;
  const td_plan_stored *clip_stored = &m->stored[TD_PLAN_PART_CLIP];
  tally clip_t = { r->format[TD_PLAN_FAMILY_OTHER] };
  const uint64_t h = clip->hidden_size, ff = clip->intermediate_size;
  vector (&clip_t, (uint64_t) (clip->vocab_size + clip->max_positions) * h);
  for (int i = 0; i < clip->num_layers; i++)
    {
      for (int k = 0; k < 4; k++)
        matrix (&clip_t, h, h, true);
      matrix (&clip_t, h, ff, true), matrix (&clip_t, ff, h, true);
      vector (&clip_t, 4 * h);
    }
  vector (&clip_t, 2 * h);
  const uint64_t clip_act = (uint64_t) clip->max_positions * (h * 8 + ff * 2) * F32;
  if (clip_stored->total != 0)
    clip_t.bytes = clip_stored->total;
  if (with_t5)
    plan_t5 (&m->t5, &m->stored[TD_PLAN_PART_T5], r, s);
  /* CLIP-L runs beside T5's fixed weights and resident blocks, before T5. */
  s->name = with_t5 ? "text encoders" : "clip-l pooled";
  if (clip_stored->total != 0)
    s->files[0] = clip_stored->files;
  s->weights += clip_t.bytes;
  s->fixed_weights += clip_t.bytes;
  s->other_activations = clip_act;
  s->activations = s->activations > clip_act ? s->activations : clip_act;
}

/* Qwen2-VL ----------------------------------------------------------------------------- */

static void
plan_qwen2vl (const td_qwen2vl_config *c, const td_plan_stored *stored, const td_plan_request *r, td_plan_stage *s)
{
  const td_qwen2vl_vision_config *v = &c->vision;
  tally vis = { r->format[TD_PLAN_FAMILY_LVLM] }, vis_block = vis, llm = vis, llm_block = vis;
  const uint64_t e = v->embed_dim, merged = e * v->merge_size * v->merge_size;
  vector (&vis, (uint64_t) v->in_channels * v->temporal_patch_size * v->patch_size * v->patch_size * e);
  vector (&vis, 2 * merged);
  matrix (&vis, merged, merged, true), matrix (&vis, merged, v->out_dim, true);
  vector (&vis_block, 4 * e);
  matrix (&vis_block, e, 3 * e, true), matrix (&vis_block, e, e, true);
  matrix (&vis_block, e, v->mlp_dim, true), matrix (&vis_block, v->mlp_dim, e, true);
  const uint64_t h = c->hidden_size, kv = (uint64_t) c->num_kv_heads * c->head_dim;
  const uint64_t q = (uint64_t) c->num_heads * c->head_dim;
  table (&llm, (uint64_t) c->vocab_size, h);
  if (!c->tie_embeddings)
    matrix (&llm, h, c->vocab_size, false);
  vector (&llm, h);
  vector (&llm_block, 2 * h);
  matrix (&llm_block, h, q, true), matrix (&llm_block, h, kv, true), matrix (&llm_block, h, kv, true);
  matrix (&llm_block, q, h, false);
  matrix (&llm_block, h, c->intermediate_size, false), matrix (&llm_block, h, c->intermediate_size, false);
  matrix (&llm_block, c->intermediate_size, h, false);
  s->name = "qwen2-vl";
  s->fixed_weights = vis.bytes + llm.bytes;
  s->block_weights = llm_block.bytes > vis_block.bytes ? llm_block.bytes : vis_block.bytes;
  s->blocks = v->depth + c->num_layers;
  s->weights = s->fixed_weights + vis_block.bytes * v->depth + llm_block.bytes * c->num_layers;
  /* One input image at the output size, in patches of 14 padded to the 28-pixel merge grid. */
  const uint64_t unit = (uint64_t) v->patch_size * v->merge_size;
  const uint64_t patches = ((r->width + unit - 1) / unit) * ((r->height + unit - 1) / unit) * v->merge_size * v->merge_size;
  const uint64_t tokens = patches / (v->merge_size * v->merge_size) + 64 + r->thought_tokens;
  const uint64_t vis_act = patches * (e * (1 + 1 + 3 + 3 + 1) + (uint64_t) v->mlp_dim * 2);
  const uint64_t llm_act = tokens * (h * 3 + q * 2 + kv * 2 + (uint64_t) c->intermediate_size * 3);
  s->activations = (vis_act > llm_act ? vis_act : llm_act) * F32;
  s->streamable = true;
  add_group (s, c->num_layers, llm_block.bytes, llm_act * F32);
  add_group (s, v->depth, vis_block.bytes, vis_act * F32);
  /* The KV cache (f16, as sessions keep it), the merged image features, the pixel
   * patches and the last position's logits. */
  s->workspace = (uint64_t) c->num_layers * 2 * tokens * kv * 2
                 + ((patches / 4) * h + patches * v->in_channels * v->temporal_patch_size * v->patch_size * v->patch_size
                    + (uint64_t) c->vocab_size + tokens * h) * F32;
  use_stored (s, stored);
}

/* BLIP-2 ViT-g ----------------------------------------------------------------------- */

static void
plan_eva (const td_eva_config *c, const td_plan_stored *stored, const td_plan_request *r, td_plan_stage *s)
{
  tally outer = { r->format[TD_PLAN_FAMILY_LVLM] }, block = outer;
  const uint64_t h = c->hidden_size, grid = (uint64_t) (c->image_size / c->patch_size);
  const uint64_t tokens = grid * grid + 1;
  vector (&outer, 3ull * c->patch_size * c->patch_size * h + h + tokens * h + h + 2 * h);
  vector (&block, 4 * h);
  matrix (&block, h, 3 * h, false), vector (&block, 2 * h); /* q and v biases */
  matrix (&block, h, h, true);
  matrix (&block, h, c->intermediate_size, true), matrix (&block, c->intermediate_size, h, true);
  s->name = "blip-2 vision";
  s->fixed_weights = outer.bytes;
  s->block_weights = block.bytes;
  s->blocks = c->num_layers;
  s->weights = outer.bytes + block.bytes * c->num_layers;
  s->activations = tokens * (h * 9 + (uint64_t) c->intermediate_size * 2) * F32;
  s->workspace = 3ull * c->image_size * c->image_size * F32;
  s->streamable = true;
  add_group (s, c->num_layers, block.bytes, s->activations);
  use_stored (s, stored);
}

static void
plan_aligner (const char *name, int in, int out, const td_plan_stored *stored, uint64_t tokens, td_plan_stage *s)
{
  tally t = { TD_PLAN_BF16 };
  matrix (&t, in, out, true), matrix (&t, out, out, true), vector (&t, out);
  s->name = name;
  s->weights = s->fixed_weights = t.bytes;
  s->activations = tokens * ((uint64_t) in + 3 * out) * F32;
  use_stored (s, stored);
}

/* Strategy ------------------------------------------------------------------------------ */

static void
choose (td_plan_stage *s, const td_plan_request *r, bool is_vae)
{
  s->peak = s->weights + s->activations + s->workspace;
  s->strategy = TD_PLAN_STAGE_BY_STAGE;
  s->planned = s->peak;
  s->resident_blocks = s->blocks;
  if (s->n_groups > 0)
    s->streamed_peak = td_plan_streamed_peak (s);
  if (r->budget == 0 || s->peak <= r->budget)
    return;
  if (is_vae)
    {
      /* A tile's activations scale with its area, overlap included (a quarter each side). */
      const uint64_t tile_px = (uint64_t) (r->vae_tile * 3 / 2 * 8) * (r->vae_tile * 3 / 2 * 8);
      const uint64_t full_px = (uint64_t) r->width * r->height;
      const uint64_t act = tile_px < full_px ? s->activations * tile_px / full_px : s->activations;
      s->strategy = TD_PLAN_VAE_TILED;
      s->planned = s->weights + act + s->workspace;
    }
  else if (s->blocks > 0 && s->streamable)
    {
      const int resident = td_plan_resident_blocks (s, r->budget);
      s->strategy = TD_PLAN_STREAMED;
      s->resident_blocks = resident < 0 ? 0 : resident;
      s->planned = td_plan_stage_peak_with (s, s->resident_blocks);
    }
  if (s->planned > r->budget)
    s->strategy = TD_PLAN_DOES_NOT_FIT;
}

td_plan_models
td_plan_models_real (void)
{
  td_plan_models m = {
    .flux = td_flux_config_dev (),
    .vae = td_vae_config_flux (),
    .t5 = td_t5_config_xxl (),
    .clip = { .vocab_size = 49408, .hidden_size = 768, .intermediate_size = 3072, .num_heads = 12,
              .num_layers = 12, .max_positions = 77, .eos_token_id = 2, .eps = 1e-5f,
              .activation = TD_UNARY_QUICK_GELU },
    .qwen2vl = { .vocab_size = 152064, .hidden_size = 3584, .intermediate_size = 18944, .num_layers = 28,
                 .num_heads = 28, .num_kv_heads = 4, .head_dim = 128, .max_positions = 32768,
                 .activation = TD_UNARY_SILU, .rms_eps = 1e-6f, .rope_theta = 1000000.0,
                 .mrope_section = { 16, 24, 24 }, .tie_embeddings = false,
                 .vision = { .depth = 32, .embed_dim = 1280, .num_heads = 16, .mlp_dim = 5120, .out_dim = 3584,
                             .in_channels = 3, .patch_size = 14, .temporal_patch_size = 2, .merge_size = 2,
                             .activation = TD_UNARY_QUICK_GELU, .rope_theta = 10000.0 } },
    .eva = { .hidden_size = 1408, .intermediate_size = 6144, .num_heads = 16, .num_layers = 39,
             .image_size = 224, .patch_size = 14, .eps = 1e-6f, .activation = TD_UNARY_GELU },
    .aligner_lvlm_in = 3584,
    .aligner_clip_in = 1408,
    .aligner_out = 4096,
  };
  return m;
}

td_plan_request
td_plan_request_default (td_plan_mode mode, int width, int height)
{
  return (td_plan_request) {
    .mode = mode, .width = width, .height = height, .text_tokens = 512, .thought_tokens = 128,
    .format = { TD_PLAN_BF16, TD_PLAN_BF16, TD_PLAN_BF16, TD_PLAN_BF16 }, .vae_tile = 64,
  };
}

static uint64_t
vae_declared_bytes (const td_vae_config *config, td_error *err)
{
  td_weights *weights = td_weights_new_random (NULL, 0);
  int64_t elements = 0, bytes = 0;
  if (weights == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for the VAE's weight list");
      return 0;
    }
  if (td_flux_vae_declare_weights (config, weights, TD_BF16, err) == TD_OK)
    td_weights_declared_size (weights, &elements, &bytes);
  td_weights_free (weights);
  return (uint64_t) bytes;
}

td_status
td_memory_plan_make (const td_plan_models *m, const td_plan_request *r, td_memory_plan *plan, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  memset (plan, 0, sizeof *plan);
  if (r->width < 16 || r->height < 16 || r->width % 16 != 0 || r->height % 16 != 0 || r->width > 8192
      || r->height > 8192)
    return td_error_set (err, TD_ERR_INVALID_ARG, "plan: width and height must be multiples of 16 in [16, 8192], "
                         "not %d×%d", r->width, r->height);
  for (int i = 0; i < 4; i++)
    if ((unsigned) r->format[i] >= TD_PLAN_FORMAT_COUNT)
      return td_error_set (err, TD_ERR_INVALID_ARG, "plan: unknown weight format %d", (int) r->format[i]);
  const td_plan_stored *stored = r->use_stored ? m->stored : (const td_plan_stored[TD_PLAN_PART_COUNT]) { 0 };
  uint64_t vae_bytes = stored[TD_PLAN_PART_VAE].total;
  if (vae_bytes == 0)
    vae_bytes = vae_declared_bytes (&m->vae, err);
  if (vae_bytes == 0)
    return err->status != TD_OK ? err->status : td_error_set (err, TD_ERR_INVALID_ARG, "plan: the VAE has no weights");
  /* plan_text reads the stored weights through the models. */
  td_plan_models view = *m;
  memcpy (view.stored, stored, sizeof view.stored);
  td_plan_stage *s = plan->stage;
  int n = 0;
  /* The CLIP-mode aligner reads BLIP-2's tokens: the class token and the patch grid. */
  const uint64_t eva_grid = (uint64_t) (m->eva.image_size / m->eva.patch_size);
  if (r->mode == TD_PLAN_LVLM)
    {
      plan_qwen2vl (&m->qwen2vl, &stored[TD_PLAN_PART_QWEN2VL], r, &s[n++]);
      plan_aligner ("lvlm aligner", m->aligner_lvlm_in, m->aligner_out, &stored[TD_PLAN_PART_ALIGNER_LVLM],
                    r->thought_tokens, &s[n++]);
      plan_text (&view, r, false, &s[n++]);
    }
  else
    {
      if (r->mode == TD_PLAN_CLIP)
        {
          plan_eva (&m->eva, &stored[TD_PLAN_PART_EVA], r, &s[n++]);
          plan_aligner ("clip aligner", m->aligner_clip_in, m->aligner_out, &stored[TD_PLAN_PART_ALIGNER_CLIP],
                        eva_grid * eva_grid + 1, &s[n++]);
        }
      plan_text (&view, r, true, &s[n++]);
    }
  plan_flux (&m->flux, &stored[TD_PLAN_PART_FLUX], r, &s[n++]);
  plan_vae (&m->vae, r, vae_bytes, &s[n++]);
  s[n - 1].files[0] = stored[TD_PLAN_PART_VAE].files;
  plan->n_stages = n;

  uint64_t biggest_run = 0;
  for (int i = 0; i < n; i++)
    {
      choose (&s[i], r, i == n - 1);
      plan->all_weights += s[i].weights;
      uint64_t run = s[i].activations + s[i].workspace;
      biggest_run = run > biggest_run ? run : biggest_run;
    }
  plan->resident_peak = plan->all_weights + biggest_run;
  if (r->budget == 0 || plan->resident_peak <= r->budget)
    {
      plan->strategy = TD_PLAN_ALL_RESIDENT;
      for (int i = 0; i < n; i++)
        s[i].strategy = TD_PLAN_ALL_RESIDENT;
    }
  else
    {
      plan->strategy = TD_PLAN_STAGE_BY_STAGE;
      for (int i = 0; i < n; i++)
        if (s[i].strategy > plan->strategy)
          plan->strategy = s[i].strategy;
    }
  return TD_OK;
}
