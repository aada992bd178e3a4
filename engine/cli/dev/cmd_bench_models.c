/* thinkdiff bench WORKLOAD (and bench-models) — time the models: FLUX.1-dev transformer,
 * the FLUX VAE, T5-XXL, Qwen2-VL-7B (prefill of a two-image prompt, decode) and
 * ThinkDiff-LVLM end to end, with random weights of their real shapes built in memory
 * (Qwen2-VL and the aligner from a folder with --model). One warm-up run, then the
 * median and minimum of the timed runs, as text or one JSON object per workload. */
#include "cli/cli.h"
#include "cli/cli_args.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "models/aligner.h"
#include "models/flux_vae_tiles.h"
#include "models/layers.h"
#include "models/qwen2vl.h"
#include "models/random_models.h"
#include "pipeline/flux_pipeline.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif
#include "pipeline/verify.h"

typedef struct bench_options {
  const char *model;
  const char *backend;
  int size;       /* image side in pixels; 0 = the model's default */
  int steps;      /* timed runs after one warm-up run */
  int tokens;     /* text tokens; 0 = the default */
  int tile;       /* VAE: decode in tiles of this many latents (0 = whole) */
  int new_tokens; /* qwen-decode: tokens generated per timed run */
  const char *model_dir; /* qwen-*, lvlm-e2e: a Qwen2-VL folder */
  const char *aligner;   /* lvlm-e2e: the ThinkDiff-LVLM aligner (default: in model_dir) */
  int flux_steps;        /* lvlm-e2e: transformer steps per image */
  bool small;
  bool json;
  td_dtype dtype;
} bench_options;

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: thinkdiff bench WORKLOAD [OPTIONS]   (or bench-models flux|vae|t5)\n\n"
           "Times a workload on random weights of the real shapes, made up in memory:\n"
           "  flux-step     the FLUX.1-dev transformer (19 + 38 blocks, 3072 wide), ms per step (bench-models: flux)\n"
           "  vae-decode    the FLUX VAE, ms per decode (bench-models vae: and per encode)\n"
           "  qwen-prefill  Qwen2-VL-7B, ms per prefill of a prompt with two 448² images: the vision tower\n"
           "                on both, then 586 tokens through the language model (--small: 56² images, 32 tokens)\n"
           "  qwen-decode   Qwen2-VL-7B, ms per greedily decoded token after that prefill\n"
           "  t5            the T5-XXL encoder, ms per encode\n"
           "  lvlm-e2e      ThinkDiff-LVLM, ms per image: the Qwen2-VL prefill of the two-image prompt,\n"
           "                128 greedy thought tokens (--small 8), the aligner, FLUX transformer steps (28,\n"
           "                --small 2) and the VAE decode (1024², --small 128²)\n\n"
           "Options:\n"
           "  --size N        image side in pixels (flux: 1024, vae: 1024; multiples of 16)\n"
           "  --backend NAME  cpu or vulkan (default cpu)\n"
           "  --steps N       timed runs after one warm-up run (default 2)\n"
           "  --tokens N      text tokens (flux and t5: 512); qwen-*, lvlm-e2e: prompt tokens with the images\n"
           "  --tile N        vae: decode and encode in tiles of N latents (overlap N/4)\n"
           "  --weights NAME  weight format: bf16 (default, as the checkpoints ship), f16, f32, or\n"
           "                  q8_0 / q4_k for the linear layers (the rest bf16), quantised at random\n"
           "  --dtype NAME    the same as --weights\n"
           "  --small         scaled-down shapes that finish in seconds on a small CPU\n"
           "  --model DIR     qwen-*, lvlm-e2e: a Qwen2-VL folder to run instead of random weights\n"
           "  --new-tokens N  qwen-decode: tokens generated per run (default 32, --small 8)\n"
           "  --flux-steps N  lvlm-e2e: transformer steps per image\n"
           "  --aligner PATH  lvlm-e2e: the aligner (default DIR/thinkdiff_lvlm_aligner.pth, or random)\n"
           "  --json          one JSON object per timed workload instead of text, with the device and\n"
           "                  the kernel paths in use (\"paths\": cooperative matrices nv, khr,\n"
           "                  emulated or off; the tiled GEMM's tile)\n"
           "  --profile       vulkan: GPU time per kernel class at each sync, on stderr (TD_VULKAN_PROFILE),\n"
           "                  and per unit over the timed runs in the output (\"kernels\" in --json,\n"
           "                  absent without --profile)\n"
           "The peak is the backend's allocation meter over the timed runs (on Vulkan the weights\n"
           "and activations; on the CPU the tensors it allocates, not weights read from files).\n"
           "TFLOP/s and GB/s divide the work of the ops a run records by its median time: 2 FLOP per\n"
           "multiply-add of matmuls, convolutions and attention (visible keys only), about one per\n"
           "element elsewhere; the bytes of every op's inputs and output, each counted once.\n");
}

static bool
parse_int (const char *flag, const char *text, int low, int high, int *out)
{
  int64_t value;
  if (!td_cli_parse_int (flag, text, low, high, &value))
    return false;
  *out = (int) value;
  return true;
}

