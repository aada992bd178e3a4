/* demo_models.c — the demo models folder, and the checkpoint builder its writers share. */
#include "pipeline/demo_models.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "backend/op.h"
#include "core/dtype.h"
#include "io/file_read.h"
#include "io/safetensors.h"
#include "pipeline/demo_models_private.h"
#include "pipeline/model_table.h"

/* ---- a checkpoint being built: named tensors with deterministic random values ---- */

void
td_demo_checkpoint_init (td_demo_checkpoint *c, uint64_t seed)
{
  c->names = g_ptr_array_new_with_free_func (g_free);
  c->entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  c->data = g_ptr_array_new_with_free_func (g_free);
  c->shapes = g_ptr_array_new_with_free_func (g_free);
  c->seed = seed;
  c->counter = 0;
}

void
td_demo_checkpoint_clear (td_demo_checkpoint *c)
{
  g_ptr_array_unref (c->names);
  g_array_unref (c->entries);
  g_ptr_array_unref (c->data);
  g_ptr_array_unref (c->shapes);
}

void
td_demo_add (td_demo_checkpoint *c, char kind, int ndim, const int64_t *shape, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *values = g_new (float, n);
  /* Scale like a trained layer so activations stay in range: std ≈ 1/sqrt(fan-in). */
  double fan_in = ndim >= 2 ? (double) n / shape[0] : 1.0;
  float scale = (float) (1.0 / sqrt (fan_in > 1 ? fan_in : 1));
  for (int64_t i = 0; i < n; i++)
    {
      if (kind == 'o')
        values[i] = 1.0f;
      else if (kind == 'z')
        values[i] = 0.0f;
      else
        {
          float u1 = td_rng_uniform (c->seed, c->counter++) + 1e-7f;
          float u2 = td_rng_uniform (c->seed, c->counter++);
          values[i] = scale * sqrtf (-2.0f * logf (u1)) * cosf (6.2831853f * u2);
        }
    }
  int64_t *shape_copy = g_memdup2 (shape, sizeof (int64_t) * (ndim > 0 ? ndim : 1));
  td_safetensors_entry entry = { name, TD_F32, ndim, shape_copy, values, (size_t) n * sizeof (float) };
  g_ptr_array_add (c->names, name);
  g_ptr_array_add (c->data, values);
  g_ptr_array_add (c->shapes, shape_copy);
  g_array_append_val (c->entries, entry);
}

void
td_demo_last_to_bf16 (td_demo_checkpoint *c)
{
  g_return_if_fail (c->entries->len > 0);
  td_safetensors_entry *entry = &g_array_index (c->entries, td_safetensors_entry, c->entries->len - 1);
  const float *values = entry->data;
  size_t n = entry->nbytes / sizeof (float);
  uint16_t *halves = g_new (uint16_t, n);
  for (size_t i = 0; i < n; i++)
    halves[i] = td_f32_to_bf16 (values[i]);
  /* Replacing the slot frees the f32 values through the array's free function. */
  g_ptr_array_add (c->data, halves);
  g_ptr_array_remove_index (c->data, c->data->len - 2);
  entry->dtype = TD_BF16;
  entry->data = halves;
  entry->nbytes = n * sizeof (uint16_t);
}

void
td_demo_add_linear (td_demo_checkpoint *c, int out, int in, bool bias, const char *prefix)
{
  td_demo_add (c, 'w', TD_S2 (out, in), "%s.weight", prefix);
  if (bias)
    td_demo_add (c, 'z', TD_S1 (out), "%s.bias", prefix);
}

void
td_demo_add_norm (td_demo_checkpoint *c, int n, bool bias, const char *prefix)
{
  td_demo_add (c, 'o', TD_S1 (n), "%s.weight", prefix);
  if (bias)
    td_demo_add (c, 'z', TD_S1 (n), "%s.bias", prefix);
}

td_status
td_demo_checkpoint_write (td_demo_checkpoint *c, const char *dir, const char *file, td_error *err)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create the folder: %s", dir, g_strerror (errno));
  g_autofree char *path = g_build_filename (dir, file, NULL);
  const char *metadata[] = { "format", "pt", "thinkdiff", "untrained demo model", NULL };
  return td_safetensors_write (path, (td_safetensors_entry *) c->entries->data, c->entries->len, metadata, err);
}

/* ---- files ---- */

td_status
td_demo_write_text (const char *dir, const char *file, const char *text, td_error *err)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create the folder: %s", dir, g_strerror (errno));
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents (path, text, -1, &error))
    return td_error_set (err, TD_ERR_IO, "%s: %s", path, error->message);
  return TD_OK;
}

td_status
td_demo_copy_file (const char *from_dir, const char *name, const char *to_dir, td_error *err)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  size_t length = 0;
  g_autoptr (GError) error = NULL;
  if (g_mkdir_with_parents (to_dir, 0755) != 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create the folder: %s", to_dir, g_strerror (errno));
  /* tokenizer files: the largest real ones are tens of MB */
  td_status st = td_file_read_bounded (from, "file to copy", (size_t) 256 << 20, &contents, &length, err);
  if (st != TD_OK)
    return st;
  if (!g_file_set_contents (to, contents, (gssize) length, &error))
    return td_error_set (err, TD_ERR_IO, "copying %s: %s", from, error->message);
  return TD_OK;
}

static const char demo_readme[] =
  "# Untrained demo models\n\n"
  "Written by `thinkdiff make-demo-models`: tiny, randomly initialised models in the real\n"
  "file layouts, so the whole pipeline can run without downloading the real checkpoints.\n"
  "They are NOT trained: the images they make are noise, and the LVLM's thoughts are\n"
  "random tokens. Get the real models with `thinkdiff models pull lvlm|clip|flux-dev`.\n";

td_status
td_demo_write_readme (const char *dir, td_error *err)
{
  return td_demo_write_text (dir, "README.md", demo_readme, err);
}

/* ---- the folder ---- */

td_status
td_demo_models_write (const char *dir, const char *tokenizers_dir, td_error *err)
{
  /* "" would write into the current folder */
  if (dir == NULL || dir[0] == '\0')
    return td_error_set (err, TD_ERR_INVALID_ARG, "no folder given for the demo models");
  if (tokenizers_dir == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "the tokenizer files were not found (reinstall, or pass --tokenizers)");
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    if ((*m)->write_demo != NULL)
      {
        td_status st = (*m)->write_demo (dir, tokenizers_dir, err);
        if (st != TD_OK)
          return st;
      }
  return td_demo_write_readme (dir, err);
}

const char *
td_demo_tokenizers_dir (void)
{
  static const char *const candidates[] = { TD_DATADIR "/thinkdiff-studio/tokenizers",
                                            TD_SOURCE_DIR "/tests/data/tokenizers" };
  for (size_t i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *probe = g_build_filename (candidates[i], "t5", "tokenizer.json", NULL);
      if (g_file_test (probe, G_FILE_TEST_IS_REGULAR))
        return candidates[i];
    }
  return NULL;
}
