/* td_quantize and td_gguf_file_* as a program outside the engine sees them:
 * only thinkdiff.h, only libthinkdiff. The golden T5 encoder is written as
 * Q8_0 and Q4_K and read back through the GGUF listing functions. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "thinkdiff.h"

static char *
golden_t5 (void)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "t5_encoder", "model.safetensors", NULL);
}

typedef struct progress_log {
  size_t calls, last_done, total;
  bool saw_end;
  volatile int *cancel;
} progress_log;

static void
record_progress (size_t done, size_t total, const char *name, void *user_data)
{
  progress_log *log = user_data;
  g_assert_true (done >= log->last_done);
  g_assert_cmpuint (done, <=, total);
  log->calls++;
  log->last_done = done;
  log->total = total;
  if (name == NULL)
    {
      g_assert_cmpuint (done, ==, total);
      log->saw_end = true;
    }
  if (log->cancel != NULL)
    *log->cancel = 1;
}

/* The value text of metadata key, or NULL. */
static char *
metadata_text (const td_gguf_file *file, const char *key, td_gguf_file_metadata *meta)
{
  for (size_t i = 0; i < td_gguf_file_metadata_count (file); i++)
    {
      g_assert_true (td_gguf_file_metadata_at (file, i, meta));
      if (strcmp (meta->key, key) == 0)
        return td_gguf_file_metadata_text (file, i, 4);
    }
  return NULL;
}

static const char *
dtype_of (const td_gguf_file *file, const char *name, td_gguf_file_tensor *t)
{
  for (size_t i = 0; i < td_gguf_file_tensor_count (file); i++)
    {
      g_assert_true (td_gguf_file_tensor_at (file, i, t));
      if (strcmp (t->name, name) == 0)
        return t->dtype;
    }
  g_error ("no tensor %s", name);
}