/* Returns -1 when parsed, else an exit code. */
static int
parse_options (int argc, char **argv, bench_options *o)
{
  *o = (bench_options) { .backend = "cpu", .steps = 2, .dtype = TD_BF16 };
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
      bool ok = true;
      if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      else if (strcmp (arg, "--small") == 0)
        o->small = true;
      else if (strcmp (arg, "--json") == 0)
        o->json = true;
      else if (strcmp (arg, "--profile") == 0)
        g_setenv ("TD_VULKAN_PROFILE", "1", TRUE);
      else if (arg[0] != '-' && o->model == NULL)
        o->model = arg;
      else if (value == NULL)
        ok = false;
      else if (strcmp (arg, "--size") == 0)
        ok = parse_int (arg, value, 16, 4096, &o->size) && o->size % 16 == 0, i++;
      else if (strcmp (arg, "--steps") == 0)
        ok = parse_int (arg, value, 1, 1000, &o->steps), i++;
      else if (strcmp (arg, "--tokens") == 0)
        ok = parse_int (arg, value, 1, 4096, &o->tokens), i++;
      else if (strcmp (arg, "--tile") == 0)
        ok = parse_int (arg, value, 4, 4096, &o->tile), i++;
      else if (strcmp (arg, "--backend") == 0)
        o->backend = value, i++;
      else if (strcmp (arg, "--model") == 0)
        o->model_dir = value, i++;
      else if (strcmp (arg, "--aligner") == 0)
        o->aligner = value, i++;
      else if (strcmp (arg, "--flux-steps") == 0)
        ok = parse_int (arg, value, 1, 1000, &o->flux_steps), i++;
      else if (strcmp (arg, "--new-tokens") == 0)
        ok = parse_int (arg, value, 1, 4096, &o->new_tokens), i++;
      else if (strcmp (arg, "--dtype") == 0 || strcmp (arg, "--weights") == 0)
        {
          o->dtype = strcmp (value, "bf16") == 0 ? TD_BF16 : strcmp (value, "f16") == 0 ? TD_F16
                     : strcmp (value, "f32") == 0 ? TD_F32 : g_ascii_strcasecmp (value, "q8_0") == 0 ? TD_Q8_0
                     : g_ascii_strcasecmp (value, "q4_k") == 0 ? TD_Q4_K : TD_DTYPE_COUNT;
          ok = o->dtype != TD_DTYPE_COUNT;
          i++;
        }
      else
        ok = false;
      if (!ok)
        {
          fprintf (stderr, "thinkdiff bench-models: bad option '%s'%s%s\n\n", arg, value ? " " : "", value ? value : "");
          print_usage (stderr);
          return 2;
        }
    }
  if (o->model == NULL)
    {
      print_usage (stderr);
      return 2;
    }
  return -1;
}

static double
now_ms (void)
{
  return (double) g_get_monotonic_time () / 1000.0;
}

static td_tensor *
random_input (td_layer_ctx *ctx, int ndim, const int64_t *shape, uint64_t seed)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *data = g_new (float, n);
  td_gaussian_noise (seed, data, n);
  td_tensor *t = td_layer_from_host (ctx, TD_F32, ndim, shape, data);
  g_free (data);
  return t;
}

static void
print_model (const char *what, const td_weights *weights, const bench_options *o, td_backend *backend)
{
  int64_t elements, bytes;
  td_weights_declared_size (weights, &elements, &bytes);
  if (o->json)
    return;
  printf ("%s%s: %.2f %s parameters (%.2f GiB of %s, random), backend %s\n", what, o->small ? " (small shapes)" : "",
          elements >= 1000000000 ? (double) elements / 1e9 : (double) elements / 1e6,
          elements >= 1000000000 ? "G" : "M", (double) bytes / (1024.0 * 1024.0 * 1024.0), td_dtype_name (o->dtype),
          td_backend_name (backend));
}

enum { MAX_KERNEL_CLASSES = 32 };

/* GPU time per kernel class since the last call (--profile on Vulkan); 0 classes otherwise. */
static int
take_kernel_times (td_backend *backend, const char **names, double *ms, int *dispatches)
{
#ifdef TD_HAVE_VULKAN
  if (strcmp (td_backend_name (backend), "vulkan") == 0)
    return td_vulkan_profile_take (backend, names, ms, dispatches, MAX_KERNEL_CLASSES);
#endif
  return 0;
}

/* GPU time per kernel class summed over the timed runs. */
typedef struct kernel_times {
  const char *names[MAX_KERNEL_CLASSES];
  double ms[MAX_KERNEL_CLASSES];
  int dispatches[MAX_KERNEL_CLASSES];
  int n;
} kernel_times;

/* Adds the times since the last take (one timed run) to the sums. */
static void
add_kernel_times (kernel_times *sums, td_backend *backend)
{
  kernel_times run;
  run.n = take_kernel_times (backend, run.names, run.ms, run.dispatches);
  for (int i = 0; i < run.n; i++)
    {
      int k = 0;
      while (k < sums->n && strcmp (sums->names[k], run.names[i]) != 0)
        k++;
      if (k == sums->n)
        {
          if (k == MAX_KERNEL_CLASSES)
            continue;
          sums->names[sums->n++] = run.names[i];
          sums->ms[k] = 0;
          sums->dispatches[k] = 0;
        }
      sums->ms[k] += run.ms[i];
      sums->dispatches[k] += run.dispatches[i];
    }
}

