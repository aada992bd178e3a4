/* Streaming the FLUX transformer block by block (Vulkan, lavapipe in CI): on the small
 * random-weight transformer (2 double + 4 single blocks) the streamed forward, every
 * block or only some, gives the same output as the resident one, and under a cap
 * between the plan's streamed and whole peaks only the streamed runs fit, their
 * high-water marks under the cap. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "backend/backend.h"
#include "flux-test-inputs.h"
#include "models/layers.h"
#include "models/random_models.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/memory_plan.h"
#include "td-test-models.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

enum { SIDE = 256, TOKENS = 77 };

/* One forward of a fresh model; *out (g_free) receives the output when it succeeds. */
static td_status
forward (td_backend *backend, int resident, float **out, int64_t *n, size_t *peak, td_error *err)
{
  const td_flux_config config = td_flux_config_small ();
  td_backend_reset_peak (backend);
  td_flux_dit *model = td_flux_dit_new_random (&config, backend, TD_BF16, 9, err);
  g_assert_nonnull (model);
  td_flux_dit_set_resident_blocks (model, resident);
  flux_test_inputs in;
  td_tensor *v = NULL;
  td_status st = flux_test_inputs_new (model, backend, SIDE, TOKENS, &in, err);
  if (st == TD_OK
      && (v = td_flux_dit_forward (model, in.latents, in.txt, in.pooled, 0.5f, 3.5f, in.cos, in.sin, err)) == NULL)
    st = err->status;
  if (st == TD_OK)
    {
      *n = td_tensor_numel (v);
      *out = g_new (float, *n);
      st = td_tensor_download (v, *out, (size_t) *n * sizeof (float), err);
    }
  td_backend_memory (backend, NULL, peak);
  td_tensor_free (v);
  flux_test_inputs_clear (&in);
  td_flux_dit_free (model);
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

#ifdef TD_HAVE_VULKAN
static void
on_stage (void *user, const char *stage)
{
  if (strstr (stage, "streamed") != NULL)
    g_strlcpy (user, stage, 200);
}

static td_tensor *
generate (td_flux_pipeline *pipeline, const td_tensor *embeds, const td_tensor *pooled, char *streaming, size_t *peak,
          td_error *err)
{
  const td_flux_params params = { .width = 64, .height = 64, .steps = 2, .guidance = 3.5f, .seed = 5 };
  const td_flux_callbacks callbacks = { .stage = on_stage, .user = streaming };
  td_tensor *image = NULL;
  td_backend_reset_peak (td_tensor_backend (embeds));
  td_status st = td_flux_pipeline_generate (pipeline, embeds, pooled, &params, NULL, &callbacks, &image, err);
  td_backend_memory (td_tensor_backend (embeds), NULL, peak);
  g_assert_cmpint (st, ==, st == TD_OK ? TD_OK : err->status);
  return image;
}
#endif

/* The pipeline on the demo FLUX folder: under a cap the whole transformer does not fit
 * beside what the pipeline holds, it keeps what fits, streams the rest, and paints the
 * unconstrained run's image with its high-water mark under the cap. */
static void
test_pipeline_under_cap (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  td_backend *backend = td_backend_vulkan_new (-1, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  g_autofree char *root = g_dir_make_tmp ("td-flux-streaming-XXXXXX", NULL);
  const char *make_demo[] = { g_getenv ("TD_CLI"), "make-demo-models", root, NULL };
  td_test_run (make_demo);
  g_autofree char *flux = g_build_filename (root, "flux-dev", NULL);
  g_autofree char *transformer = g_build_filename (flux, "transformer", NULL);
  td_flux_dit *host_model = td_flux_dit_load (transformer, NULL, &err);
  g_assert_nonnull (host_model);
  const td_flux_config config = *td_flux_dit_config (host_model);
  td_plan_format format = TD_PLAN_BF16;
  g_assert_true (td_plan_format_of_dtype (td_flux_dit_stored_dtype (host_model), &format));
  td_flux_dit_free (host_model);

  const int64_t embeds_shape[3] = { 1, TOKENS, config.joint_attention_dim };
  const int64_t pooled_shape[2] = { 1, config.pooled_projection_dim };
  td_tensor *embeds = flux_test_noise (backend, 3, embeds_shape, 11);
  td_tensor *pooled = flux_test_noise (backend, 2, pooled_shape, 12);
  td_flux_pipeline *pipeline = td_flux_pipeline_new (flux, NULL, backend, &err);
  g_assert_nonnull (pipeline);
  char streaming[200] = "";
  size_t whole_peak = 0, capped_peak = 0, held = 0;
  td_tensor *whole = generate (pipeline, embeds, pooled, streaming, &whole_peak, &err);
  g_assert_nonnull (whole);
  g_assert_cmpstr (streaming, ==, "");

  /* The VAE stays loaded between runs: the cap leaves the transformer room for its
   * streamed peak and not its whole one. */
  td_backend_memory (backend, &held, NULL);
  const td_plan_stage plan = td_plan_flux_stage (&config, 64, 64, TOKENS, format);
  const size_t cap = held + (size_t) (td_plan_streamed_peak (&plan) + plan.peak) / 2;
  td_backend_set_budget (backend, cap);
  td_tensor *capped = generate (pipeline, embeds, pooled, streaming, &capped_peak, &err);
  g_test_message ("demo FLUX 64², %d blocks: whole run %zu B, under a %zu B cap %zu B (\"%s\")",
                  plan.blocks, whole_peak, cap, capped_peak, streaming);
  g_assert_nonnull (capped);
  g_assert_nonnull (strstr (streaming, "transformer blocks resident, the rest streamed"));
  g_assert_cmpuint (capped_peak, <=, cap);
  g_assert_cmpuint (td_tensor_nbytes (capped), ==, td_tensor_nbytes (whole));
  g_assert_cmpmem (td_tensor_host_data (capped), td_tensor_nbytes (capped), td_tensor_host_data (whole),
                   td_tensor_nbytes (whole));

  td_tensor_free (whole), td_tensor_free (capped);
  td_flux_pipeline_free (pipeline);
  td_tensor_free (embeds), td_tensor_free (pooled);
  td_backend_free (backend);
  td_test_remove_tree (root);
#else
  g_test_skip ("built without Vulkan");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flux-streaming/streamed-matches-resident", test_streamed_matches_resident);
  g_test_add_func ("/flux-streaming/pipeline-under-cap", test_pipeline_under_cap);
  return g_test_run ();
}
