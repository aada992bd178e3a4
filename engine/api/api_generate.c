/* api_generate.c — td_engine_generate over the ThinkDiff pipeline, and the
 * td_output it hands back. */
#include "api/api_private.h"

#include <glib.h>
#include <stdlib.h>

#include "io/image.h"
#include "pipeline/board.h"
#include "pipeline/model_cache.h"
#include "pipeline/thinkdiff_pipeline.h"

struct td_output {
  td_image image;
  char *thought;
  char *mode;
  char *board_json;
  char *software;
  bool thought_edited;
  td_image_text metadata[5];
  size_t n_metadata;
};

/* The public callbacks, seen through the pipeline's. */
typedef struct {
  td_engine *engine;
  const td_generate_callbacks *callbacks;
} relay;

static void
relay_stage (void *user, const char *stage)
{
  relay *r = user;
  if (r->callbacks->stage != NULL)
    r->callbacks->stage (r->callbacks->user, stage);
  if (r->callbacks->memory != NULL)
    {
      td_memory_report report;
      td_engine_memory (r->engine, &report);
      r->callbacks->memory (r->callbacks->user, &report);
    }
}

static void
relay_thought (void *user, const char *piece)
{
  relay *r = user;
  if (r->callbacks->thought != NULL)
    r->callbacks->thought (r->callbacks->user, piece);
}

static void
relay_step (void *user, int step, int steps)
{
  relay *r = user;
  if (r->callbacks->step != NULL)
    r->callbacks->step (r->callbacks->user, step, steps);
}

static void
relay_preview (void *user, int step, int steps, const uint8_t *rgb, int width, int height)
{
  relay *r = user;
  td_image preview = { width, height, (uint8_t *) rgb };
  if (r->callbacks->preview != NULL)
    r->callbacks->preview (r->callbacks->user, step, steps, &preview);
}

static td_thinkdiff_callbacks
relay_callbacks (relay *r)
{
  static const td_generate_callbacks none = { 0 };
  if (r->callbacks == NULL)
    r->callbacks = &none;
  return (td_thinkdiff_callbacks) {
    .stage = relay_stage,
    .thought = relay_thought,
    .progress = relay_step,
    .preview = relay_preview,
    .cancel = r->callbacks->cancel,
    .user = r,
  };
}

void
td_output_free (td_output *output)
{
  if (output == NULL)
    return;
  td_image_clear (&output->image);
  g_free (output->thought);
  g_free (output->mode);
  g_free (output->board_json);
  g_free (output->software);
  g_free (output);
}

/* Takes result's pixels and thought into a new output. */
static td_status
output_new (td_thinkdiff_result *result, const td_board *board, const char *mode, td_output **out, td_error *err)
{
  td_output *output = g_new0 (td_output, 1);
  td_status st = td_image_from_planar (result->pixels, result->width, result->height, &output->image, err);
  if (st != TD_OK)
    {
      g_free (output);
      return st;
    }
  output->thought = g_steal_pointer (&result->thought);
  output->mode = g_strdup (mode);
  output->board_json = td_board_to_json (board);
  output->software = g_strdup_printf ("ThinkDiff Studio %s", td_version ());
  output->metadata[0] = (td_image_text) { (char *) "Software", output->software };
  output->metadata[1] = (td_image_text) { (char *) "thinkdiff:mode", output->mode };
  output->metadata[2] = (td_image_text) { (char *) "thinkdiff:board", output->board_json };
  output->metadata[3] = (td_image_text) { (char *) "thinkdiff:thought", output->thought };
  output->n_metadata = output->thought != NULL ? 4 : 3;
  output->thought_edited = output->thought != NULL && board->thought != NULL;
  if (output->thought_edited)
    output->metadata[output->n_metadata++] = (td_image_text) { (char *) "thinkdiff:thought-edited", (char *) "true" };
  *out = output;
  return TD_OK;
}

static td_status
finish (td_status st, td_thinkdiff_result *result, const td_board *board, const char *mode, td_output **out,
        td_error *err)
{
  if (st == TD_OK)
    st = output_new (result, board, mode, out, err);
  td_thinkdiff_result_clear (result);
  return st;
}

td_status
td_engine_generate (td_engine *engine, const td_board *board, const td_model_paths *paths,
                    const td_generate_callbacks *callbacks, td_output **out, td_error *err)
{
  *out = NULL;
  relay r = { engine, callbacks };
  td_thinkdiff_callbacks pipeline_callbacks = relay_callbacks (&r);
  td_thinkdiff_result result = { 0 };
  td_model_cache *models = td_engine_models (engine);
  const td_plan_mode mode = board->mode == TD_BOARD_LVLM ? TD_PLAN_LVLM : TD_PLAN_CLIP;
  td_model_cache_set_keep (models, td_engine_plan_all_resident (engine, mode, &board->settings, paths));
  td_status st = td_thinkdiff_generate_cached (board, paths, models, &pipeline_callbacks, &result, err);
  if (st != TD_OK)
    td_model_cache_clear (models);
  return finish (st, &result, board, td_board_mode_name (board->mode), out, err);
}

td_status
td_engine_text_to_image (td_engine *engine, const td_board *board, const char *flux_dir,
                         const td_generate_callbacks *callbacks, td_output **out, td_error *err)
{
  *out = NULL;
  relay r = { engine, callbacks };
  td_thinkdiff_callbacks pipeline_callbacks = relay_callbacks (&r);
  td_thinkdiff_result result = { 0 };
  g_autofree char *prompt = td_board_joined_text (board);
  td_model_cache *models = td_engine_models (engine);
  td_model_paths paths = { 0 };
  bool resident = false;
  if (flux_dir != NULL && td_model_paths_find (flux_dir, &paths, NULL) == TD_OK)
    resident = td_engine_plan_all_resident (engine, TD_PLAN_T2I, &board->settings, &paths);
  td_model_paths_clear (&paths);
  td_model_cache_set_keep (models, resident);
  td_status st = td_thinkdiff_text_to_image_cached (prompt, &board->settings, flux_dir, models, &pipeline_callbacks,
                                                    &result, err);
  if (st != TD_OK)
    td_model_cache_clear (models);
  return finish (st, &result, board, "text-to-image", out, err);
}

bool
td_output_thought_edited (const td_output *output)
{
  return output->thought_edited;
}

const td_image *
td_output_image (const td_output *output)
{
  return &output->image;
}

const char *
td_output_thought (const td_output *output)
{
  return output->thought;
}

const char *
td_output_mode (const td_output *output)
{
  return output->mode;
}

const char *
td_output_board_json (const td_output *output)
{
  return output->board_json;
}

const td_image_text *
td_output_metadata (const td_output *output, size_t *n_text)
{
  *n_text = output->n_metadata;
  return output->metadata;
}

td_status
td_output_save_png (const td_output *output, const char *path, td_error *err)
{
  return td_image_save_png (path, &output->image, output->metadata, output->n_metadata, err);
}
