/* The safetensors reader and writer: round trips, the golden FLUX transformer,
 * the bad-input corpus and sharded checkpoints. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"

static char *
make_temp_dir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("td-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
      g_free (path);
    }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (dir);
}

/* Deterministic bytes that differ per tensor. */
static uint8_t *
pattern (size_t n, unsigned seed)
{
  uint8_t *p = g_malloc (n + 1);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t) (i * 31u + seed * 7u + 1u);
  return p;
}

static void
test_round_trip (void)
{
  char *dir = make_temp_dir ();
  char *path = g_build_filename (dir, "all.safetensors", NULL);
  td_error err = { 0 };

  /* One tensor of every dtype (odd sizes so 1- and 2-byte types leave the
   * running offset unaligned unless the writer orders them), a 0-dim scalar
   * and a zero-size tensor. */
  enum { PLAIN = TD_Q4_0, N = PLAIN + 2 }; /* the block types (from Q4_0 on) have no safetensors form */
  td_safetensors_entry entries[N];
  int64_t shapes[N][3];
  char names[N][32];
  uint8_t *data[N];
  for (int i = 0; i < N; i++)
    {
      td_dtype dtype = i < PLAIN ? (td_dtype) i : i == PLAIN ? TD_F32 : TD_BF16;
      int ndim = i < PLAIN ? 2 : i == PLAIN ? 0 : 3;
      shapes[i][0] = i < PLAIN ? 3 : 4;
      shapes[i][1] = i < PLAIN ? 1 + i % 3 : 0;
      shapes[i][2] = 5;
      int64_t numel = 1;
      for (int d = 0; d < ndim; d++)
        numel *= shapes[i][d];
      g_snprintf (names[i], sizeof names[i], "t%02d.%s", N - i, td_dtype_name (dtype));
      size_t nbytes = (size_t) numel * td_dtype_size (dtype);
      data[i] = pattern (nbytes, (unsigned) i);
      entries[i] = (td_safetensors_entry) { names[i], dtype, ndim, shapes[i], data[i], nbytes };
    }
  const char *metadata[] = { "format", "pt", "note", "ünïcode \"quoted\"", NULL };
  g_assert_cmpint (td_safetensors_write (path, entries, N, metadata, &err), ==, TD_OK);

  /* The header is padded to 8 bytes with spaces. */
  char *raw = NULL;
  size_t raw_len = 0;
  g_assert_true (g_file_get_contents (path, &raw, &raw_len, NULL));
  uint64_t header_len;
  memcpy (&header_len, raw, 8);
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_cmpuint (8 + header_len, <=, raw_len);

  td_safetensors *st = td_safetensors_open (path, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, N);
  g_assert_cmpstr (td_safetensors_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (td_safetensors_metadata (st, "note"), ==, "ünïcode \"quoted\"");
  g_assert_null (td_safetensors_metadata (st, "missing"));
  g_assert_cmpuint (td_safetensors_metadata_count (st), ==, 2);
  const char *key, *value;
  td_safetensors_metadata_at (st, 0, &key, &value); /* sorted by key */
  g_assert_cmpstr (key, ==, "format");

  td_tensor *kept = NULL;
  for (int i = 0; i < N; i++)
    {
      const td_safetensors_info *info = td_safetensors_find (st, names[i]);
      g_assert_nonnull (info);
      g_assert_cmpint (info->dtype, ==, entries[i].dtype);
      g_assert_cmpint (info->ndim, ==, entries[i].ndim);
      for (int d = 0; d < info->ndim; d++)
        g_assert_cmpint (info->shape[d], ==, shapes[i][d]);
      g_assert_cmpuint (info->nbytes, ==, entries[i].nbytes);
      g_assert_cmpmem (td_safetensors_data (st, info), info->nbytes, data[i], entries[i].nbytes);

      td_tensor *t = td_safetensors_tensor (st, names[i], &err);
      g_assert_nonnull (t);
      g_assert_cmpint (t->ndim, ==, entries[i].ndim);
      g_assert_cmpuint (td_tensor_nbytes (t), ==, entries[i].nbytes);
      /* zero-copy and naturally aligned */
      g_assert_true (td_tensor_host_data (t) == td_safetensors_data (st, info));
      g_assert_cmpuint ((uintptr_t) td_tensor_host_data (t) % td_dtype_size (t->dtype), ==, 0);
      if (i == 0)
        kept = t;
      else
        td_tensor_free (t);
    }
  /* Iteration is sorted by name. */
  for (size_t i = 1; i < td_safetensors_count (st); i++)
    g_assert_cmpint (strcmp (td_safetensors_at (st, i - 1)->name, td_safetensors_at (st, i)->name), <, 0);
  g_assert_null (td_safetensors_at (st, N));
  g_assert_null (td_safetensors_tensor (st, "nope", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);

  /* A view outlives the handle: the mapping stays until the view goes. */
  td_safetensors_close (st);
  g_assert_cmpmem (td_tensor_host_data (kept), td_tensor_nbytes (kept), data[0], entries[0].nbytes);
  td_tensor_free (kept);

  /* The same image parses from memory. */
  st = td_safetensors_open_memory (raw, raw_len, "in-memory", &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, N);
  td_safetensors_close (st);

  for (int i = 0; i < N; i++)
    g_free (data[i]);
  g_free (raw);
  g_free (path);
  remove_dir (dir);
  g_free (dir);
}

static void
test_writer_rejects (void)
{
  char *dir = make_temp_dir ();
  char *path = g_build_filename (dir, "bad.safetensors", NULL);
  td_error err = { 0 };
  float values[4] = { 1, 2, 3, 4 };
  const int64_t shape[1] = { 4 };
  td_safetensors_entry twice[2] = {
    { "w", TD_F32, 1, shape, values, sizeof values },
    { "w", TD_F32, 1, shape, values, sizeof values },
  };
  g_assert_cmpint (td_safetensors_write (path, twice, 2, NULL, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "twice"));
  td_safetensors_entry short_data = { "w", TD_F32, 1, shape, values, 12 };
  g_assert_cmpint (td_safetensors_write (path, &short_data, 1, NULL, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "need 16"));
  /* Nothing was left behind, not even a temporary file. */
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_null (g_dir_read_name (d));
  g_dir_close (d);

  /* An empty checkpoint is valid. */
  g_assert_cmpint (td_safetensors_write (path, NULL, 0, NULL, &err), ==, TD_OK);
  td_safetensors *st = td_safetensors_open (path, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, 0);
  td_safetensors_close (st);
  g_free (path);
  remove_dir (dir);
  g_free (dir);
}

/* Data that starts at an odd address is copied rather than viewed. */
static void
test_unaligned_copy (void)
{
  char *dir = make_temp_dir ();
  char *path = g_build_filename (dir, "one.safetensors", NULL);
  td_error err = { 0 };
  float values[3] = { 1.5f, -2.0f, 3.25f };
  const int64_t shape[1] = { 3 };
  td_safetensors_entry e = { "v", TD_F32, 1, shape, values, sizeof values };
  g_assert_cmpint (td_safetensors_write (path, &e, 1, NULL, &err), ==, TD_OK);
  char *raw = NULL;
  size_t len = 0;
  g_assert_true (g_file_get_contents (path, &raw, &len, NULL));
  char *shifted = g_malloc (len + 1);
  memcpy (shifted + 1, raw, len);

  td_safetensors *st = td_safetensors_open_memory (shifted + 1, len, "shifted", &err);
  g_assert_nonnull (st);
  td_tensor *t = td_safetensors_tensor (st, "v", &err);
  g_assert_nonnull (t);
  g_assert_true (td_tensor_host_data (t) != td_safetensors_data (st, td_safetensors_find (st, "v")));
  float *f = td_tensor_to_f32 (t, &err);
  g_assert_cmpfloat (f[0], ==, 1.5f);
  g_assert_cmpfloat (f[2], ==, 3.25f);
  free (f);
  td_tensor_free (t);
  td_safetensors_close (st);
  g_free (shifted);
  g_free (raw);
  g_free (path);
  remove_dir (dir);
  g_free (dir);
}

/* A file of the golden data the tests carry (tests/data/golden); missing is a failure. */
static char *
golden_path (const char *relative)
{
  char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_error ("%s: missing from the test data", path);
  return path;
}

static void
test_golden_flux (void)
{
  char *path = golden_path ("flux/transformer/diffusion_pytorch_model.safetensors");
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open (path, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, 80); /* 81 header keys incl. __metadata__ */
  g_assert_cmpstr (td_safetensors_metadata (st, "format"), ==, "pt");

  const td_safetensors_info *x = td_safetensors_find (st, "x_embedder.weight");
  g_assert_nonnull (x);
  g_assert_cmpint (x->dtype, ==, TD_F32);
  g_assert_cmpint (x->ndim, ==, 2);
  g_assert_cmpint (x->shape[0], ==, 32);
  g_assert_cmpint (x->shape[1], ==, 64);
  const td_safetensors_info *k = td_safetensors_find (st, "single_transformer_blocks.1.attn.norm_k.weight");
  g_assert_nonnull (k);
  g_assert_cmpint (k->ndim, ==, 1);
  g_assert_cmpint (k->shape[0], ==, 16);
  const td_safetensors_info *p = td_safetensors_find (st, "single_transformer_blocks.0.proj_out.weight");
  g_assert_nonnull (p);
  g_assert_cmpint (p->shape[0], ==, 32);
  g_assert_cmpint (p->shape[1], ==, 160);
  g_assert_null (td_safetensors_find (st, "transformer_blocks.1.norm1.linear.weight"));

  /* The view's bytes are the file's bytes at 8 + header + offset. */
  char *raw = NULL;
  size_t len = 0;
  g_assert_true (g_file_get_contents (path, &raw, &len, NULL));
  uint64_t header_len;
  memcpy (&header_len, raw, 8);
  td_tensor *t = td_safetensors_tensor (st, "x_embedder.weight", &err);
  g_assert_nonnull (t);
  g_assert_cmpmem (td_tensor_host_data (t), 32 * 64 * 4, raw + 8 + header_len + x->offset, 32 * 64 * 4);
  td_tensor_free (t);
  td_safetensors_close (st);

  /* The model folder opens the same file. */
  char *folder = g_path_get_dirname (path);
  st = td_safetensors_open_any (folder, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, 80); /* 81 header keys incl. __metadata__ */
  td_safetensors_close (st);
  g_free (folder);
  g_free (raw);
  g_free (path);
}

typedef struct bad_case {
  const char *file;
  td_status status;
  const char *phrase;
} bad_case;

static const bad_case bad_cases[] = {
  { "truncated-length.safetensors", TD_ERR_FORMAT, "too short for the 8-byte header length" },
  { "truncated-header.safetensors", TD_ERR_FORMAT, "truncated file" },
  { "header-length-beyond-file.safetensors", TD_ERR_FORMAT, "header length 1000000 is more than" },
  { "header-length-2p63.safetensors", TD_ERR_LIMIT, "over the limit" },
  { "invalid-json.safetensors", TD_ERR_FORMAT, "not valid JSON" },
  { "json-comment.safetensors", TD_ERR_FORMAT, "not valid JSON" },
  { "invalid-utf8.safetensors", TD_ERR_FORMAT, "not valid UTF-8" },
  { "deep-nesting.safetensors", TD_ERR_FORMAT, "nesting too deep" },
  { "non-object.safetensors", TD_ERR_FORMAT, "not an object" },
  { "unknown-dtype.safetensors", TD_ERR_FORMAT, "unknown dtype 'F33'" },
  { "shape-overflow.safetensors", TD_ERR_FORMAT, "overflows 64 bits" },
  { "negative-dim.safetensors", TD_ERR_FORMAT, "negative dimension -1" },
  { "huge-integer.safetensors", TD_ERR_FORMAT, "does not fit in 64 bits" },
  { "offsets-overlap.safetensors", TD_ERR_FORMAT, "tensor 'b' (bytes 4..12) overlaps tensor 'a'" },
  { "out-of-bounds.safetensors", TD_ERR_FORMAT, "tensor 'x.weight' spans bytes 100..300 but the data section ends at 200" },
  { "gap.safetensors", TD_ERR_FORMAT, "bytes 8..12 before tensor 'b' belong to no tensor" },
  { "trailing-bytes.safetensors", TD_ERR_FORMAT, "4 trailing bytes" },
  { "duplicate-names.safetensors", TD_ERR_FORMAT, "key 'a' twice" },
  { "begin-after-end.safetensors", TD_ERR_FORMAT, "end before they begin" },
  { "wrong-byte-length.safetensors", TD_ERR_FORMAT, "needs 12 bytes" },
  { "metadata-not-string.safetensors", TD_ERR_FORMAT, "__metadata__ entry 'n' is not a string" },
  { "empty-name.safetensors", TD_ERR_FORMAT, "empty name" },
  { "unexpected-field.safetensors", TD_ERR_FORMAT, "unexpected field 'x'" },
  { "float-shape.safetensors", TD_ERR_FORMAT, "not an integer" },
  { "escape.safetensors.index.json", TD_ERR_FORMAT, "names '../x.safetensors', which is not a plain file name" },
  { "absolute.safetensors.index.json", TD_ERR_FORMAT, "names '/etc/passwd', which is not a plain file name" },
};

static void
test_bad_corpus (void)
{
  const char *data = g_getenv ("TD_TEST_DATA");
  g_assert_nonnull (data);
  for (size_t i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const bad_case *c = &bad_cases[i];
      char *path = g_build_filename (data, "safetensors-bad", c->file, NULL);
      td_error err = { 0 };
      td_safetensors *st = td_safetensors_open_any (path, &err);
      g_test_message ("%s -> %s", c->file, err.message);
      g_assert_null (st);
      g_assert_cmpint (err.status, ==, c->status);
      g_assert_true (g_str_has_prefix (err.message, path));
      g_assert_nonnull (strstr (err.message, c->phrase));

      /* The same bytes from memory fail the same way (index files are not images). */
      char *bytes = NULL;
      size_t len = 0;
      if (!g_str_has_suffix (c->file, ".json") && g_file_get_contents (path, &bytes, &len, NULL))
        {
          td_error mem_err = { 0 };
          g_assert_null (td_safetensors_open_memory (bytes, len, c->file, &mem_err));
          g_assert_cmpint (mem_err.status, ==, c->status);
          g_assert_nonnull (strstr (mem_err.message, c->phrase));
        }
      g_free (bytes);
      g_free (path);
    }
}

static void
test_missing_and_folder (void)
{
  td_error err = { 0 };
  g_assert_null (td_safetensors_open ("/nonexistent/x.safetensors", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "/nonexistent/x.safetensors"));
  char *dir = make_temp_dir ();
  g_assert_null (td_safetensors_open (dir, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_IO);
  g_assert_null (td_safetensors_open_dir (dir, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "no diffusion_pytorch_model.safetensors"));
  remove_dir (dir);
  g_free (dir);
}

static void
write_shard (const char *dir, const char *file, const char *name, float value)
{
  char *path = g_build_filename (dir, file, NULL);
  float values[2] = { value, value + 1 };
  const int64_t shape[1] = { 2 };
  td_safetensors_entry e = { name, TD_F32, 1, shape, values, sizeof values };
  const char *metadata[] = { "shard", file, NULL };
  td_error err = { 0 };
  g_assert_cmpint (td_safetensors_write (path, &e, 1, metadata, &err), ==, TD_OK);
  g_free (path);
}

static char *
write_index (const char *dir, const char *json)
{
  char *path = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  return path;
}

static void
test_sharded (void)
{
  char *dir = make_temp_dir ();
  td_error err = { 0 };
  write_shard (dir, "model-00002-of-00002.safetensors", "b.weight", 20.0f);
  write_shard (dir, "model-00001-of-00002.safetensors", "a.weight", 10.0f);
  char *index = write_index (dir, "{\"metadata\": {\"total_size\": 16}, \"weight_map\": {"
                                  "\"b.weight\": \"model-00002-of-00002.safetensors\","
                                  "\"a.weight\": \"model-00001-of-00002.safetensors\"}}");
  /* Through the folder helper: only the index is there. */
  td_safetensors *st = td_safetensors_open_dir (dir, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_count (st), ==, 2);
  g_assert_cmpuint (td_safetensors_file_count (st), ==, 2);
  g_assert_cmpstr (td_safetensors_path (st), ==, index);
  g_assert_cmpstr (td_safetensors_metadata (st, "shard"), ==, "model-00001-of-00002.safetensors");
  td_tensor *b = td_safetensors_tensor (st, "b.weight", &err);
  g_assert_nonnull (b);
  td_safetensors_close (st);
  float *bf = td_tensor_to_f32 (b, &err);
  g_assert_cmpfloat (bf[0], ==, 20.0f);
  g_assert_cmpfloat (bf[1], ==, 21.0f);
  free (bf);
  td_tensor_free (b);

  /* The index must agree with the shards. */
  g_free (write_index (dir, "{\"weight_map\": {\"a.weight\": \"model-00002-of-00002.safetensors\","
                            "\"b.weight\": \"model-00001-of-00002.safetensors\"}}"));
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "it is in another shard"));

  g_free (write_index (dir, "{\"weight_map\": {\"c.weight\": \"model-00001-of-00002.safetensors\"}}"));
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_nonnull (strstr (err.message, "no shard has it"));

  g_free (write_index (dir, "{\"weight_map\": {\"a.weight\": \"missing.safetensors\"}}"));
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "missing.safetensors"));

  /* One name in two shards. */
  write_shard (dir, "model-00002-of-00002.safetensors", "a.weight", 30.0f);
  g_free (write_index (dir, "{\"weight_map\": {\"a.weight\": \"model-00001-of-00002.safetensors\","
                            "\"x\": \"model-00002-of-00002.safetensors\"}}"));
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_nonnull (strstr (err.message, "tensor 'a.weight' is in both"));

  g_free (write_index (dir, "{\"weight_map\": {\"a.weight\": 3}}"));
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_nonnull (strstr (err.message, "not a file name string"));

  g_free (index);
  remove_dir (dir);
  g_free (dir);
}

