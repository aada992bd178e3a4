#include "models/qwen2vl_image.h"

#include "core/bicubic.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


/* Generous bounds: the decoders cap images well below these. */
#define MAX_SIDE 65536
#define MAX_PIXELS ((int64_t) 1 << 30)

void
td_qwen2vl_image_params_default (td_qwen2vl_image_params *params)
{
  *params = (td_qwen2vl_image_params) {
    .min_pixels = 56 * 56,
    .max_pixels = 28 * 28 * 16384,
    .patch_size = 14,
    .temporal_patch_size = 2,
    .merge_size = 2,
    .mean = { 0.48145466f, 0.4578275f, 0.40821073f },
    .std = { 0.26862954f, 0.26130258f, 0.27577711f },
  };
}

td_status
td_qwen2vl_smart_resize (int height, int width, int factor, int64_t min_pixels, int64_t max_pixels,
                         int *out_height, int *out_width, td_error *err)
{
  if (height < 1 || width < 1 || height > MAX_SIDE || width > MAX_SIDE)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL image: size %d×%d is outside 1..%d", width, height,
                         MAX_SIDE);
  if (factor < 1 || factor > 4096 || min_pixels < 1 || max_pixels < min_pixels || max_pixels > MAX_PIXELS)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "Qwen2-VL image: bad resize settings (factor %d, pixels %lld..%lld)", factor,
                         (long long) min_pixels, (long long) max_pixels);
  int longer = height > width ? height : width, shorter = height > width ? width : height;
  if ((double) longer / shorter > 200.0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL image: aspect ratio of %d×%d is over 200", width,
                         height);

  /* Python's round() rounds halves to even, as rint() does in the default mode. */
  double h = height, w = width;
  int64_t h_bar = (int64_t) rint (h / factor) * factor;
  int64_t w_bar = (int64_t) rint (w / factor) * factor;
  if (h_bar * w_bar > max_pixels)
    {
      double beta = sqrt (h * w / (double) max_pixels);
      h_bar = (int64_t) floor (h / beta / factor) * factor;
      w_bar = (int64_t) floor (w / beta / factor) * factor;
      h_bar = h_bar < factor ? factor : h_bar;
      w_bar = w_bar < factor ? factor : w_bar;
    }
  else if (h_bar * w_bar < min_pixels)
    {
      double beta = sqrt ((double) min_pixels / (h * w));
      h_bar = (int64_t) ceil (h * beta / factor) * factor;
      w_bar = (int64_t) ceil (w * beta / factor) * factor;
    }
  if (h_bar > MAX_SIDE || w_bar > MAX_SIDE)
    return td_error_set (err, TD_ERR_LIMIT, "Qwen2-VL image: %d×%d would be resized to over %d pixels a side", width,
                         height, MAX_SIDE);
  *out_height = (int) h_bar;
  *out_width = (int) w_bar;
  return TD_OK;
}

static td_status
check_params (const td_qwen2vl_image_params *p, td_error *err)
{
  if (p->patch_size < 1 || p->patch_size > 64 || p->merge_size < 1 || p->merge_size > 8
      || p->temporal_patch_size < 1 || p->temporal_patch_size > 8)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL image: bad patch settings (patch %d, merge %d, temporal %d)",
                         p->patch_size, p->merge_size, p->temporal_patch_size);
  for (int c = 0; c < 3; c++)
    if (!(p->std[c] > 0.0f) || !isfinite (p->mean[c]))
      return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL image: bad normalisation for channel %d", c);
  return TD_OK;
}

td_status
td_qwen2vl_image_grid (int height, int width, const td_qwen2vl_image_params *params, int grid_thw[3], td_error *err)
{
  td_status st = check_params (params, err);
  int rh = 0, rw = 0;
  if (st == TD_OK)
    st = td_qwen2vl_smart_resize (height, width, params->patch_size * params->merge_size, params->min_pixels,
                                  params->max_pixels, &rh, &rw, err);
  if (st != TD_OK)
    return st;
  grid_thw[0] = 1;
  grid_thw[1] = rh / params->patch_size;
  grid_thw[2] = rw / params->patch_size;
  return TD_OK;
}

