/* memory_plan_folder.c — the models of a models folder, as the planner needs them:
 * each configuration read by the model's own loader on the host (the files are
 * mapped, no tensor is read), and each model's weights measured from its files'
 * headers in the dtypes they are stored in (what the device will hold).
 *
 * Repeated blocks are found by name: a tensor whose name has a numeric component after
 * a block list's name ("transformer_blocks.7.", "double_blocks.7.", "encoder.block.7.",
 * "model.layers.7.", "blk.7.") belongs to block 7 of that list; the rest (embeddings,
 * heads, the VAE's up_blocks, an aligner's mm_projector.0) is outside the blocks. */
#include "pipeline/memory_plan.h"
#include "core/error_optional.h"

#include <glib.h>
#include <string.h>

#include "core/dtype.h"
#include "models/aligner.h"
#include "models/qwen2vl_files.h"
#include "models/qwen2vl_gguf_keys.h"
#include "models/t5_gguf_keys.h"
#include "models/weight_folder.h"
#include "models/weights.h"
#include "pipeline/flux_files.h"

/* The names of the lists of repeated blocks, in the layouts the engine reads. */
static const char *const block_lists[] = {
  "transformer_blocks", "single_transformer_blocks", "double_blocks", "single_blocks", "blocks", "block", "blk",
  "layers",
};

typedef struct {
  const char *only_prefix;  /* count only tensors under it (BLIP-2's vision tower), or NULL */
  const char *const *skip;  /* count no tensor under these (a whole T5's decoder), or NULL */
  uint64_t total, params;
  GHashTable *blocks;       /* "list.N." → uint64_t* bytes */
} measure;

static bool
is_block_list (const char *name, size_t length)
{
  for (size_t i = 0; i < G_N_ELEMENTS (block_lists); i++)
    if (strlen (block_lists[i]) == length && memcmp (block_lists[i], name, length) == 0)
      return true;
  return false;
}

/* The "list.N." prefix of a name in a block list, or NULL. */
static char *
block_key (const char *name)
{
  const char *previous = NULL, *p = name;
  while (*p != '\0')
    {
      const char *end = strchr (p, '.');
      if (end == NULL)
        break;
      bool digits = end > p;
      for (const char *c = p; c < end; c++)
        digits = digits && g_ascii_isdigit (*c);
      if (digits && previous != NULL && is_block_list (previous, (size_t) (p - 1 - previous)))
        return g_strndup (name, (gsize) (end - name + 1));
      previous = p;
      p = end + 1;
    }
  return NULL;
}

static void
count_tensor (const char *name, td_dtype dtype, uint64_t nbytes, void *user)
{
  measure *m = user;
  if (m->only_prefix != NULL && !g_str_has_prefix (name, m->only_prefix))
    return;
  for (int i = 0; m->skip != NULL && m->skip[i] != NULL; i++)
    if (g_str_has_prefix (name, m->skip[i]))
      return;
  m->total += nbytes;
  const size_t block = td_dtype_block_bytes (dtype);
  m->params += block > 0 ? nbytes / block * (uint64_t) td_dtype_block_elems (dtype) : 0;
  char *key = block_key (name);
  if (key == NULL)
    return;
  uint64_t *bytes = g_hash_table_lookup (m->blocks, key);
  if (bytes == NULL)
    g_hash_table_insert (m->blocks, key, bytes = g_new0 (uint64_t, 1));
  else
    g_free (key);
  *bytes += nbytes;
}

/* Measures the weights opened from path into *out (and frees them). */
static td_status
measure_opened (td_weights *weights, const char *path, const char *only_prefix, const char *const *skip,
                td_plan_stored *out, td_error *err)
{
  if (weights == NULL)
    return err->status;
  measure m = {
    .only_prefix = only_prefix,
    .skip = skip,
    .blocks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
  };
  td_weights_each_stored (weights, count_tensor, &m);
  td_weights_free (weights);
  uint64_t in_blocks = 0;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, m.blocks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const uint64_t bytes = *(uint64_t *) value;
      in_blocks += bytes;
      out->blocks++;
      out->block = bytes > out->block ? bytes : out->block;
    }
  g_hash_table_unref (m.blocks);
  if (m.total == 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no weights%s%s", path, only_prefix ? " under " : "",
                         only_prefix ? only_prefix : "");
  out->total = m.total;
  out->params = m.params;
  out->fixed = m.total - in_blocks;
  out->files = g_strdup (path);
  return TD_OK;
}