/* The device and the kernel paths it runs, as JSON members: "device" (the CPU or the
 * Vulkan device's name), and on Vulkan "paths": the matmul/attention kernels
 * ("coopmat": "nv", "khr", "emulated" or "off", with "coopmat_off_reason" when off;
 * "bf16_tiles") and the tiled GEMM's tile. */
static void
print_device_json (td_backend *backend)
{
#ifdef TD_HAVE_VULKAN
  if (strcmp (td_backend_name (backend), "vulkan") == 0)
    {
      const td_vulkan_device_info *d = td_vulkan_backend_device (backend);
      const char *coopmat = d->coopmat_enabled ? (d->coopmat_uses_khr ? "khr" : "nv")
                            : d->coopmat_emulated ? "emulated" : "off";
      g_autofree char *name = g_strescape (d->name, NULL);
      printf (", \"device\": \"%s\", \"paths\": {\"coopmat\": \"%s\"", name, coopmat);
      if (!d->coopmat_enabled && !d->coopmat_emulated && d->coopmat_reason != NULL)
        {
          g_autofree char *reason = g_strescape (d->coopmat_reason, NULL);
          printf (", \"coopmat_off_reason\": \"%s\"", reason);
        }
      printf (", \"bf16_tiles\": %s, \"tile\": \"%s\", \"tile_m\": %u, \"tile_n\": %u}",
              d->coopmat_enabled && d->coopmat_bf16_tiles ? "true" : "false", d->tile_name ? d->tile_name : "",
              d->tile_m, d->tile_n);
      return;
    }
#endif
  printf (", \"device\": \"%s\"", td_backend_name (backend));
}

/* The kernel times per unit: a JSON member or text lines. Without --profile there are
 * no GPU timestamps, and --json leaves "kernels" out. */
static void
print_kernel_times (const bench_options *o, const kernel_times *t, int units, const char *unit)
{
  const char *const *names = t->names;
  const double *ms = t->ms;
  const int *dispatches = t->dispatches;
  const int n = t->n;
  if (o->json && n == 0)
    return;
  if (o->json)
    printf (", \"kernels\": {");
  else if (n > 0)
    printf ("  GPU time per %s by kernel class:\n", unit);
  for (int i = 0; i < n; i++)
    if (o->json)
      printf ("%s\"%s\": {\"ms\": %.4f, \"dispatches\": %.2f}", i ? ", " : "", names[i], ms[i] / units,
              (double) dispatches[i] / units);
    else
      printf ("    %-20s %9.3f ms  %8.1f dispatches\n", names[i], ms[i] / units, (double) dispatches[i] / units);
  if (o->json)
    printf ("}");
}

/* One run of a workload. A run that times only part of itself (qwen-decode times the
 * generation, not the prefill before it) sets *timed_ms; otherwise the whole run,
 * synchronised, is timed. */
typedef td_status (*bench_run_fn) (void *state, double *timed_ms, td_error *err);

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* One timed loop: the first run warms up (makes up and uploads the weights), then
 * o->steps runs; prints the median and minimum per UNIT (a run does PER_RUN units). */
static td_status
time_runs (const bench_options *o, const char *workload, bench_run_fn run, void *state, td_backend *backend,
           const char *unit, int per_run, td_error *err)
{
  double start = now_ms (), timed = -1;
  td_status st = run (state, &timed, err);
  if (st == TD_OK)
    st = td_backend_sync (backend, err);
  if (st != TD_OK)
    return st;
  double warm_up = now_ms () - start;
  if (!o->json)
    printf ("  warm-up: %.1f ms (includes making up and placing the weights)\n", warm_up);
  /* The high-water mark of the timed runs: resident weights plus their activations. */
  td_backend_reset_peak (backend);
  kernel_times kernels = { .n = 0 }, warm_up_kernels = { .n = 0 };
  add_kernel_times (&warm_up_kernels, backend); /* not counted */
  double *ms = g_new (double, o->steps);
  double flops = 0, bytes = 0; /* of the timed runs' ops, per unit (op_cost.h) */
  for (int i = 0; i < o->steps && st == TD_OK; i++)
    {
      timed = -1;
      td_backend_reset_work (backend);
      start = now_ms ();
      if ((st = run (state, &timed, err)) == TD_OK && (st = td_backend_sync (backend, err)) == TD_OK)
        ms[i] = (timed >= 0 ? timed : now_ms () - start) / per_run;
      add_kernel_times (&kernels, backend);
      td_backend_work work = td_backend_work_done (backend);
      flops += work.flops / o->steps / per_run;
      bytes += work.bytes / o->steps / per_run;
    }
  if (st == TD_OK)
    {
      qsort (ms, (size_t) o->steps, sizeof *ms, compare_doubles);
      size_t live = 0, peak = 0;
      td_backend_memory (backend, &live, &peak);
      const double peak_mib = (double) peak / (1024.0 * 1024.0);
      double median = o->steps % 2 ? ms[o->steps / 2] : 0.5 * (ms[o->steps / 2 - 1] + ms[o->steps / 2]);
      /* Achieved rates at the median time. */
      const double tflops = median > 0 ? flops / (median * 1e-3) / 1e12 : 0;
      const double gbps = median > 0 ? bytes / (median * 1e-3) / 1e9 : 0;
      if (o->json)
        printf ("{\"workload\": \"%s\", \"backend\": \"%s\", \"small\": %s, \"unit\": \"%s\", "
                "\"weights\": \"%s\", \"runs\": %d, \"median_ms\": %.4f, \"min_ms\": %.4f, \"warm_up_ms\": %.3f, \"peak_mib\": %.3f, "
                "\"gflop_per_unit\": %.6f, \"gbytes_per_unit\": %.6f, \"tflops\": %.6f, \"gbytes_per_s\": %.4f",
                workload, td_backend_name (backend), o->small ? "true" : "false", unit, td_dtype_name (o->dtype),
                o->steps, median, ms[0],
                warm_up, peak_mib, flops / 1e9, bytes / 1e9, tflops, gbps);
      if (o->json)
        print_device_json (backend);
      else
        printf ("  %.2f ms per %s (median of %d, min %.2f); peak %.1f MiB held on the backend\n"
                "  %.3f GFLOP and %.3f GB of tensors per %s: %.4f TFLOP/s, %.2f GB/s achieved\n",
                median, unit, o->steps, ms[0], peak_mib, flops / 1e9, bytes / 1e9, unit, tflops, gbps);
      print_kernel_times (o, &kernels, o->steps * per_run, unit);
      if (o->json)
        printf ("}\n");
    }
  g_free (ms);
  fflush (stdout);
  return st;
}

