/* The GGUF reader: the golden file ggml wrote (header, metadata, every tensor
 * decoded bit for bit like ggml), a small hand-built file, and a corpus of bad
 * files that must each be refused with a message naming the file and the
 * reason. `test-gguf --write-corpus tests/data/gguf-bad tests/fuzz-corpus/gguf`
 * writes that corpus as files, and fuzz seeds. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/quant.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "gguf-builder.h"

static char *
golden_path (const char *name)
{
  return g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "gguf", name, NULL);
}

/* ---- the golden file ---- */

static const char *const golden_types[] = { "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0",
                                            "q5_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K" };

static void
test_golden_header (void)
{
  g_autofree char *path = golden_path ("types.gguf");
  td_error err = { 0 };
  td_gguf *g = td_gguf_open (path, &err);
  g_assert_nonnull (g);
  g_assert_cmpuint (td_gguf_version (g), ==, 3);
  g_assert_cmpuint (td_gguf_alignment (g), ==, 32);
  g_assert_cmpuint (td_gguf_data_offset (g), ==, 1248);
  g_assert_cmpuint (td_gguf_kv_count (g), ==, 11);

  int64_t n;
  double d;
  const td_gguf_kv *kv = td_gguf_find_kv (g, "golden.rows");
  g_assert_true (kv != NULL && kv->type == TD_GGUF_UINT32 && td_gguf_kv_integer (kv, 0, &n) && n == 48);
  kv = td_gguf_find_kv (g, "golden.cols");
  g_assert_true (kv != NULL && td_gguf_kv_integer (kv, 0, &n) && n == 512);
  kv = td_gguf_find_kv (g, "golden.f32_value");
  g_assert_true (kv != NULL && kv->type == TD_GGUF_FLOAT32);
  uint32_t bits;
  memcpy (&bits, kv->data, 4);
  g_assert_cmphex (bits, ==, 0x40490FDB);
  kv = td_gguf_find_kv (g, "golden.flag");
  g_assert_true (kv != NULL && kv->type == TD_GGUF_BOOL && td_gguf_kv_integer (kv, 0, &n) && n == 1);
  kv = td_gguf_find_kv (g, "golden.u64_value");
  g_assert_true (kv != NULL && kv->type == TD_GGUF_UINT64 && td_gguf_kv_integer (kv, 0, &n)
                 && n == (int64_t) 0x0123456789ABCDEF);
  kv = td_gguf_find_kv (g, "golden.f64_value");
  g_assert_true (kv != NULL && kv->type == TD_GGUF_FLOAT64 && td_gguf_kv_number (kv, 0, &d) && d == -2.5e-300);
  kv = td_gguf_find_kv (g, "golden.i32_array");
  g_assert_true (kv != NULL && kv->type == TD_GGUF_ARRAY && kv->array_type == TD_GGUF_INT32 && kv->count == 5);
  const int64_t ints[] = { -1, 0, 1, 2147483647, -2147483648LL };
  for (int i = 0; i < 5; i++)
    g_assert_true (td_gguf_kv_integer (kv, (uint64_t) i, &n) && n == ints[i]);
  g_assert_false (td_gguf_kv_integer (kv, 5, &n));
  kv = td_gguf_find_kv (g, "golden.type_names");
  g_assert_true (kv != NULL && kv->array_type == TD_GGUF_STRING && kv->count == 13);
  for (uint64_t i = 0; i < 13; i++)
    {
      uint64_t len;
      const uint8_t *s = td_gguf_kv_array_string (g, kv, i, &len);
      g_assert_cmpuint (len, ==, strlen (golden_types[i]));
      g_assert_cmpint (memcmp (s, golden_types[i], len), ==, 0);
    }

  g_assert_cmpuint (td_gguf_tensor_count (g), ==, 13);
  static const uint64_t offsets[] = { 0, 98304, 147456, 196608, 222720, 236544, 251904,
                                      268800, 287232, 295296, 305856, 319680, 336576 };
  static const uint64_t sizes[] = { 98304, 49152, 49152, 26112, 13824, 15360, 16896,
                                    18432, 8064, 10560, 13824, 16896, 20160 };
  for (size_t i = 0; i < 13; i++)
    {
      const td_gguf_tensor_info *t = td_gguf_tensor_at (g, i);
      g_autofree char *name = g_strdup_printf ("w.%s", golden_types[i]);
      g_assert_cmpstr (t->name, ==, name);
      g_assert_true (td_gguf_find_tensor (g, name) == t);
      g_assert_cmpint (t->ndim, ==, 2);
      g_assert_cmpint (t->ne[0], ==, 512);
      g_assert_cmpint (t->shape[0], ==, 48);
      g_assert_cmpint (t->shape[1], ==, 512);
      g_assert_cmpuint (t->offset, ==, offsets[i]);
      g_assert_cmpuint (t->nbytes, ==, sizes[i]);
      g_assert_cmpstr (td_dtype_name (t->dtype), ==, golden_types[i]);
    }
  td_gguf_close (g);
}

