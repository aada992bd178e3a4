/* thinkdiff bench-models — time the models with random weights of their real shapes
 * (FLUX.1-dev transformer, the FLUX VAE, T5-XXL), built in memory without files. */
#include "cli/cli.h"
#include "cli/cli_args.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "models/flux_vae_tiles.h"
#include "models/layers.h"
#include "models/random_models.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/verify.h"

typedef struct bench_options {
  const char *model;
  const char *backend;
  int size;       /* image side in pixels; 0 = the model's default */
  int steps;      /* timed runs after one warm-up run */
  int tokens;     /* text tokens; 0 = the default */
  int tile;       /* VAE: decode in tiles of this many latents (0 = whole) */
  bool small;
  td_dtype dtype;
} bench_options;

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: thinkdiff bench-models flux|vae|t5 [OPTIONS]\n\n"
           "Times a model with random weights of its real shapes, made up in memory:\n"
           "  flux  the FLUX.1-dev transformer (19 + 38 blocks, 3072 wide), ms per step\n"
           "  vae   the FLUX VAE, ms per decode and per encode\n"
           "  t5    the T5-XXL encoder, ms per encode\n\n"
           "Options:\n"
           "  --size N        image side in pixels (flux: 1024, vae: 1024; multiples of 16)\n"
           "  --backend NAME  cpu or vulkan (default cpu)\n"
           "  --steps N       timed runs after one warm-up run (default 2)\n"
           "  --tokens N      text tokens (flux and t5: 512)\n"
           "  --tile N        vae: decode and encode in tiles of N latents (overlap N/4)\n"
           "  --dtype NAME    weight dtype: bf16 (default, as the checkpoints ship), f16 or f32\n"
           "  --small         scaled-down shapes that finish in seconds on a small CPU\n");
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
      else if (strcmp (arg, "--dtype") == 0)
        {
          o->dtype = strcmp (value, "bf16") == 0 ? TD_BF16 : strcmp (value, "f16") == 0 ? TD_F16
                     : strcmp (value, "f32") == 0 ? TD_F32 : TD_DTYPE_COUNT;
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
  printf ("%s%s: %.2f %s parameters (%.2f GiB of %s, random), backend %s\n", what, o->small ? " (small shapes)" : "",
          elements >= 1000000000 ? (double) elements / 1e9 : (double) elements / 1e6,
          elements >= 1000000000 ? "G" : "M", (double) bytes / (1024.0 * 1024.0 * 1024.0), td_dtype_name (o->dtype),
          td_backend_name (backend));
}

/* Runs one timed loop: the first run warms up (makes up and uploads the weights). */
typedef td_status (*bench_run_fn) (void *state, td_error *err);

static td_status
time_runs (bench_run_fn run, void *state, td_backend *backend, int steps, const char *unit, td_error *err)
{
  double start = now_ms ();
  td_status st = run (state, err);
  if (st == TD_OK)
    st = td_backend_sync (backend, err);
  if (st != TD_OK)
    return st;
  printf ("  warm-up: %.1f ms (includes making up and placing the weights)\n", now_ms () - start);
  double total = 0, best = 0;
  for (int i = 0; i < steps && st == TD_OK; i++)
    {
      start = now_ms ();
      if ((st = run (state, err)) == TD_OK && (st = td_backend_sync (backend, err)) == TD_OK)
        {
          double ms = now_ms () - start;
          total += ms;
          best = i == 0 || ms < best ? ms : best;
        }
    }
  if (st == TD_OK)
    printf ("  %.1f ms per %s (mean of %d, best %.1f)\n", total / steps, unit, steps, best);
  fflush (stdout);
  return st;
}

/* --- FLUX transformer -------------------------------------------------------------------- */

typedef struct flux_state {
  td_flux_dit *model;
  td_tensor *latents, *txt, *pooled, *cos, *sin;
} flux_state;

static td_status
flux_step (void *data, td_error *err)
{
  flux_state *s = data;
  td_tensor *v = td_flux_dit_forward (s->model, s->latents, s->txt, s->pooled, 0.5f, 3.5f, s->cos, s->sin, err);
  td_tensor_free (v);
  return v != NULL ? TD_OK : (err->status != TD_OK ? err->status : TD_ERR_DEVICE);
}

