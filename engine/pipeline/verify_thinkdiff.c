/* verify_thinkdiff.c — `thinkdiff verify` components for the assembled ThinkDiff
 * conditioning: a board (JSON in the io file's "board" metadata, image paths relative
 * to the model folder) through td_thinkdiff_condition with the models of a models
 * folder, compared with a transcription of the official code
 * (tests/data/golden/make-thinkdiff-goldens.py): prompt_embeds, pooled, the prompt's
 * ids (text_ids), the pooled text's CLIP ids, and in LVLM mode the thought's ids. */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pipeline/thinkdiff_conditioning.h"
#include "pipeline/verify.h"

static td_status
add_ids (td_verify_outputs *outputs, const char *name, const int32_t *ids, int n, td_error *err)
{
  float *values = g_new (float, n > 0 ? n : 1);
  for (int i = 0; i < n; i++)
    values[i] = (float) ids[i];
  const int64_t shape[2] = { 1, n };
  td_status st = td_verify_outputs_add_f32 (outputs, name, 2, shape, values, err);
  g_free (values);
  return st;
}

static td_status
run_board (td_board_mode mode, const char *model_dir, td_safetensors *io, td_backend *backend,
           td_verify_outputs *outputs, td_error *err)
{
  const char *text = td_safetensors_metadata (io, "board");
  if (text == NULL)
    return td_error_set (err, TD_ERR_FORMAT, "the io file has no \"board\" metadata");
  td_board *board = td_board_load_json_data (text, strlen (text), "the io file's board", model_dir, err);
  if (board == NULL)
    return err->status;
  td_model_paths paths;
  td_thinkdiff_conditioning c = { 0 };
  td_status st = board->mode == mode ? TD_OK
                                     : td_error_set (err, TD_ERR_FORMAT, "the io file's board is in %s mode",
                                                     td_board_mode_name (board->mode));
  if (st == TD_OK)
    st = td_model_paths_find (model_dir, &paths, err);
  if (st == TD_OK)
    {
      st = td_thinkdiff_condition (board, &paths, backend, NULL, &c, err);
      td_model_paths_clear (&paths);
    }
  if (st == TD_OK)
    st = td_backend_sync (backend, err);
  if (st == TD_OK)
    {
      td_verify_outputs_add (outputs, "prompt_embeds", c.prompt_embeds);
      /* LVLM mode generates with Qwen2-VL's key/value cache in f16: its thought states
       * are within 2.2e-4 of the golden's (measured on both io files, CPU and lavapipe),
       * so about four times that (docs/precision.md); qwen2-vl checks the f32 cache at
       * the default tolerance. */
      if (mode == TD_BOARD_LVLM && !td_backend_reduced_precision (backend))
        td_verify_outputs_set_tolerance (outputs, "prompt_embeds", 1e-3);
      td_verify_outputs_add (outputs, "pooled", c.pooled);
      c.prompt_embeds = c.pooled = NULL;
      if ((st = add_ids (outputs, "text_ids", c.text_ids, c.n_text_ids, err)) == TD_OK)
        st = add_ids (outputs, "clip_ids", c.clip_ids, TD_CLIP_MAX_LENGTH, err);
      if (st == TD_OK && mode == TD_BOARD_LVLM)
        st = add_ids (outputs, "thought_ids", c.thought_ids, c.n_thought_ids, err);
    }
  td_thinkdiff_conditioning_clear (&c);
  td_board_free (board);
  return st;
}

static td_status
run_lvlm (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs, td_error *err)
{
  return run_board (TD_BOARD_LVLM, model_dir, io, backend, outputs, err);
}

static td_status
run_clip (const char *model_dir, td_safetensors *io, td_backend *backend, td_verify_outputs *outputs, td_error *err)
{
  return run_board (TD_BOARD_CLIP, model_dir, io, backend, outputs, err);
}

const td_verify_component td_verify_thinkdiff_lvlm = {
  .name = "thinkdiff-lvlm",
  .summary = "ThinkDiff-LVLM conditioning of a board: chat ids, greedy thought with EOS held back, aligned states, "
             "pooled",
  .run = run_lvlm,
  .f16_tolerance = 1e-3,
};

const td_verify_component td_verify_thinkdiff_clip = {
  .name = "thinkdiff-clip",
  .summary = "ThinkDiff-CLIP conditioning of a board: aligned image tokens, then the T5 prompt of 128 tokens, pooled",
  .run = run_clip,
  .f16_tolerance = 5e-3,
};
