/* qwen2vl_generate.c — token-by-token decoding with the key/value cache: greedy or
 * temperature + top-p sampling (TD_OP_SAMPLE, seeded), a callback per token, and the
 * final-norm hidden state each token was picked from kept on the backend.
 *
 * Each token is picked on the backend and fed back from there. The host waits for a
 * token only when it needs it to go on (an EOS to stop at). Streamed to a callback
 * without EOS (ThinkDiff-LVLM), each id is read asynchronously and handed over once the
 * device has it, a few tokens behind, while later tokens are recorded; otherwise every
 * id stays on the backend until one read at the end. Either way no step waits for the
 * one before it to finish. */
#include <math.h>
#include <stdlib.h>

#include "models/qwen2vl_private.h"

static td_status
check_params (const td_qwen2vl_session *session, const td_tensor *prefill_hidden,
              const td_qwen2vl_generate_params *p, td_error *err)
{
  const td_qwen2vl_config *c = &session->model->config;
  if (p->max_new_tokens < 1 || p->min_new_tokens < 0 || p->min_new_tokens > p->max_new_tokens)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: bad token counts (min %d, max %d new tokens)",
                         p->min_new_tokens, p->max_new_tokens);
  if (p->max_new_tokens > session->max_tokens - session->length)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: %d new tokens do not fit the session (%d of %d used)",
                         p->max_new_tokens, session->length, session->max_tokens);
  if (!isfinite (p->temperature) || !(p->top_p > 0.0f && p->top_p <= 1.0f))
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: temperature %g / top_p %g are out of range",
                         p->temperature, p->top_p);
  if (prefill_hidden == NULL || prefill_hidden->ndim != 3 || prefill_hidden->shape[0] != 1
      || prefill_hidden->shape[1] < 1 || prefill_hidden->shape[2] != c->hidden_size || session->length < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: generation needs the hidden states of a prefill");
  return TD_OK;
}

/* Makes one token unpickable: its logit becomes −∞. */
static td_status
suppress_token (td_tensor *logits, int token, td_error *err)
{
  td_tensor *cell = td_tensor_slice (logits, 2, token, 1, err);
  if (cell == NULL)
    return err != NULL ? err->status : TD_ERR_INVALID_ARG;
  const float minus_inf = -INFINITY;
  td_status st = td_tensor_upload (cell, &minus_inf, sizeof minus_inf, err);
  td_tensor_free (cell);
  return st;
}

/* Picks token `index` from logits [1, 1, vocab] into the i32 [1, 1] tensor `token`;
 * reads it into *out unless out is NULL. */
static td_status
pick_token (td_qwen2vl_session *session, const td_qwen2vl_generate_params *p, td_tensor *logits, td_tensor *token,
            int index, int32_t *out, td_error *err)
{
  const td_qwen2vl_config *c = &session->model->config;
  td_backend *backend = session->model->backend;
  td_status st = TD_OK;
  /* Every EOS id, as vLLM's min_tokens does (with or without ignore_eos). */
  for (int k = 0; st == TD_OK && index < p->min_new_tokens && k < c->n_eos_token_ids; k++)
    if (c->eos_token_ids[k] < c->vocab_size)
      st = suppress_token (logits, c->eos_token_ids[k], err);
  if (st == TD_OK)
    st = td_sample (backend, token, logits, p->temperature, p->top_p, p->seed, (uint64_t) index, err);
  if (st == TD_OK && out != NULL)
    st = td_tensor_download (token, out, sizeof *out, err);
  return st;
}

static bool
is_eos (const td_qwen2vl_config *c, int32_t id)
{
  for (int k = 0; k < c->n_eos_token_ids; k++)
    if (c->eos_token_ids[k] == id)
      return true;
  return false;
}

/* Copies the hidden state [1, 1, hidden] h into row `index` of all. */
static td_status
keep_hidden (td_backend *backend, td_tensor *all, const td_tensor *h, int index, td_error *err)
{
  td_tensor *row = td_tensor_slice (all, 1, index, 1, err);
  td_status st = row != NULL ? td_copy (backend, row, h, err) : (err != NULL ? err->status : TD_ERR_INVALID_ARG);
  td_tensor_free (row);
  return st;
}

/* Tokens streamed while decoding goes on: one asynchronous read per picked token. */
typedef struct token_stream {
  const td_qwen2vl_generate_params *params;
  td_backend_readback **reads; /* [max_new_tokens], NULL once handed over */
  int delivered;               /* tokens handed to the callback */
} token_stream;

enum { STREAM_MAX_IN_FLIGHT = 32 };

/* Hands over the tokens read so far, in order: those the device has finished, or
 * all of the first `until` when wait is set. */
static td_status
stream_deliver (token_stream *stream, int32_t *tokens, int until, bool wait, td_error *err)
{
  while (stream->delivered < until)
    {
      const int index = stream->delivered;
      bool ready = false;
      td_status st = td_backend_read_poll (stream->reads[index], wait, &tokens[index], sizeof *tokens, &ready, err);
      if (st != TD_OK)
        return st;
      if (!ready)
        return TD_OK;
      td_backend_readback_free (stream->reads[index]);
      stream->reads[index] = NULL;
      stream->delivered++;
      if (!stream->params->on_token (stream->params->user, index, tokens[index]))
        return td_error_set (err, TD_ERR_CANCELLED, "Qwen2-VL: generation cancelled after %d tokens", index + 1);
    }
  return TD_OK;
}

