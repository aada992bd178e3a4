/* test-mutated-weights — every golden model with one tensor of its weights file mutated
 * (a dimension cut short, the rank changed, an integer dtype, the tensor removed) is run
 * through its verify component. Each run must either fail with a message naming the
 * weights file and the tensor, or, for a tensor the component does not use, pass as
 * before. A run that reaches wrong numbers (or crashes) fails the test.
 *
 * The demo models (make-demo-models) have no reference outputs: there, loading alone
 * must fail naming the file and the tensor, as every tensor a demo model holds is read.
 *
 * Every fourth tensor of each model is mutated by default, each in one of the four ways
 * in turn; TD_MUTATE_ALL=1 mutates every tensor every way. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "io/pth.h"
#include "io/safetensors.h"
#include "models/aligner.h"
#include "models/clip_text.h"
#include "models/eva_vision.h"
#include "models/flux_dit.h"
#include "models/flux_vae.h"
#include "models/qwen2vl.h"
#include "models/t5_encoder.h"
#include "pipeline/demo_models.h"
#include "pipeline/verify.h"
#include "td-test-models.h"

typedef enum { CUT, RANK, DTYPE, REMOVE, N_MUTATIONS } mutation;
static const char *const mutation_names[] = { "cut", "rank", "dtype", "remove" };

typedef struct {
  const char *component;
  const char *folder;  /* under tests/data/golden */
  const char *weights; /* the file mutated, relative to the folder */
} mutated_case;

static const mutated_case cases[] = {
  { "t5-encoder", "t5_encoder", "model.safetensors" },
  { "clip-text", "clip_text", "model.safetensors" },
  { "eva-vision", "blip2_vision", "model.safetensors" },
  { "qwen2-vl", "qwen2_vl", "model.safetensors" },
  { "flux-transformer", "flux", "transformer/diffusion_pytorch_model.safetensors" },
  { "flux-vae", "flux", "vae/diffusion_pytorch_model.safetensors" },
  { "taesd", "taef2", "taef2_decoder.pth" },
  { "taesd", "taef2", "taef2_encoder.pth" },
};

/* One tensor of the source file, as bytes. */
typedef struct {
  char *name;
  td_dtype dtype;
  int ndim;
  int64_t shape[TD_MAX_DIMS];
  guint8 *data;
  size_t nbytes;
} source_tensor;

static GArray *
read_source (const char *path)
{
  GArray *tensors = g_array_new (FALSE, TRUE, sizeof (source_tensor));
  td_error err = { 0 };
  if (td_pth_is_pth_path (path))
    {
      td_pth *pth = td_pth_open (path, &err);
      if (pth == NULL)
        g_error ("%s", err.message);
      for (size_t i = 0; i < td_pth_count (pth); i++)
        {
          td_tensor *t = td_pth_tensor_contiguous (pth, td_pth_name_at (pth, i), &err);
          g_assert_nonnull (t);
          source_tensor s = { g_strdup (td_pth_name_at (pth, i)), t->dtype, t->ndim, { 0 },
                              g_memdup2 (td_tensor_host_data (t), td_tensor_nbytes (t)), td_tensor_nbytes (t) };
          memcpy (s.shape, t->shape, sizeof s.shape);
          g_array_append_val (tensors, s);
          td_tensor_free (t);
        }
      td_pth_close (pth);
      return tensors;
    }
  td_safetensors *st = td_safetensors_open (path, &err);
  if (st == NULL)
    g_error ("%s", err.message);
  for (size_t i = 0; i < td_safetensors_count (st); i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      source_tensor s = { g_strdup (info->name), info->dtype, info->ndim, { 0 },
                          g_memdup2 (td_safetensors_data (st, info), info->nbytes), info->nbytes };
      memcpy (s.shape, info->shape, sizeof (int64_t) * info->ndim);
      g_array_append_val (tensors, s);
    }
  td_safetensors_close (st);
  return tensors;
}

static void
free_source (GArray *tensors)
{
  for (guint i = 0; i < tensors->len; i++)
    {
      g_free (g_array_index (tensors, source_tensor, i).name);
      g_free (g_array_index (tensors, source_tensor, i).data);
    }
  g_array_unref (tensors);
}

/* Mirrors every file of SRC under DST as a symbolic link, except SKIP (a relative path). */
static void
mirror (const char *src, const char *dst, const char *rel, const char *skip)
{
  g_autofree char *from = g_build_filename (src, rel, NULL);
  g_autofree char *to = g_build_filename (dst, rel, NULL);
  if (g_file_test (from, G_FILE_TEST_IS_DIR))
    {
      g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
      GDir *dir = g_dir_open (from, 0, NULL);
      g_assert_nonnull (dir);
      for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
        {
          g_autofree char *child = rel[0] ? g_build_filename (rel, name, NULL) : g_strdup (name);
          mirror (src, dst, child, skip);
        }
      g_dir_close (dir);
    }
  else if (strcmp (rel, skip) != 0)
    g_assert_cmpint (symlink (from, to), ==, 0);
}

/* Writes the tensors to PATH with tensor VICTIM changed by HOW; false when HOW does not
 * apply to that tensor. */
