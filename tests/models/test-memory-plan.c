/* The memory plan: its weight counts agree with the declared models, block formats
 * take ggml's bytes, strategies follow the budget, and on a real run of the small FLUX
 * transformer the allocator's high-water mark is the planned peak within 10 %. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "backend/backend.h"
#include "flux-test-inputs.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif
#include "models/layers.h"
#include "models/random_models.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/memory_plan.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static int64_t
declared (td_status status, td_weights *weights)
{
  g_assert_cmpint (status, ==, TD_OK);
  int64_t elements, bytes;
  td_weights_declared_size (weights, &elements, &bytes);
  td_weights_free (weights);
  return elements;
}

static void
test_counts_match_declared_models (void)
{
  const td_flux_config flux[2] = { td_flux_config_dev (), td_flux_config_small () };
  const td_t5_config t5[2] = { td_t5_config_xxl (), td_t5_config_small () };
  for (int i = 0; i < 2; i++)
    {
      td_weights *w = td_weights_new_random (NULL, 1);
      g_assert_cmpuint (td_plan_flux_params (&flux[i]), ==,
                        declared (td_flux_dit_declare_weights (&flux[i], w, TD_BF16, NULL), w));
      w = td_weights_new_random (NULL, 1);
      g_assert_cmpuint (td_plan_t5_params (&t5[i]), ==,
                        declared (td_t5_encoder_declare_weights (&t5[i], w, TD_BF16, NULL), w));
    }
}

static void
test_format_bytes (void)
{
  g_assert_cmpuint (td_plan_format_bytes (TD_PLAN_BF16, 4096 * 4096, 4096), ==, 2u * 4096 * 4096);
  g_assert_cmpuint (td_plan_format_bytes (TD_PLAN_Q8_0, 4096 * 4096, 4096), ==, 4096u * 4096 / 32 * 34);
  g_assert_cmpuint (td_plan_format_bytes (TD_PLAN_Q4_K, 4096 * 4096, 4096), ==, 4096u * 4096 / 256 * 144);
  g_assert_cmpuint (td_plan_format_bytes (TD_PLAN_Q6_K, 512 * 256, 256), ==, 512u * 210);
  /* Rows that are not whole blocks stay bf16. */
  g_assert_cmpuint (td_plan_format_bytes (TD_PLAN_Q4_K, 64 * 3072, 64), ==, 2u * 64 * 3072);
  td_plan_format f;
  g_assert_true (td_plan_format_parse ("q4_k", &f));
  g_assert_cmpint (f, ==, TD_PLAN_Q4_K);
  g_assert_false (td_plan_format_parse ("q4_k_m", &f));
}

static td_memory_plan
plan_lvlm (td_plan_format format, double budget_gib)
{
  td_plan_models models = td_plan_models_real ();
  td_plan_request r = td_plan_request_default (TD_PLAN_LVLM, 1024, 1024);
  r.format[TD_PLAN_FAMILY_FLUX] = r.format[TD_PLAN_FAMILY_T5] = r.format[TD_PLAN_FAMILY_LVLM] = format;
  r.budget = (uint64_t) (budget_gib * GIB);
  td_memory_plan plan;
  td_error err = { 0 };
  g_assert_cmpint (td_memory_plan_make (&models, &r, &plan, &err), ==, TD_OK);
  return plan;
}

static const td_plan_stage *
stage_named (const td_memory_plan *plan, const char *name)
{
  for (int i = 0; i < plan->n_stages; i++)
    if (strcmp (plan->stage[i].name, name) == 0)
      return &plan->stage[i];
  g_assert_not_reached ();
}

