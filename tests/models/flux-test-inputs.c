/* flux-test-inputs.c — random inputs for the memory tests of the FLUX models. */
#include "flux-test-inputs.h"

#include <glib.h>

#include "pipeline/flux_pipeline.h"

td_tensor *
flux_test_noise (td_backend *backend, int ndim, const int64_t *shape, uint64_t seed)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *data = g_new (float, n);
  td_gaussian_noise (seed, data, n);
  td_error err = { 0 };
  td_tensor *t = td_tensor_new (backend, TD_F32, ndim, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, data, (size_t) n * sizeof (float), &err), ==, TD_OK);
  g_free (data);
  return t;
}

td_status
flux_test_inputs_new (td_flux_dit *model, td_backend *backend, int side, int tokens, flux_test_inputs *in,
                      td_error *err)
{
  const td_flux_config *config = td_flux_dit_config (model);
  const int grid = side / 16, n_img = grid * grid;
  float *img_ids = g_new0 (float, (gsize) n_img * 3), *txt_ids = g_new0 (float, (gsize) tokens * 3);
  for (int i = 0; i < n_img; i++)
    img_ids[i * 3 + 1] = (float) (i / grid), img_ids[i * 3 + 2] = (float) (i % grid);
  *in = (flux_test_inputs) { 0 };
  td_status st = td_flux_dit_rope (model, txt_ids, tokens, img_ids, n_img, &in->cos, &in->sin, err);
  g_free (img_ids), g_free (txt_ids);
  const int64_t latent_shape[3] = { 1, n_img, config->in_channels };
  const int64_t txt_shape[3] = { 1, tokens, config->joint_attention_dim };
  const int64_t pooled_shape[2] = { 1, config->pooled_projection_dim };
  in->latents = flux_test_noise (backend, 3, latent_shape, 1);
  in->txt = flux_test_noise (backend, 3, txt_shape, 2);
  in->pooled = flux_test_noise (backend, 2, pooled_shape, 3);
  return st;
}

void
flux_test_inputs_clear (flux_test_inputs *in)
{
  td_tensor_free (in->latents), td_tensor_free (in->txt), td_tensor_free (in->pooled);
  td_tensor_free (in->cos), td_tensor_free (in->sin);
  *in = (flux_test_inputs) { 0 };
}
