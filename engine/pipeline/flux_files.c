#include "pipeline/flux_files.h"

#include <glib.h>
#include <string.h>

#include "pipeline/demo_models.h"

/* ComfyUI's folders for each part, most recent name first; "" is the folder itself. */
static const char *const transformer_folders[] = { "diffusion_models", "unet", "", NULL };
static const char *const vae_folders[] = { "vae", "", NULL };
static const char *const text_encoder_folders[] = { "text_encoders", "clip", "", NULL };

/* .safetensors before .gguf (city96's flux1-dev-Q8_0.gguf, t5-v1_1-xxl-encoder-Q8_0.gguf),
 * then name order. */
static gint
compare_candidates (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char *const *) a, *y = *(const char *const *) b;
  bool x_gguf = g_str_has_suffix (x, ".gguf"), y_gguf = g_str_has_suffix (y, ".gguf");
  return x_gguf != y_gguf ? (x_gguf ? 1 : -1) : strcmp (x, y);
}

/* Every regular file under root/<folders> whose name is one of `exact` or starts with
 * one of `prefixes` and ends in .safetensors or .gguf, most preferred first: folder by
 * folder, the exact names in their order, then the prefixed ones (compare_candidates). */
static void
list_files (const char *root, const char *const *folders, const char *const *exact, const char *const *prefixes,
            GPtrArray *out)
{
  for (size_t f = 0; folders[f] != NULL; f++)
    {
      g_autofree char *dir = g_build_filename (root, folders[f], NULL);
      for (size_t e = 0; exact != NULL && exact[e] != NULL; e++)
        {
          char *path = g_build_filename (dir, exact[e], NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (out, path);
          else
            g_free (path);
        }
      if (prefixes == NULL)
        continue;
      g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
      if (handle == NULL)
        continue;
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      while ((name = g_dir_read_name (handle)) != NULL)
        for (size_t p = 0; prefixes[p] != NULL; p++)
          if (g_str_has_prefix (name, prefixes[p])
              && (g_str_has_suffix (name, ".safetensors") || g_str_has_suffix (name, ".gguf"))
              && !(exact != NULL && g_strv_contains (exact, name)))
            {
              g_ptr_array_add (names, g_strdup (name));
              break;
            }
      g_ptr_array_sort (names, compare_candidates);
      for (guint i = 0; i < names->len; i++)
        {
          char *path = g_build_filename (dir, names->pdata[i], NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (out, path);
          else
            g_free (path);
        }
    }
}

/* The most preferred of list_files, or NULL. */
static char *
find_file (const char *root, const char *const *folders, const char *const *exact, const char *const *prefixes)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  list_files (root, folders, exact, prefixes, found);
  return found->len > 0 ? g_strdup (found->pdata[0]) : NULL;
}

static const char *const transformer_names[] = { "flux1-dev.safetensors", "flux1-schnell.safetensors", NULL };
static const char *const vae_names[] = { "ae.safetensors", "flux_ae.safetensors", NULL };
static const char *const clip_names[] = { "clip_l.safetensors", NULL };
static const char *const t5_names[] = { "t5xxl_fp16.safetensors", "t5xxl_fp32.safetensors", NULL };
static const char *const transformer_prefixes[] = { "flux1-", NULL };
static const char *const clip_prefixes[] = { "clip_l", NULL };
static const char *const t5_prefixes[] = { "t5xxl_", "t5-v1_1-xxl-encoder", NULL };

bool
td_flux_files_is_single_file_set (const char *path)
{
  g_autofree char *transformer = find_file (path, transformer_folders, transformer_names, transformer_prefixes);
  return transformer != NULL;
}

/* A tokenizer folder next to the files (tokenizer/, tokenizer_2/ as in diffusers), else the installed one. */
static char *
tokenizer_dir (const char *root, const char *local, const char *installed_name, td_error *err)
{
  char *dir = g_build_filename (root, local, NULL);
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return dir;
  g_free (dir);
  const char *installed = td_demo_tokenizers_dir ();
  if (installed == NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: no %s/ folder and no installed tokenizer files (reinstall)", root,
                    local);
      return NULL;
    }
  return g_build_filename (installed, installed_name, NULL);
}