/* BLIP-2 flan-t5-xxl as `models pull clip` leaves it: the index names five
 * shards, only the one holding vision_model.* is in the folder. */
static void
test_sharded_absent (void)
{
  char *dir = make_temp_dir ();
  td_error err = { 0 };
  write_shard (dir, "model-00001-of-00005.safetensors", "vision_model.embeddings.weight", 5.0f);
  char *index = write_index (dir, "{\"metadata\": {\"total_size\": 40}, \"weight_map\": {"
                                  "\"vision_model.embeddings.weight\": \"model-00001-of-00005.safetensors\","
                                  "\"language_model.shared.weight\": \"model-00002-of-00005.safetensors\","
                                  "\"language_model.encoder.weight\": \"model-00003-of-00005.safetensors\","
                                  "\"language_model.decoder.weight\": \"model-00004-of-00005.safetensors\","
                                  "\"language_model.lm_head.weight\": \"model-00005-of-00005.safetensors\"}}");
  td_safetensors *st = td_safetensors_open_dir (dir, &err);
  g_assert_nonnull (st);
  g_assert_cmpuint (td_safetensors_file_count (st), ==, 1);
  g_assert_cmpuint (td_safetensors_count (st), ==, 1);
  g_assert_cmpuint (td_safetensors_absent_count (st), ==, 4);
  g_assert_null (td_safetensors_absent_shard (st, "vision_model.embeddings.weight"));
  g_assert_cmpstr (td_safetensors_absent_shard (st, "language_model.encoder.weight"), ==,
                   "model-00003-of-00005.safetensors");
  td_tensor *v = td_safetensors_tensor (st, "vision_model.embeddings.weight", &err);
  g_assert_nonnull (v);
  float *vf = td_tensor_to_f32 (v, &err);
  g_assert_cmpfloat (vf[1], ==, 6.0f);
  free (vf);
  td_tensor_free (v);
  g_assert_null (td_safetensors_tensor (st, "language_model.decoder.weight", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "'language_model.decoder.weight' is in model-00004-of-00005.safetensors, "
                                         "which is not in the folder"));
  g_assert_null (td_safetensors_tensor (st, "nowhere", &err));
  g_assert_nonnull (strstr (err.message, "no tensor named 'nowhere'"));
  td_safetensors_close (st);

  /* A shard that is there must be valid, even when others are absent. */
  char *bad = g_build_filename (dir, "model-00002-of-00005.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, "not safetensors", -1, NULL));
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_LIMIT); /* the first 8 bytes read as a huge header length */
  g_assert_nonnull (strstr (err.message, "model-00002-of-00005.safetensors"));
  g_unlink (bad);
  /* A dangling link is not "absent": it is a broken download. */
  g_assert_cmpint (symlink ("/nonexistent/blob", bad), ==, 0);
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_nonnull (strstr (err.message, "model-00002-of-00005.safetensors"));
  g_unlink (bad);
  g_free (bad);

  /* A tensor the index puts in an absent shard must not turn up in a present one. */
  write_shard (dir, "model-00001-of-00005.safetensors", "language_model.shared.weight", 1.0f);
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_FORMAT);

  /* No shard there at all. */
  char *first = g_build_filename (dir, "model-00001-of-00005.safetensors", NULL);
  g_unlink (first);
  g_free (first);
  g_assert_null (td_safetensors_open_index (index, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "none of the 5 shards"));

  g_free (index);
  remove_dir (dir);
  g_free (dir);
}

