#include "net/catalog.h"

#include <string.h>

#include "net/repo_path.h"

#define GB UINT64_C (1000000000)

/* FLUX.1 in diffusers layout: the per-folder weights and configs only. The
 * repository root also holds flux1-*.safetensors and ae.safetensors (the same
 * weights in BFL's single-file form, ~24 GB more); no root glob reaches them. */
static const char *const flux_globs[] = {
  "model_index.json",
  "scheduler/*.json",
  "text_encoder/*.json",
  "text_encoder/*.safetensors",
  "text_encoder_2/*.json",
  "text_encoder_2/*.safetensors",
  "tokenizer/*.json",
  "tokenizer/*.txt",
  "tokenizer_2/*.json",
  "tokenizer_2/spiece.model",
  "transformer/*.json",
  "transformer/*.safetensors",
  "vae/*.json",
  "vae/*.safetensors",
  NULL,
};

static const td_catalog_component flux_dev = {
  .id = "flux-dev",
  .title = "FLUX.1-dev (diffusers layout)",
  .repo = "black-forest-labs/FLUX.1-dev",
  .revision = "main",
  .gated = true,
  .globs = flux_globs,
  .approx_bytes = 34 * GB,
};

static const td_catalog_component flux_schnell = {
  .id = "flux-schnell",
  .title = "FLUX.1-schnell (diffusers layout)",
  .repo = "black-forest-labs/FLUX.1-schnell",
  .revision = "main",
  .gated = false,
  .globs = flux_globs,
  .approx_bytes = 34 * GB,
};

/* Top-level only: '*' does not cross '/'. Weights, configs (incl. the shard
 * index, generation and preprocessor configs, chat template) and the BPE
 * tokenizer files. */
static const char *const qwen2_vl_globs[] = {
  "*.safetensors",
  "*.json",
  "merges.txt",
  NULL,
};

static const td_catalog_component qwen2_vl = {
  .id = "qwen2-vl-7b-instruct",
  .title = "Qwen2-VL-7B-Instruct",
  .repo = "Qwen/Qwen2-VL-7B-Instruct",
  .revision = "main",
  .globs = qwen2_vl_globs,
  .approx_bytes = 16600 * GB / 1000,
};

static const char *const blip2_globs[] = {
  "config.json",
  "preprocessor_config.json",
  "model.safetensors.index.json",
  NULL,
};

static const td_catalog_component blip2_vision = {
  .id = "blip2-vision",
  .title = "BLIP-2 (flan-t5-xxl) EVA ViT-g vision tower",
  .repo = "Salesforce/blip2-flan-t5-xxl",
  .revision = "main",
  .globs = blip2_globs,
  .shard_index = "model.safetensors.index.json",
  .shard_prefix = "vision_model.",
  .approx_bytes = 10 * GB,
};

/* The official configs load release/thinkdiff_{lvlm,clip}.pth from
 * Mifucius/ThinkDiff; the root is tried first, then any folder. */
static const char *const lvlm_aligner_one_of[] = {
  "thinkdiff_lvlm.pth|**/thinkdiff_lvlm.pth",
  NULL,
};

static const td_catalog_component lvlm_aligner = {
  .id = "thinkdiff-lvlm",
  .title = "ThinkDiff-LVLM aligner",
  .repo = "Mifucius/ThinkDiff",
  .revision = "main",
  .one_of = lvlm_aligner_one_of,
  .approx_bytes = GB / 8,
};

static const char *const clip_aligner_one_of[] = {
  "thinkdiff_clip.pth|**/thinkdiff_clip.pth",
  NULL,
};

static const td_catalog_component clip_aligner = {
  .id = "thinkdiff-clip",
  .title = "ThinkDiff-CLIP aligner",
  .repo = "Mifucius/ThinkDiff",
  .revision = "main",
  .one_of = clip_aligner_one_of,
  .approx_bytes = GB / 8,
};

/* TAEF1 preview decoder and encoder. On Hugging Face the repository is diffusers'
 * AutoencoderTiny: one diffusion_pytorch_model.safetensors holds both (both rules
 * pick it, once). The split taef1_{decoder,encoder} files of the GitHub repository
 * are taken when a mirror has those instead. */
static const char *const taef1_one_of[] = {
  "diffusion_pytorch_model.safetensors|taef1_decoder.safetensors|taef1_decoder.pth",
  "diffusion_pytorch_model.safetensors|taef1_encoder.safetensors|taef1_encoder.pth",
  "config.json|diffusion_pytorch_model.safetensors|taef1_decoder.safetensors|taef1_decoder.pth",
  NULL,
};

static const td_catalog_component taef1 = {
  .id = "taef1",
  .title = "TAEF1 tiny autoencoder (previews)",
  .repo = "madebyollin/taef1",
  .revision = "main",
  .one_of = taef1_one_of,
  .approx_bytes = 10 * 1000 * 1000,
};

static const td_catalog_component *const all_components[] = {
  &flux_dev, &flux_schnell, &qwen2_vl, &lvlm_aligner, &blip2_vision, &clip_aligner, &taef1, NULL,
};