static td_status
find_single_files (const char *path, td_flux_files *files, td_error *err)
{
  files->single_files = true;
  files->transformer = find_file (path, transformer_folders, transformer_names, transformer_prefixes);
  files->vae = find_file (path, vae_folders, vae_names, NULL);
  files->clip = find_file (path, text_encoder_folders, clip_names, clip_prefixes);
  files->t5 = find_file (path, text_encoder_folders, t5_names, t5_prefixes);
  const struct { const char *file, *what; } parts[] = {
    { files->transformer, "the transformer (diffusion_models/ or unet/flux1-*.safetensors or .gguf)" },
    { files->vae, "the VAE (vae/ae.safetensors)" },
    { files->clip, "CLIP-L (text_encoders/ or clip/clip_l.safetensors)" },
    { files->t5, "T5-XXL (text_encoders/ or clip/t5xxl_fp16.safetensors, or t5-v1_1-xxl-encoder-*.gguf)" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (parts); i++)
    if (parts[i].file == NULL)
      return td_error_set (err, TD_ERR_NOT_FOUND, "%s: a FLUX single-file folder without %s", path, parts[i].what);
  if ((files->clip_tokenizer = tokenizer_dir (path, "tokenizer", "clip", err)) == NULL
      || (files->t5_tokenizer = tokenizer_dir (path, "tokenizer_2", "t5", err)) == NULL)
    return err != NULL ? err->status : TD_ERR_NOT_FOUND;
  return TD_OK;
}

td_status
td_flux_files_find (const char *path, td_flux_files *files, td_error *err)
{
  memset (files, 0, sizeof *files);
  g_autofree char *index = g_build_filename (path, "model_index.json", NULL);
  td_status st = TD_OK;
  if (g_file_test (index, G_FILE_TEST_IS_REGULAR))
    {
      files->transformer = g_build_filename (path, "transformer", NULL);
      files->vae = g_build_filename (path, "vae", NULL);
      files->clip = g_build_filename (path, "text_encoder", NULL);
      files->t5 = g_build_filename (path, "text_encoder_2", NULL);
      files->clip_tokenizer = g_build_filename (path, "tokenizer", NULL);
      files->t5_tokenizer = g_build_filename (path, "tokenizer_2", NULL);
      char *scheduler = g_build_filename (path, "scheduler", "scheduler_config.json", NULL);
      if (g_file_test (scheduler, G_FILE_TEST_EXISTS))
        files->scheduler_config = scheduler;
      else
        g_free (scheduler);
    }
  else if (td_flux_files_is_single_file_set (path))
    st = find_single_files (path, files, err);
  else
    st = td_error_set (err, TD_ERR_NOT_FOUND, "%s: no model_index.json (a FLUX folder in diffusers layout) and no"
                       " flux1-*.safetensors (ComfyUI's models/ folder or single files)", path);
  if (st != TD_OK)
    td_flux_files_clear (files);
  return st;
}

void
td_flux_files_clear (td_flux_files *files)
{
  g_free (files->transformer);
  g_free (files->vae);
  g_free (files->clip);
  g_free (files->t5);
  g_free (files->clip_tokenizer);
  g_free (files->t5_tokenizer);
  g_free (files->scheduler_config);
  memset (files, 0, sizeof *files);
}

/* The diffusers subfolder of each choosable part, the single-file names and folders. */
static const struct {
  const char *subfolder;
  const char *const *folders, *const *exact, *const *prefixes;
  const char *what;
} choosable[TD_FLUX_WEIGHT_PARTS] = {
  [TD_WEIGHTS_FLUX] = { "transformer", transformer_folders, transformer_names, transformer_prefixes,
                        "FLUX transformer" },
  [TD_WEIGHTS_T5] = { "text_encoder_2", text_encoder_folders, t5_names, t5_prefixes, "T5-XXL" },
  [TD_WEIGHTS_CLIP] = { "text_encoder", text_encoder_folders, clip_names, clip_prefixes, "CLIP-L" },
};

GPtrArray *
td_flux_files_candidates (const char *path, td_weight_part part)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  if ((unsigned) part >= TD_FLUX_WEIGHT_PARTS || path == NULL)
    return out;
  g_autofree char *index = g_build_filename (path, "model_index.json", NULL);
  if (g_file_test (index, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *sub = g_build_filename (path, choosable[part].subfolder, NULL);
      if (g_file_test (sub, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (out, g_strdup (sub));
      /* A GGUF next to the folder's config.json, where `thinkdiff quantize` puts one. */
      static const char *const here[] = { "", NULL }, *const any[] = { "", NULL };
      g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
      list_files (sub, here, NULL, any, files);
      for (guint i = 0; i < files->len; i++)
        if (g_str_has_suffix (files->pdata[i], ".gguf"))
          g_ptr_array_add (out, g_strdup (files->pdata[i]));
    }
  list_files (path, choosable[part].folders, choosable[part].exact, choosable[part].prefixes, out);
  return out;
}

/* Whether file names the same file as one of candidates. */
static bool
is_candidate (const GPtrArray *candidates, const char *file)
{
  g_autofree char *wanted = g_canonicalize_filename (file, NULL);
  for (guint i = 0; i < candidates->len; i++)
    {
      g_autofree char *have = g_canonicalize_filename (candidates->pdata[i], NULL);
      if (strcmp (have, wanted) == 0)
        return true;
    }
  return false;
}

td_status
td_flux_files_check_choice (const char *path, td_weight_part part, const char *file, td_error *err)
{
  if ((unsigned) part >= TD_FLUX_WEIGHT_PARTS)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: %s is not a part of FLUX", file,
                         td_weight_part_name (part) != NULL ? td_weight_part_name (part) : "an unknown part");
  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no such weight file", file);
  g_autoptr (GPtrArray) candidates = td_flux_files_candidates (path, part);
  if (is_candidate (candidates, file))
    return TD_OK;
  GString *list = g_string_new (NULL);
  for (guint i = 0; i < candidates->len; i++)
    g_string_append_printf (list, "%s%s", i > 0 ? ", " : "", (const char *) candidates->pdata[i]);
  td_status st = td_error_set (err, TD_ERR_INVALID_ARG, "%s: not a %s weight file of %s (the %s files there: %s)",
                               file, choosable[part].what, path, choosable[part].what,
                               list->len > 0 ? list->str : "none");
  g_string_free (list, TRUE);
  return st;
}

td_status
td_flux_files_find_chosen (const char *path, const td_weight_files *chosen, td_flux_files *files, td_error *err)
{
  td_status st = td_flux_files_find (path, files, err);
  if (st != TD_OK || chosen == NULL)
    return st;
  char **slot[TD_FLUX_WEIGHT_PARTS] = { [TD_WEIGHTS_FLUX] = &files->transformer, [TD_WEIGHTS_T5] = &files->t5,
                                        [TD_WEIGHTS_CLIP] = &files->clip };
  for (int part = 0; part < TD_FLUX_WEIGHT_PARTS; part++)
    {
      const char *file = chosen->file[part];
      if (file == NULL)
        continue;
      if ((st = td_flux_files_check_choice (path, (td_weight_part) part, file, err)) != TD_OK)
        {
          td_flux_files_clear (files);
          return st;
        }
      g_free (*slot[part]);
      *slot[part] = g_strdup (file);
    }
  return TD_OK;
}
