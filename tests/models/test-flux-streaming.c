/* Streaming the FLUX transformer block by block (Vulkan, lavapipe in CI): on the small
 * random-weight transformer (2 double + 4 single blocks) the streamed forward, every
 * block or only some, gives the same output as the resident one, and under a cap
 * between the plan's streamed and whole peaks only the streamed runs fit, their
 * high-water marks under the cap. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "backend/backend.h"
#include "models/layers.h"
#include "models/random_models.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/memory_plan.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

enum { SIDE = 256, TOKENS = 77 };

static td_tensor *
noise (td_backend *backend, int ndim, const int64_t *shape, uint64_t seed)
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

/* One forward of a fresh model; *out (g_free) receives the output when it succeeds. */
static td_status
forward (td_backend *backend, int resident, float **out, int64_t *n, size_t *peak, td_error *err)
{
  const td_flux_config config = td_flux_config_small ();
  td_backend_reset_peak (backend);
  td_flux_dit *model = td_flux_dit_new_random (&config, backend, TD_BF16, 9, err);
  g_assert_nonnull (model);
  td_flux_dit_set_resident_blocks (model, resident);
  const int grid = SIDE / 16, n_img = grid * grid;
  float *img_ids = g_new0 (float, (gsize) n_img * 3), *txt_ids = g_new0 (float, (gsize) TOKENS * 3);
  for (int i = 0; i < n_img; i++)
    img_ids[i * 3 + 1] = (float) (i / grid), img_ids[i * 3 + 2] = (float) (i % grid);
  td_tensor *cos = NULL, *sin = NULL, *v = NULL;
  td_status st = td_flux_dit_rope (model, txt_ids, TOKENS, img_ids, n_img, &cos, &sin, err);
  const int64_t latent_shape[3] = { 1, n_img, config.in_channels };
  const int64_t txt_shape[3] = { 1, TOKENS, config.joint_attention_dim };
  const int64_t pooled_shape[2] = { 1, config.pooled_projection_dim };
  td_tensor *latents = noise (backend, 3, latent_shape, 1), *txt = noise (backend, 3, txt_shape, 2);
  td_tensor *pooled = noise (backend, 2, pooled_shape, 3);
  if (st == TD_OK && (v = td_flux_dit_forward (model, latents, txt, pooled, 0.5f, 3.5f, cos, sin, err)) == NULL)
    st = err->status;
  if (st == TD_OK)
    {
      *n = td_tensor_numel (v);
      *out = g_new (float, *n);
      st = td_tensor_download (v, *out, (size_t) *n * sizeof (float), err);
    }
  td_backend_memory (backend, NULL, peak);
  td_tensor_free (v), td_tensor_free (latents), td_tensor_free (txt), td_tensor_free (pooled);
  td_tensor_free (cos), td_tensor_free (sin);
  td_flux_dit_free (model);
  g_free (img_ids), g_free (txt_ids);
  return st;
}

static void
test_streamed_matches_resident (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  td_backend *backend = td_backend_vulkan_new (-1, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  const td_flux_config config = td_flux_config_small ();
  const td_plan_stage plan = td_plan_flux_stage (&config, SIDE, SIDE, TOKENS, TD_PLAN_BF16);
  const uint64_t streamed_plan = td_plan_streamed_peak (&plan);
  g_assert_cmpuint (streamed_plan, <, plan.peak);
  const size_t cap = (size_t) (streamed_plan + (plan.peak - streamed_plan) / 2);

  float *whole = NULL, *streamed = NULL;
  int64_t n_whole = 0, n_streamed = 0;
  size_t whole_peak = 0, streamed_peak = 0, held = 0;
  g_assert_cmpint (forward (backend, TD_BLOCKS_ALL, &whole, &n_whole, &whole_peak, &err), ==, TD_OK);
  g_assert_cmpint (forward (backend, 0, &streamed, &n_streamed, &streamed_peak, &err), ==, TD_OK);
  g_test_message ("small FLUX %d², %d tokens: whole plan %.3f MiB, run %.3f MiB; streamed plan %.3f MiB, run %.3f MiB",
                  SIDE, TOKENS, plan.peak / 1048576.0, whole_peak / 1048576.0, streamed_plan / 1048576.0,
                  streamed_peak / 1048576.0);
  g_assert_cmpint (n_whole, ==, n_streamed);
  float worst = 0;
  for (int64_t i = 0; i < n_whole; i++)
    worst = fmaxf (worst, fabsf (whole[i] - streamed[i]));
  g_test_message ("largest difference %g", worst);
  g_assert_cmpfloat (worst, <=, 1e-5);
  g_assert_cmpfloat (fabs ((double) streamed_peak - (double) streamed_plan) / (double) streamed_plan, <=, 0.10);

  /* Under the cap: the resident run is refused, the streamed one fits and matches. */
  td_backend_set_budget (backend, cap);
  float *capped = NULL;
  int64_t n_capped = 0;
  size_t capped_peak = 0;
  g_assert_cmpint (forward (backend, TD_BLOCKS_ALL, &capped, &n_capped, &capped_peak, &err), ==, TD_ERR_NO_MEMORY);
  g_assert_nonnull (strstr (err.message, "memory cap"));
  td_error_clear (&err);
  td_backend_memory (backend, &held, NULL);
  g_assert_cmpuint (held, ==, 0);
  g_assert_cmpint (forward (backend, 0, &capped, &n_capped, &capped_peak, &err), ==, TD_OK);
  g_assert_cmpuint (capped_peak, <=, cap);
  g_assert_cmpint (memcmp (capped, streamed, (size_t) n_capped * sizeof (float)), ==, 0);
  g_free (capped);

  /* Partial residency: the planner keeps some blocks under the cap, the run with that
   * many resident fits it and gives the same output. */
  const int resident = td_plan_resident_blocks (&plan, cap);
  g_test_message ("cap %.3f MiB: %d of %d blocks resident, plan %.3f MiB", cap / 1048576.0, resident, plan.blocks,
                  td_plan_stage_peak_with (&plan, resident) / 1048576.0);
  g_assert_cmpint (resident, >, 0);
  g_assert_cmpint (resident, <, plan.blocks);
  g_assert_cmpuint (td_plan_stage_peak_with (&plan, resident), <=, cap);
  g_assert_cmpuint (td_plan_stage_peak_with (&plan, resident + 1), >, cap);
  capped = NULL;
  g_assert_cmpint (forward (backend, resident, &capped, &n_capped, &capped_peak, &err), ==, TD_OK);
  g_test_message ("partial run %.3f MiB", capped_peak / 1048576.0);
  g_assert_cmpuint (capped_peak, <=, cap);
  g_assert_cmpuint (capped_peak, >, streamed_peak);
  g_assert_cmpint (memcmp (capped, streamed, (size_t) n_capped * sizeof (float)), ==, 0);
  g_free (whole), g_free (streamed), g_free (capped);
  td_backend_free (backend);
#else
  g_test_skip ("built without Vulkan");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flux-streaming/streamed-matches-resident", test_streamed_matches_resident);
  return g_test_run ();
}
