/* qwen2vl_force.c — teacher forcing: the hidden states a given answer would have been
 * picked from, with one forward pass over the answer instead of sampling it. */
#include "models/qwen2vl_private.h"

td_status
td_qwen2vl_teacher_force (td_qwen2vl_session *session, const td_tensor *prefill_hidden, const int32_t *tokens,
                          int n, td_tensor **hidden, td_error *err)
{
  td_qwen2vl *model = session->model;
  const td_qwen2vl_config *c = &model->config;
  *hidden = NULL;
  if (tokens == NULL || n < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: teacher forcing needs at least one answer token");
  if (n - 1 > session->max_tokens - session->length)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: %d answer tokens do not fit the session (%d of %d used)",
                         n, session->length, session->max_tokens);
  if (prefill_hidden == NULL || prefill_hidden->ndim != 3 || prefill_hidden->shape[0] != 1
      || prefill_hidden->shape[1] < 1 || prefill_hidden->shape[2] != c->hidden_size || session->length < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: teacher forcing needs the hidden states of a prefill");
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
      return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL: answer token %d is id %d, outside the vocabulary (%d)",
                           i, tokens[i], c->vocab_size);

  const int64_t all_shape[3] = { 1, n, c->hidden_size };
  td_tensor *all = td_tensor_new (model->backend, TD_F32, 3, all_shape, err);
  td_tensor *last = all ? td_tensor_slice (prefill_hidden, 1, prefill_hidden->shape[1] - 1, 1, err) : NULL;
  td_tensor *row0 = last ? td_tensor_slice (all, 1, 0, 1, err) : NULL;
  td_status st = row0 ? td_copy (model->backend, row0, last, err) : (err ? err->status : TD_ERR_NO_MEMORY);
  /* Row 0 is the last prompt position, rows 1 … n−1 the answer tokens 0 … n−2, as
   * generation keeps them; the last token is not fed, as generation never feeds it back. */
  if (st == TD_OK && n > 1)
    {
      td_tensor *fed = td_qwen2vl_session_append (session, tokens, NULL, n - 1, err);
      td_tensor *rest = fed ? td_tensor_slice (all, 1, 1, n - 1, err) : NULL;
      st = rest ? td_copy (model->backend, rest, fed, err) : (err ? err->status : TD_ERR_DEVICE);
      td_tensor_free (rest);
      td_tensor_free (fed);
    }
  td_tensor_free (row0);
  td_tensor_free (last);
  if (st != TD_OK)
    {
      td_tensor_free (all);
      return st;
    }
  *hidden = all;
  return TD_OK;
}