static void
test_strategies (void)
{
  /* FLUX.1-dev is 23.8 GB and Qwen2-VL-7B 16.6 GB in bf16. */
  td_memory_plan bf16 = plan_lvlm (TD_PLAN_BF16, 0);
  g_assert_cmpint (bf16.strategy, ==, TD_PLAN_ALL_RESIDENT);
  g_assert_cmpfloat (fabs (stage_named (&bf16, "flux transformer")->weights / 1e9 - 23.8), <, 0.1);
  g_assert_cmpfloat (fabs (stage_named (&bf16, "qwen2-vl")->weights / 1e9 - 16.6), <, 0.1);

  /* 12 GiB at bf16: FLUX and Qwen2-VL stream, each keeping as many blocks as fit; so
   * at 8 GiB, with fewer blocks kept. */
  td_memory_plan capped = plan_lvlm (TD_PLAN_BF16, 12);
  g_assert_cmpint (capped.strategy, ==, TD_PLAN_STREAMED);
  const td_plan_stage *flux = stage_named (&capped, "flux transformer");
  const td_plan_stage *qwen = stage_named (&capped, "qwen2-vl");
  g_assert_cmpint (flux->strategy, ==, TD_PLAN_STREAMED);
  g_assert_cmpint (qwen->strategy, ==, TD_PLAN_STREAMED);
  for (int i = 0; i < capped.n_stages; i++)
    g_assert_cmpuint (capped.stage[i].planned, <=, 12 * GIB);
  g_assert_cmpint (qwen->blocks, ==, 28 + 32);
  g_assert_cmpint (qwen->resident_blocks, >, 0);
  g_assert_cmpint (qwen->resident_blocks, <, qwen->blocks);
  g_assert_cmpuint (td_plan_stage_peak_with (qwen, qwen->resident_blocks + 1), >, 12 * GIB);
  td_memory_plan small = plan_lvlm (TD_PLAN_BF16, 8);
  g_assert_cmpint (small.strategy, ==, TD_PLAN_STREAMED);
  for (int i = 0; i < small.n_stages; i++)
    g_assert_cmpuint (small.stage[i].planned, <=, 8 * GIB);
  g_assert_cmpint (stage_named (&small, "qwen2-vl")->resident_blocks, <, qwen->resident_blocks);
  g_assert_cmpint (stage_named (&small, "flux transformer")->resident_blocks, <, flux->resident_blocks);

  /* Q8_0 at 12 GiB: every stage fits, FLUX (11.8 GiB of weights) with only a few of its
   * 57 blocks streamed. */
  td_memory_plan q8 = plan_lvlm (TD_PLAN_Q8_0, 12);
  g_assert_cmpint (q8.strategy, ==, TD_PLAN_STREAMED);
  for (int i = 0; i < q8.n_stages; i++)
    g_assert_cmpuint (q8.stage[i].planned, <=, 12 * GIB);
  const td_plan_stage *q8_flux = stage_named (&q8, "flux transformer");
  g_assert_cmpint (q8_flux->blocks, ==, 57);
  g_assert_cmpint (q8_flux->resident_blocks, >=, 57 - 10);
  g_assert_cmpint (q8_flux->resident_blocks, <, 57);

  /* Q4_K in 8 GiB: one stage at a time, nothing streamed. */
  td_memory_plan q4 = plan_lvlm (TD_PLAN_Q4_K, 8);
  g_assert_cmpint (q4.strategy, ==, TD_PLAN_STAGE_BY_STAGE);
  for (int i = 0; i < q4.n_stages; i++)
    g_assert_cmpuint (q4.stage[i].peak, <=, 8 * GIB);

  /* A cap below the VAE's weights fits nothing. */
  td_memory_plan tiny = plan_lvlm (TD_PLAN_Q4_K, 0.1);
  g_assert_cmpint (tiny.strategy, ==, TD_PLAN_DOES_NOT_FIT);

  td_plan_models models = td_plan_models_real ();
  td_plan_request bad = td_plan_request_default (TD_PLAN_T2I, 1000, 1024);
  td_memory_plan plan;
  td_error err = { 0 };
  g_assert_cmpint (td_memory_plan_make (&models, &bad, &plan, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "multiples of 16"));
}

/* The resident count is the largest whose peak fits: each block kept adds its size,
 * the two streamed slots go once nothing streams. */