static void
check_written (const char *path, const char *file_type, const char *q_dtype)
{
  td_error err = { 0 };
  td_gguf_file *file = td_gguf_file_open (path, &err);
  if (file == NULL)
    g_error ("%s", err.message);
  g_assert_cmpuint (td_gguf_file_version (file), ==, 3);
  g_assert_cmpuint (td_gguf_file_alignment (file), ==, 32);
  g_assert_cmpuint (td_gguf_file_data_offset (file) % 32, ==, 0);
  g_assert_cmpstr (td_gguf_file_path (file), ==, path);
  td_gguf_file_metadata meta;
  static const char *const expected[][3] = {
    { "general.architecture", "string", "\"t5encoder\"" },
    { "general.name", "string", "\"t5_encoder\"" },
    { "general.quantization_version", "uint32", "2" },
    { "general.alignment", "uint32", "32" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      char *text = metadata_text (file, expected[i][0], &meta);
      g_assert_cmpstr (text, ==, expected[i][2]);
      g_assert_cmpstr (meta.type, ==, expected[i][1]);
      g_assert_null (meta.element_type);
      td_free (text);
    }
  char *ft = metadata_text (file, "general.file_type", &meta);
  g_assert_cmpstr (ft, ==, file_type);
  td_free (ft);

  td_gguf_file_tensor t;
  g_assert_cmpuint (td_gguf_file_tensor_count (file), ==, 22);
  g_assert_cmpstr (dtype_of (file, "encoder.block.0.layer.0.SelfAttention.q.weight", &t), ==, q_dtype);
  g_assert_cmpint (t.ndim, ==, 2);
  g_assert_cmpint (t.shape[0], ==, 64);
  g_assert_cmpint (t.shape[1], ==, 64);
  g_assert_cmpuint (t.offset % 32, ==, 0);
  g_assert_cmpstr (dtype_of (file, "encoder.block.0.layer.1.DenseReluDense.wo.weight", &t), ==, q_dtype);
  g_assert_cmpint (t.shape[1], ==, 160);
  /* Norms (1-D) in f32; embedding tables and T5's relative position buckets kept as stored. */
  g_assert_cmpstr (dtype_of (file, "encoder.final_layer_norm.weight", &t), ==, "F32");
  g_assert_cmpint (t.ndim, ==, 1);
  g_assert_cmpstr (dtype_of (file, "shared.weight", &t), ==, "F32");
  g_assert_cmpstr (dtype_of (file, "encoder.embed_tokens.weight", &t), ==, "F32");
  g_assert_cmpstr (dtype_of (file, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", &t), ==,
                   "F32");
  /* Out of range: no answer, no crash. */
  g_assert_false (td_gguf_file_tensor_at (file, 22, &t));
  g_assert_false (td_gguf_file_metadata_at (file, td_gguf_file_metadata_count (file), &meta));
  g_assert_null (td_gguf_file_metadata_text (file, td_gguf_file_metadata_count (file), 4));
  td_gguf_file_close (file);
}

static void
test_quantize_and_list (void)
{
  g_autofree char *source = golden_t5 ();
  g_autofree char *dir = g_dir_make_tmp ("td-api-quantize-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "t5.gguf", NULL);
  static const struct {
    const char *type, *file_type, *dtype;
    size_t quantized, fallback;
  } cases[] = {
    { "q8_0", "7", "Q8_0", 14, 0 },
    { "Q4_K", "14", "Q5_0", 0, 14 }, /* rows of 64 and 160 are not whole 256-blocks */
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      progress_log log = { 0 };
      td_quantize_options options = { .type = cases[c].type, .progress = record_progress, .user_data = &log };
      td_quantize_report report;
      td_error err = { 0 };
      if (td_quantize (source, out, &options, &report, &err) != TD_OK)
        g_error ("%s", err.message);
      g_assert_cmpuint (report.n_tensors, ==, 22);
      g_assert_cmpuint (report.n_quantized, ==, cases[c].quantized);
      g_assert_cmpuint (report.n_fallback, ==, cases[c].fallback);
      g_assert_cmpuint (report.bytes_in, ==, 575232);
      g_assert_cmpuint (report.bytes_out, <, report.bytes_in);
      g_assert_cmpstr (report.architecture, ==, "t5encoder");
      g_assert_cmpuint (log.calls, ==, 23); /* before each tensor and once at the end */
      g_assert_true (log.saw_end);
      g_assert_cmpuint (log.total, ==, 22);
      check_written (out, cases[c].file_type, cases[c].dtype);
    }
  g_unlink (out);
  g_rmdir (dir);
}

/* Cancelled from the progress callback: TD_ERR_CANCELLED and no file left. */
static void
test_cancel (void)
{
  g_autofree char *source = golden_t5 ();
  g_autofree char *dir = g_dir_make_tmp ("td-api-quantize-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "t5.gguf", NULL);
  volatile int cancel = 0;
  progress_log log = { .cancel = &cancel };
  td_quantize_options options = { .type = "q8_0", .progress = record_progress, .user_data = &log, .cancel = &cancel };
  td_error err = { 0 };
  g_assert_cmpint (td_quantize (source, out, &options, NULL, &err), ==, TD_ERR_CANCELLED);
  g_assert_nonnull (strstr (err.message, out));
  g_assert_cmpuint (log.calls, ==, 1);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_null (g_dir_read_name (d)); /* not even the temporary file */
  g_rmdir (dir);
}

static void
test_errors (void)
{
  g_autofree char *source = golden_t5 ();
  g_autofree char *dir = g_dir_make_tmp ("td-api-quantize-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "t5.gguf", NULL);
  td_error err = { 0 };
  td_quantize_options options = { .type = "q3_z" };
  g_assert_false (td_quantize_type_known ("q3_z"));
  g_assert_true (td_quantize_type_known ("Q6_K"));
  g_assert_cmpint (td_quantize (source, out, &options, NULL, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "q3_z"));
  g_assert_cmpint (td_quantize (source, out, NULL, NULL, NULL), ==, TD_ERR_INVALID_ARG);
  options.type = "q8_0";
  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  g_assert_cmpint (td_quantize (missing, out, &options, NULL, NULL), !=, TD_OK);
  g_assert_cmpint (td_quantize (missing, out, &options, NULL, &err), !=, TD_OK);
  g_assert_nonnull (strstr (err.message, missing));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* A safetensors file is not GGUF: the error names it. */
  g_assert_false (td_checkpoint_is_gguf (source));
  g_assert_null (td_gguf_file_open (source, &err));
  g_assert_nonnull (strstr (err.message, source));
  g_assert_null (td_gguf_file_open (missing, NULL));
  td_gguf_file_close (NULL);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/api/quantize/write-and-list", test_quantize_and_list);
  g_test_add_func ("/api/quantize/cancel", test_cancel);
  g_test_add_func ("/api/quantize/errors", test_errors);
  return g_test_run ();
}