/* --- FLUX transformer -------------------------------------------------------------------- */

typedef struct flux_state {
  td_backend *backend;
  td_flux_dit *model;
  td_tensor *latents, *txt, *pooled, *cos, *sin;
} flux_state;

/* As the pipeline's step: recorded on the warm-up run, replayed on the timed ones
 * where the backend can (TD_VULKAN_REPLAY=0 records every run). */
static td_status
flux_step (void *data, double *timed_ms, td_error *err)
{
  flux_state *s = data;
  td_status st = td_backend_capture_begin (s->backend, 1, err);
  if (st != TD_OK)
    return st;
  td_tensor *v = td_flux_dit_forward (s->model, s->latents, s->txt, s->pooled, 0.5f, 3.5f, s->cos, s->sin, err);
  st = td_backend_capture_end (s->backend, v != NULL ? err : NULL);
  td_tensor_free (v);
  if (v == NULL)
    return err->status != TD_OK ? err->status : TD_ERR_DEVICE;
  return st;
}

static void
flux_state_clear (flux_state *s)
{
  td_tensor_free (s->latents);
  td_tensor_free (s->txt);
  td_tensor_free (s->pooled);
  td_tensor_free (s->cos);
  td_tensor_free (s->sin);
  td_flux_dit_free (s->model);
  if (s->backend != NULL)
    td_backend_capture_drop (s->backend);
  *s = (flux_state) { 0 };
}

/* The model on random weights, its rotary tables and random inputs for a size×size
 * image and `tokens` text tokens (the text itself only when with_txt). */
static td_status
flux_prepare (const bench_options *o, td_backend *backend, const td_flux_config *config, int size, int tokens,
              bool with_txt, flux_state *s, td_error *err)
{
  s->backend = backend;
  td_weights *weights = td_weights_new_random (backend, 1);
  td_status st = td_flux_dit_declare_weights (config, weights, o->dtype, err);
  if (st != TD_OK)
    {
      td_weights_free (weights);
      return st;
    }
  print_model ("FLUX transformer", weights, o, backend);
  if ((s->model = td_flux_dit_new_from_config (config, weights, err)) == NULL)
    return err->status;

  const int side = size / 16, n_img = side * side;
  float *img_ids = g_new0 (float, (gsize) n_img * 3), *txt_ids = g_new0 (float, (gsize) tokens * 3);
  for (int i = 0; i < side; i++)
    for (int j = 0; j < side; j++)
      {
        img_ids[(i * side + j) * 3 + 1] = (float) i;
        img_ids[(i * side + j) * 3 + 2] = (float) j;
      }
  st = td_flux_dit_rope (s->model, txt_ids, tokens, img_ids, n_img, &s->cos, &s->sin, err);
  g_free (img_ids);
  g_free (txt_ids);
  td_layer_ctx ctx = { .backend = backend, .err = err, .status = st };
  const int64_t latent_shape[3] = { 1, n_img, config->in_channels };
  const int64_t txt_shape[3] = { 1, tokens, config->joint_attention_dim };
  const int64_t pooled_shape[2] = { 1, config->pooled_projection_dim };
  s->latents = random_input (&ctx, 3, latent_shape, 2);
  if (with_txt)
    s->txt = random_input (&ctx, 3, txt_shape, 3);
  s->pooled = random_input (&ctx, 2, pooled_shape, 4);
  if (ctx.status == TD_OK && !o->json)
    printf ("  %d×%d: %d image + %d text tokens\n", size, size, n_img, tokens);
  return ctx.status;
}