static bool
write_mutated (const char *path, GArray *tensors, guint victim, mutation how)
{
  td_safetensors_entry *entries = g_new0 (td_safetensors_entry, tensors->len);
  int64_t shape[TD_MAX_DIMS];
  size_t n = 0;
  bool applies = true;
  for (guint i = 0; i < tensors->len; i++)
    {
      const source_tensor *s = &g_array_index (tensors, source_tensor, i);
      td_safetensors_entry e = { s->name, s->dtype, s->ndim, s->shape, s->data, s->nbytes };
      if (i == victim)
        {
          size_t elem = td_dtype_size (s->dtype);
          memcpy (shape, s->shape, sizeof shape);
          e.shape = shape;
          if (how == REMOVE)
            continue;
          if (how == DTYPE)
            e.dtype = elem == 4 ? TD_I32 : elem == 2 ? TD_I16 : TD_U8;
          else if (how == RANK)
            {
              /* Flattened, or a vector given a leading 1. */
              int64_t numel = s->nbytes / elem;
              if (s->ndim >= 2)
                e.ndim = 1, shape[0] = numel;
              else
                e.ndim = 2, shape[0] = 1, shape[1] = numel;
            }
          else
            {
              /* The first dimension longer than 1 loses one entry (the data is cut to fit). */
              int d = 0;
              while (d < s->ndim && s->shape[d] <= 1)
                d++;
              if (d == s->ndim)
                applies = false;
              else
                {
                  shape[d]--;
                  size_t numel = 1;
                  for (int k = 0; k < s->ndim; k++)
                    numel *= shape[k];
                  e.nbytes = numel * elem;
                }
            }
        }
      entries[n++] = e;
    }
  if (applies)
    {
      td_error err = { 0 };
      if (td_safetensors_write (path, entries, n, NULL, &err) != TD_OK)
        g_error ("%s", err.message);
    }
  g_free (entries);
  return applies;
}

/* The message names the tensor: in full, or without the leading parts a model strips
 * ("text_model.", "model.", "vision_model."). */
static bool
names_tensor (const char *message, const char *name)
{
  for (const char *p = name; p != NULL; p = strchr (p, '.') ? strchr (p, '.') + 1 : NULL)
    {
      if (strchr (p, '.') == NULL)
        break; /* a bare last part ("weight") says nothing */
      g_autofree char *quoted = g_strdup_printf ("'%s'", p);
      if (strstr (message, quoted) != NULL)
        return true;
      if (p - name > 24)
        break;
    }
  return false;
}