static void
test_resident_blocks (void)
{
  const td_flux_config config = td_flux_config_dev ();
  td_plan_stage s = td_plan_flux_stage (&config, 1024, 1024, 512, TD_PLAN_Q8_0);
  g_assert_cmpint (s.blocks, ==, 57);
  g_assert_cmpint (s.n_groups, ==, 2);
  g_assert_cmpuint (td_plan_stage_peak_with (&s, 0), ==, td_plan_streamed_peak (&s));
  g_assert_cmpuint (td_plan_stage_peak_with (&s, 57), ==, s.peak);
  g_assert_cmpuint (td_plan_stage_peak_with (&s, 1000), ==, s.peak);
  /* Keeping one more double block costs one double block, while two stream. */
  g_assert_cmpuint (td_plan_stage_peak_with (&s, 1) - td_plan_stage_peak_with (&s, 0), ==, s.group[0].bytes);
  /* With every double block kept, the single blocks' phase decides. */
  const uint64_t all_double = td_plan_stage_peak_with (&s, 19);
  g_assert_cmpuint (all_double, ==, s.fixed_weights + 19 * s.group[0].bytes
                                      + MAX (s.group[0].activations, 2 * s.group[1].bytes + s.group[1].activations)
                                      + s.workspace);
  for (int r = 0; r < 57; r++)
    g_assert_cmpuint (td_plan_stage_peak_with (&s, r), <=, td_plan_stage_peak_with (&s, r + 1));
  /* The largest fitting count, at and around each count's own peak. */
  for (int r = 0; r < 57; r++)
    {
      const uint64_t peak = td_plan_stage_peak_with (&s, r);
      if (td_plan_stage_peak_with (&s, r + 1) == peak)
        continue;
      g_assert_cmpint (td_plan_resident_blocks (&s, peak), ==, r);
    }
  g_assert_cmpint (td_plan_resident_blocks (&s, s.peak), ==, 57);
  g_assert_cmpint (td_plan_resident_blocks (&s, 0), ==, 57);
  g_assert_cmpint (td_plan_resident_blocks (&s, td_plan_streamed_peak (&s) - 1), ==, -1);

  /* Qwen2-VL keeps the language model's layers first. */
  const td_plan_models models = td_plan_models_real ();
  td_plan_stage q = td_plan_qwen2vl_stage (&models.qwen2vl, 1024, 1024, 128, TD_PLAN_BF16);
  g_assert_cmpint (q.blocks, ==, 60);
  g_assert_cmpint (q.group[0].count, ==, 28);
  g_assert_cmpint (q.group[1].count, ==, 32);
  g_assert_cmpuint (td_plan_stage_peak_with (&q, 1) - td_plan_stage_peak_with (&q, 0), ==, q.group[0].bytes);
  /* T5-XXL and BLIP-2's tower: one group each, every block the same size. */
  td_plan_stage t5 = td_plan_t5_stage (&models.t5, 512, TD_PLAN_BF16);
  g_assert_cmpint (t5.blocks, ==, 24);
  g_assert_cmpuint (td_plan_stage_peak_with (&t5, 24), ==, t5.peak);
  g_assert_cmpuint (td_plan_stage_peak_with (&t5, 22), ==, t5.peak);
  g_assert_cmpuint (td_plan_stage_peak_with (&t5, 21), ==, t5.peak - t5.group[0].bytes);
  td_plan_stage eva = td_plan_eva_stage (&models.eva, TD_PLAN_BF16);
  g_assert_cmpint (eva.blocks, ==, 39);
  g_assert_cmpint (td_plan_resident_blocks (&eva, td_plan_stage_peak_with (&eva, 10)), ==, 10);
}

/* Runs the small transformer once at side × side with `tokens` text tokens; returns the
 * status and the allocator's high-water mark over loading and the step. */
static td_status
run_small_flux (td_backend *backend, int side, int tokens, size_t *peak, td_error *err)
{
  const td_flux_config config = td_flux_config_small ();
  td_backend_reset_peak (backend);
  td_flux_dit *model = td_flux_dit_new_random (&config, backend, TD_BF16, 7, err);
  if (model == NULL)
    return err->status;
  flux_test_inputs in;
  td_tensor *v = NULL;
  td_status st = flux_test_inputs_new (model, backend, side, tokens, &in, err);
  if (st == TD_OK
      && (v = td_flux_dit_forward (model, in.latents, in.txt, in.pooled, 0.5f, 3.5f, in.cos, in.sin, err)) == NULL)
    st = err->status;
  if (st == TD_OK)
    st = td_backend_sync (backend, err);
  td_backend_memory (backend, NULL, peak);
  td_tensor_free (v);
  flux_test_inputs_clear (&in);
  td_flux_dit_free (model);
  return st;
}

/* The plan for the small transformer at side² with `tokens` text tokens. */
static td_plan_stage
small_flux_plan (int side, int tokens)
{
  td_plan_models models = td_plan_models_real ();
  models.flux = td_flux_config_small ();
  td_plan_request r = td_plan_request_default (TD_PLAN_T2I, side, side);
  r.text_tokens = tokens;
  td_memory_plan plan;
  td_error err = { 0 };
  g_assert_cmpint (td_memory_plan_make (&models, &r, &plan, &err), ==, TD_OK);
  return *stage_named (&plan, "flux transformer");
}

