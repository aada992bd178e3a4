/* Golden models in quantised weights still match their references. Each of
 * the FLUX transformer, the T5 encoder and Qwen2-VL is written by
 * `thinkdiff quantize` (the built TD_CLI) as Q8_0 and as Q4_K, or by this test
 * as fp8 (E4M3 with a per-tensor scale_weight), and the file goes into a copy
 * of the golden folder where the safetensors checkpoint stood. Then:
 * - the GGUF file is read back by gguf-readback.py (TD_GGUF_READBACK), which
 *   knows the format alone, against the source checkpoint;
 * - `thinkdiff verify` (td_verify_main) passes with --tolerance, with the file
 *   in the model folder and named by --weights, and every
 *   output is compared one by one (td_verify_run): within the tolerance the
 *   README documents for the format and not exact, so the weights really were
 *   quantised.
 * TD_TEST_BACKEND (cpu by default, or vulkan) picks where verify runs. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/dtype.h"
#include "io/safetensors.h"
#include "pipeline/verify.h"
#include "td-test-models.h"

typedef struct golden_model {
  const char *component;
  const char *folder;       /* under golden/ */
  const char *weights_dir;  /* where the checkpoint lies, under folder ("" for the folder) */
  const char *checkpoint;   /* its file name */
  const char *architecture; /* general.architecture quantize finds */
  const char *const *beside; /* files copied next to the new weights; NULL-terminated */
  const char *const *above;  /* files of folder the component reads when weights_dir is a subfolder */
} golden_model;

static const char *const config_only[] = { "config.json", NULL };
static const char *const qwen_files[] = { "config.json", "thinkdiff_lvlm_aligner.pth", NULL };
static const char *const none[] = { NULL };

static const golden_model flux = { "flux-transformer", "flux", "transformer", "diffusion_pytorch_model.safetensors",
                                   "flux", config_only, none };
static const golden_model t5 = { "t5-encoder", "t5_encoder", "", "model.safetensors", "t5encoder", config_only, none };
static const golden_model qwen2vl = { "qwen2-vl", "qwen2_vl", "", "model.safetensors", "qwen2vl", qwen_files, none };

/* An output of Qwen2-VL that follows its greedy tokens: at 4 bits the tiny
 * random golden model picks other tokens, so only the forward pass is compared. */
static bool
follows_generation (const char *output)
{
  return strcmp (output, "generated_ids") == 0 || strcmp (output, "generated_hidden") == 0
         || strcmp (output, "thought_hidden") == 0 || strcmp (output, "aligned") == 0;
}

static char *
golden_path (const golden_model *m, const char *name)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", m->folder, m->weights_dir, name, NULL);
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (from, &text, &len, NULL));
  g_assert_true (g_file_set_contents (to, text, (gssize) len, NULL));
}

/* A model folder with the golden's files but not its checkpoint; returns it
 * and sets *weights_dir to where the new weights go. */
static char *
make_model_dir (const golden_model *m, char **weights_dir)
{
  char *dir = g_dir_make_tmp ("td-quantized-XXXXXX", NULL);
  *weights_dir = g_build_filename (dir, m->weights_dir, NULL);
  g_assert_cmpint (g_mkdir_with_parents (*weights_dir, 0700), ==, 0);
  for (const char *const *f = m->beside; *f != NULL; f++)
    {
      g_autofree char *from = golden_path (m, *f);
      g_autofree char *to = g_build_filename (*weights_dir, *f, NULL);
      copy_file (from, to);
    }
  return dir;
}

/* Runs argv and returns its output; a failure shows both streams. */
static char *
run_ok (const char *const *argv)
{
  int status = 0;
  char *out_text = NULL;
  g_autofree char *err_text = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out_text, &err_text,
                               &status, NULL));
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("%s %s failed:\n%s%s", argv[0], argv[1], out_text, err_text);
  return out_text;
}

