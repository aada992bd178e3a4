/* sentencepiece_model.c — reads a SentencePiece ModelProto (spiece.model) with a small, strict
 * protobuf reader: every varint, length and field is bounds-checked and a wrong wire type for
 * a known field is an error. Only Unigram models are accepted.
 *
 * Fields used (sentencepiece_model.proto):
 *   ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
 *   SentencePiece   1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
 *   TrainerSpec     3 model_type (UNIGRAM = 1), 35 byte_fallback
 *   NormalizerSpec  2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces,
 *                   5 escape_whitespaces (all three default true)
 */
#include "text/tokenizer_private.h"

#include <stdio.h>
#include <string.h>

#define T5_EXTRA_IDS 100

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };
enum { PIECE_NORMAL = 1, PIECE_UNKNOWN = 2, PIECE_CONTROL = 3, PIECE_USER_DEFINED = 4,
       PIECE_UNUSED = 5, PIECE_BYTE = 6 };

typedef struct pb {
  const uint8_t *p, *end;
  const char *name;
  const char *what;   /* the message being read, for errors */
  const uint8_t *base;
  td_error *err;
} pb;

static td_status
pb_fail (pb *r, const char *problem)
{
  return td_error_set (r->err, TD_ERR_FORMAT, "%s: malformed protobuf in %s at byte %zu: %s",
                       r->name, r->what, (size_t) (r->p - r->base), problem);
}

static td_status
pb_varint (pb *r, uint64_t *out)
{
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7)
    {
      if (r->p >= r->end)
        return pb_fail (r, "varint runs past the end");
      uint8_t b = *r->p++;
      if (shift == 63 && (b & 0x7e) != 0)
        return pb_fail (r, "varint overflows 64 bits");
      v |= (uint64_t) (b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        {
          *out = v;
          return TD_OK;
        }
    }
  return pb_fail (r, "varint longer than 10 bytes");
}

/* Reads a tag; *FIELD 0 at the end of the message. */
static td_status
pb_tag (pb *r, uint32_t *field, uint32_t *wire)
{
  *field = 0;
  if (r->p >= r->end)
    return TD_OK;
  uint64_t tag;
  td_status st = pb_varint (r, &tag);
  if (st != TD_OK)
    return st;
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
    return pb_fail (r, "invalid field number");
  *field = tag >> 3;
  *wire = tag & 7;
  return TD_OK;
}

static td_status
pb_bytes (pb *r, const uint8_t **data, size_t *len)
{
  uint64_t n;
  td_status st = pb_varint (r, &n);
  if (st != TD_OK)
    return st;
  if (n > (uint64_t) (r->end - r->p))
    return pb_fail (r, "length runs past the end");
  *data = r->p;
  *len = n;
  r->p += n;
  return TD_OK;
}

static td_status
pb_skip (pb *r, uint32_t wire)
{
  uint64_t v;
  const uint8_t *d;
  size_t n;
  switch (wire)
    {
    case WIRE_VARINT:
      return pb_varint (r, &v);
    case WIRE_LEN:
      return pb_bytes (r, &d, &n);
    case WIRE_FIXED64:
    case WIRE_FIXED32:
      n = wire == WIRE_FIXED64 ? 8 : 4;
      if ((size_t) (r->end - r->p) < n)
        return pb_fail (r, "fixed-size field runs past the end");
      r->p += n;
      return TD_OK;
    default:
      return pb_fail (r, "unsupported wire type (groups are not allowed)");
    }
}

static td_status
pb_expect (pb *r, uint32_t wire, uint32_t expected)
{
  return wire == expected ? TD_OK : pb_fail (r, "a known field has the wrong wire type");
}

static pb
pb_sub (const pb *r, const char *what, const uint8_t *data, size_t len)
{
  return (pb) { data, data + len, r->name, what, r->base, r->err };
}

typedef struct piece {
  const uint8_t *text;
  size_t len;
  float score;
  uint32_t type;
} piece;

