/* gguf-builder.h — a small valid GGUF image, and where its fields lie, so tests
 * can corrupt one field at a time. Written from the format description in
 * engine/io/gguf.h, independently of the reader. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <string.h>

typedef struct gguf_layout {
  size_t version, n_tensors, n_kv;
  size_t align_key_len, align_type, align_value;
  size_t names_key_len, names_elem_type, names_count, names_first_len;
  size_t flag_type, flag_value;
  size_t t0_name, t0_name_len, t0_n_dims, t0_ne0, t0_ne1, t0_type, t0_offset;
  size_t t1_name, t1_n_dims, t1_ne0, t1_type, t1_offset;
  size_t header_end, data_start;
} gguf_layout;

static inline void
put (GByteArray *b, const void *p, size_t n)
{
  g_byte_array_append (b, p, (guint) n);
}

static inline size_t
put_u32 (GByteArray *b, uint32_t v)
{
  size_t at = b->len;
  put (b, &v, 4);
  return at;
}

static inline size_t
put_u64 (GByteArray *b, uint64_t v)
{
  size_t at = b->len;
  put (b, &v, 8);
  return at;
}

/* Returns where the length field is. */
static inline size_t
put_str (GByteArray *b, const char *s)
{
  size_t at = put_u64 (b, strlen (s));
  put (b, s, strlen (s));
  return at;
}

static inline void
pad_to (GByteArray *b, size_t alignment)
{
  static const uint8_t zero[64] = { 0 };
  while (b->len % alignment != 0)
    put (b, zero, 1);
}

/* GGUF v3, alignment 32 (written as general.alignment), three pairs and two tensors:
 *   w.q8_0  Q8_0 [2, 32] at 0   (68 bytes: d = 1, q = j − 16 in row 0, 16 − j in row 1)
 *   w.f32   F32  [3]     at 96  (1.5, −2, 0.25) */
static inline GByteArray *
gguf_build_valid (gguf_layout *L)
{
  GByteArray *b = g_byte_array_new ();
  put (b, "GGUF", 4);
  L->version = put_u32 (b, 3);
  L->n_tensors = put_u64 (b, 2);
  L->n_kv = put_u64 (b, 3);

  L->align_key_len = put_str (b, "general.alignment");
  L->align_type = put_u32 (b, 4); /* uint32 */
  L->align_value = put_u32 (b, 32);

  L->names_key_len = put_str (b, "test.names");
  put_u32 (b, 9); /* array */
  L->names_elem_type = put_u32 (b, 8); /* of strings */
  L->names_count = put_u64 (b, 2);
  L->names_first_len = put_str (b, "a");
  put_str (b, "bc");

  put_str (b, "test.flag");
  L->flag_type = put_u32 (b, 7);
  uint8_t one = 1;
  L->flag_value = b->len;
  put (b, &one, 1);

  L->t0_name_len = put_str (b, "w.q8_0");
  L->t0_name = L->t0_name_len + 8;
  L->t0_n_dims = put_u32 (b, 2);
  L->t0_ne0 = put_u64 (b, 32);
  L->t0_ne1 = put_u64 (b, 2);
  L->t0_type = put_u32 (b, 8);
  L->t0_offset = put_u64 (b, 0);

  L->t1_name = put_str (b, "w.f32") + 8;
  L->t1_n_dims = put_u32 (b, 1);
  L->t1_ne0 = put_u64 (b, 3);
  L->t1_type = put_u32 (b, 0);
  L->t1_offset = put_u64 (b, 96);
  L->header_end = b->len;
  pad_to (b, 32);
  L->data_start = b->len;

  for (int row = 0; row < 2; row++)
    {
      uint16_t d = 0x3c00; /* 1.0 */
      put (b, &d, 2);
      for (int j = 0; j < 32; j++)
        {
          int8_t q = (int8_t) (row == 0 ? j - 16 : 16 - j);
          put (b, &q, 1);
        }
    }
  pad_to (b, 32);
  float f[3] = { 1.5f, -2.0f, 0.25f };
  put (b, f, sizeof f);
  pad_to (b, 32);
  return b;
}

static inline void
patch_u32 (GByteArray *b, size_t at, uint32_t v)
{
  memcpy (b->data + at, &v, 4);
}

static inline void
patch_u64 (GByteArray *b, size_t at, uint64_t v)
{
  memcpy (b->data + at, &v, 8);
}
