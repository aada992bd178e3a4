/* thinkdiff bench ops — GFLOP/s of the FLUX-sized matmuls (bf16 weights) and
 * attention on a backend. Figures, not tests. */
#include "cli/cli.h"
#include "backend/ops.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

static td_tensor *
random_tensor (td_backend *b, td_dtype dtype, int ndim, const int64_t *shape, td_error *err)
{
  td_tensor *t = td_tensor_new (b, dtype, ndim, shape, err);
  if (t == NULL)
    return NULL;
  int64_t n = td_tensor_numel (t);
  float *values = malloc ((size_t) n * sizeof *values);
  void *raw = malloc (td_tensor_nbytes (t));
  if (values == NULL || raw == NULL)
    {
      free (values);
      free (raw);
      td_tensor_free (t);
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory filling a benchmark tensor");
      return NULL;
    }
  uint32_t state = 12345;
  for (int64_t i = 0; i < n; i++)
    {
      state = state * 1664525u + 1013904223u;
      values[i] = (float) (state >> 8) / 16777216.0f - 0.5f;
    }
  td_convert_from_f32 (raw, dtype, values, (size_t) n);
  td_status status = td_tensor_upload (t, raw, td_tensor_nbytes (t), err);
  free (values);
  free (raw);
  if (status != TD_OK)
    {
      td_tensor_free (t);
      return NULL;
    }
  return t;
}

/* Runs op `repeats` times after one warm-up; returns seconds per run, or < 0. */
static double
time_op (td_backend *b, const td_op *op, int repeats, td_error *err)
{
  if (td_backend_run (b, op, err) != TD_OK || td_backend_sync (b, err) != TD_OK)
    return -1;
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < repeats; i++)
    if (td_backend_run (b, op, err) != TD_OK)
      return -1;
  if (td_backend_sync (b, err) != TD_OK)
    return -1;
  return (double) (g_get_monotonic_time () - start) / 1e6 / repeats;
}

static void
report (const char *backend, const char *what, double flops, double seconds, const td_error *err)
{
  if (seconds < 0)
    printf ("%-8s %-44s %s\n", backend, what, err->message);
  else
    printf ("%-8s %-44s %8.2f ms %10.1f GFLOP/s\n", backend, what, seconds * 1e3, flops / seconds / 1e9);
  fflush (stdout);
}

static void
bench_matmul (td_backend *b, const char *name, int64_t m, int64_t k, int64_t n, int repeats)
{
  td_error err;
  int64_t xs[2] = { m, k }, ws[2] = { n, k }, ys[2] = { m, n };
  td_tensor *x = random_tensor (b, TD_F32, 2, xs, &err);
  td_tensor *w = x ? random_tensor (b, TD_BF16, 2, ws, &err) : NULL;
  td_tensor *y = w ? td_tensor_new (b, TD_F32, 2, ys, &err) : NULL;
  char what[96];
  g_snprintf (what, sizeof what, "matmul %lldx%lldx%lld bf16 weights", (long long) m, (long long) k, (long long) n);
  double seconds = -1;
  if (y != NULL)
    {
      td_op op = { .type = TD_OP_MATMUL, .dst = y, .src = { x, w } };
      seconds = time_op (b, &op, repeats, &err);
    }
  report (name, what, 2.0 * m * n * k, seconds, &err);
  td_tensor_free (x);
  td_tensor_free (w);
  td_tensor_free (y);
}

static void
bench_attention (td_backend *b, const char *name, int64_t heads, int64_t dim, int64_t tokens, int repeats)
{
  td_error err;
  int64_t shape[4] = { 1, tokens, heads, dim };
  td_tensor *q = random_tensor (b, TD_F32, 4, shape, &err);
  td_tensor *k = q ? random_tensor (b, TD_F32, 4, shape, &err) : NULL;
  td_tensor *v = k ? random_tensor (b, TD_F32, 4, shape, &err) : NULL;
  td_tensor *y = v ? td_tensor_new (b, TD_F32, 4, shape, &err) : NULL;
  char what[96];
  g_snprintf (what, sizeof what, "attention %lld heads x %lld dims x %lld tokens", (long long) heads, (long long) dim,
              (long long) tokens);
  double seconds = -1;
  if (y != NULL)
    {
      td_op op = { .type = TD_OP_ATTENTION, .dst = y, .src = { q, k, v },
                   .p.attention = { .scale = 1.0f / 11.3137f, .causal = false } };
      seconds = time_op (b, &op, repeats, &err);
    }
  report (name, what, 4.0 * heads * (double) tokens * tokens * dim, seconds, &err);
  td_tensor_free (q);
  td_tensor_free (k);
  td_tensor_free (v);
  td_tensor_free (y);
}