/* E4M3 (no infinities; 0x7f/0xff are NaN) nearest to v: every finite code is tried. */
static uint8_t
to_e4m3 (float v)
{
  uint8_t best = 0;
  float best_err = INFINITY;
  for (int code = 0; code < 256; code++)
    {
      if ((code & 0x7f) == 0x7f)
        continue;
      float err = fabsf (td_f8_e4m3_to_f32 ((uint8_t) code) - v);
      if (err < best_err)
        {
          best_err = err;
          best = (uint8_t) code;
        }
    }
  return best;
}

/* The checkpoint with every linear layer's weight in E4M3 as W/s, s = max|W| / 448
 * stored as PREFIX.scale_weight (ComfyUI's scaled fp8 layout); the rest as it was. */
static void
write_fp8 (const char *source, const char *path)
{
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open (source, &err);
  g_assert_nonnull (st);
  size_t n = td_safetensors_count (st);
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  GPtrArray *owned = g_ptr_array_new_with_free_func (g_free);
  static const int64_t scalar_shape[1] = { 1 };
  size_t converted = 0;
  for (size_t i = 0; i < n; i++)
    {
      const td_safetensors_info *t = td_safetensors_at (st, i);
      td_safetensors_entry e = { t->name, t->dtype, t->ndim, t->shape, td_safetensors_data (st, t), t->nbytes };
      bool linear = t->ndim == 2 && g_str_has_suffix (t->name, ".weight") && strstr (t->name, "embed") == NULL
                    && strcmp (t->name, "shared.weight") != 0 && strstr (t->name, "relative_attention") == NULL;
      if (linear)
        {
          td_tensor *view = td_safetensors_tensor_of (st, t, &err);
          float *values = td_tensor_to_f32 (view, &err);
          int64_t numel = td_tensor_numel (view);
          float amax = 0;
          for (int64_t k = 0; k < numel; k++)
            amax = fmaxf (amax, fabsf (values[k]));
          float *scale = g_new (float, 1);
          *scale = amax > 0 ? amax / 448.0f : 1.0f;
          g_assert_cmpint (numel, <, G_MAXINT32);
          uint8_t *bytes = g_byte_array_free (g_byte_array_set_size (g_byte_array_new (), (guint) numel), FALSE);
          for (int64_t k = 0; k < numel; k++)
            bytes[k] = to_e4m3 (values[k] / *scale);
          free (values);
          td_tensor_free (view);
          e.dtype = TD_F8_E4M3;
          e.data = bytes;
          e.nbytes = (size_t) numel;
          g_ptr_array_add (owned, bytes);
          g_ptr_array_add (owned, scale);
          char *scale_name = g_strdup_printf ("%.*s.scale_weight", (int) (strlen (t->name) - 7), t->name);
          g_ptr_array_add (owned, scale_name);
          td_safetensors_entry s = { scale_name, TD_F32, 1, scalar_shape, scale, sizeof (float) };
          g_array_append_val (entries, s);
          converted++;
        }
      g_array_append_val (entries, e);
    }
  g_assert_cmpuint (converted, >, 5);
  if (td_safetensors_write (path, (td_safetensors_entry *) entries->data, entries->len, NULL, &err) != TD_OK)
    g_error ("%s", err.message);
  g_array_unref (entries);
  g_ptr_array_unref (owned);
  td_safetensors_close (st);
}

/* td_verify_main's exit code; its output goes to the test log on a failure. */
static int
verify_main (const char *const *argv, int argc)
{
  char *text = NULL;
  size_t size = 0;
  FILE *log = open_memstream (&text, &size);
  int code = td_verify_main (argc, (char **) argv, log, log);
  fclose (log);
  if (code != 0)
    g_test_message ("%s", text);
  free (text);
  return code;
}

