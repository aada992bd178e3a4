#include "models/aligner.h"

#include <stdlib.h>

#include "models/layers.h"

struct td_aligner {
  td_backend *backend;
  td_weights *weights;
  int in_dim, out_dim;
};

/* Reads the dimensions and checks every shape against them. */
/* Reads the dimensions and checks every shape against them: the width from the square
 * middle layer, the input width from the first. */
static td_status
check_layout (td_aligner *a, td_error *err)
{
  const td_tensor *w2 = td_weights_get_host (a->weights, "2.weight", err);
  if (w2 == NULL)
    return err != NULL ? err->status : TD_ERR_NOT_FOUND;
  if (w2->ndim != 2 || w2->shape[0] != w2->shape[1] || w2->shape[0] < 1 || w2->shape[0] > 1 << 20)
    {
      char got[96];
      return td_error_set (err, TD_ERR_FORMAT, "%s: tensor '2.weight' has shape %s, expected a square [d, d]",
                           td_weights_path (a->weights), td_shape_string (w2->ndim, w2->shape, got, sizeof got));
    }
  const td_tensor *w0 = td_weights_get_host (a->weights, "0.weight", err);
  if (w0 == NULL)
    return err != NULL ? err->status : TD_ERR_NOT_FOUND;
  a->out_dim = (int) w2->shape[0];
  a->in_dim = w0->ndim == 2 && w0->shape[1] >= 1 && w0->shape[1] <= 1 << 20 ? (int) w0->shape[1] : -1;
  const int64_t d = a->out_dim;
  td_status st;
  if ((st = td_weights_expectf (a->weights, err, TD_DIMS (d, a->in_dim > 0 ? a->in_dim : TD_ANY), "0.weight"))
      || (a->in_dim < 1 && (st = td_error_set (err, TD_ERR_FORMAT, "%s: tensor '0.weight' has no input width",
                                                td_weights_path (a->weights))))
      || (st = td_weights_expectf (a->weights, err, TD_DIMS (d), "0.bias"))
      || (st = td_weights_expectf (a->weights, err, TD_DIMS (d), "2.bias"))
      || (st = td_weights_expectf (a->weights, err, TD_DIMS (d), "3.weight")))
    return st;
  return TD_OK;
}

td_aligner *
td_aligner_load (const char *path, td_backend *backend, td_error *err)
{
  td_aligner *a = calloc (1, sizeof *a);
  if (a == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading the aligner");
      return NULL;
    }
  a->backend = backend != NULL ? backend : td_backend_host ();
  a->weights = td_weights_open (path, a->backend, err);
  if (a->weights != NULL)
    {
      /* ThinkDiff saves "mm_projector.N.…"; a bare Sequential state dict has "N.…". */
      td_weights_add_prefix (a->weights, "mm_projector.");
      td_weights_add_prefix (a->weights, "model.mm_projector.");
    }
  if (a->weights == NULL || check_layout (a, err) != TD_OK)
    {
      td_error_prefix (err, "loading the aligner");
      td_aligner_free (a);
      return NULL;
    }
  return a;
}

td_aligner *
td_aligner_new_from_weights (td_weights *weights, td_error *err)
{
  td_aligner *a = calloc (1, sizeof *a);
  if (a == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory creating the aligner");
      td_weights_free (weights);
      return NULL;
    }
  a->backend = td_weights_backend (weights);
  a->weights = weights;
  if (check_layout (a, err) != TD_OK)
    {
      td_aligner_free (a);
      return NULL;
    }
  return a;
}

void
td_aligner_free (td_aligner *aligner)
{
  if (aligner == NULL)
    return;
  td_weights_free (aligner->weights);
  free (aligner);
}

int
td_aligner_in_dim (const td_aligner *aligner)
{
  return aligner->in_dim;
}

int
td_aligner_out_dim (const td_aligner *aligner)
{
  return aligner->out_dim;
}

td_tensor *
td_aligner_forward (td_aligner *aligner, const td_tensor *x, td_error *err)
{
  if (x->ndim < 1 || x->shape[x->ndim - 1] != aligner->in_dim || x->dtype != TD_F32)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "aligner input should be f32 [..., %d]", aligner->in_dim);
      return NULL;
    }
  td_layer_ctx ctx = { aligner->backend, aligner->weights, err, TD_OK };
  td_tensor *h = td_layer_linear_act (&ctx, x, "0", TD_UNARY_GELU);
  td_tensor *h2 = td_layer_linear (&ctx, h, "2");
  td_tensor_free (h);
  td_tensor *y = td_layer_rms_norm (&ctx, h2, "3.weight", 1e-6f);
  td_tensor_free (h2);
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (y);
      return NULL;
    }
  return y;
}
