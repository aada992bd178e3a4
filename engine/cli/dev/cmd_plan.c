/* thinkdiff plan — each stage's device memory for a mode, size and weight format, from the
 * real model configurations, and the strategy that fits a memory cap. */
#include "cli/cli.h"
#include "cli/cli_args.h"

#include <string.h>

#include "pipeline/memory_plan.h"

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: thinkdiff plan --mode lvlm|clip|t2i [OPTIONS]\n\n"
           "Prints each stage's device memory (weights + activations + workspace) for the real\n"
           "configurations (FLUX.1-dev, T5-XXL, CLIP-L, Qwen2-VL-7B, BLIP-2 ViT-g), without weights,\n"
           "and the strategy that fits the cap.\n\n"
           "Options:\n"
           "  --mode MODE       lvlm, clip or t2i\n"
           "  --width W         image width in pixels (default 1024, a multiple of 16)\n"
           "  --height H        image height in pixels (default 1024)\n"
           "  --max-vram GIB    the device memory to fit in, in GiB (default: no cap)\n"
           "  --weights FORMAT  matrices of FLUX, T5 and the LVLM: bf16 (default), f16, fp8,\n"
           "                    q8_0, q6_k, q5_k, q4_k or q4_0\n");
}

static double
gib (uint64_t bytes)
{
  return (double) bytes / (1024.0 * 1024.0 * 1024.0);
}

static void
print_plan (const td_memory_plan *plan, const td_plan_request *r, const char *mode)
{
  printf ("plan: %s, %d×%d, weights %s", mode, r->width, r->height, td_plan_format_name (r->format[0]));
  if (r->budget > 0)
    printf (", cap %.2f GiB", gib (r->budget));
  printf ("\n\n%-18s %9s %9s %9s %9s %9s  %s\n", "stage", "weights", "activ.", "work", "peak", "planned",
          "strategy");
  for (int i = 0; i < plan->n_stages; i++)
    {
      const td_plan_stage *s = &plan->stage[i];
      printf ("%-18s %9.2f %9.2f %9.2f %9.2f %9.2f  %s\n", s->name, gib (s->weights), gib (s->activations),
              gib (s->workspace), gib (s->peak), gib (s->planned), td_plan_strategy_name (s->strategy));
    }
  printf ("(GiB)\n\nall weights resident: %.2f GiB peak\nstrategy: %s\n", gib (plan->resident_peak),
          td_plan_strategy_name (plan->strategy));
}

int
td_cli_plan (int argc, char **argv)
{
  const char *mode_name = NULL;
  int64_t width = 1024, height = 1024;
  double max_vram = 0;
  td_plan_format format = TD_PLAN_BF16;
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
      bool ok = value != NULL;
      if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      if (!ok)
        ;
      else if (strcmp (arg, "--mode") == 0)
        mode_name = value, i++;
      else if (strcmp (arg, "--width") == 0)
        ok = td_cli_parse_int (arg, value, 16, 8192, &width), i++;
      else if (strcmp (arg, "--height") == 0)
        ok = td_cli_parse_int (arg, value, 16, 8192, &height), i++;
      else if (strcmp (arg, "--max-vram") == 0)
        ok = td_cli_parse_double (arg, value, 0.001, 65536.0, &max_vram), i++;
      else if (strcmp (arg, "--weights") == 0)
        ok = td_plan_format_parse (value, &format), i++;
      else
        ok = false;
      if (!ok)
        {
          fprintf (stderr, "thinkdiff plan: bad option '%s'%s%s\n\n", arg, value ? " " : "", value ? value : "");
          print_usage (stderr);
          return 2;
        }
    }
  td_plan_mode mode;
  if (mode_name != NULL && strcmp (mode_name, "lvlm") == 0)
    mode = TD_PLAN_LVLM;
  else if (mode_name != NULL && strcmp (mode_name, "clip") == 0)
    mode = TD_PLAN_CLIP;
  else if (mode_name != NULL && strcmp (mode_name, "t2i") == 0)
    mode = TD_PLAN_T2I;
  else
    {
      fprintf (stderr, "thinkdiff plan: --mode lvlm, clip or t2i is needed\n\n");
      print_usage (stderr);
      return 2;
    }
  td_plan_request request = td_plan_request_default (mode, (int) width, (int) height);
  request.format[TD_PLAN_FAMILY_FLUX] = request.format[TD_PLAN_FAMILY_T5] = request.format[TD_PLAN_FAMILY_LVLM]
    = format;
  request.budget = (uint64_t) (max_vram * 1024.0 * 1024.0 * 1024.0);
  td_plan_models models = td_plan_models_real ();
  td_memory_plan plan;
  td_error err = { 0 };
  if (td_memory_plan_make (&models, &request, &plan, &err) != TD_OK)
    return td_cli_fail (&err);
  print_plan (&plan, &request, mode_name);
  return 0;
}