static td_status
bench_flux (const bench_options *o, td_backend *backend, td_error *err)
{
  td_flux_config config = o->small ? td_flux_config_small () : td_flux_config_dev ();
  int size = o->size ? o->size : (o->small ? 128 : 1024), tokens = o->tokens ? o->tokens : (o->small ? 64 : 512);
  flux_state s = { 0 };
  td_status st = flux_prepare (o, backend, &config, size, tokens, true, &s, err);
  if (st == TD_OK)
    st = time_runs (o, "flux-step", flux_step, &s, backend, "step", 1, err);
  td_capture_stats replay = td_backend_capture_stats (backend);
  if (st == TD_OK && !o->json && replay.captures > 0)
    printf ("  replay: %" PRId64 " step recorded, %" PRId64 " replayed, %" PRId64 " fell back\n", replay.captures,
            replay.replays, replay.fallbacks);
  flux_state_clear (&s);
  return st;
}

/* --- VAE ----------------------------------------------------------------------------------- */

typedef struct vae_state {
  td_flux_vae *vae;
  const td_tensor *input;
  td_vae_tiling tiling;
  bool tiled;
} vae_state;

static td_status
vae_decode (void *data, double *timed_ms, td_error *err)
{
  vae_state *s = data;
  td_tensor *out = s->tiled ? td_flux_vae_decode_tiled (s->vae, s->input, &s->tiling, NULL, err)
                            : td_flux_vae_decode (s->vae, s->input, err);
  td_tensor_free (out);
  return out != NULL ? TD_OK : err->status;
}

static td_status
vae_encode (void *data, double *timed_ms, td_error *err)
{
  vae_state *s = data;
  td_tensor *out = s->tiled ? td_flux_vae_encode_mean_tiled (s->vae, s->input, &s->tiling, NULL, err)
                            : td_flux_vae_encode_mean (s->vae, s->input, err);
  td_tensor_free (out);
  return out != NULL ? TD_OK : err->status;
}

static td_status
bench_vae (const bench_options *o, bool with_encode, td_backend *backend, td_error *err)
{
  td_vae_config config = o->small ? td_vae_config_small () : td_vae_config_flux ();
  int size = o->size ? o->size : (o->small ? 128 : 1024);
  td_weights *weights = td_weights_new_random (backend, 5);
  td_status st = td_flux_vae_declare_weights (&config, weights, o->dtype, err);
  if (st != TD_OK)
    {
      td_weights_free (weights);
      return st;
    }
  print_model ("FLUX VAE", weights, o, backend);
  vae_state s = { .tiling = { .tile = o->tile, .overlap = o->tile / 4, .threshold = 0 }, .tiled = o->tile > 0 };
  if ((s.vae = td_flux_vae_new_from_config (&config, weights, err)) == NULL)
    return err->status;
  const int factor = td_flux_vae_scale_factor (s.vae);
  td_layer_ctx ctx = { .backend = backend, .err = err };
  const int64_t z_shape[4] = { 1, config.latent_channels, size / factor, size / factor };
  const int64_t image_shape[4] = { 1, config.in_channels, size, size };
  td_tensor *z = random_input (&ctx, 4, z_shape, 6);
  td_tensor *image = random_input (&ctx, 4, image_shape, 7);
  st = ctx.status;
  if (st == TD_OK)
    {
      if (s.tiled && !o->json)
        printf ("  in tiles of %d latents, overlap %d\n", s.tiling.tile, s.tiling.overlap);
      if (!o->json)
        printf ("  decode %d×%d latents → %d×%d pixels\n", size / factor, size / factor, size, size);
      s.input = z;
      st = time_runs (o, "vae-decode", vae_decode, &s, backend, "decode", 1, err);
    }
  if (st == TD_OK && with_encode)
    {
      if (!o->json)
        printf ("  encode %d×%d pixels\n", size, size);
      s.input = image;
      st = time_runs (o, "vae-encode", vae_encode, &s, backend, "encode", 1, err);
    }
  td_tensor_free (z);
  td_tensor_free (image);
  td_flux_vae_free (s.vae);
  return st;
}

/* --- T5 ------------------------------------------------------------------------------------ */

typedef struct t5_state {
  td_t5_encoder *encoder;
  int32_t *ids;
  int n;
} t5_state;

static td_status
t5_encode (void *data, double *timed_ms, td_error *err)
{
  t5_state *s = data;
  td_tensor *out = td_t5_encoder_forward (s->encoder, s->ids, s->n, err);
  td_tensor_free (out);
  return out != NULL ? TD_OK : err->status;
}

static td_status
bench_t5 (const bench_options *o, td_backend *backend, td_error *err)
{
  td_t5_config config = o->small ? td_t5_config_small () : td_t5_config_xxl ();
  td_weights *weights = td_weights_new_random (backend, 8);
  td_status st = td_t5_encoder_declare_weights (&config, weights, o->dtype, err);
  if (st != TD_OK)
    {
      td_weights_free (weights);
      return st;
    }
  print_model ("T5 encoder", weights, o, backend);
  t5_state s = { .n = o->tokens ? o->tokens : (o->small ? 64 : 512) };
  if ((s.encoder = td_t5_encoder_new_from_config (&config, weights, err)) == NULL)
    return err->status;
  s.ids = g_new (int32_t, s.n);
  for (int i = 0; i < s.n; i++)
    s.ids[i] = (int32_t) (td_rng_uniform (9, (uint64_t) i) * (float) (config.vocab_size - 1));
  if (!o->json)
    printf ("  %d tokens\n", s.n);
  st = time_runs (o, "t5", t5_encode, &s, backend, "encode", 1, err);
  g_free (s.ids);
  td_t5_encoder_free (s.encoder);
  return st;
}