static void
test_flux_peak_matches_plan (void)
{
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  g_assert_nonnull (backend);
  static const int sizes[][2] = { { 256, 64 }, { 384, 77 }, { 128, 300 } };
  size_t peak = 0, live = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const int side = sizes[i][0], tokens = sizes[i][1];
      td_plan_stage flux = small_flux_plan (side, tokens);
      g_assert_cmpint (run_small_flux (backend, side, tokens, &peak, &err), ==, TD_OK);
      /* The CPU backend reads the weights where they lie in host memory: only the run's
       * tensors are allocated on it. */
      const double planned = (double) (flux.activations + flux.workspace);
      g_test_message ("small FLUX %d², %d tokens: planned %.3f MiB, measured %.3f MiB", side, tokens,
                      planned / 1048576.0, peak / 1048576.0);
      g_assert_cmpfloat (fabs ((double) peak - planned) / planned, <=, 0.10);
      td_backend_memory (backend, &live, NULL);
      g_assert_cmpuint (live, ==, 0);
    }

  /* Under a cap below the peak the run stops with an error, holding nothing after. */
  td_backend_set_budget (backend, peak / 2);
  g_assert_cmpint (run_small_flux (backend, 128, 300, &peak, &err), ==, TD_ERR_NO_MEMORY);
  g_assert_nonnull (strstr (err.message, "memory cap"));
  td_backend_memory (backend, &live, &peak);
  g_assert_cmpuint (live, ==, 0);
  g_assert_cmpuint (peak, <=, td_backend_budget (backend));
  td_backend_free (backend);
}

/* The VAE decoder's planned activations and workspace against a CPU decode. */
static void
vae_peak (const td_vae_config *config_in)
{
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  g_assert_nonnull (backend);
  const td_vae_config config = *config_in;
  td_flux_vae *vae = td_flux_vae_new_random (&config, backend, TD_BF16, 3, &err);
  g_assert_nonnull (vae);
  const int side = 128, scale = td_flux_vae_scale_factor (vae), lat = side / scale;
  td_plan_models models = td_plan_models_real ();
  models.vae = config;
  td_plan_request r = td_plan_request_default (TD_PLAN_T2I, side, side);
  td_memory_plan plan;
  g_assert_cmpint (td_memory_plan_make (&models, &r, &plan, &err), ==, TD_OK);
  const td_plan_stage *stage = stage_named (&plan, "vae decode");
  const int64_t z_shape[4] = { 1, config.latent_channels, lat, lat };
  td_tensor *z = flux_test_noise (backend, 4, z_shape, 5);
  td_backend_reset_peak (backend);
  td_tensor *image = td_flux_vae_decode (vae, z, &err);
  g_assert_nonnull (image);
  size_t peak;
  td_backend_memory (backend, NULL, &peak);
  const double planned = (double) (stage->activations + stage->workspace);
  g_test_message ("small VAE decode %d², top channels %d and %d: planned %.3f MiB, measured %.3f MiB", side, config.block_out_channels[0],
                  config.block_out_channels[1], planned / 1048576.0, peak / 1048576.0);
  g_assert_cmpfloat (fabs ((double) peak - planned) / planned, <=, 0.10);
  td_tensor_free (image);
  td_tensor_free (z);
  td_flux_vae_free (vae);
  td_backend_free (backend);
}

static void
test_vae_peak_matches_plan (void)
{
  td_vae_config config = td_vae_config_small ();
  vae_peak (&config);
  /* Wider lower levels, as FLUX's VAE (128, 256, 512, 512). */
  config.block_out_channels[0] = 16;
  config.block_out_channels[1] = 32;
  vae_peak (&config);
}

/* On a device the weights are uploaded too: the whole planned peak is allocated. */
static void
test_flux_peak_matches_plan_vulkan (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  td_backend *backend = td_backend_vulkan_new (-1, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  static const int sizes[][2] = { { 256, 64 }, { 128, 300 } };
  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const int side = sizes[i][0], tokens = sizes[i][1];
      td_plan_stage flux = small_flux_plan (side, tokens);
      size_t peak = 0, live = 0;
      g_assert_cmpint (run_small_flux (backend, side, tokens, &peak, &err), ==, TD_OK);
      g_test_message ("small FLUX on Vulkan %d², %d tokens: planned %.3f MiB (%.3f of weights), measured %.3f MiB",
                      side, tokens, flux.peak / 1048576.0, flux.weights / 1048576.0, peak / 1048576.0);
      g_assert_cmpfloat (fabs ((double) peak - (double) flux.peak) / (double) flux.peak, <=, 0.10);
      td_backend_memory (backend, &live, NULL);
      g_assert_cmpuint (live, ==, 0);
    }
  td_backend_free (backend);
#else
  g_test_skip ("built without Vulkan");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/memory-plan/counts", test_counts_match_declared_models);
  g_test_add_func ("/memory-plan/format-bytes", test_format_bytes);
  g_test_add_func ("/memory-plan/strategies", test_strategies);
  g_test_add_func ("/memory-plan/resident-blocks", test_resident_blocks);
  g_test_add_func ("/memory-plan/flux-peak", test_flux_peak_matches_plan);
  g_test_add_func ("/memory-plan/vae-peak", test_vae_peak_matches_plan);
  g_test_add_func ("/memory-plan/flux-peak-vulkan", test_flux_peak_matches_plan_vulkan);
  return g_test_run ();
}
