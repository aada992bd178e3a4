/* td-preview-demo.c — a stand-in generation worker that runs no model.
 *
 * It walks through the stages a real run reports, sleeping a little per step,
 * and draws synthetic frames: noise fading into soft colour fields picked from
 * the board's items. Tests use it to exercise progress, previews, the result
 * path and cancellation. It is built into the tests only.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "thinkdiff.h"
#include "td-preview-demo.h"

#define DEFAULT_STEP_DELAY_MS 40
/* Previews are drawn at latent resolution, as the latent preview would be. */
#define PREVIEW_DOWNSCALE 8

typedef struct {
  double r, g, b;
} Colour;

static Colour
colour_from_hue (double hue)
{
  /* HSV with S = 0.55, V = 0.9: pleasant, never garish. */
  double s = 0.55, v = 0.9;
  double h6 = fmod (hue, 1.0) * 6.0;
  double c = v * s, x = c * (1.0 - fabs (fmod (h6, 2.0) - 1.0)), m = v - c;
  Colour out;

  switch ((int) h6)
    {
    case 0: out = (Colour) { c, x, 0 }; break;
    case 1: out = (Colour) { x, c, 0 }; break;
    case 2: out = (Colour) { 0, c, x }; break;
    case 3: out = (Colour) { 0, x, c }; break;
    case 4: out = (Colour) { x, 0, c }; break;
    default: out = (Colour) { c, 0, x }; break;
    }
  out.r += m;
  out.g += m;
  out.b += m;
  return out;
}

static Colour
mean_colour (GBytes *pixels)
{
  gsize size;
  const guchar *data = g_bytes_get_data (pixels, &size);
  double sum[3] = { 0, 0, 0 };
  gsize n = size / 3;

  for (gsize i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      sum[c] += data[i * 3 + c];
  if (n == 0)
    return (Colour) { 0.5, 0.5, 0.5 };
  return (Colour) { sum[0] / n / 255.0, sum[1] / n / 255.0, sum[2] / n / 255.0 };
}

/* One colour per item, at most three; images without pixels at hand (files)
 * and texts get a hue from a hash of their file name or words. */
static guint
pick_palette (const TdGenerationRequest *request,
              Colour                     palette[3])
{
  guint n = 0;

  for (guint i = 0; i < request->inputs->len && n < 3; i++)
    {
      const TdGenerationInput *input = g_ptr_array_index (request->inputs, i);

      if (input->pixels != NULL)
        palette[n++] = mean_colour (input->pixels);
      else if (input->path != NULL)
        {
          g_autofree char *name = g_path_get_basename (input->path);

          palette[n++] = colour_from_hue ((g_str_hash (name) % 1000) / 1000.0);
        }
      else if (input->text != NULL)
        palette[n++] = colour_from_hue ((g_str_hash (input->text) % 1000) / 1000.0);
    }

  for (guint i = n; i < 3; i++)
    palette[i] = colour_from_hue (0.55 + 0.12 * i);
  return n;
}

static guint32
hash3 (guint32 x,
       guint32 y,
       guint32 z)
{
  guint32 h = x * 0x8da6b343u ^ y * 0xd8163841u ^ z * 0xcb1ab31fu;

  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  return h;
}

/* Draws the frame at progress t in [0, 1]: noise at 0, colour fields at 1. */
static GBytes *
draw_frame (const Colour palette[3],
            int          width,
            int          height,
            guint32      seed,
            double       t)
{
  guchar *rgb = g_malloc ((gsize) width * height * 3);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        double u = (x + 0.5) / width, v = (y + 0.5) / height;
        double du = u - 0.5, dv = v - 0.58;
        double blob = exp (-(du * du + dv * dv) / 0.045);
        double base[3] = {
          palette[0].r + (palette[1].r - palette[0].r) * v,
          palette[0].g + (palette[1].g - palette[0].g) * v,
          palette[0].b + (palette[1].b - palette[0].b) * v,
        };
        double blob_colour[3] = { palette[2].r, palette[2].g, palette[2].b };
        guchar *out = rgb + ((gsize) y * width + x) * 3;

        for (int c = 0; c < 3; c++)
          {
            double clean = base[c] + (blob_colour[c] - base[c]) * blob * 0.85;
            double noise = (hash3 (x, y, seed * 3 + c) & 0xff) / 255.0;
            double value = noise + (clean - noise) * t;

            out[c] = (guchar) CLAMP (value * 255.0 + 0.5, 0, 255);
          }
      }

  return g_bytes_new_take (rgb, (gsize) width * height * 3);
}