/* A write cancelled before it starts, or from the progress of another thread
 * while writing, leaves neither the file nor its temporary file behind. */
static volatile int write_cancel;

static gpointer
cancel_soon (gpointer data)
{
  g_usleep (GPOINTER_TO_UINT (data));
  write_cancel = 1;
  return NULL;
}

static void
test_write_cancelled (void)
{
  char *dir = make_temp_dir ();
  char *path = g_build_filename (dir, "out.safetensors", NULL);
  /* 256 MiB: many write chunks, so a cancel during the write is seen */
  size_t n = (size_t) 64 << 20;
  float *data = g_malloc0 (n * sizeof (float));
  int64_t shape[1] = { (int64_t) n };
  td_safetensors_entry entry = { .name = "w", .dtype = TD_F32, .ndim = 1, .shape = shape, .data = data,
                                 .nbytes = n * sizeof (float) };
  for (int round = 0; round < 2; round++)
    {
      write_cancel = round == 0;
      GThread *thread = round == 1 ? g_thread_new ("cancel", cancel_soon, GUINT_TO_POINTER (2000)) : NULL;
      td_error err = { 0 };
      td_status st = td_safetensors_write_cancellable (path, &entry, 1, NULL, &write_cancel, &err);
      if (thread != NULL)
        g_thread_join (thread);
      if (round == 1 && st == TD_OK)
        {
          /* the disk was faster than the cancel: the file is whole, nothing else is left */
          g_test_message ("the write finished before the cancel");
          g_unlink (path);
        }
      else
        {
          g_assert_cmpint (st, ==, TD_ERR_CANCELLED);
          g_assert_nonnull (strstr (err.message, path));
        }
      GDir *d = g_dir_open (dir, 0, NULL);
      g_assert_null (g_dir_read_name (d));
      g_dir_close (d);
    }
  g_free (data);
  remove_dir (dir);
  g_free (path);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/writer-rejects", test_writer_rejects);
  g_test_add_func ("/safetensors/unaligned-copy", test_unaligned_copy);
  g_test_add_func ("/safetensors/golden-flux", test_golden_flux);
  g_test_add_func ("/safetensors/bad-corpus", test_bad_corpus);
  g_test_add_func ("/safetensors/missing-and-folder", test_missing_and_folder);
  g_test_add_func ("/safetensors/sharded", test_sharded);
  g_test_add_func ("/safetensors/sharded-absent", test_sharded_absent);
  g_test_add_func ("/safetensors/write-cancelled", test_write_cancelled);
  return g_test_run ();
}