/* verify through the CLI entry point, then output by output. */
static void
check_verify (const golden_model *m, const char *model_dir, const char *label, double tolerance, bool forward_only)
{
  g_autofree char *io = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", m->folder, "io.safetensors", NULL);
  g_autofree char *tol = g_strdup_printf ("%g", tolerance);
  const char *backend_name = g_getenv ("TD_TEST_BACKEND") != NULL ? g_getenv ("TD_TEST_BACKEND") : "cpu";
  if (!forward_only)
    {
      const char *argv[] = { "verify", "--component", m->component, "--model", model_dir, "--io", io,
                             "--tolerance", tol, "--backend", backend_name, NULL };
      g_assert_cmpint (verify_main (argv, G_N_ELEMENTS (argv) - 1), ==, 0);
    }
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new (backend_name, &err);
  if (backend == NULL)
    g_error ("%s", err.message);
  td_verify_result *results = NULL;
  size_t n = 0;
  if (td_verify_run (td_verify_find (m->component), model_dir, io, backend, &results, &n, &err) != TD_OK)
    g_error ("%s", err.message);
  size_t compared = 0;
  double worst = 0, quantised_floor = INFINITY;
  for (size_t i = 0; i < n; i++)
    {
      const td_verify_result *r = &results[i];
      g_assert_true (r->kind == TD_VERIFY_OUTPUT || r->kind == TD_VERIFY_INPUT || r->kind == TD_VERIFY_ELSEWHERE);
      if (r->kind != TD_VERIFY_OUTPUT)
        continue;
      /* Qwen2-VL's image preprocessing does not touch the weights: it stays exact. */
      if (strcmp (r->name, "pixel_values") == 0 || strcmp (r->name, "image_grid_thw") == 0)
        {
          g_assert_cmpfloat (r->rel_err, ==, 0.0);
          continue;
        }
      g_test_message ("%s %s %s: rel_err %.3g", m->component, label, r->name, r->rel_err);
      if (forward_only && follows_generation (r->name))
        continue;
      if (strcmp (r->name, "generated_ids") == 0)
        {
          g_assert_cmpfloat (r->rel_err, ==, 0.0); /* the same tokens */
          continue;
        }
      compared++;
      g_assert_false (isnan (r->rel_err));
      g_assert_cmpfloat (r->rel_err, <=, tolerance);
      worst = fmax (worst, r->rel_err);
      quantised_floor = fmin (quantised_floor, r->rel_err);
    }
  g_assert_cmpuint (compared, >, 0);
  g_assert_cmpfloat (quantised_floor, >, 1e-5);
  g_test_message ("%s %s on %s: worst rel_err %.3g (tolerance %g)", m->component, label, backend_name, worst,
                  tolerance);
  free (results);
  td_backend_free (backend);
}

static void
check_gguf (const golden_model *m, const char *type, const char *file_type, double tolerance, bool forward_only)
{
  g_autofree char *weights_dir = NULL;
  g_autofree char *dir = make_model_dir (m, &weights_dir);
  g_autofree char *source = golden_path (m, m->checkpoint);
  g_autofree char *gguf = g_build_filename (weights_dir, "model.gguf", NULL);
  const char *quantize[] = { g_getenv ("TD_CLI"), "quantize", source, gguf, "--type", type, NULL };
  g_assert_nonnull (quantize[0]);
  g_autofree char *summary = run_ok (quantize);
  g_test_message ("%s", summary);

  const char *readback_script = g_getenv ("TD_GGUF_READBACK");
  if (readback_script != NULL && g_getenv ("TD_PYTHON") != NULL)
    {
      /* At least 10 matrices of each model are in a block type. */
      const char *readback[] = { g_getenv ("TD_PYTHON"), readback_script, gguf, source, m->architecture, file_type,
                                 "10", NULL };
      g_autofree char *report = run_ok (readback);
      g_test_message ("%s %s read back: %s", m->component, type, report);
    }
  else
    g_test_message ("no python3: the independent read-back is skipped");
  check_verify (m, dir, type, tolerance, forward_only);

  /* The same file named with --weights, the golden folder as --model. */
  if (!forward_only)
    {
      g_autofree char *golden = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", m->folder, NULL);
      g_autofree char *io = g_build_filename (golden, "io.safetensors", NULL);
      g_autofree char *tol = g_strdup_printf ("%g", tolerance);
      const char *argv[] = { "verify", "--component", m->component, "--model", golden, "--io", io,
                             "--weights", gguf, "--tolerance", tol, NULL };
      g_assert_cmpint (verify_main (argv, G_N_ELEMENTS (argv) - 1), ==, 0);
      /* and with the reference tolerance it fails: the quantised weights were used */
      const char *strict[] = { "verify", "--component", m->component, "--model", golden, "--io", io,
                               "--weights", gguf, NULL };
      g_assert_cmpint (verify_main (strict, G_N_ELEMENTS (strict) - 1), ==, 1);
    }
  td_test_remove_tree (dir);
}

