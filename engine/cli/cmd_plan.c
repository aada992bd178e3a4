/* thinkdiff plan — each stage's device memory for a mode, size and weight format, and
 * the strategy that fits a memory cap: from a models folder's configurations and
 * weight files, or from the real model configurations. */
#include "cli.h"
#include "cli_args.h"

#include <string.h>

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: thinkdiff plan --mode lvlm|clip|t2i [OPTIONS]\n\n"
           "Prints each stage's device memory (weights + activations + workspace) and the\n"
           "strategy that fits the cap, computed without running. Without --models, for the\n"
           "real configurations (FLUX.1-dev, T5-XXL, CLIP-L, Qwen2-VL-7B, BLIP-2 ViT-g).\n\n"
           "Options:\n"
           "  --mode MODE       lvlm, clip or t2i\n"
           "  --models DIR      plan the models installed there: their configurations and\n"
           "                    their weight files as stored (GGUF, safetensors, .pth)\n"
           "  --width W         image width in pixels (default 1024, a multiple of 16)\n"
           "  --height H        image height in pixels (default 1024)\n"
           "  --max-vram GIB    the device memory to fit in, in GiB (default: no cap)\n"
           "  --weights FORMAT  matrices of FLUX, T5 and the LVLM: bf16, f16, fp8, q8_0, q6_k,\n"
           "                    q5_k, q4_k or q4_0 (default: as stored; bf16 without --models)\n"
           "  --weights PART=FILE  with --models: size PART (flux, t5, clip, lvlm for Qwen2-VL\n"
           "                    or eva for BLIP-2's vision tower) from FILE, one of the\n"
           "                    folder's weight files for it (repeatable)\n");
}

static double
gib (uint64_t bytes)
{
  return (double) bytes / (1024.0 * 1024.0 * 1024.0);
}

static void
print_plan (const td_plan *plan, const td_plan_options *options, const char *models_dir)
{
  printf ("plan: %s, %d×%d, weights %s", td_plan_mode_name (options->mode), options->width, options->height,
          options->weights != NULL ? options->weights : models_dir != NULL ? "as stored" : "bf16");
  if (options->budget > 0)
    printf (", cap %.2f GiB", gib (options->budget));
  if (models_dir != NULL)
    printf (", models %s", models_dir);
  char *table = td_plan_table (plan);
  char *summary = td_plan_summary (plan);
  printf ("\n\n%s%s\n", table, summary);
  td_free (table);
  td_free (summary);
  if (models_dir == NULL)
    return;
  printf ("\nweights sized from:\n");
  td_plan_stage_info info;
  for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
    printf ("  %-18s %s\n", info.name, info.files != NULL ? info.files : "(computed from the configuration)");
}

int
td_cli_plan (int argc, char **argv)
{
  const char *mode_name = NULL, *models_dir = NULL, *weights = NULL;
  int64_t width = 1024, height = 1024;
  double max_vram = 0;
  const char *weight_file[TD_WEIGHTS_COUNT] = { 0 };
  bool files_chosen = false;
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
      else if (strcmp (arg, "--models") == 0)
        models_dir = value, i++;
      else if (strcmp (arg, "--width") == 0)
        ok = td_cli_parse_int (arg, value, 16, 8192, &width), i++;
      else if (strcmp (arg, "--height") == 0)
        ok = td_cli_parse_int (arg, value, 16, 8192, &height), i++;
      else if (strcmp (arg, "--max-vram") == 0)
        ok = td_cli_parse_double (arg, value, 0.001, 65536.0, &max_vram), i++;
      else if (strcmp (arg, "--weights") == 0 && strchr (value, '=') != NULL)
        {
          if (!td_cli_parse_weight_choice (arg, value, weight_file))
            return 2;
          files_chosen = true;
          i++;
        }
      else if (strcmp (arg, "--weights") == 0)
        {
          /* Checked here so that a bad format is a usage error, like the other options. */
          td_plan_options probe = td_plan_options_default (TD_PLAN_T2I);
          probe.weights = weights = value;
          td_plan *plan = td_plan_new (NULL, &probe, NULL);
          ok = plan != NULL;
          td_plan_free (plan);
          i++;
        }
      else
        ok = false;
      if (!ok)
        {
          fprintf (stderr, "thinkdiff plan: bad option '%s'%s%s\n\n", arg, value ? " " : "", value ? value : "");
          print_usage (stderr);
          return 2;
        }
    }
  td_plan_options options;
  if (!td_plan_mode_parse (mode_name, &options.mode))
    {
      fprintf (stderr, "thinkdiff plan: --mode lvlm, clip or t2i is needed\n\n");
      print_usage (stderr);
      return 2;
    }
  options = (td_plan_options) {
    .mode = options.mode,
    .width = (int) width,
    .height = (int) height,
    .budget = (uint64_t) (max_vram * 1024.0 * 1024.0 * 1024.0),
    .weights = weights,
  };
  if (files_chosen && models_dir == NULL)
    {
      fprintf (stderr, "thinkdiff plan: --weights PART=FILE needs --models DIR\n");
      return 2;
    }
  if (files_chosen && !td_cli_check_weight_choices (models_dir, models_dir, weight_file))
    return 1;
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    options.weight_file[part] = weight_file[part];
  td_error err = { 0 };
  td_plan *plan = td_plan_new (models_dir, &options, &err);
  if (plan == NULL)
    return td_cli_fail (&err);
  print_plan (plan, &options, models_dir);
  td_plan_free (plan);
  return 0;
}
