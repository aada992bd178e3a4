/* td_quantize and td_gguf_file_* as a program outside the engine sees them:
 * only thinkdiff.h, only libthinkdiff. The golden T5 encoder is written as
 * Q8_0 and Q4_K and read back through the GGUF listing functions. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "thinkdiff.h"

static void
remove_all (const char *dir, const char *const *files)
{
  for (const char *const *f = files; *f != NULL; f++)
    g_unlink (*f);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

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

/* A safetensors file written byte by byte: one F32 tensor of the given shape. */
static void
write_shard (const char *path, const char *name, int ndim, const int64_t *shape)
{
  int64_t numel = 1;
  for (int d = 0; d < ndim; d++)
    numel *= shape[d];
  g_autoptr (GString) header = g_string_new (NULL);
  g_string_append_printf (header, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[", name);
  for (int d = 0; d < ndim; d++)
    g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d > 0 ? "," : "", shape[d]);
  g_string_append_printf (header, "],\"data_offsets\":[0,%" G_GINT64_FORMAT "]}}", numel * 4);
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  g_autoptr (GByteArray) file = g_byte_array_new ();
  guint64 length = GUINT64_TO_LE (header->len);
  g_byte_array_append (file, (const guint8 *) &length, 8);
  g_byte_array_append (file, (const guint8 *) header->str, header->len);
  for (int64_t i = 0; i < numel; i++)
    {
      float v = (float) ((i * 37) % 101) / 50.0f - 1.0f;
      g_byte_array_append (file, (const guint8 *) &v, 4);
    }
  g_assert_true (g_file_set_contents (path, (const char *) file->data, file->len, NULL));
}

/* A sharded checkpoint (index + two shards) is one input. */
static void
test_sharded (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-api-quantize-XXXXXX", NULL);
  g_autofree char *s1 = g_build_filename (dir, "model-00001-of-00002.safetensors", NULL);
  g_autofree char *s2 = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);
  g_autofree char *index = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_autofree char *out = g_build_filename (dir, "out.gguf", NULL);
  write_shard (s1, "proj.weight", 2, (const int64_t[]) { 32, 64 });
  write_shard (s2, "proj.bias", 1, (const int64_t[]) { 32 });
  const char *json = "{\"weight_map\": {\"proj.weight\": \"model-00001-of-00002.safetensors\", "
                     "\"proj.bias\": \"model-00002-of-00002.safetensors\"}}";
  g_assert_true (g_file_set_contents (index, json, -1, NULL));
  td_quantize_options options = { .type = "q8_0", .architecture = "test" };
  td_quantize_report report;
  td_error err = { 0 };
  if (td_quantize (index, out, &options, &report, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_cmpuint (report.n_tensors, ==, 2);
  g_assert_cmpuint (report.n_quantized, ==, 1);
  g_assert_cmpstr (report.architecture, ==, "test");
  td_gguf_file *file = td_gguf_file_open (out, &err);
  g_assert_nonnull (file);
  td_gguf_file_tensor t;
  g_assert_cmpstr (dtype_of (file, "proj.weight", &t), ==, "Q8_0");
  g_assert_cmpuint (t.nbytes, ==, 32 * 2 * 34);
  g_assert_cmpstr (dtype_of (file, "proj.bias", &t), ==, "F32");
  td_gguf_file_metadata meta;
  /* "model" is generic: the folder names it. */
  char *name = metadata_text (file, "general.name", &meta);
  g_autofree char *folder = g_path_get_basename (dir);
  g_autofree char *quoted = g_strdup_printf ("\"%s\"", folder);
  g_assert_cmpstr (name, ==, quoted);
  td_free (name);
  td_gguf_file_close (file);
  remove_all (dir, (const char *const[]) { s1, s2, index, out, NULL });
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
  g_test_add_func ("/api/quantize/sharded", test_sharded);
  g_test_add_func ("/api/quantize/cancel", test_cancel);
  g_test_add_func ("/api/quantize/errors", test_errors);
  return g_test_run ();
}