/* Measures the checkpoint at path (a file, a folder, a sharded index) into *out. */
static td_status
measure_weights (const char *path, const char *only_prefix, td_plan_stored *out, td_error *err)
{
  return measure_opened (td_weights_open (path, NULL, err), path, only_prefix, NULL, out, err);
}

/* Qwen2-VL's folder: the chosen file (NULL: the default) read as the loader reads it,
 * a safetensors checkpoint or llama.cpp's language model and mmproj GGUF files. */
static td_status
measure_qwen2vl (const char *dir, const char *file, const td_qwen2vl_config *config, td_plan_stored *out,
                 td_error *err)
{
  td_qwen2vl_source source;
  if (td_qwen2vl_source_find (dir, file, &source, err) != TD_OK)
    return err->status;
  td_status st;
  if (source.llm == NULL)
    st = measure_weights (source.weights, NULL, out, err);
  else
    {
      g_autofree char *both = g_strdup_printf ("%s; %s", source.llm, source.mmproj);
      st = measure_opened (td_qwen2vl_gguf_open (source.llm, source.mmproj, config, NULL, err), both, NULL, NULL,
                           out, err);
    }
  td_qwen2vl_source_clear (&source);
  return st;
}

/* BLIP-2's vision tower: the chosen file (NULL: the default) as td_eva_vision_load_chosen reads it. */
static td_status
measure_eva (const char *dir, const char *file, td_plan_stored *out, td_error *err)
{
  if (file != NULL && td_weight_folder_check (dir, "BLIP-2 vision", file, err) != TD_OK)
    return err->status;
  g_autoptr (GPtrArray) choices = td_weight_folder_choices (dir);
  const char *path = file != NULL ? file : choices->len > 0 ? choices->pdata[0] : dir;
  /* A BLIP-2 checkpoint holds the whole model; the vision tower is what loads. */
  return measure_weights (path, "vision_model.", out, err);
}

/* Each loader reads its configuration and checks the tensors' shapes on the host. */
static td_status
read_flux_configs (const td_flux_files *files, bool with_t5, td_plan_models *m, td_error *err)
{
  td_backend *host = td_backend_host ();
  td_flux_dit *dit = td_flux_dit_load (files->transformer, host, err);
  if (dit == NULL)
    return err->status;
  m->flux = *td_flux_dit_config (dit);
  td_flux_dit_free (dit);
  td_flux_vae *vae = td_flux_vae_load (files->vae, host, err);
  if (vae == NULL)
    return err->status;
  m->vae = *td_flux_vae_config (vae);
  td_flux_vae_free (vae);
  td_clip_text *clip = td_clip_text_load (files->clip, host, err);
  if (clip == NULL)
    return err->status;
  m->clip = *td_clip_text_config_of (clip);
  td_clip_text_free (clip);
  if (!with_t5)
    return TD_OK;
  td_t5_encoder *t5 = td_t5_encoder_load (files->t5, host, err);
  if (t5 == NULL)
    return err->status;
  m->t5 = *td_t5_encoder_config (t5);
  td_t5_encoder_free (t5);
  return TD_OK;
}

static td_status
read_aligner (const char *path, int *in, int *out, td_error *err)
{
  td_aligner *aligner = td_aligner_load (path, td_backend_host (), err);
  if (aligner == NULL)
    return err->status;
  *in = td_aligner_in_dim (aligner);
  *out = td_aligner_out_dim (aligner);
  td_aligner_free (aligner);
  return TD_OK;
}