static const td_catalog_component *const lvlm_parts[] = { &qwen2_vl, &lvlm_aligner, NULL };
static const td_catalog_component *const clip_parts[] = { &blip2_vision, &clip_aligner, NULL };
static const td_catalog_component *const flux_dev_parts[] = { &flux_dev, NULL };
static const td_catalog_component *const flux_schnell_parts[] = { &flux_schnell, NULL };
static const td_catalog_component *const taef1_parts[] = { &taef1, NULL };

static const td_catalog_bundle bundle_lvlm = {
  "lvlm", "ThinkDiff-LVLM: Qwen2-VL-7B-Instruct and its aligner", lvlm_parts,
};
static const td_catalog_bundle bundle_clip = {
  "clip", "ThinkDiff-CLIP: BLIP-2 vision tower and its aligner", clip_parts,
};
static const td_catalog_bundle bundle_flux_dev = {
  "flux-dev", "FLUX.1-dev (gated: needs a token and the accepted licence)", flux_dev_parts,
};
static const td_catalog_bundle bundle_flux_schnell = {
  "flux-schnell", "FLUX.1-schnell (4-step, Apache-2.0)", flux_schnell_parts,
};
static const td_catalog_bundle bundle_taef1 = {
  "taef1", "TAEF1 tiny autoencoder for live previews", taef1_parts,
};

static const td_catalog_bundle *const all_bundles[] = {
  &bundle_lvlm, &bundle_clip, &bundle_flux_dev, &bundle_flux_schnell, &bundle_taef1, NULL,
};

const td_catalog_bundle *const *
td_catalog_bundles (void)
{
  return all_bundles;
}

const td_catalog_component *const *
td_catalog_components (void)
{
  return all_components;
}

const td_catalog_bundle *
td_catalog_find_bundle (const char *id)
{
  for (size_t i = 0; id != NULL && all_bundles[i] != NULL; i++)
    if (strcmp (all_bundles[i]->id, id) == 0)
      return all_bundles[i];
  return NULL;
}

const td_catalog_component *
td_catalog_find_component (const char *id)
{
  for (size_t i = 0; id != NULL && all_components[i] != NULL; i++)
    if (strcmp (all_components[i]->id, id) == 0)
      return all_components[i];
  return NULL;
}

static void
add_unique (GPtrArray *selected, const td_hub_file *file)
{
  for (guint i = 0; i < selected->len; i++)
    if (g_ptr_array_index (selected, i) == file)
      return;
  g_ptr_array_add (selected, (gpointer) file);
}

static size_t
path_depth (const char *path)
{
  size_t depth = 0;
  for (const char *p = path; *p != '\0'; p++)
    depth += *p == '/';
  return depth;
}

/* Orders candidates: fewer folders first, then shorter, then lexically. */
static bool
better_candidate (const char *a, const char *b)
{
  size_t da = path_depth (a), db = path_depth (b);
  if (da != db)
    return da < db;
  size_t la = strlen (a), lb = strlen (b);
  if (la != lb)
    return la < lb;
  return strcmp (a, b) < 0;
}

/* The best path matching glob (see better_candidate), or NULL. */
static const td_hub_file *
best_match (const td_hub_listing *listing, const char *glob)
{
  const td_hub_file *best = NULL;
  for (size_t i = 0; i < listing->n_files; i++)
    {
      const td_hub_file *f = &listing->files[i];
      if (td_repo_glob_match (glob, f->path)
          && (best == NULL || better_candidate (f->path, best->path)))
        best = f;
    }
  return best;
}

static td_status
select_one_of (const td_catalog_component *c, const char *rule, const td_hub_listing *listing,
               GPtrArray *selected, td_error *err)
{
  g_auto (GStrv) alternatives = g_strsplit (rule, "|", -1);
  for (size_t a = 0; alternatives[a] != NULL; a++)
    {
      const td_hub_file *f = best_match (listing, alternatives[a]);
      if (f != NULL)
        {
          add_unique (selected, f);
          return TD_OK;
        }
    }
  return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no file in %s matches %s", c->id, c->repo,
                       rule);
}

td_status
td_catalog_select (const td_catalog_component *c, const td_hub_listing *listing,
                   GPtrArray *selected, td_error *err)
{
  /* Globs may overlap: mark matches, then add each file once in listing order. */
  g_autofree bool *wanted = g_new0 (bool, listing->n_files + 1);
  for (size_t g = 0; c->globs != NULL && c->globs[g] != NULL; g++)
    {
      bool matched = false;
      for (size_t i = 0; i < listing->n_files; i++)
        if (td_repo_glob_match (c->globs[g], listing->files[i].path))
          matched = wanted[i] = true;
      if (!matched)
        return td_error_set (err, TD_ERR_NOT_FOUND,
                             "%s: no file in %s matches '%s' (has the repository changed?)",
                             c->id, c->repo, c->globs[g]);
    }
  for (size_t i = 0; i < listing->n_files; i++)
    if (wanted[i])
      g_ptr_array_add (selected, (gpointer) &listing->files[i]);
  for (size_t r = 0; c->one_of != NULL && c->one_of[r] != NULL; r++)
    {
      td_status st = select_one_of (c, c->one_of[r], listing, selected, err);
      if (st != TD_OK)
        return st;
    }
  return TD_OK;
}