/* Every type decodes to ggml's own values, bit for bit. */
static void
test_golden_dequantize (void)
{
  g_autofree char *path = golden_path ("types.gguf");
  g_autofree char *ref_path = golden_path ("types_ref.safetensors");
  td_error err = { 0 };
  td_gguf *g = td_gguf_open (path, &err);
  td_safetensors *ref = td_safetensors_open (ref_path, &err);
  g_assert_nonnull (g);
  g_assert_nonnull (ref);
  for (size_t i = 0; i < td_gguf_tensor_count (g); i++)
    {
      const td_gguf_tensor_info *info = td_gguf_tensor_at (g, i);
      td_tensor *w = td_gguf_tensor_of (g, info, &err);
      g_assert_nonnull (w);
      float *values = td_tensor_to_f32 (w, &err);
      g_assert_nonnull (values);
      const td_safetensors_info *expected = td_safetensors_find (ref, info->name);
      g_assert_nonnull (expected);
      g_assert_cmpuint (expected->nbytes, ==, 48 * 512 * sizeof (float));
      const uint32_t *want = td_safetensors_data (ref, expected);
      size_t mismatches = 0;
      for (size_t j = 0; j < 48 * 512; j++)
        {
          uint32_t got;
          memcpy (&got, &values[j], 4);
          mismatches += got != want[j];
        }
      if (mismatches != 0)
        g_error ("%s: %zu of %d values differ from ggml's", info->name, mismatches, 48 * 512);
      free (values);
      td_tensor_free (w);
    }
  td_safetensors_close (ref);
  td_gguf_close (g);
}

/* ---- the hand-built file ---- */