/* --weights cannot say which checkpoint of a whole pipeline it replaces. */
static void
test_weights_refused (void)
{
  g_autofree char *golden = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "flux", NULL);
  g_autofree char *io = g_build_filename (golden, "io.safetensors", NULL);
  g_autofree char *weights = g_build_filename (golden, "transformer", "diffusion_pytorch_model.safetensors", NULL);
  const char *argv[] = { "verify", "--component", "flux-pipeline", "--model", golden, "--io", io,
                         "--weights", weights, NULL };
  g_assert_cmpint (verify_main (argv, G_N_ELEMENTS (argv) - 1), ==, 1);
  const char *not_a_file[] = { "verify", "--component", "flux-transformer", "--model", golden, "--io", io,
                               "--weights", golden, NULL };
  g_assert_cmpint (verify_main (not_a_file, G_N_ELEMENTS (not_a_file) - 1), ==, 1);
}

static void
check_fp8 (const golden_model *m, double tolerance)
{
  g_autofree char *weights_dir = NULL;
  g_autofree char *dir = make_model_dir (m, &weights_dir);
  g_autofree char *source = golden_path (m, m->checkpoint);
  g_autofree char *fp8 = g_build_filename (weights_dir, m->checkpoint, NULL);
  write_fp8 (source, fp8);
  check_verify (m, dir, "fp8-e4m3", tolerance, false);
  td_test_remove_tree (dir);
}

/* The tolerances documented in the README ("Quantised weights"). */
#define Q8_0_TOLERANCE 5e-2
#define Q4_K_TOLERANCE 1.5e-1
#define FP8_TOLERANCE 1e-1

static void test_flux_q8_0 (void) { check_gguf (&flux, "q8_0", "7", Q8_0_TOLERANCE, false); }
static void test_t5_q8_0 (void) { check_gguf (&t5, "q8_0", "7", Q8_0_TOLERANCE, false); }
static void test_qwen2vl_q8_0 (void) { check_gguf (&qwen2vl, "q8_0", "7", Q8_0_TOLERANCE, false); }
static void test_flux_q4_k (void) { check_gguf (&flux, "q4_k", "14", Q4_K_TOLERANCE, false); }
static void test_t5_q4_k (void) { check_gguf (&t5, "q4_k", "14", Q4_K_TOLERANCE, false); }
static void test_qwen2vl_q4_k (void) { check_gguf (&qwen2vl, "q4_k", "14", Q4_K_TOLERANCE, true); }
static void test_flux_fp8 (void) { check_fp8 (&flux, FP8_TOLERANCE); }
static void test_t5_fp8 (void) { check_fp8 (&t5, FP8_TOLERANCE); }
static void test_qwen2vl_fp8 (void) { check_fp8 (&qwen2vl, FP8_TOLERANCE); }

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quantized-golden/flux-q8_0", test_flux_q8_0);
  g_test_add_func ("/quantized-golden/t5-q8_0", test_t5_q8_0);
  g_test_add_func ("/quantized-golden/qwen2-vl-q8_0", test_qwen2vl_q8_0);
  g_test_add_func ("/quantized-golden/flux-q4_k", test_flux_q4_k);
  g_test_add_func ("/quantized-golden/t5-q4_k", test_t5_q4_k);
  g_test_add_func ("/quantized-golden/qwen2-vl-q4_k", test_qwen2vl_q4_k);
  g_test_add_func ("/quantized-golden/flux-fp8", test_flux_fp8);
  g_test_add_func ("/quantized-golden/t5-fp8", test_t5_fp8);
  g_test_add_func ("/quantized-golden/qwen2-vl-fp8", test_qwen2vl_fp8);
  g_test_add_func ("/quantized-golden/weights-refused", test_weights_refused);
  return g_test_run ();
}