static td_status
read_piece (pb *r, piece *out)
{
  *out = (piece) { NULL, 0, 0.0f, PIECE_NORMAL };
  td_status st;
  uint32_t field, wire;
  uint64_t v;
  while ((st = pb_tag (r, &field, &wire)) == TD_OK && field != 0)
    {
      if (field == 1)
        st = pb_expect (r, wire, WIRE_LEN) ?: pb_bytes (r, &out->text, &out->len);
      else if (field == 2)
        {
          if ((st = pb_expect (r, wire, WIRE_FIXED32)) == TD_OK)
            {
              if (r->end - r->p < 4)
                return pb_fail (r, "score runs past the end");
              uint32_t bits = r->p[0] | r->p[1] << 8 | r->p[2] << 16 | (uint32_t) r->p[3] << 24;
              memcpy (&out->score, &bits, 4);
              r->p += 4;
            }
        }
      else if (field == 3)
        {
          if ((st = pb_expect (r, wire, WIRE_VARINT) ?: pb_varint (r, &v)) == TD_OK)
            {
              if (v < PIECE_NORMAL || v > PIECE_BYTE)
                return pb_fail (r, "unknown piece type");
              out->type = v;
            }
        }
      else
        st = pb_skip (r, wire);
      if (st != TD_OK)
        return st;
    }
  if (st == TD_OK && out->text == NULL)
    return pb_fail (r, "a piece has no text");
  return st;
}

typedef struct spec {
  uint64_t model_type;
  bool byte_fallback;
  const uint8_t *charsmap;
  size_t charsmap_len;
  bool add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
} spec;

static td_status
read_bool (pb *r, uint32_t wire, bool *out)
{
  uint64_t v;
  td_status st = pb_expect (r, wire, WIRE_VARINT) ?: pb_varint (r, &v);
  if (st == TD_OK)
    *out = v != 0;
  return st;
}

static td_status
read_trainer_spec (pb *r, spec *s)
{
  td_status st;
  uint32_t field, wire;
  while ((st = pb_tag (r, &field, &wire)) == TD_OK && field != 0)
    {
      if (field == 3)
        st = pb_expect (r, wire, WIRE_VARINT) ?: pb_varint (r, &s->model_type);
      else if (field == 35)
        st = read_bool (r, wire, &s->byte_fallback);
      else
        st = pb_skip (r, wire);
      if (st != TD_OK)
        return st;
    }
  return st;
}

static td_status
read_normalizer_spec (pb *r, spec *s)
{
  td_status st;
  uint32_t field, wire;
  while ((st = pb_tag (r, &field, &wire)) == TD_OK && field != 0)
    {
      if (field == 2)
        st = pb_expect (r, wire, WIRE_LEN) ?: pb_bytes (r, &s->charsmap, &s->charsmap_len);
      else if (field == 3)
        st = read_bool (r, wire, &s->add_dummy_prefix);
      else if (field == 4)
        st = read_bool (r, wire, &s->remove_extra_whitespaces);
      else if (field == 5)
        st = read_bool (r, wire, &s->escape_whitespaces);
      else
        st = pb_skip (r, wire);
      if (st != TD_OK)
        return st;
    }
  return st;
}