/* --- Qwen2-VL ------------------------------------------------------------------------------ */

/* The two-image board both Qwen2-VL workloads read (td_qwen2vl_board_prompt): 586
 * tokens with two 448² images in the full shapes, 32 with two 56² in --small; the
 * pixels are random. */
typedef struct qwen_prompt {
  int32_t *ids;
  int n;
  int grids[TD_QWEN2VL_BOARD_IMAGES][3];
  td_tensor *pixels; /* [Σ t·h·w, C·T·P·P], random */
} qwen_prompt;

static td_status
qwen_prompt_make (const td_qwen2vl_config *c, int n, int side, td_backend *backend, qwen_prompt *p, td_error *err)
{
  p->n = n;
  p->ids = g_new (int32_t, n);
  td_status st = td_qwen2vl_board_prompt (c, n, side, p->ids, p->grids, err);
  if (st != TD_OK)
    return st;
  const td_qwen2vl_vision_config *vc = &c->vision;
  int64_t patches = 0;
  for (int i = 0; i < TD_QWEN2VL_BOARD_IMAGES; i++)
    patches += (int64_t) p->grids[i][0] * p->grids[i][1] * p->grids[i][2];
  td_layer_ctx ctx = { .backend = backend, .err = err };
  const int64_t shape[2] = { patches,
                             (int64_t) vc->in_channels * vc->temporal_patch_size * vc->patch_size * vc->patch_size };
  p->pixels = random_input (&ctx, 2, shape, 11);
  return ctx.status;
}

static void
qwen_prompt_clear (qwen_prompt *p)
{
  g_free (p->ids);
  td_tensor_free (p->pixels);
  *p = (qwen_prompt) { 0 };
}

typedef struct qwen_state {
  td_qwen2vl *model;
  td_qwen2vl_session *session;
  td_backend *backend;
  qwen_prompt prompt;
  int32_t *generated;
  int new_tokens;
} qwen_state;

/* The model: a folder's with --model, else random weights of Qwen2-VL-7B's shapes (--small: small ones). */
static td_qwen2vl *
qwen_model (const bench_options *o, td_backend *backend, td_error *err)
{
  if (o->model_dir != NULL)
    return td_qwen2vl_load (o->model_dir, backend, err);
  td_qwen2vl_config config = o->small ? td_qwen2vl_config_small () : td_qwen2vl_config_7b ();
  td_weights *weights = td_weights_new_random (backend, 12);
  if (td_qwen2vl_declare_weights (&config, weights, o->dtype, err) != TD_OK)
    {
      td_weights_free (weights);
      return NULL;
    }
  print_model ("Qwen2-VL", weights, o, backend);
  return td_qwen2vl_new_from_config (&config, weights, err);
}

/* The model, the two-image prompt and a session with room for it and new_tokens more. */
static td_status
qwen_prepare (const bench_options *o, td_backend *backend, int new_tokens, qwen_state *s, td_error *err)
{
  s->backend = backend;
  s->new_tokens = new_tokens;
  if ((s->model = qwen_model (o, backend, err)) == NULL)
    return err->status;
  const td_qwen2vl_config *c = td_qwen2vl_config_of (s->model);
  const int n = o->tokens ? o->tokens : (o->small ? 32 : 586), side = o->small ? 56 : 448;
  td_status st = qwen_prompt_make (c, n, side, backend, &s->prompt, err);
  if (st == TD_OK && n + new_tokens + 1 > c->max_positions)
    st = td_error_set (err, TD_ERR_INVALID_ARG, "bench: %d + %d tokens exceed the model's %d positions", n,
                       new_tokens, c->max_positions);
  if (st == TD_OK && (s->session = td_qwen2vl_session_new (s->model, n + new_tokens + 1, err)) == NULL)
    st = err->status;
  s->generated = g_new (int32_t, new_tokens);
  if (st == TD_OK && !o->json)
    printf ("Qwen2-VL %d layers, hidden %d, vocab %d, vision %d blocks × %d (%s), backend %s\n"
            "  %d prompt tokens with 2 images of %d×%d pixels (%d tokens each)\n",
            c->num_layers, c->hidden_size, c->vocab_size, c->vision.depth, c->vision.embed_dim,
            o->model_dir ? o->model_dir : "random weights", td_backend_name (backend), n, side, side,
            s->prompt.grids[0][1] * s->prompt.grids[0][2] / (c->vision.merge_size * c->vision.merge_size));
  return st;
}

static void
qwen_state_clear (qwen_state *s)
{
  qwen_prompt_clear (&s->prompt);
  g_free (s->generated);
  td_qwen2vl_session_free (s->session);
  td_qwen2vl_free (s->model);
  *s = (qwen_state) { 0 };
}