static void
test_small_valid (void)
{
  gguf_layout L;
  GByteArray *b = gguf_build_valid (&L);
  td_error err = { 0 };
  td_gguf *g = td_gguf_open_memory (b->data, b->len, "small.gguf", &err);
  if (g == NULL)
    g_error ("%s", err.message);
  g_assert_cmpuint (td_gguf_kv_count (g), ==, 3);
  g_assert_cmpuint (td_gguf_data_offset (g), ==, L.data_start);
  const td_gguf_kv *names = td_gguf_find_kv (g, "test.names");
  uint64_t len;
  const uint8_t *s = td_gguf_kv_array_string (g, names, 1, &len);
  g_assert_true (len == 2 && memcmp (s, "bc", 2) == 0);
  g_assert_null (td_gguf_kv_array_string (g, names, 2, &len));

  td_tensor *q = td_gguf_tensor (g, "w.q8_0", &err);
  g_assert_nonnull (q);
  g_assert_cmpint (q->dtype, ==, TD_Q8_0);
  float *v = td_tensor_to_f32 (q, &err);
  for (int j = 0; j < 32; j++)
    {
      g_assert_cmpfloat (v[j], ==, (float) (j - 16));
      g_assert_cmpfloat (v[32 + j], ==, (float) (16 - j));
    }
  free (v);
  /* A row slice of a block type starts at its row's first block. */
  td_tensor *row = td_tensor_slice (q, 0, 1, 1, &err);
  g_assert_nonnull (row);
  v = td_tensor_to_f32 (row, &err);
  g_assert_cmpfloat (v[0], ==, 16.0f);
  free (v);
  g_assert_null (td_tensor_slice (q, 1, 0, 16, &err));
  td_tensor_free (row);
  td_tensor_free (q);

  td_tensor *f = td_gguf_tensor (g, "w.f32", &err);
  g_assert_nonnull (f);
  g_assert_cmpfloat (((float *) td_tensor_host_data (f))[1], ==, -2.0f);
  td_tensor_free (f);
  g_assert_null (td_gguf_tensor (g, "missing", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  td_gguf_close (g);
  g_byte_array_unref (b);
}

/* ---- bad files ---- */

typedef struct bad_case {
  const char *name;
  td_status status;
  const char *reason; /* a piece of the message */
  void (*corrupt) (GByteArray *b, const gguf_layout *L);
} bad_case;

static void c_magic (GByteArray *b, const gguf_layout *L) { (void) L; b->data[0] = 'X'; }
static void c_version1 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->version, 1); }
static void c_version99 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->version, 99); }
static void c_big_endian (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->version, 0x03000000); }
static void c_n_kv_2p40 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->n_kv, (uint64_t) 1 << 40); }
static void c_n_tensors_2p40 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->n_tensors, (uint64_t) 1 << 40); }
static void c_key_empty (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->align_key_len, 0); }
static void c_key_2p63 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->align_key_len, (uint64_t) 1 << 63); }
static void c_string_2p63 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->names_first_len, (uint64_t) 1 << 63); }
static void c_value_type_99 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->flag_type, 99); }
static void c_array_2p40 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->names_count, (uint64_t) 1 << 40); }
static void c_array_of_arrays (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->names_elem_type, 9); }
static void c_bool_2 (GByteArray *b, const gguf_layout *L) { b->data[L->flag_value] = 2; }
static void c_alignment_0 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->align_value, 0); }
static void c_alignment_3 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->align_value, 3); }
static void c_alignment_128k (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->align_value, 1u << 17); }
static void c_alignment_int32 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->align_type, 5); }
static void c_n_dims_5 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->t0_n_dims, 5); }
static void c_n_dims_0 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->t0_n_dims, 0); }
static void c_zero_dim (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t0_ne1, 0); }
static void c_dim_2p63 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t0_ne1, (uint64_t) 1 << 63); }
static void
c_numel_overflow (GByteArray *b, const gguf_layout *L)
{
  patch_u64 (b, L->t0_ne0, (uint64_t) 1 << 32);
  patch_u64 (b, L->t0_ne1, (uint64_t) 1 << 31);
}
static void
c_bytes_overflow (GByteArray *b, const gguf_layout *L)
{
  /* 2^62 f32 values: the element count fits in 63 bits, the bytes do not. */
  patch_u64 (b, L->t1_ne0, (uint64_t) 1 << 62);
}
static void c_partial_block (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t0_ne0, 33); }
static void c_type_99 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->t0_type, 99); }
static void c_type_iq2 (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->t0_type, 16); }
static void c_type_removed (GByteArray *b, const gguf_layout *L) { patch_u32 (b, L->t0_type, 4); }
static void c_offset_past_end (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t1_offset, 4096); }
static void c_offset_2p63 (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t1_offset, (uint64_t) 1 << 63); }
static void c_offset_unaligned (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t1_offset, 97); }
static void c_overlap (GByteArray *b, const gguf_layout *L) { patch_u64 (b, L->t1_offset, 64); }
static void c_name_nul (GByteArray *b, const gguf_layout *L) { b->data[L->t0_name + 1] = '\0'; }
static void c_padding_nonzero (GByteArray *b, const gguf_layout *L) { b->data[L->header_end] = 0xff; }
static void
c_trailing (GByteArray *b, const gguf_layout *L)
{
  (void) L;
  static const uint8_t extra[64] = { 0 };
  g_byte_array_append (b, extra, sizeof extra);
}

