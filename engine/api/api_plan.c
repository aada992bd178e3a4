/* api_plan.c — the public memory plan (thinkdiff-plan.h) over pipeline/memory_plan. */
#include "api/api_private.h"

#include <glib.h>
#include <string.h>

#include "pipeline/board.h"
#include "pipeline/memory_plan.h"

struct td_plan {
  td_memory_plan plan;
  td_plan_models models;   /* owns the measured files' names the stages point at */
  uint64_t budget;
  char *files[TD_PLAN_MAX_STAGES];
};

td_plan_options
td_plan_options_default (td_plan_mode mode)
{
  return (td_plan_options) { .mode = mode, .width = 1024, .height = 1024 };
}

static const char *const mode_names[] = { "lvlm", "clip", "t2i" };

bool
td_plan_mode_parse (const char *name, td_plan_mode *mode)
{
  for (int i = 0; name != NULL && i < (int) G_N_ELEMENTS (mode_names); i++)
    if (strcmp (name, mode_names[i]) == 0)
      {
        *mode = (td_plan_mode) i;
        return true;
      }
  return false;
}

const char *
td_plan_mode_name (td_plan_mode mode)
{
  return (unsigned) mode < G_N_ELEMENTS (mode_names) ? mode_names[mode] : "?";
}

static td_plan *
plan_make (const td_model_paths *paths, const td_plan_options *options, int thought_tokens, td_error *err)
{
  td_weight_files chosen = { 0 };
  for (int part = 0; options != NULL && part < TD_WEIGHTS_COUNT; part++)
    chosen.file[part] = (char *) options->weight_file[part];
  if (options == NULL || (unsigned) options->mode > TD_PLAN_T2I)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "plan: no options or an unknown mode");
      return NULL;
    }
  td_plan_request request = td_plan_request_default (options->mode, options->width, options->height);
  request.budget = options->budget;
  if (thought_tokens > 0)
    request.thought_tokens = thought_tokens;
  if (options->weights != NULL)
    {
      td_plan_format format;
      if (!td_plan_format_parse (options->weights, &format))
        {
          td_error_set (err, TD_ERR_INVALID_ARG, "plan: unknown weight format '%s' (bf16, f16, fp8, q8_0, q6_k, "
                        "q5_k, q4_k or q4_0)", options->weights);
          return NULL;
        }
      request.format[TD_PLAN_FAMILY_FLUX] = request.format[TD_PLAN_FAMILY_T5] = request.format[TD_PLAN_FAMILY_LVLM]
        = format;
    }
  td_plan *plan = g_new0 (td_plan, 1);
  plan->budget = options->budget;
  td_status st = TD_OK;
  if (paths != NULL)
    {
      st = td_plan_models_from_paths (paths, options->mode, &chosen, &plan->models, err);
      request.use_stored = options->weights == NULL;
    }
  else
    plan->models = td_plan_models_real ();
  if (st == TD_OK)
    st = td_memory_plan_make (&plan->models, &request, &plan->plan, err);
  if (st != TD_OK)
    {
      td_plan_free (plan);
      return NULL;
    }
  for (int i = 0; i < plan->plan.n_stages; i++)
    {
      const char *const *files = plan->plan.stage[i].files;
      if (files[0] != NULL && files[1] != NULL)
        plan->files[i] = g_strdup_printf ("%s; %s", files[0], files[1]);
      else if (files[0] != NULL || files[1] != NULL)
        plan->files[i] = g_strdup (files[0] != NULL ? files[0] : files[1]);
    }
  return plan;
}

td_plan *
td_plan_new_for_paths (const td_model_paths *paths, const td_plan_options *options, td_error *err)
{
  if (paths == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "plan: no model paths");
      return NULL;
    }
  return plan_make (paths, options, 0, err);
}

td_plan *
td_plan_new (const char *models_dir, const td_plan_options *options, td_error *err)
{
  if (models_dir == NULL)
    return plan_make (NULL, options, 0, err);
  td_model_paths paths;
  if (td_model_paths_find (models_dir, &paths, err) != TD_OK)
    return NULL;
  td_plan *plan = plan_make (&paths, options, 0, err);
  td_model_paths_clear (&paths);
  return plan;
}

void
td_plan_free (td_plan *plan)
{
  if (plan == NULL)
    return;
  td_plan_models_clear (&plan->models);
  for (int i = 0; i < TD_PLAN_MAX_STAGES; i++)
    g_free (plan->files[i]);
  g_free (plan);
}

td_plan_strategy
td_plan_get_strategy (const td_plan *plan)
{
  return plan->plan.strategy;
}

bool
td_plan_fits (const td_plan *plan)
{
  return plan->plan.strategy != TD_PLAN_DOES_NOT_FIT;
}

uint64_t
td_plan_resident_peak (const td_plan *plan)
{
  return plan->plan.resident_peak;
}

uint64_t
td_plan_peak (const td_plan *plan)
{
  if (plan->plan.strategy == TD_PLAN_ALL_RESIDENT)
    return plan->plan.resident_peak;
  uint64_t peak = 0;
  for (int i = 0; i < plan->plan.n_stages; i++)
    peak = plan->plan.stage[i].planned > peak ? plan->plan.stage[i].planned : peak;
  return peak;
}

uint64_t
td_plan_budget (const td_plan *plan)
{
  return plan->budget;
}

int
td_plan_stage_count (const td_plan *plan)
{
  return plan->plan.n_stages;
}

