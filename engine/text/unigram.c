/* unigram.c — SentencePiece's Unigram model: the Viterbi path of highest total piece score.
 *
 * Lattice edges are the vocabulary pieces that start at each character boundary; a character
 * no single-character piece covers gets an unknown edge scored (lowest score − 10). Runs of
 * unknown characters come out as one unknown id, as SentencePiece and tokenizers do.
 */
#include "text/tokenizer_private.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#define UNK_PENALTY 10.0

struct td_unigram {
  const td_vocab *vocab;
  double *scores;       /* per id */
  bool *is_piece;       /* per id: may match text */
  size_t n_ids;
  size_t max_piece_bytes;
  int32_t unk_id;
  double unk_score;
  bool byte_fallback;
};

td_unigram *
td_unigram_new (const td_vocab *vocab, const double *scores, const bool *is_piece,
                int32_t unk_id, bool byte_fallback)
{
  td_unigram *uni = g_new0 (td_unigram, 1);
  uni->vocab = vocab;
  uni->n_ids = vocab->n_ids;
  uni->scores = g_memdup2 (scores, uni->n_ids * sizeof (double));
  uni->is_piece = g_memdup2 (is_piece, uni->n_ids * sizeof (bool));
  uni->unk_id = unk_id;
  uni->byte_fallback = byte_fallback;
  double min_score = DBL_MAX;
  for (size_t id = 0; id < uni->n_ids; id++)
    {
      size_t len;
      if (!is_piece[id] || td_vocab_token (vocab, id, &len) == NULL)
        continue;
      min_score = MIN (min_score, scores[id]);
      uni->max_piece_bytes = MAX (uni->max_piece_bytes, len);
    }
  uni->unk_score = (min_score == DBL_MAX ? 0.0 : min_score) - UNK_PENALTY;
  return uni;
}

void
td_unigram_free (td_unigram *uni)
{
  if (uni == NULL)
    return;
  g_free (uni->scores);
  g_free (uni->is_piece);
  g_free (uni);
}

typedef struct best_node {
  double score;
  int64_t starts_at;  /* -1: not reached */
  int32_t id;
} best_node;

static void
emit_unknown (const td_unigram *uni, const char *text, size_t start, size_t end, GArray *ids)
{
  if (uni->byte_fallback)
    {
      GArray *bytes = g_array_new (FALSE, FALSE, sizeof (int32_t));
      for (size_t i = start; i < end; i++)
        {
          char hex[8];
          snprintf (hex, sizeof hex, "<0x%02X>", (uint8_t) text[i]);
          int32_t id = td_vocab_find (uni->vocab, hex, 6);
          if (id < 0)
            break;
          g_array_append_val (bytes, id);
        }
      bool complete = bytes->len == end - start;
      if (complete)
        g_array_append_vals (ids, bytes->data, bytes->len);
      g_array_unref (bytes);
      if (complete)
        return;
    }
  if (uni->unk_id >= 0)
    g_array_append_val (ids, uni->unk_id);
}

void
td_unigram_encode (const td_unigram *uni, const char *text, size_t len, GArray *ids)
{
  if (len == 0)
    return;
  best_node *best = g_new (best_node, len + 1);
  for (size_t i = 0; i <= len; i++)
    best[i] = (best_node) { 0.0, -1, -1 };
  best[0].starts_at = 0;

  for (size_t start = 0; start < len;)
    {
      size_t char_len = MIN ((size_t) g_utf8_skip[(uint8_t) text[start]], len - start);
      double here = best[start].score;
      bool single = false;
      size_t limit = MIN (uni->max_piece_bytes, len - start);
      for (size_t plen = char_len; plen <= limit;)
        {
          int32_t id = td_vocab_find (uni->vocab, text + start, plen);
          if (id >= 0 && (size_t) id < uni->n_ids && uni->is_piece[id])
            {
              double cand = here + uni->scores[id];
              best_node *t = &best[start + plen];
              if (t->starts_at < 0 || cand > t->score)
                *t = (best_node) { cand, (int64_t) start, id };
              if (plen == char_len)
                single = true;
            }
          if (start + plen >= len)
            break;
          plen += g_utf8_skip[(uint8_t) text[start + plen]];
        }
      if (!single)
        {
          double cand = here + uni->unk_score;
          best_node *t = &best[start + char_len];
          if (t->starts_at < 0 || cand > t->score)
            *t = (best_node) { cand, (int64_t) start, -1 };
        }
      start += char_len;
    }

  /* Backtrack, then emit in order; runs of unknown edges fuse into one. */
  GArray *path = g_array_new (FALSE, FALSE, sizeof (size_t));
  for (size_t end = len; end > 0; end = (size_t) best[end].starts_at)
    g_array_append_val (path, end);
  size_t unk_start = 0;
  bool in_unk = false;
  for (guint k = path->len; k-- > 0;)
    {
      size_t end = g_array_index (path, size_t, k);
      size_t start = (size_t) best[end].starts_at;
      bool unk = best[end].id < 0 || best[end].id == uni->unk_id;
      if (unk)
        {
          if (!in_unk)
            unk_start = start, in_unk = true;
          continue;
        }
      if (in_unk)
        emit_unknown (uni, text, unk_start, start, ids), in_unk = false;
      g_array_append_val (ids, best[end].id);
    }
  if (in_unk)
    emit_unknown (uni, text, unk_start, len, ids);
  g_array_unref (path);
  g_free (best);
}