static const bad_case bad_cases[] = {
  { "magic", TD_ERR_FORMAT, "not a GGUF file", c_magic },
  { "version-1", TD_ERR_UNSUPPORTED, "version 1", c_version1 },
  { "version-99", TD_ERR_FORMAT, "unknown GGUF version 99", c_version99 },
  { "big-endian", TD_ERR_UNSUPPORTED, "big-endian", c_big_endian },
  { "n-kv-2p40", TD_ERR_FORMAT, "1099511627776 metadata pairs", c_n_kv_2p40 },
  { "n-tensors-2p40", TD_ERR_FORMAT, "1099511627776 tensors", c_n_tensors_2p40 },
  { "key-empty", TD_ERR_FORMAT, "is empty", c_key_empty },
  { "key-length-2p63", TD_ERR_FORMAT, "over the limit", c_key_2p63 },
  { "string-length-2p63", TD_ERR_FORMAT, "claims 9223372036854775808 bytes", c_string_2p63 },
  { "value-type-99", TD_ERR_FORMAT, "unknown value type 99", c_value_type_99 },
  { "array-length-2p40", TD_ERR_FORMAT, "claims 1099511627776 string elements", c_array_2p40 },
  { "array-of-arrays", TD_ERR_FORMAT, "array of arrays", c_array_of_arrays },
  { "bool-2", TD_ERR_FORMAT, "bool of value 2", c_bool_2 },
  { "alignment-0", TD_ERR_FORMAT, "general.alignment is 0", c_alignment_0 },
  { "alignment-3", TD_ERR_FORMAT, "general.alignment is 3", c_alignment_3 },
  { "alignment-128k", TD_ERR_FORMAT, "general.alignment is 131072", c_alignment_128k },
  { "alignment-int32", TD_ERR_FORMAT, "not a uint32", c_alignment_int32 },
  { "n-dims-5", TD_ERR_FORMAT, "has 5 dimensions", c_n_dims_5 },
  { "n-dims-0", TD_ERR_FORMAT, "has 0 dimensions", c_n_dims_0 },
  { "zero-dim", TD_ERR_FORMAT, "has the dimension 0", c_zero_dim },
  { "dim-2p63", TD_ERR_FORMAT, "has the dimension 9223372036854775808", c_dim_2p63 },
  { "numel-overflow", TD_ERR_FORMAT, "element count overflows", c_numel_overflow },
  { "bytes-overflow", TD_ERR_FORMAT, "byte size overflows", c_bytes_overflow },
  { "partial-block", TD_ERR_FORMAT, "not whole blocks of 32", c_partial_block },
  { "type-99", TD_ERR_FORMAT, "unknown type id 99", c_type_99 },
  { "type-removed-4", TD_ERR_FORMAT, "unknown type id 4", c_type_removed },
  { "type-iq2-xxs", TD_ERR_UNSUPPORTED, "iq2_xxs", c_type_iq2 },
  { "offset-past-end", TD_ERR_FORMAT, "spans bytes 4096", c_offset_past_end },
  { "offset-2p63", TD_ERR_FORMAT, "spans bytes 9223372036854775808", c_offset_2p63 },
  { "offset-unaligned", TD_ERR_FORMAT, "not a multiple of the alignment", c_offset_unaligned },
  { "overlap", TD_ERR_FORMAT, "overlap", c_overlap },
  { "name-nul", TD_ERR_FORMAT, "NUL byte", c_name_nul },
  { "padding-nonzero", TD_ERR_FORMAT, "non-zero", c_padding_nonzero },
  { "trailing-bytes", TD_ERR_FORMAT, "follow the last tensor", c_trailing },
};

static GByteArray *
build_bad (const bad_case *c)
{
  gguf_layout L;
  GByteArray *b = gguf_build_valid (&L);
  c->corrupt (b, &L);
  return b;
}

static void
expect_refused (const void *data, size_t size, const char *name, td_status status, const char *reason)
{
  td_error err = { 0 };
  td_gguf *g = td_gguf_open_memory (data, size, name, &err);
  if (g != NULL)
    g_error ("%s: accepted", name);
  if (err.status != status || strstr (err.message, name) != err.message
      || (reason != NULL && strstr (err.message, reason) == NULL))
    g_error ("%s: status %d, message '%s'; expected status %d and '%s'", name, err.status, err.message, status,
             reason != NULL ? reason : "");
}

static void
test_bad_cases (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      GByteArray *b = build_bad (&bad_cases[i]);
      g_autofree char *name = g_strdup_printf ("%s.gguf", bad_cases[i].name);
      expect_refused (b->data, b->len, name, bad_cases[i].status, bad_cases[i].reason);
      g_byte_array_unref (b);
    }
}

/* Two tensors of one name: built directly, since names are length-prefixed. */
static void
test_duplicates (void)
{
  GByteArray *b = g_byte_array_new ();
  put (b, "GGUF", 4);
  put_u32 (b, 3);
  put_u64 (b, 2);
  put_u64 (b, 2);
  put_str (b, "k");
  put_u32 (b, 4);
  put_u32 (b, 1);
  put_str (b, "k");
  put_u32 (b, 4);
  put_u32 (b, 2);
  put_str (b, "t");
  put_u32 (b, 1);
  put_u64 (b, 8);
  put_u32 (b, 0);
  put_u64 (b, 0);
  put_str (b, "t");
  put_u32 (b, 1);
  put_u64 (b, 8);
  put_u32 (b, 0);
  put_u64 (b, 32);
  pad_to (b, 32);
  for (int i = 0; i < 64; i++)
    put (b, "\0", 1);
  expect_refused (b->data, b->len, "duplicate-key.gguf", TD_ERR_FORMAT, "metadata key 'k' appears twice");
  /* Rename the second key: now the tensors clash. */
  b->data[4 + 4 + 8 + 8 + 8 + 1 + 4 + 4 + 8] = 'j';
  expect_refused (b->data, b->len, "duplicate-tensor.gguf", TD_ERR_FORMAT, "tensor 't' appears twice");
  g_byte_array_unref (b);
}