bool
td_plan_stage_at (const td_plan *plan, int index, td_plan_stage_info *out)
{
  if (index < 0 || index >= plan->plan.n_stages)
    return false;
  const td_plan_stage *s = &plan->plan.stage[index];
  *out = (td_plan_stage_info) {
    .name = s->name, .weights = s->weights, .activations = s->activations, .workspace = s->workspace,
    .peak = s->peak, .planned = s->planned, .strategy = s->strategy, .files = plan->files[index],
    .blocks = s->streamable ? s->blocks : 0, .resident_blocks = s->streamable ? s->resident_blocks : 0,
  };
  return true;
}

/* How the strategy reads in a sentence. */
static const char *
strategy_phrase (td_plan_strategy strategy)
{
  switch (strategy)
    {
    case TD_PLAN_ALL_RESIDENT: return "all models kept loaded";
    case TD_PLAN_STAGE_BY_STAGE: return "one stage at a time";
    case TD_PLAN_STREAMED: return "weights streamed block by block";
    case TD_PLAN_VAE_TILED: return "the image decoded in tiles";
    default: return "does not fit";
    }
}

/* "12.4 GiB", or "310 MiB" under a gibibyte: the unit of the table and of the cap
 * people give (--max-vram GIB). */
static char *
size_text (uint64_t bytes)
{
  const double mib = (double) bytes / (1024.0 * 1024.0);
  if (mib >= 1024.0)
    return g_strdup_printf ("%.1f GiB", mib / 1024.0);
  return g_strdup_printf ("%.0f MiB", mib < 1 ? 1.0 : mib);
}

char *
td_plan_summary (const td_plan *plan)
{
  g_autofree char *peak = size_text (td_plan_peak (plan));
  g_autofree char *budget = plan->budget > 0 ? size_text (plan->budget) : NULL;
  if (budget == NULL)
    return g_strdup_printf ("Needs about %s — %s", peak, strategy_phrase (plan->plan.strategy));
  return g_strdup_printf ("Needs about %s of %s — %s", peak, budget, strategy_phrase (plan->plan.strategy));
}

static double
gib (uint64_t bytes)
{
  return (double) bytes / (1024.0 * 1024.0 * 1024.0);
}

char *
td_plan_table (const td_plan *plan)
{
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "%-18s %9s %9s %9s %9s %9s  %s\n", "stage", "weights", "activ.", "work", "peak",
                          "planned", "strategy");
  for (int i = 0; i < plan->plan.n_stages; i++)
    {
      const td_plan_stage *s = &plan->plan.stage[i];
      g_string_append_printf (out, "%-18s %9.2f %9.2f %9.2f %9.2f %9.2f  %s", s->name, gib (s->weights),
                              gib (s->activations), gib (s->workspace), gib (s->peak), gib (s->planned),
                              td_plan_strategy_name (s->strategy));
      if (s->strategy == TD_PLAN_STREAMED)
        g_string_append_printf (out, " (%d of %d blocks resident)", s->resident_blocks, s->blocks);
      g_string_append_c (out, '\n');
    }
  g_string_append_printf (out, "(GiB)\n\nall weights resident: %.2f GiB peak\nstrategy: %s\n",
                          gib (plan->plan.resident_peak), td_plan_strategy_name (plan->plan.strategy));
  return g_string_free (out, FALSE);
}

uint64_t
td_engine_plan_budget (td_engine *engine)
{
  uint64_t budget = td_backend_budget (td_engine_backend (engine));
  td_memory_report report;
  td_engine_memory (engine, &report);
  if (report.device_budget > 0 && (budget == 0 || report.device_budget < budget))
    budget = report.device_budget;
  return budget;
}

static td_plan *
engine_plan (td_engine *engine, td_plan_mode mode, const td_board_settings *settings, const td_model_paths *paths,
             td_error *err)
{
  td_plan_options options = td_plan_options_default (mode);
  options.width = settings->width;
  options.height = settings->height;
  options.budget = td_engine_plan_budget (engine);
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    options.weight_file[part] = td_engine_get_weight_file (engine, (td_weight_part) part);
  return plan_make (paths, &options, mode == TD_PLAN_LVLM ? settings->max_new_tokens : 0, err);
}

td_plan *
td_engine_plan (td_engine *engine, const td_board *board, const td_model_paths *paths, td_error *err)
{
  return engine_plan (engine, board->mode == TD_BOARD_LVLM ? TD_PLAN_LVLM : TD_PLAN_CLIP, &board->settings, paths,
                      err);
}

td_plan *
td_engine_plan_options (td_engine *engine, const td_plan_options *options, const td_model_paths *paths,
                        td_error *err)
{
  if (options == NULL || paths == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "plan: no options or no model paths");
      return NULL;
    }
  td_plan_options with_budget = *options;
  if (with_budget.budget == 0)
    with_budget.budget = td_engine_plan_budget (engine);
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    if (with_budget.weight_file[part] == NULL)
      with_budget.weight_file[part] = td_engine_get_weight_file (engine, (td_weight_part) part);
  return plan_make (paths, &with_budget, 0, err);
}

bool
td_engine_plan_all_resident (td_engine *engine, td_plan_mode mode, const td_board_settings *settings,
                             const td_model_paths *paths)
{
  td_plan *plan = engine_plan (engine, mode, settings, paths, NULL);
  const bool resident = plan != NULL && td_plan_get_strategy (plan) == TD_PLAN_ALL_RESIDENT;
  td_plan_free (plan);
  return resident;
}