static void
run_case (gconstpointer data)
{
  const mutated_case *c = data;
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new ("cpu", &err);
  g_assert_nonnull (backend);
  const td_verify_component *component = td_verify_find (c->component);
  g_assert_nonnull (component);
  g_autofree char *golden = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", c->folder, NULL);
  g_autofree char *source = g_build_filename (golden, c->weights, NULL);
  g_autofree char *io = g_build_filename (golden, "io.safetensors", NULL);
  GArray *tensors = read_source (source);

  /* A .pth is written back as safetensors beside where it was: the loaders take either. */
  g_autofree char *stem = g_strndup (c->weights, strlen (c->weights) - (g_str_has_suffix (c->weights, ".pth") ? 4 : 0));
  g_autofree char *target_rel = g_str_has_suffix (c->weights, ".pth") ? g_strconcat (stem, ".safetensors", NULL)
                                                                       : g_strdup (c->weights);
  g_autofree char *tmp = g_dir_make_tmp ("td-mutated-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  g_autofree char *model_dir = g_build_filename (tmp, "model", NULL);
  mirror (golden, model_dir, "", c->weights);
  g_autofree char *target = g_build_filename (model_dir, target_rel, NULL);
  g_autofree char *target_base = g_path_get_basename (target);

  bool all = g_strcmp0 (g_getenv ("TD_MUTATE_ALL"), "1") == 0;
  int runs = 0, named = 0, unused = 0;
  for (guint i = 0; i < tensors->len; i++)
    for (int how = 0; how < N_MUTATIONS; how++)
      {
        if (!all && (i % 4 != 0 || how != (int) (i / 4) % N_MUTATIONS))
          continue;
        const char *name = g_array_index (tensors, source_tensor, i).name;
        if (!write_mutated (target, tensors, i, how))
          continue;
        td_verify_result *results = NULL;
        size_t n = 0;
        td_error_clear (&err);
        td_status st = td_verify_run (component, model_dir, io, backend, &results, &n, &err);
        runs++;
        if (st != TD_OK)
          {
            if (strstr (err.message, target_base) == NULL || !names_tensor (err.message, name))
              g_error ("%s, %s %s: the message does not name %s and '%s': %s", c->component, mutation_names[how],
                       name, target_base, name, err.message);
            named++;
          }
        else
          {
            for (size_t k = 0; k < n; k++)
              if (!results[k].ok)
                g_error ("%s, %s %s: accepted, and output %s is wrong (rel_err %.3g)", c->component,
                         mutation_names[how], name, results[k].name, results[k].rel_err);
            g_test_message ("%s, %s %s: accepted with unchanged outputs (not used)", c->component,
                            mutation_names[how], name);
            unused++;
          }
        free (results);
      }
  g_test_message ("%s (%s): %d runs, %d refused naming file and tensor, %d on unused tensors", c->component,
                  c->weights, runs, named, unused);
  g_assert_cmpint (runs, >, 0);
  g_assert_cmpint (named, >, unused);
  td_test_remove_tree (tmp);
  free_source (tensors);
  td_backend_free (backend);
}

/* ---- demo models: loading alone ---- */

typedef void *(*load_fn) (const char *path, td_error *err);
typedef void (*free_fn) (void *model);

#define LOADER(name, type)                                                                                         \
  static void *load_##name (const char *path, td_error *err) { return td_##type##_load (path, NULL, err); }        \
  static void free_##name (void *model) { td_##type##_free (model); }
LOADER (t5, t5_encoder)
LOADER (clip, clip_text)
LOADER (flux, flux_dit)
LOADER (vae, flux_vae)
LOADER (eva, eva_vision)
LOADER (qwen2vl, qwen2vl)
LOADER (aligner, aligner)

typedef struct {
  const char *folder;  /* under the demo folder: what the loader opens */
  const char *weights; /* the file mutated, relative to the folder ("" when the folder is the file) */
  load_fn load;
  free_fn free;
} demo_case;

static const demo_case demo_cases[] = {
  { "flux-dev/text_encoder_2", "model.safetensors", load_t5, free_t5 },
  { "flux-dev/text_encoder", "model.safetensors", load_clip, free_clip },
  { "flux-dev/transformer", "diffusion_pytorch_model.safetensors", load_flux, free_flux },
  { "flux-dev/vae", "diffusion_pytorch_model.safetensors", load_vae, free_vae },
  { "blip2-vision", "model.safetensors", load_eva, free_eva },
  { "qwen2-vl-7b-instruct", "model.safetensors", load_qwen2vl, free_qwen2vl },
  { "thinkdiff-lvlm", "thinkdiff_lvlm.safetensors", load_aligner, free_aligner },
  { "thinkdiff-clip", "thinkdiff_clip.safetensors", load_aligner, free_aligner },
};

static char *demo_dir;

static void
run_demo_case (gconstpointer data)
{
  const demo_case *c = data;
  g_autofree char *folder = g_build_filename (demo_dir, c->folder, NULL);
  g_autofree char *source = g_build_filename (folder, c->weights, NULL);
  GArray *tensors = read_source (source);
  g_autofree char *tmp = g_dir_make_tmp ("td-mutated-demo-XXXXXX", NULL);
  g_autofree char *model_dir = g_build_filename (tmp, "model", NULL);
  mirror (folder, model_dir, "", c->weights);
  g_autofree char *target = g_build_filename (model_dir, c->weights, NULL);
  /* An aligner is opened as its file, the other models as their folder. */
  const char *open_path = c->load == load_aligner ? target : model_dir;
  bool all = g_strcmp0 (g_getenv ("TD_MUTATE_ALL"), "1") == 0;
  int runs = 0;
  for (guint i = 0; i < tensors->len; i++)
    for (int how = 0; how < N_MUTATIONS; how++)
      {
        if (!all && (i % 4 != 0 || how != (int) (i / 4) % N_MUTATIONS))
          continue;
        const char *name = g_array_index (tensors, source_tensor, i).name;
        if (!write_mutated (target, tensors, i, how))
          continue;
        td_error err = { 0 };
        void *model = c->load (open_path, &err);
        runs++;
        if (model != NULL)
          g_error ("%s, %s %s: loaded", c->folder, mutation_names[how], name);
        if (strstr (err.message, c->weights) == NULL || !names_tensor (err.message, name))
          g_error ("%s, %s %s: the message does not name %s and '%s': %s", c->folder, mutation_names[how], name,
                   c->weights, name, err.message);
      }
  /* Unmutated, it loads. */
  g_assert_true (write_mutated (target, tensors, G_MAXUINT, CUT));
  td_error err = { 0 };
  void *model = c->load (open_path, &err);
  if (model == NULL)
    g_error ("%s: %s", c->folder, err.message);
  c->free (model);
  g_test_message ("%s: %d mutated loads refused naming file and tensor", c->folder, runs);
  g_assert_cmpint (runs, >, 0);
  td_test_remove_tree (tmp);
  free_source (tensors);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mutated-weights/%s/%s", cases[i].component, cases[i].weights);
      g_test_add_data_func (path, &cases[i], run_case);
    }
  demo_dir = g_dir_make_tmp ("td-demo-models-XXXXXX", NULL);
  td_error err = { 0 };
  if (td_demo_models_write (demo_dir, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("demo models: %s", err.message);
  for (size_t i = 0; i < G_N_ELEMENTS (demo_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mutated-weights/demo/%s", demo_cases[i].folder);
      g_test_add_data_func (path, &demo_cases[i], run_demo_case);
    }
  int status = g_test_run ();
  td_test_remove_tree (demo_dir);
  g_free (demo_dir);
  return status;
}
