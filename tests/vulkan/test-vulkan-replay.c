/* Replay of recorded FLUX steps (lavapipe, validation layer on): the small
 * random-weight transformer (2 double + 4 single blocks) driven through Euler
 * steps between td_backend_capture_begin/end gives latents bit-identical to
 * recording every step, with steps 2..N counted as replays; a size change
 * captures again, a transformer with streamed blocks never replays, another tensor in the
 * same shape or another sequence of ops under the same key falls back, a device
 * lost as a replay is submitted is an error, and the CPU backend ignores the
 * hooks. The pipeline on the golden tiny FLUX gives the same latents after every
 * step with replay on and off (TD_VULKAN_REPLAY=0), replaying steps 2..4. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ops.h"
#include "models/flux_dit.h"
#include "models/random_models.h"
#include "backend/vulkan/vulkan_internal.h"
#include "io/safetensors.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/verify.h"
#include "vk-test-util.h"

enum { STEPS = 4, TOKENS = 7 };

/* The inputs of one image size: latents advanced step by step, text, rotary tables. */
typedef struct image_state {
  td_tensor *latents, *txt, *pooled, *cos, *sin;
  int n_img;
  int step;
} image_state;

static td_tensor *
noise (td_backend *b, int ndim, const int64_t *shape, uint64_t seed)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *data = g_new (float, n);
  td_gaussian_noise (seed, data, n);
  td_tensor *t = vk_tensor_from (b, TD_F32, ndim, shape, data);
  g_free (data);
  return t;
}

static image_state
image_new_text (td_backend *b, td_flux_dit *model, int rows, int cols, int tokens)
{
  const td_flux_config *c = td_flux_dit_config (model);
  image_state s = { .n_img = rows * cols };
  float *img_ids = g_new0 (float, (gsize) s.n_img * 3), *txt_ids = g_new0 (float, (gsize) tokens * 3);
  for (int i = 0; i < s.n_img; i++)
    img_ids[i * 3 + 1] = (float) (i / cols), img_ids[i * 3 + 2] = (float) (i % cols);
  td_error err = { 0 };
  g_assert_cmpint (td_flux_dit_rope (model, txt_ids, tokens, img_ids, s.n_img, &s.cos, &s.sin, &err), ==, TD_OK);
  g_free (img_ids);
  g_free (txt_ids);
  const int64_t latent_shape[3] = { 1, s.n_img, c->in_channels };
  const int64_t txt_shape[3] = { 1, tokens, c->joint_attention_dim };
  const int64_t pooled_shape[2] = { 1, c->pooled_projection_dim };
  s.latents = noise (b, 3, latent_shape, 11 + (uint64_t) s.n_img);
  s.txt = noise (b, 3, txt_shape, 12);
  s.pooled = noise (b, 2, pooled_shape, 13);
  return s;
}

static image_state
image_new (td_backend *b, td_flux_dit *model, int rows, int cols)
{
  return image_new_text (b, model, rows, cols, TOKENS);
}

static void
image_free (image_state *s)
{
  td_tensor_free (s->latents), td_tensor_free (s->txt), td_tensor_free (s->pooled);
  td_tensor_free (s->cos), td_tensor_free (s->sin);
}

/* One Euler step of s (as the pipeline's): v = transformer (latents, t), latents += dt · v,
 * inside a capture when `capture`. `latents` overrides s->latents as the model's input. */
static void
euler_step (td_backend *b, td_flux_dit *model, image_state *s, bool capture, td_tensor *latents)
{
  td_error err = { 0 };
  const float t = 1.0f - (float) s->step / STEPS, dt = -1.0f / STEPS;
  if (capture)
    g_assert_cmpint (td_backend_capture_begin (b, (uint64_t) s->n_img, &err), ==, TD_OK);
  td_tensor *v = td_flux_dit_forward (model, latents ? latents : s->latents, s->txt, s->pooled, t, 3.5f, s->cos,
                                      s->sin, &err);
  if (v == NULL)
    g_error ("forward: %s", err.message);
  if (capture)
    g_assert_cmpint (td_backend_capture_end (b, &err), ==, TD_OK);
  g_assert_cmpint (td_scale (b, v, v, dt, 0.0f, &err), ==, TD_OK);
  g_assert_cmpint (td_add (b, s->latents, s->latents, v, &err), ==, TD_OK);
  td_tensor_free (v);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_OK);
  s->step++;
}