static td_status
build (const char *name, GArray *pieces, const spec *s, td_tokenizer *tok, td_error *err)
{
  size_t n = pieces->len;
  g_autofree double *scores = g_new0 (double, n + T5_EXTRA_IDS);
  g_autofree bool *is_piece = g_new0 (bool, n + T5_EXTRA_IDS);
  int32_t unk = -1;
  for (size_t i = 0; i < n; i++)
    {
      const piece *pc = &g_array_index (pieces, piece, i);
      g_autofree char *where = g_strdup_printf ("%s: piece %zu", name, i);
      if (pc->len == 0)
        return td_error_set (err, TD_ERR_FORMAT, "%s is empty", where);
      if (!g_utf8_validate_len ((const char *) pc->text, pc->len, NULL))
        return td_error_set (err, TD_ERR_FORMAT, "%s is not valid UTF-8", where);
      td_vocab_result r = td_vocab_add (&tok->vocab, (const char *) pc->text, pc->len, i);
      if (r != TD_VOCAB_ADDED)
        return td_vocab_add_error (err, where, r, (const char *) pc->text, pc->len, i);
      scores[i] = pc->score;
      is_piece[i] = pc->type == PIECE_NORMAL || pc->type == PIECE_USER_DEFINED;
      if (pc->type == PIECE_UNKNOWN)
        {
          if (unk >= 0)
            return td_error_set (err, TD_ERR_FORMAT, "%s: two pieces have the unknown type (%d and %zu)", name, unk, i);
          unk = i;
        }
    }
  if (unk < 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: no piece has the unknown type", name);
  tok->model = TD_TOKENIZER_UNIGRAM;
  tok->unk_id = unk;
  tok->unigram = td_unigram_new (&tok->vocab, scores, is_piece, unk, s->byte_fallback);

  /* Control and unknown pieces are recognised in the text, like transformers does. */
  for (size_t i = 0; i < n; i++)
    {
      const piece *pc = &g_array_index (pieces, piece, i);
      if (pc->type == PIECE_CONTROL || pc->type == PIECE_UNKNOWN)
        td_tokenizer_add_added (tok, (const char *) pc->text, pc->len, i, true, false, false, false);
    }
  /* T5's sentinels: <extra_id_0> is the last id. */
  for (int k = 0; k < T5_EXTRA_IDS; k++)
    {
      char text[32];
      int len = snprintf (text, sizeof text, "<extra_id_%d>", k);
      int64_t id = (int64_t) n + T5_EXTRA_IDS - 1 - k;
      td_vocab_result r = td_vocab_add (&tok->vocab, text, len, id);
      if (r != TD_VOCAB_ADDED)
        return td_vocab_add_error (err, name, r, text, len, id);
      td_tokenizer_add_added (tok, text, len, id, true, false, false, false);
    }

  td_norm_step *norm = g_new0 (td_norm_step, 1);
  norm->kind = TD_NORM_SENTENCEPIECE;
  norm->add_dummy_prefix = s->add_dummy_prefix;
  norm->remove_extra_whitespaces = s->remove_extra_whitespaces;
  norm->escape_whitespaces = s->escape_whitespaces;
  tok->norm = norm;
  tok->n_norm = 1;
  if (s->charsmap_len > 0)
    {
      td_status st = td_charsmap_new (name, s->charsmap, s->charsmap_len, &norm->charsmap, err);
      if (st != TD_OK)
        return st;
    }
  tok->decoder = TD_DECODE_METASPACE;
  strcpy (tok->metaspace, "\xe2\x96\x81");
  tok->decoder_strip_first_space = s->add_dummy_prefix;

  tok->eos_id = td_vocab_find (&tok->vocab, "</s>", 4);
  tok->pad_id = td_vocab_find (&tok->vocab, "<pad>", 5);
  if (tok->eos_id >= 0)
    {
      tok->suffix_ids = g_new (int32_t, 1);
      tok->suffix_ids[0] = tok->eos_id;
      tok->n_suffix = 1;
    }
  return td_tokenizer_finish (tok, err);
}

td_status
td_tokenizer_load_spiece_model (const char *name, const uint8_t *data, size_t size,
                                td_tokenizer **out, td_error *err)
{
  *out = NULL;
  td_error local;
  if (err == NULL)
    err = &local;
  if (size > TD_TOKENIZER_FILE_MAX)
    return td_error_set (err, TD_ERR_LIMIT, "%s: %zu bytes is more than a tokenizer file may have", name, size);
  pb r = { data, data + size, name, "ModelProto", data, err };
  spec s = { .model_type = 1, .add_dummy_prefix = true, .remove_extra_whitespaces = true,
             .escape_whitespaces = true };
  GArray *pieces = g_array_new (FALSE, FALSE, sizeof (piece));
  td_status st;
  uint32_t field, wire;
  while ((st = pb_tag (&r, &field, &wire)) == TD_OK && field != 0)
    {
      const uint8_t *d = NULL;
      size_t len = 0;
      if (field >= 1 && field <= 3)
        {
          if ((st = pb_expect (&r, wire, WIRE_LEN) ?: pb_bytes (&r, &d, &len)) != TD_OK)
            break;
          pb sub = pb_sub (&r, field == 1 ? "a SentencePiece" : field == 2 ? "TrainerSpec" : "NormalizerSpec", d, len);
          if (field == 1)
            {
              piece pc;
              if ((st = read_piece (&sub, &pc)) == TD_OK)
                g_array_append_val (pieces, pc);
              if (pieces->len > TD_VOCAB_MAX_IDS - T5_EXTRA_IDS)
                st = td_error_set (err, TD_ERR_LIMIT, "%s: too many pieces", name);
            }
          else if (field == 2)
            st = read_trainer_spec (&sub, &s);
          else
            st = read_normalizer_spec (&sub, &s);
        }
      else
        st = pb_skip (&r, wire);
      if (st != TD_OK)
        break;
    }
  if (st == TD_OK && pieces->len == 0)
    st = td_error_set (err, TD_ERR_FORMAT, "%s: the model has no pieces (not a SentencePiece model?)", name);
  if (st == TD_OK && s.model_type != 1)
    st = td_error_set (err, TD_ERR_UNSUPPORTED, "%s: SentencePiece model type %" G_GUINT64_FORMAT " is not supported (only Unigram)",
                       name, s.model_type);
  td_tokenizer *tok = NULL;
  if (st == TD_OK)
    {
      tok = td_tokenizer_alloc (name);
      st = build (name, pieces, &s, tok, err);
    }
  g_array_unref (pieces);
  if (st != TD_OK)
    {
      td_tokenizer_free (tok);
      return st;
    }
  *out = tok;
  return TD_OK;
}