static td_status
bench_flux (const bench_options *o, td_backend *backend, td_error *err)
{
  td_flux_config config = o->small ? td_flux_config_small () : td_flux_config_dev ();
  int size = o->size ? o->size : (o->small ? 128 : 1024), tokens = o->tokens ? o->tokens : (o->small ? 64 : 512);
  td_weights *weights = td_weights_new_random (backend, 1);
  flux_state s = { 0 };
  td_status st = td_flux_dit_declare_weights (&config, weights, o->dtype, err);
  if (st != TD_OK)
    {
      td_weights_free (weights);
      return st;
    }
  print_model ("FLUX transformer", weights, o, backend);
  if ((s.model = td_flux_dit_new_from_config (&config, weights, err)) == NULL)
    return err->status;

  const int side = size / 16, n_img = side * side;
  float *img_ids = g_new0 (float, (gsize) n_img * 3), *txt_ids = g_new0 (float, (gsize) tokens * 3);
  for (int i = 0; i < side; i++)
    for (int j = 0; j < side; j++)
      {
        img_ids[(i * side + j) * 3 + 1] = (float) i;
        img_ids[(i * side + j) * 3 + 2] = (float) j;
      }
  st = td_flux_dit_rope (s.model, txt_ids, tokens, img_ids, n_img, &s.cos, &s.sin, err);
  g_free (img_ids);
  g_free (txt_ids);
  td_layer_ctx ctx = { .backend = backend, .err = err, .status = st };
  const int64_t latent_shape[3] = { 1, n_img, config.in_channels };
  const int64_t txt_shape[3] = { 1, tokens, config.joint_attention_dim };
  const int64_t pooled_shape[2] = { 1, config.pooled_projection_dim };
  s.latents = random_input (&ctx, 3, latent_shape, 2);
  s.txt = random_input (&ctx, 3, txt_shape, 3);
  s.pooled = random_input (&ctx, 2, pooled_shape, 4);
  st = ctx.status;
  if (st == TD_OK)
    {
      printf ("  %d×%d: %d image + %d text tokens\n", size, size, n_img, tokens);
      st = time_runs (flux_step, &s, backend, o->steps, "step", err);
    }
  td_tensor_free (s.latents);
  td_tensor_free (s.txt);
  td_tensor_free (s.pooled);
  td_tensor_free (s.cos);
  td_tensor_free (s.sin);
  td_flux_dit_free (s.model);
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
vae_decode (void *data, td_error *err)
{
  vae_state *s = data;
  td_tensor *out = s->tiled ? td_flux_vae_decode_tiled (s->vae, s->input, &s->tiling, NULL, err)
                            : td_flux_vae_decode (s->vae, s->input, err);
  td_tensor_free (out);
  return out != NULL ? TD_OK : err->status;
}

static td_status
vae_encode (void *data, td_error *err)
{
  vae_state *s = data;
  td_tensor *out = s->tiled ? td_flux_vae_encode_mean_tiled (s->vae, s->input, &s->tiling, NULL, err)
                            : td_flux_vae_encode_mean (s->vae, s->input, err);
  td_tensor_free (out);
  return out != NULL ? TD_OK : err->status;
}

static td_status
bench_vae (const bench_options *o, td_backend *backend, td_error *err)
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
      if (s.tiled)
        printf ("  in tiles of %d latents, overlap %d\n", s.tiling.tile, s.tiling.overlap);
      printf ("  decode %d×%d latents → %d×%d pixels\n", size / factor, size / factor, size, size);
      s.input = z;
      st = time_runs (vae_decode, &s, backend, o->steps, "decode", err);
    }
  if (st == TD_OK)
    {
      printf ("  encode %d×%d pixels\n", size, size);
      s.input = image;
      st = time_runs (vae_encode, &s, backend, o->steps, "encode", err);
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
t5_encode (void *data, td_error *err)
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
  printf ("  %d tokens\n", s.n);
  st = time_runs (t5_encode, &s, backend, o->steps, "encode", err);
  g_free (s.ids);
  td_t5_encoder_free (s.encoder);
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
  if (strcmp (o.model, "flux") == 0)
    st = bench_flux (&o, backend, &err);
  else if (strcmp (o.model, "vae") == 0)
    st = bench_vae (&o, backend, &err);
  else if (strcmp (o.model, "t5") == 0)
    st = bench_t5 (&o, backend, &err);
  else
    st = td_error_set (&err, TD_ERR_INVALID_ARG, "bench-models: unknown model '%s' (flux, vae or t5)", o.model);
  td_backend_free (backend);
  return st == TD_OK ? 0 : td_cli_fail (&err);
}