/* The vision tower on both images, then the prompt through the language model. */
static td_status
qwen_prefill_once (qwen_state *s, td_tensor **hidden, td_error *err)
{
  td_qwen2vl_session_reset (s->session);
  const qwen_prompt *p = &s->prompt;
  const int (*grids)[3] = (const int (*)[3]) p->grids;
  td_tensor *features = td_qwen2vl_encode_images (s->model, p->pixels, grids, TD_QWEN2VL_BOARD_IMAGES, err);
  *hidden = features != NULL
              ? td_qwen2vl_session_prefill (s->session, p->ids, p->n, features, grids, TD_QWEN2VL_BOARD_IMAGES, err)
              : NULL;
  td_tensor_free (features);
  return *hidden != NULL ? TD_OK : err->status;
}

static td_status
qwen_prefill (void *data, double *timed_ms, td_error *err)
{
  td_tensor *hidden = NULL;
  td_status st = qwen_prefill_once (data, &hidden, err);
  td_tensor_free (hidden);
  return st;
}

/* Greedy decoding of new_tokens tokens after an untimed prefill; only the decoding is timed. */
static td_status
qwen_decode (void *data, double *timed_ms, td_error *err)
{
  qwen_state *s = data;
  td_tensor *hidden = NULL;
  td_status st = qwen_prefill_once (s, &hidden, err);
  if (st == TD_OK)
    st = td_backend_sync (s->backend, err);
  double start = now_ms ();
  /* The decoding's work and GPU times only. */
  td_backend_reset_work (s->backend);
  kernel_times prefill_kernels = { .n = 0 };
  add_kernel_times (&prefill_kernels, s->backend);
  td_qwen2vl_generate_params params = { .max_new_tokens = s->new_tokens, .temperature = 0.0f, .top_p = 1.0f,
                                        .ignore_eos = true };
  int n_generated = 0;
  if (st == TD_OK)
    st = td_qwen2vl_generate (s->session, hidden, &params, s->generated, &n_generated, NULL, err);
  if (st == TD_OK)
    st = td_backend_sync (s->backend, err);
  if (st == TD_OK && n_generated != s->new_tokens)
    st = td_error_set (err, TD_ERR_DEVICE, "bench qwen-decode: %d of %d tokens generated", n_generated,
                       s->new_tokens);
  *timed_ms = now_ms () - start;
  td_tensor_free (hidden);
  return st;
}

static td_status
bench_qwen (const bench_options *o, bool decode, td_backend *backend, td_error *err)
{
  qwen_state s = { 0 };
  const int new_tokens = o->new_tokens ? o->new_tokens : (o->small ? 8 : 32);
  td_status st = qwen_prepare (o, backend, new_tokens, &s, err);
  if (st == TD_OK && decode && !o->json)
    printf ("  then %d greedily decoded tokens\n", new_tokens);
  if (st == TD_OK)
    st = decode ? time_runs (o, "qwen-decode", qwen_decode, &s, backend, "token", s.new_tokens, err)
                : time_runs (o, "qwen-prefill", qwen_prefill, &s, backend, "prefill", 1, err);
  qwen_state_clear (&s);
  return st;
}

/* --- ThinkDiff-LVLM end to end --------------------------------------------------------- */

typedef struct lvlm_state {
  qwen_state qwen;
  td_aligner *aligner;
  flux_state flux;
  td_flux_vae *vae;
  td_tensor *z;
  int flux_steps;
} lvlm_state;

/* One image: prefill of the two-image board, greedy thought, aligner, transformer steps
 * on the aligned thought (the same latents each step: the scheduler's arithmetic is
 * negligible; recorded once and replayed as in the pipeline), VAE decode. */
static td_status
lvlm_image (void *data, double *timed_ms, td_error *err)
{
  lvlm_state *s = data;
  td_tensor *prefill = NULL, *thought = NULL, *txt = NULL;
  td_status st = qwen_prefill_once (&s->qwen, &prefill, err);
  td_qwen2vl_generate_params params = { .max_new_tokens = s->qwen.new_tokens, .temperature = 0.0f, .top_p = 1.0f,
                                        .ignore_eos = true };
  int n_generated = 0;
  if (st == TD_OK)
    st = td_qwen2vl_generate (s->qwen.session, prefill, &params, s->qwen.generated, &n_generated, &thought, err);
  if (st == TD_OK && (txt = td_aligner_forward (s->aligner, thought, err)) == NULL)
    st = err->status;
  /* The steps as the pipeline runs them: the first recorded, the others replayed. */
  s->flux.txt = txt;
  for (int i = 0; st == TD_OK && i < s->flux_steps; i++)
    st = flux_step (&s->flux, NULL, err);
  s->flux.txt = NULL;
  td_backend_capture_drop (s->flux.backend);
  td_tensor *image = st == TD_OK ? td_flux_vae_decode (s->vae, s->z, err) : NULL;
  if (st == TD_OK && image == NULL)
    st = err->status;
  td_tensor_free (image);
  td_tensor_free (txt);
  td_tensor_free (thought);
  td_tensor_free (prefill);
  return st;
}