static td_status
read_parts (const td_model_paths *paths, td_plan_mode mode, const td_weight_files *chosen, td_plan_models *m,
            td_error *err)
{
  td_flux_files files;
  td_status st = td_flux_files_find_chosen (paths->path[TD_PART_FLUX], chosen, &files, err);
  if (st != TD_OK)
    return st;
  const bool with_t5 = mode != TD_PLAN_LVLM;
  td_plan_stored *stored = m->stored;
  if ((st = read_flux_configs (&files, with_t5, m, err)) == TD_OK
      && (st = measure_weights (files.transformer, NULL, &stored[TD_PLAN_PART_FLUX], err)) == TD_OK
      && (st = measure_weights (files.vae, NULL, &stored[TD_PLAN_PART_VAE], err)) == TD_OK
      && (st = measure_weights (files.clip, NULL, &stored[TD_PLAN_PART_CLIP], err)) == TD_OK && with_t5)
    /* A whole T5 in one GGUF: the decoder is not loaded. */
    st = measure_opened (td_weights_open (files.t5, NULL, err), files.t5, NULL, td_t5_gguf_decoder_prefixes,
                         &stored[TD_PLAN_PART_T5], err);
  td_flux_files_clear (&files);
  if (st != TD_OK || mode == TD_PLAN_T2I)
    return st;
  if (mode == TD_PLAN_LVLM)
    {
      const char *dir = paths->path[TD_PART_QWEN2VL];
      g_autofree char *config = g_build_filename (dir, "config.json", NULL);
      const char *aligner = paths->path[TD_PART_ALIGNER_LVLM];
      if ((st = td_qwen2vl_config_read (config, &m->qwen2vl, err)) == TD_OK
          && (st = measure_qwen2vl (dir, chosen != NULL ? chosen->file[TD_WEIGHTS_QWEN2VL] : NULL, &m->qwen2vl,
                                    &stored[TD_PLAN_PART_QWEN2VL], err)) == TD_OK
          && (st = read_aligner (aligner, &m->aligner_lvlm_in, &m->aligner_out, err)) == TD_OK)
        st = measure_weights (aligner, NULL, &stored[TD_PLAN_PART_ALIGNER_LVLM], err);
      return st;
    }
  const char *dir = paths->path[TD_PART_BLIP2_VISION], *aligner = paths->path[TD_PART_ALIGNER_CLIP];
  const char *eva_file = chosen != NULL ? chosen->file[TD_WEIGHTS_EVA] : NULL;
  td_eva_vision *eva = td_eva_vision_load_chosen (dir, eva_file, td_backend_host (), err);
  if (eva == NULL)
    return err->status;
  m->eva = *td_eva_vision_config (eva);
  td_eva_vision_free (eva);
  if ((st = measure_eva (dir, eva_file, &stored[TD_PLAN_PART_EVA], err)) == TD_OK
      && (st = read_aligner (aligner, &m->aligner_clip_in, &m->aligner_out, err)) == TD_OK)
    st = measure_weights (aligner, NULL, &stored[TD_PLAN_PART_ALIGNER_CLIP], err);
  return st;
}

td_status
td_plan_models_from_paths (const td_model_paths *paths, td_plan_mode mode, const td_weight_files *chosen,
                           td_plan_models *models, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  *models = td_plan_models_real ();
  td_status st = TD_OK;
  if (mode == TD_PLAN_T2I)
    {
      if (paths->path[TD_PART_FLUX] == NULL)
        st = td_error_set (err, TD_ERR_NOT_FOUND, "plan: %s", paths->missing[TD_PART_FLUX] != NULL
                                                                 ? paths->missing[TD_PART_FLUX] : "no FLUX folder");
    }
  else
    st = td_model_paths_require (paths, mode == TD_PLAN_LVLM, err);
  if (st == TD_OK)
    st = read_parts (paths, mode, chosen, models, err);
  if (st != TD_OK)
    {
      td_error_prefix (err, "plan");
      td_plan_models_clear (models);
    }
  return st;
}

void
td_plan_models_clear (td_plan_models *models)
{
  for (int i = 0; i < TD_PLAN_PART_COUNT; i++)
    {
      g_free (models->stored[i].files);
      models->stored[i] = (td_plan_stored) { 0 };
    }
}