/* ---- 8-bit bicubic resampling --------------------------------------------
 *
 * The processor resizes the uint8 image with torchvision, which on the CPU runs
 * torch's 8-bit antialiased kernel (the Pillow-SIMD design): a horizontal then a
 * vertical pass, each with bicubic weights (a = −0.5, support widened by the scale
 * when shrinking) normalised per output, converted to int16 fixed point at the
 * highest precision that keeps the largest weight in range, and each pass rounded
 * and clamped to 8 bits. Pixel values are only equal to the processor's when all
 * of that is reproduced, so this is done here on bytes rather than with the float
 * RESIZE_BICUBIC op (whose results differ by one level now and then). */

typedef struct {
  int taps;        /* coefficients per output */
  int precision;   /* fixed-point bits */
  int *first;      /* [out] first source index */
  int *count;      /* [out] taps used */
  int32_t *coeff;  /* [out, taps] */
} u8_axis;

static void
u8_axis_clear (u8_axis *axis)
{
  free (axis->first);
  free (axis->coeff);
  *axis = (u8_axis) { 0 };
}

/* PIL's float weights (core/bicubic.h) in fixed point. */
static bool
u8_axis_init (u8_axis *axis, int in, int out)
{
  td_bicubic_axis w = { 0 };
  if (!td_bicubic_axis_init (&w, in, out))
    return false;
  *axis = (u8_axis) { .taps = w.taps };
  axis->first = malloc ((size_t) out * 2 * sizeof (int));
  axis->coeff = malloc ((size_t) out * axis->taps * sizeof (int32_t));
  if (axis->first == NULL || axis->coeff == NULL)
    {
      td_bicubic_axis_clear (&w);
      u8_axis_clear (axis);
      return false;
    }
  axis->count = axis->first + out;

  double largest = 0.0;
  for (int o = 0; o < out; o++)
    {
      axis->first[o] = w.first[o];
      axis->count[o] = w.count[o];
      for (int t = 0; t < w.count[o]; t++)
        largest = fmax (largest, w.weight[(size_t) o * w.taps + t]);
    }
  /* As many bits as keep twice the largest weight below 2^15. */
  int precision = 0;
  while (precision < 22 && (int) (0.5 + largest * (double) (1 << (precision + 1))) < (1 << 15))
    precision++;
  axis->precision = precision < 1 ? 1 : precision;
  for (int o = 0; o < out; o++)
    for (int t = 0; t < axis->count[o]; t++)
      {
        double v = w.weight[(size_t) o * w.taps + t] * (double) (1 << axis->precision);
        axis->coeff[(size_t) o * axis->taps + t] = v < 0.0 ? (int32_t) (-0.5 + v) : (int32_t) (0.5 + v);
      }
  td_bicubic_axis_clear (&w);
  return true;
}

static uint8_t
u8_round (int64_t sum, int precision)
{
  int64_t v = (sum + ((int64_t) 1 << (precision - 1))) >> precision;
  return (uint8_t) (v < 0 ? 0 : (v > 255 ? 255 : v));
}

/* One pass over interleaved RGB rows: src has `lines` lines of `in` pixels spaced
 * `src_step` pixels apart along the axis; pixel (line, i) of src is at
 * line · line_stride + i · src_step (in pixels, 3 bytes each). */
typedef struct {
  const uint8_t *src;
  uint8_t *dst;
  int64_t src_line, src_step, dst_line, dst_step;
  int lines, out;
} u8_pass;

static void
u8_resample (const u8_pass *p, const u8_axis *axis)
{
  for (int line = 0; line < p->lines; line++)
    for (int o = 0; o < p->out; o++)
      {
        const int32_t *k = axis->coeff + (size_t) o * axis->taps;
        const uint8_t *s = p->src + (line * p->src_line + axis->first[o] * p->src_step) * 3;
        int64_t sum[3] = { 0, 0, 0 };
        for (int t = 0; t < axis->count[o]; t++, s += p->src_step * 3)
          for (int c = 0; c < 3; c++)
            sum[c] += (int64_t) s[c] * k[t];
        uint8_t *d = p->dst + (line * p->dst_line + o * p->dst_step) * 3;
        for (int c = 0; c < 3; c++)
          d[c] = u8_round (sum[c], axis->precision);
      }
}