/* The board as a real run reports it (td_board_to_json), so Reuse and the
 * history see what they would after a real run. Pasted pixels have no file
 * to name and are left out. */
static char *
board_json (const TdGenerationRequest *request)
{
  td_board *board = td_board_new (request->mode == TD_GENERATION_MODE_CLIP ? TD_BOARD_CLIP : TD_BOARD_LVLM);
  td_board_settings settings = td_board_get_settings (board);
  td_error err = { 0 };
  char *text, *json;

  settings.width = request->width;
  settings.height = request->height;
  settings.steps = request->steps;
  settings.guidance = (float) request->guidance;
  settings.seed = request->seed;
  td_board_set_settings (board, &settings);
  for (guint i = 0; i < request->inputs->len; i++)
    {
      const TdGenerationInput *input = g_ptr_array_index (request->inputs, i);

      if (input->kind == TD_BOARD_ITEM_TEXT)
        td_board_add (board, TD_BOARD_TEXT, input->text, &err);
      else if (input->path != NULL)
        td_board_add (board, TD_BOARD_IMAGE, input->path, &err);
    }
  text = td_board_to_json (board);
  json = g_strdup (text);
  td_free (text);
  td_board_free (board);
  return json;
}

/**
 * td_generation_job_run_preview_demo:
 *
 * The stand-in TdGenerationWorker. @worker_data may point to
 * TdPreviewDemoOptions. Not generation: see the file comment.
 */
gboolean
td_generation_job_run_preview_demo (TdGenerationJob           *job,
                                    const TdGenerationRequest *request,
                                    TdGenerationOutput        *output,
                                    gpointer                   worker_data,
                                    GCancellable              *cancellable,
                                    GError                   **error)
{
  const TdPreviewDemoOptions *options = worker_data;
  guint delay_ms = options != NULL ? options->step_delay_ms : DEFAULT_STEP_DELAY_MS;
  int preview_width = MAX (1, request->width / PREVIEW_DOWNSCALE);
  int preview_height = MAX (1, request->height / PREVIEW_DOWNSCALE);
  guint n_steps = MAX (1, request->steps);
  Colour palette[3];

  pick_palette (request, palette);

  if (request->mode == TD_GENERATION_MODE_LVLM)
    {
      td_generation_job_report_progress (job, TD_GENERATION_STAGE_READING, 0, 0);
      g_usleep ((gulong) delay_ms * 1000);
      td_generation_job_report_progress (job, TD_GENERATION_STAGE_THINKING, 0, 0);
      g_usleep ((gulong) delay_ms * 1000);
      output->thought = g_strdup (_("Preview demo: no model ran. The frames are drawn from "
                                    "the colours of the board to show progress, previews "
                                    "and cancelling."));
      td_generation_job_report_thought (job, output->thought);
    }
  else
    {
      td_generation_job_report_progress (job, TD_GENERATION_STAGE_ENCODING, 0, 0);
    }

  for (guint step = 1; step <= n_steps; step++)
    {
      g_autoptr(GBytes) frame = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_usleep ((gulong) delay_ms * 1000);

      if (request->preview_method != TD_PREVIEW_METHOD_NONE)
        {
          frame = draw_frame (palette, preview_width, preview_height, request->seed,
                              (double) step / n_steps);
          td_generation_job_report_preview (job, frame, preview_width, preview_height);
        }
      td_generation_job_report_progress (job, TD_GENERATION_STAGE_DENOISING, step, n_steps);
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  td_generation_job_report_progress (job, TD_GENERATION_STAGE_DECODING, 0, 0);

  output->pixels = draw_frame (palette, request->width, request->height, request->seed, 1.0);
  output->width = request->width;
  output->height = request->height;
  output->mode_name = g_strdup (request->mode == TD_GENERATION_MODE_CLIP ? "clip" : "lvlm");
  output->board_json = board_json (request);
  return TRUE;
}