/* Every prefix that ends before the last tensor's data does is refused,
 * whatever section it cuts (the padding after the last tensor is optional). */
static void
test_truncated_everywhere (void)
{
  gguf_layout L;
  GByteArray *b = gguf_build_valid (&L);
  guint data_end = (guint) L.data_start + 96 + 3 * sizeof (float);
  for (guint n = 0; n < data_end; n++)
    {
      uint8_t *copy = g_memdup2 (b->data, n > 0 ? n : 1);
      g_autofree char *name = g_strdup_printf ("truncated-%u.gguf", n);
      expect_refused (copy, n, name, TD_ERR_FORMAT, NULL);
      g_free (copy);
    }
  td_error err = { 0 };
  td_gguf *g = td_gguf_open_memory (b->data, data_end, "unpadded.gguf", &err);
  g_assert_nonnull (g);
  td_gguf_close (g);
  g_byte_array_unref (b);
}

/* The files in tests/data/gguf-bad (written by --write-corpus) are refused too. */
static void
test_corpus_files (void)
{
  g_autofree char *dir_path = g_build_filename (g_getenv ("TD_TEST_DATA"), "gguf-bad", NULL);
  GDir *dir = g_dir_open (dir_path, 0, NULL);
  g_assert_nonnull (dir);
  const char *name;
  int count = 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".gguf"))
        continue;
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      td_error err = { 0 };
      td_gguf *g = td_gguf_open (path, &err);
      if (g != NULL)
        g_error ("%s: accepted", path);
      g_assert_nonnull (strstr (err.message, path));
      count++;
    }
  g_dir_close (dir);
  g_assert_cmpint (count, >=, (int) G_N_ELEMENTS (bad_cases));
}

/* The bad files into dir, and the valid file plus a few bad ones as fuzz seeds. */
/* A FIFO or a folder is refused at once (never read, never blocked on). */
static void
test_not_regular (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-gguf-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "pipe.gguf", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  td_error err = { 0 };
  g_assert_null (td_gguf_open (fifo, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_IO);
  g_assert_nonnull (strstr (err.message, fifo));
  g_assert_false (td_gguf_file_is_gguf (fifo));
  g_assert_null (td_gguf_open (dir, &err));
  g_assert_nonnull (strstr (err.message, dir));
  g_unlink (fifo);
  g_rmdir (dir);
}

static int
write_corpus (const char *dir, const char *seed_dir)
{
  g_mkdir_with_parents (seed_dir, 0755);
  g_mkdir_with_parents (dir, 0755);
  for (size_t i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      GByteArray *b = build_bad (&bad_cases[i]);
      g_autofree char *path = g_strdup_printf ("%s/%s.gguf", dir, bad_cases[i].name);
      g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, NULL));
      if (i % 4 == 0)
        {
          g_autofree char *seed = g_strdup_printf ("%s/%s.gguf", seed_dir, bad_cases[i].name);
          g_assert_true (g_file_set_contents (seed, (const char *) b->data, b->len, NULL));
        }
      g_byte_array_unref (b);
    }
  gguf_layout L;
  GByteArray *b = gguf_build_valid (&L);
  g_autofree char *truncated = g_strdup_printf ("%s/truncated-in-tensor-infos.gguf", dir);
  g_assert_true (g_file_set_contents (truncated, (const char *) b->data, (gssize) L.t1_name, NULL));
  g_autofree char *valid = g_strdup_printf ("%s/good.gguf", seed_dir);
  g_assert_true (g_file_set_contents (valid, (const char *) b->data, b->len, NULL));
  g_byte_array_unref (b);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 4 && strcmp (argv[1], "--write-corpus") == 0)
    return write_corpus (argv[2], argv[3]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gguf/golden-header", test_golden_header);
  g_test_add_func ("/gguf/golden-dequantize", test_golden_dequantize);
  g_test_add_func ("/gguf/small-valid", test_small_valid);
  g_test_add_func ("/gguf/bad-cases", test_bad_cases);
  g_test_add_func ("/gguf/duplicates", test_duplicates);
  g_test_add_func ("/gguf/truncated-everywhere", test_truncated_everywhere);
  g_test_add_func ("/gguf/corpus-files", test_corpus_files);
  g_test_add_func ("/gguf/not-regular", test_not_regular);
  return g_test_run ();
}