/* The image resized to rh × rw, interleaved RGB bytes (free()). */
static uint8_t *
resize_8bit (const uint8_t *rgb, int height, int width, int rh, int rw, td_error *err)
{
  u8_axis horizontal = { 0 }, vertical = { 0 };
  uint8_t *between = NULL, *out = malloc ((size_t) rh * rw * 3);
  bool ok = out != NULL && (width == rw || u8_axis_init (&horizontal, width, rw))
            && (height == rh || u8_axis_init (&vertical, height, rh))
            && (between = malloc ((size_t) height * rw * 3)) != NULL;
  if (ok)
    {
      if (width != rw)
        u8_resample (&(u8_pass) { rgb, between, width, 1, rw, 1, height, rw }, &horizontal);
      else
        memcpy (between, rgb, (size_t) height * width * 3);
      if (height != rh)
        u8_resample (&(u8_pass) { between, out, 1, rw, 1, rw, rw, rh }, &vertical);
      else
        memcpy (out, between, (size_t) rh * rw * 3);
    }
  else
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL image: out of memory resizing %d×%d", width, height);
      free (out);
      out = NULL;
    }
  free (between);
  u8_axis_clear (&horizontal);
  u8_axis_clear (&vertical);
  return out;
}

td_status
td_qwen2vl_image_preprocess (const uint8_t *rgb, int height, int width, const td_qwen2vl_image_params *params,
                             float **pixel_values, int grid_thw[3], td_error *err)
{
  *pixel_values = NULL;
  if (rgb == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "Qwen2-VL image: no pixels");
  td_status st = td_qwen2vl_image_grid (height, width, params, grid_thw, err);
  if (st != TD_OK)
    return st;
  const int P = params->patch_size, M = params->merge_size, T = params->temporal_patch_size;
  const int gh = grid_thw[1], gw = grid_thw[2], rh = gh * P, rw = gw * P;
  const size_t area = (size_t) rh * (size_t) rw;
  uint8_t *resized = resize_8bit (rgb, height, width, rh, rw, err);
  if (resized == NULL)
    return TD_ERR_NO_MEMORY;
  float *image = malloc (area * 3 * sizeof *image);
  if (image == NULL)
    {
      free (resized);
      return td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL image: out of memory");
    }

  /* Planar floats. The processor folds rescaling into normalisation:
   * (x − 255·mean) / (255·std), in f32. */
  for (int c = 0; c < 3; c++)
    {
      float mean = params->mean[c] * 255.0f, std = params->std[c] * 255.0f;
      for (size_t i = 0; i < area; i++)
        image[c * area + i] = ((float) resized[i * 3 + c] - mean) / std;
    }
  free (resized);

  /* Rows in (block_y, block_x, y in block, x in block) order; columns (channel,
   * frame, py, px). A still image repeats itself in every frame. */
  const int64_t cols = (int64_t) 3 * T * P * P;
  float *out = malloc ((size_t) gh * (size_t) gw * (size_t) cols * sizeof *out);
  if (out == NULL)
    {
      free (image);
      return td_error_set (err, TD_ERR_NO_MEMORY, "Qwen2-VL image: out of memory for %d×%d patches", gw, gh);
    }
  int64_t row = 0;
  for (int by = 0; by < gh / M; by++)
    for (int bx = 0; bx < gw / M; bx++)
      for (int my = 0; my < M; my++)
        for (int mx = 0; mx < M; mx++, row++)
          {
            const int y0 = (by * M + my) * P, x0 = (bx * M + mx) * P;
            float *dst = out + row * cols;
            for (int c = 0; c < 3; c++)
              for (int t = 0; t < T; t++)
                for (int py = 0; py < P; py++, dst += P)
                  memcpy (dst, image + c * area + (size_t) (y0 + py) * rw + x0, (size_t) P * sizeof *dst);
          }
  free (image);
  *pixel_values = out;
  return TD_OK;
}