static void
bench_backend (td_backend *b, const char *name, bool small)
{
  if (small)
    {
      bench_matmul (b, name, 256, 512, 512, 3);
      bench_matmul (b, name, 256, 512, 2048, 2);
      bench_attention (b, name, 4, 128, 512, 2);
    }
  else
    {
      bench_matmul (b, name, 4608, 3072, 3072, 5);
      bench_matmul (b, name, 4608, 3072, 12288, 3);
      bench_attention (b, name, 24, 128, 4608, 3);
    }
}

int
td_cli_bench (int argc, char **argv)
{
  bool small = false;
  const char *only = NULL;
  if (argc >= 2 && argv[1][0] != '-' && strcmp (argv[1], "ops") != 0)
    return td_cli_bench_models (argc, argv);
  if (argc < 2 || strcmp (argv[1], "ops") != 0)
    {
      const bool help = argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0);
      fprintf (help ? stdout : stderr,
               "Usage: thinkdiff bench ops [--small] [--backend cpu|vulkan]\n"
               "       thinkdiff bench WORKLOAD [OPTIONS…] (see thinkdiff bench flux-step --help)\n"
               "Prints GFLOP/s of FLUX-sized matmuls (bf16 weights) and attention, or times a\n"
               "workload: flux-step, vae-decode, t5, qwen-prefill, qwen-decode, lvlm-e2e.\n"
               "--small uses shapes that finish in seconds on a CPU Vulkan driver.\n");
      return help ? 0 : 2;
    }
  for (int i = 2; i < argc; i++)
    {
      if (strcmp (argv[i], "--small") == 0)
        small = true;
      else if (strcmp (argv[i], "--backend") == 0 && i + 1 < argc)
        only = argv[++i];
      else
        {
          td_error err;
          td_error_set (&err, TD_ERR_INVALID_ARG, "bench ops: unknown option %s", argv[i]);
          return td_cli_fail (&err);
        }
    }
  if (only != NULL && strcmp (only, "cpu") != 0 && strcmp (only, "vulkan") != 0)
    {
      td_error err;
      td_error_set (&err, TD_ERR_INVALID_ARG, "bench ops: --backend must be cpu or vulkan, not %s", only);
      return td_cli_fail (&err);
    }
  td_error err;
  if (only == NULL || strcmp (only, "vulkan") == 0)
    {
#ifdef TD_HAVE_VULKAN
      td_backend *b = td_backend_vulkan_new (-1, &err);
      if (b == NULL)
        {
          if (only != NULL)
            return td_cli_fail (&err);
          printf ("vulkan: %s\n", err.message);
        }
      else
        {
          printf ("vulkan device: %s\n", td_vulkan_backend_device (b)->name);
          const td_vulkan_device_info *d = td_vulkan_backend_device (b);
          printf ("vulkan matmul: %s; tiled GEMM tile %ux%u (table entry %s)\n",
                  d->coopmat_enabled    ? "cooperative matrices (weights other than f32)"
                  : d->coopmat_emulated ? "cooperative matrices, emulated"
                                        : "tiled kernel",
                  d->tile_m, d->tile_n, d->tile_name);
          bench_backend (b, "vulkan", small);
          td_backend_free (b);
        }
#else
      if (only != NULL)
        {
          td_error_set (&err, TD_ERR_UNSUPPORTED, "bench ops: this build has no Vulkan backend");
          return td_cli_fail (&err);
        }
#endif
    }
  if (only == NULL || strcmp (only, "cpu") == 0)
    {
      td_backend *b = td_backend_cpu_new (&err);
      if (b == NULL)
        return td_cli_fail (&err);
      bench_backend (b, "cpu", small);
      td_backend_free (b);
    }
  return 0;
}