/* The aligner: the folder's (or --aligner) with --model, else random weights from the
 * LVLM's width to T5-XXL's 4096 (--small: the small transformer's text width). */
static td_aligner *
lvlm_aligner (const bench_options *o, td_backend *backend, int hidden, td_error *err)
{
  if (o->model_dir == NULL && o->aligner == NULL)
    {
      const int out = o->small ? td_flux_config_small ().joint_attention_dim : td_t5_config_xxl ().d_model;
      return td_aligner_new_random (hidden, out, backend, o->dtype, 13, err);
    }
  g_autofree char *path = o->aligner ? g_strdup (o->aligner)
                                     : g_build_filename (o->model_dir, "thinkdiff_lvlm_aligner.pth", NULL);
  td_aligner *aligner = td_aligner_load (path, backend, err);
  if (aligner != NULL && td_aligner_in_dim (aligner) != hidden)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "bench lvlm-e2e: %s takes %d-wide states, Qwen2-VL gives %d", path,
                    td_aligner_in_dim (aligner), hidden);
      td_aligner_free (aligner);
      return NULL;
    }
  return aligner;
}

static td_status
bench_lvlm (const bench_options *o, td_backend *backend, td_error *err)
{
  lvlm_state s = { .flux_steps = o->flux_steps ? o->flux_steps : (o->small ? 2 : 28) };
  td_status st = qwen_prepare (o, backend, o->new_tokens ? o->new_tokens : (o->small ? 8 : 128), &s.qwen, err);
  if (st == TD_OK
      && (s.aligner = lvlm_aligner (o, backend, td_qwen2vl_config_of (s.qwen.model)->hidden_size, err)) == NULL)
    st = err->status;
  if (st == TD_OK && !o->json)
    printf ("ThinkDiff-LVLM: %d thought tokens, aligner → %d, %d transformer steps\n", s.qwen.new_tokens,
            td_aligner_out_dim (s.aligner), s.flux_steps);
  /* The transformer reads the aligned thought: its text width is the aligner's. */
  td_flux_config flux_config = o->small ? td_flux_config_small () : td_flux_config_dev ();
  td_vae_config vae_config = o->small ? td_vae_config_small () : td_vae_config_flux ();
  const int size = o->size ? o->size : (o->small ? 128 : 1024);
  if (st == TD_OK)
    {
      flux_config.joint_attention_dim = td_aligner_out_dim (s.aligner);
      st = flux_prepare (o, backend, &flux_config, size, s.qwen.new_tokens, false, &s.flux, err);
    }
  td_weights *vae_weights = st == TD_OK ? td_weights_new_random (backend, 5) : NULL;
  if (vae_weights != NULL && (st = td_flux_vae_declare_weights (&vae_config, vae_weights, o->dtype, err)) != TD_OK)
    td_weights_free (vae_weights);
  else if (vae_weights != NULL)
    {
      print_model ("FLUX VAE", vae_weights, o, backend);
      if ((s.vae = td_flux_vae_new_from_config (&vae_config, vae_weights, err)) == NULL)
        st = err->status;
    }
  if (st == TD_OK)
    {
      const int factor = td_flux_vae_scale_factor (s.vae);
      td_layer_ctx ctx = { .backend = backend, .err = err };
      const int64_t z_shape[4] = { 1, vae_config.latent_channels, size / factor, size / factor };
      s.z = random_input (&ctx, 4, z_shape, 6);
      st = ctx.status;
    }
  if (st == TD_OK)
    st = time_runs (o, "lvlm-e2e", lvlm_image, &s, backend, "image", 1, err);
  td_tensor_free (s.z);
  td_flux_vae_free (s.vae);
  flux_state_clear (&s.flux);
  td_aligner_free (s.aligner);
  qwen_state_clear (&s.qwen);
  return st;
}

int
td_cli_bench_models (int argc, char **argv)
{
  bench_options o;
  int code = parse_options (argc, argv, &o);
  if (code >= 0)
    return code;
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new (o.backend, &err);
  if (backend == NULL)
    return td_cli_fail (&err);
  td_status st;
  if (strcmp (o.model, "flux") == 0 || strcmp (o.model, "flux-step") == 0)
    st = bench_flux (&o, backend, &err);
  else if (strcmp (o.model, "vae") == 0 || strcmp (o.model, "vae-decode") == 0)
    st = bench_vae (&o, strcmp (o.model, "vae") == 0, backend, &err);
  else if (strcmp (o.model, "t5") == 0)
    st = bench_t5 (&o, backend, &err);
  else if (strcmp (o.model, "qwen-prefill") == 0 || strcmp (o.model, "qwen-decode") == 0)
    st = bench_qwen (&o, strcmp (o.model, "qwen-decode") == 0, backend, &err);
  else if (strcmp (o.model, "lvlm-e2e") == 0)
    st = bench_lvlm (&o, backend, &err);
  else
    st = td_error_set (&err, TD_ERR_INVALID_ARG,
                       "bench: unknown workload '%s' (flux-step, vae-decode, t5, qwen-prefill, qwen-decode, lvlm-e2e; "
                       "bench-models also takes flux and vae)", o.model);
  td_backend_free (backend);
  return st == TD_OK ? 0 : td_cli_fail (&err);
}