static float *
download (const td_tensor *t)
{
  td_error err = { 0 };
  float *out = g_new (float, td_tensor_numel (t));
  g_assert_cmpint (td_tensor_download (t, out, (size_t) td_tensor_numel (t) * sizeof (float), &err), ==, TD_OK);
  return out;
}

static void
assert_identical (const td_tensor *a, const td_tensor *b, const char *what)
{
  g_assert_cmpint (td_tensor_numel (a), ==, td_tensor_numel (b));
  float *x = download (a), *y = download (b);
  int64_t differing = 0;
  for (int64_t i = 0; i < td_tensor_numel (a); i++)
    differing += memcmp (&x[i], &y[i], sizeof (float)) != 0;
  if (differing > 0)
    g_error ("%s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " values differ", what, differing, td_tensor_numel (a));
  /* Identical and finite: the step did run (a replay that skipped it would leave the noise). */
  for (int64_t i = 0; i < td_tensor_numel (a); i++)
    g_assert_true (isfinite (x[i]));
  g_free (x);
  g_free (y);
}

static td_flux_dit *
small_model (td_backend *b)
{
  const td_flux_config config = td_flux_config_small ();
  td_error err = { 0 };
  td_flux_dit *model = td_flux_dit_new_random (&config, b, TD_BF16, 5, &err);
  if (model == NULL)
    g_error ("model: %s", err.message);
  return model;
}

static td_capture_stats
stats_since (td_backend *b, td_capture_stats before)
{
  td_capture_stats now = td_backend_capture_stats (b);
  return (td_capture_stats) { now.captures - before.captures, now.replays - before.replays,
                              now.fallbacks - before.fallbacks };
}

static void
test_replay_matches_recording (void)
{
  td_backend *b = vk_test_backend ();
  td_flux_dit *model = small_model (b);
  image_state recorded = image_new (b, model, 5, 3), replayed = image_new (b, model, 5, 3);
  for (int i = 0; i < STEPS; i++)
    euler_step (b, model, &recorded, false, NULL);
  td_capture_stats before = td_backend_capture_stats (b);
  float *first = NULL;
  for (int i = 0; i < STEPS; i++)
    {
      euler_step (b, model, &replayed, true, NULL);
      if (i == 0)
        first = download (replayed.latents);
    }
  td_capture_stats done = stats_since (b, before);
  g_assert_cmpint (done.captures, ==, 1);
  g_assert_cmpint (done.replays, ==, STEPS - 1);
  g_assert_cmpint (done.fallbacks, ==, 0);
  assert_identical (replayed.latents, recorded.latents, "replayed steps");
  /* The replayed steps moved the latents on from where the captured one left them. */
  float *last = download (replayed.latents);
  g_assert_true (memcmp (first, last, (size_t) td_tensor_numel (replayed.latents) * sizeof (float)) != 0);
  g_free (first);
  g_free (last);
  td_backend_capture_drop (b);
  image_free (&recorded);
  image_free (&replayed);
  td_flux_dit_free (model);
  vk_test_assert_no_validation_messages ();
}

static void
test_size_change_captures_again (void)
{
  td_backend *b = vk_test_backend ();
  td_flux_dit *model = small_model (b);
  /* Sizes A, A, B, B, A: one capture kept, so A is captured again at the end. */
  const int order[] = { 0, 0, 1, 1, 0 };
  image_state recorded[2] = { image_new (b, model, 5, 3), image_new (b, model, 4, 7) };
  image_state replayed[2] = { image_new (b, model, 5, 3), image_new (b, model, 4, 7) };
  td_capture_stats before = td_backend_capture_stats (b);
  for (size_t i = 0; i < G_N_ELEMENTS (order); i++)
    {
      euler_step (b, model, &recorded[order[i]], false, NULL);
      euler_step (b, model, &replayed[order[i]], true, NULL);
    }
  td_capture_stats done = stats_since (b, before);
  g_assert_cmpint (done.captures, ==, 3);
  g_assert_cmpint (done.replays, ==, 2);
  g_assert_cmpint (done.fallbacks, ==, 0);
  assert_identical (replayed[0].latents, recorded[0].latents, "size A");
  assert_identical (replayed[1].latents, recorded[1].latents, "size B");
  td_backend_capture_drop (b);
  for (int i = 0; i < 2; i++)
    image_free (&recorded[i]), image_free (&replayed[i]);
  td_flux_dit_free (model);
  vk_test_assert_no_validation_messages ();
}

static void
test_streamed_never_replays (void)
{
  td_backend *b = vk_test_backend ();
  td_flux_dit *model = small_model (b);
  td_flux_dit_set_resident_blocks (model, 2); /* of 6: the other four stream */
  image_state recorded = image_new (b, model, 5, 3), replayed = image_new (b, model, 5, 3);
  for (int i = 0; i < STEPS; i++)
    euler_step (b, model, &recorded, false, NULL);
  td_capture_stats before = td_backend_capture_stats (b);
  for (int i = 0; i < STEPS; i++)
    euler_step (b, model, &replayed, true, NULL);
  td_capture_stats done = stats_since (b, before);
  /* Each step uploads the streamed blocks' weights again: a replay meets an upload and falls back. */
  g_assert_cmpint (done.replays, ==, 0);
  g_assert_cmpint (done.fallbacks, >=, 1);
  assert_identical (replayed.latents, recorded.latents, "streamed steps");
  td_backend_capture_drop (b);
  image_free (&recorded);
  image_free (&replayed);
  td_flux_dit_free (model);
  vk_test_assert_no_validation_messages ();
}

static void
test_other_tensor_falls_back (void)
{
  td_backend *b = vk_test_backend ();
  td_flux_dit *model = small_model (b);
  image_state recorded = image_new (b, model, 5, 3), replayed = image_new (b, model, 5, 3);
  td_error err = { 0 };
  /* A copy of the latents in another tensor: same shape and values, another address. */
  td_tensor *other_r = td_tensor_new (b, TD_F32, 3, recorded.latents->shape, &err);
  td_tensor *other_p = td_tensor_new (b, TD_F32, 3, replayed.latents->shape, &err);
  td_capture_stats before = td_backend_capture_stats (b);
  for (int i = 0; i < STEPS; i++)
    {
      td_tensor *input_r = NULL, *input_p = NULL;
      if (i == 2)
        {
          g_assert_cmpint (td_copy (b, other_r, recorded.latents, &err), ==, TD_OK);
          g_assert_cmpint (td_copy (b, other_p, replayed.latents, &err), ==, TD_OK);
          input_r = other_r, input_p = other_p;
        }
      euler_step (b, model, &recorded, false, input_r);
      euler_step (b, model, &replayed, true, input_p);
    }
  td_capture_stats done = stats_since (b, before);
  /* Step 2 replays, step 3 reads another tensor and falls back, step 4 captures again. */
  g_assert_cmpint (done.captures, ==, 2);
  g_assert_cmpint (done.replays, ==, 1);
  g_assert_cmpint (done.fallbacks, ==, 1);
  assert_identical (replayed.latents, recorded.latents, "steps with a fallback");
  td_backend_capture_drop (b);
  td_tensor_free (other_r);
  td_tensor_free (other_p);
  image_free (&recorded);
  image_free (&replayed);
  td_flux_dit_free (model);
  vk_test_assert_no_validation_messages ();
}

/* The device lost as a replay is submitted: the step's end says so, every later call
 * fails cleanly, and the capture goes with the backend. */
static void
test_device_lost_during_replay (void)
{
  vk_test_backend (); /* skips without a device */
  td_error err = { 0 };
  td_backend *b = td_backend_vulkan_new (-1, &err);
  g_assert_nonnull (b);
  td_flux_dit *model = small_model (b);
  image_state s = image_new (b, model, 5, 3);
  euler_step (b, model, &s, true, NULL);
  td_vulkan_inject_faults (b, 0, 1);
  g_assert_cmpint (td_backend_capture_begin (b, (uint64_t) s.n_img, &err), ==, TD_OK);
  td_tensor *v = td_flux_dit_forward (model, s.latents, s.txt, s.pooled, 0.5f, 3.5f, s.cos, s.sin, &err);
  g_assert_nonnull (v);
  g_assert_cmpint (td_backend_capture_end (b, &err), ==, TD_ERR_DEVICE_LOST);
  g_assert_nonnull (strstr (err.message, "lost"));
  g_assert_cmpint (td_backend_capture_begin (b, (uint64_t) s.n_img, &err), ==, TD_ERR_DEVICE_LOST);
  g_assert_cmpint (td_backend_sync (b, &err), ==, TD_ERR_DEVICE_LOST);
  td_capture_stats stats = td_backend_capture_stats (b);
  g_assert_cmpint (stats.captures, ==, 1);
  g_assert_cmpint (stats.replays, ==, 0);
  td_tensor_free (v);
  td_backend_capture_drop (b);
  image_free (&s);
  td_flux_dit_free (model);
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

typedef struct pipeline_run {
  float *latents[8]; /* after each step */
  int steps, previews;
  int64_t n;
} pipeline_run;

static void
keep_latents (void *user, int step, int steps, const td_tensor *latents)
{
  pipeline_run *run = user;
  g_assert_cmpint (step, <=, (int) G_N_ELEMENTS (run->latents));
  run->latents[step - 1] = download (latents);
  run->n = td_tensor_numel (latents);
  run->steps = steps;
}

static void
count_preview (void *user, int step, int steps, const uint8_t *rgb, int width, int height)
{
  pipeline_run *run = user;
  run->previews++;
}

/* The golden tiny FLUX pipeline (16×16, 4 steps) on a fresh backend; replay as `replay`. */
static pipeline_run
run_golden_pipeline (bool replay, td_capture_stats *stats)
{
  const char *data = g_getenv ("TD_TEST_DATA");
  g_autofree char *dir = g_build_filename (data, "golden", "flux", NULL);
  g_autofree char *io_path = g_build_filename (dir, "io.safetensors", NULL);
  if (replay)
    g_unsetenv ("TD_VULKAN_REPLAY");
  else
    g_setenv ("TD_VULKAN_REPLAY", "0", TRUE);
  td_error err = { 0 };
  td_backend *b = td_backend_vulkan_new (-1, &err);
  g_assert_nonnull (b);
  td_safetensors *io = td_safetensors_open (io_path, &err);
  g_assert_nonnull (io);
  td_flux_pipeline *pipeline = td_flux_pipeline_new (dir, NULL, b, &err);
  g_assert_nonnull (pipeline);
  td_tensor *txt = td_verify_io_tensor (io, "prompt_embeds", b, &err);
  td_tensor *pooled = td_verify_io_tensor (io, "pooled_prompt_embeds", b, &err);
  float *noise = td_verify_io_floats (io, "noise_packed", NULL, &err);
  g_assert_true (txt != NULL && pooled != NULL && noise != NULL);
  pipeline_run run = { .steps = 0 };
  td_flux_params params = { .width = 16, .height = 16, .steps = 4, .guidance = 3.5f };
  td_flux_callbacks callbacks = { .step = keep_latents, .preview = count_preview, .user = &run };
  td_tensor *image = NULL;
  if (td_flux_pipeline_generate (pipeline, txt, pooled, &params, noise, &callbacks, &image, &err) != TD_OK)
    g_error ("pipeline: %s", err.message);
  *stats = td_backend_capture_stats (b);
  td_tensor_free (image);
  free (noise);
  td_tensor_free (txt);
  td_tensor_free (pooled);
  td_flux_pipeline_free (pipeline);
  td_safetensors_close (io);
  td_backend_free (b);
  g_unsetenv ("TD_VULKAN_REPLAY");
  return run;
}

static void
test_pipeline_replays_steps (void)
{
  vk_test_backend (); /* skips without a device */
  td_capture_stats on, off;
  pipeline_run replayed = run_golden_pipeline (true, &on), recorded = run_golden_pipeline (false, &off);
  g_assert_cmpint (replayed.steps, ==, 4);
  g_assert_cmpint (recorded.steps, ==, 4);
  g_assert_cmpint (replayed.previews, ==, 4);
  for (int i = 0; i < 4; i++)
    {
      g_assert_cmpmem (replayed.latents[i], (gsize) replayed.n * sizeof (float), recorded.latents[i],
                       (gsize) recorded.n * sizeof (float));
      g_free (replayed.latents[i]);
      g_free (recorded.latents[i]);
    }
  g_assert_cmpint (on.captures, ==, 1);
  g_assert_cmpint (on.replays, ==, 3);
  g_assert_cmpint (on.fallbacks, ==, 0);
  g_assert_cmpint (off.captures + off.replays + off.fallbacks, ==, 0);
  vk_test_assert_no_validation_messages ();
}

/* A step under the same key with a longer text: another sequence of ops, which the
 * replay meets at the first one that differs and falls back on. */
static void
test_other_sequence_same_key_falls_back (void)
{
  td_backend *b = vk_test_backend ();
  td_flux_dit *model = small_model (b);
  image_state recorded[2] = { image_new (b, model, 5, 3), image_new_text (b, model, 5, 3, TOKENS + 4) };
  image_state replayed[2] = { image_new (b, model, 5, 3), image_new_text (b, model, 5, 3, TOKENS + 4) };
  td_capture_stats before = td_backend_capture_stats (b);
  for (int i = 0; i < 2; i++)
    {
      euler_step (b, model, &recorded[i], false, NULL);
      euler_step (b, model, &replayed[i], true, NULL); /* the key is the image size alone */
    }
  td_capture_stats done = stats_since (b, before);
  g_assert_cmpint (done.captures, ==, 1);
  g_assert_cmpint (done.replays, ==, 0);
  g_assert_cmpint (done.fallbacks, ==, 1);
  assert_identical (replayed[1].latents, recorded[1].latents, "the longer text");
  td_backend_capture_drop (b);
  for (int i = 0; i < 2; i++)
    image_free (&recorded[i]), image_free (&replayed[i]);
  td_flux_dit_free (model);
  vk_test_assert_no_validation_messages ();
}

static void
test_cpu_ignores_capture (void)
{
  td_error err = { 0 };
  td_backend *cpu = td_backend_cpu_new (&err);
  g_assert_nonnull (cpu);
  g_assert_cmpint (td_backend_capture_begin (cpu, 1, &err), ==, TD_OK);
  g_assert_cmpint (td_backend_capture_end (cpu, &err), ==, TD_OK);
  td_backend_capture_drop (cpu);
  td_capture_stats stats = td_backend_capture_stats (cpu);
  g_assert_cmpint (stats.captures + stats.replays + stats.fallbacks, ==, 0);
  td_backend_free (cpu);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/replay/matches-recording", test_replay_matches_recording);
  g_test_add_func ("/vulkan/replay/size-change-captures-again", test_size_change_captures_again);
  g_test_add_func ("/vulkan/replay/streamed-never-replays", test_streamed_never_replays);
  g_test_add_func ("/vulkan/replay/other-tensor-falls-back", test_other_tensor_falls_back);
  g_test_add_func ("/vulkan/replay/other-sequence-same-key-falls-back", test_other_sequence_same_key_falls_back);
  g_test_add_func ("/vulkan/replay/device-lost-during-replay", test_device_lost_during_replay);
  g_test_add_func ("/vulkan/replay/pipeline-replays-steps", test_pipeline_replays_steps);
  g_test_add_func ("/vulkan/replay/cpu-ignores-capture", test_cpu_ignores_capture);
  return g_test_run ();
}