/* Queues the read of the token just picked (index), then hands over what is ready. */
static td_status
stream_token (token_stream *stream, td_backend *backend, const td_tensor *token, int32_t *tokens, int index,
              td_error *err)
{
  if ((stream->reads[index] = td_backend_read_begin (backend, token, err)) == NULL)
    return err != NULL ? err->status : TD_ERR_DEVICE;
  /* Waits only when the device lags far behind the host. */
  const int must = index + 1 - STREAM_MAX_IN_FLIGHT;
  td_status st = must > stream->delivered ? stream_deliver (stream, tokens, must, true, err) : TD_OK;
  return st == TD_OK ? stream_deliver (stream, tokens, index + 1, false, err) : st;
}

static void
stream_clear (token_stream *stream, int count)
{
  for (int i = 0; stream->reads != NULL && i < count; i++)
    td_backend_readback_free (stream->reads[i]);
  free (stream->reads);
}

td_status
td_qwen2vl_generate (td_qwen2vl_session *session, const td_tensor *prefill_hidden,
                     const td_qwen2vl_generate_params *params, int32_t *tokens, int *n_generated,
                     td_tensor **hidden, td_error *err)
{
  td_qwen2vl *model = session->model;
  const td_qwen2vl_config *c = &model->config;
  *n_generated = 0;
  if (hidden != NULL)
    *hidden = NULL;
  td_status st = check_params (session, prefill_hidden, params, err);
  if (st != TD_OK)
    return st;

  /* Only an EOS to stop at needs each id on the host before the next step. */
  const bool read_each = !params->ignore_eos;
  token_stream stream = { .params = params };
  if (params->on_token != NULL && !read_each
      && (stream.reads = calloc ((size_t) params->max_new_tokens, sizeof *stream.reads)) == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL: out of memory for %d streamed tokens",
                         params->max_new_tokens);
  const int64_t ids_shape[2] = { 1, read_each ? 1 : params->max_new_tokens };
  const int64_t all_shape[3] = { 1, params->max_new_tokens, c->hidden_size };
  td_tensor *ids = td_tensor_new (model->backend, TD_I32, 2, ids_shape, err);
  td_tensor *token = NULL;
  td_tensor *all = ids && hidden ? td_tensor_new (model->backend, TD_F32, 3, all_shape, err) : NULL;
  td_tensor *last = ids ? td_tensor_slice (prefill_hidden, 1, prefill_hidden->shape[1] - 1, 1, err) : NULL;
  td_tensor *logits = last ? td_qwen2vl_logits (model, last, err) : NULL;
  if (logits == NULL || (hidden != NULL && all == NULL))
    st = err != NULL && err->status != TD_OK ? err->status : TD_ERR_NO_MEMORY;
  /* Row 0: the last prompt position, which the first token is picked from. */
  if (st == TD_OK && all != NULL)
    st = keep_hidden (model->backend, all, last, 0, err);
  td_tensor_free (last);

  int count = 0;
  while (st == TD_OK && count < params->max_new_tokens)
    {
      int32_t id = 0;
      td_tensor_free (token);
      if ((token = td_tensor_slice (ids, 1, read_each ? 0 : count, 1, err)) == NULL)
        {
          st = err != NULL ? err->status : TD_ERR_NO_MEMORY;
          break;
        }
      if ((st = pick_token (session, params, logits, token, count, read_each ? &id : NULL, err)) != TD_OK)
        break;
      tokens[count++] = id;
      if (stream.reads != NULL && (st = stream_token (&stream, model->backend, token, tokens, count - 1, err)) != TD_OK)
        break;
      if (params->on_token != NULL && read_each && !params->on_token (params->user, count - 1, id))
        {
          st = td_error_set (err, TD_ERR_CANCELLED, "Qwen2-VL: generation cancelled after %d tokens", count);
          break;
        }
      td_tensor_free (logits);
      logits = NULL;
      /* The last token is not fed back: nothing is picked from it. */
      if ((!params->ignore_eos && is_eos (c, id)) || count == params->max_new_tokens)
        break;
      td_tensor *h = td_qwen2vl_session_append (session, NULL, token, 1, err);
      if (h == NULL)
        {
          st = err != NULL ? err->status : TD_ERR_DEVICE;
          break;
        }
      if (all != NULL)
        st = keep_hidden (model->backend, all, h, count, err);
      if (st == TD_OK && (logits = td_qwen2vl_logits (model, h, err)) == NULL)
        st = err != NULL ? err->status : TD_ERR_DEVICE;
      td_tensor_free (h);
    }
  td_tensor_free (logits);
  td_tensor_free (token);
  if (st == TD_OK && stream.reads != NULL)
    st = stream_deliver (&stream, tokens, count, true, err);
  stream_clear (&stream, count);
  /* Never stopped early: every id is in `ids`. */
  if (st == TD_OK && !read_each)
    st = td_tensor_download (ids, tokens, (size_t) count * sizeof *tokens, err);
  td_tensor_free (ids);
  *n_generated = count;
  if (st == TD_OK && all != NULL)
    {
      *hidden = count == params->max_new_tokens ? all : td_tensor_slice (all, 1, 0, count, err);
      if (*hidden != all)
        td_tensor_free (all);
      all = NULL;
      if (*hidden == NULL)
        st = err != NULL ? err->status : TD_ERR_NO_MEMORY;
    }
  td_tensor_free (all);
  return st;
}
