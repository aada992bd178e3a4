/* td_eva_preprocess against BLIP-2's image processor (transformers' BlipImageProcessor
 * as Salesforce/blip2-flan-t5-xxl configures it): convert to RGB, resize to 224×224
 * with PIL's BICUBIC on 8-bit pixels, rescale by 1/255, normalise with OpenAI CLIP's
 * mean and std.
 *
 * The golden blip2_vision io file holds pixel_values but no source image (its values
 * are not even whole byte levels), so the reference here is written independently in
 * the test: PIL's 8-bit resampling as Pillow documents and implements it (Keys' cubic
 * with a = -0.5; when shrinking, the kernel widened by the scale, which is PIL's
 * antialiasing; coefficients normalised, then fixed point with 22 fractional bits;
 * the horizontal pass first, rounded and clamped to a byte, then the vertical one;
 * an axis whose size does not change is not resampled). Synthetic images cover
 * shrinking, enlarging, mixed axes and no resize, with sharp edges that overshoot
 * past 0 and 255. */
#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/eva_vision.h"

#define BLIP2_SIZE 224
#define FRACTION_BITS 22 /* PIL: 32 − 8 bits of pixel − 2 bits of headroom */

static const double clip_mean[3] = { 0.48145466, 0.4578275, 0.40821073 };
static const double clip_std[3] = { 0.26862954, 0.26130258, 0.27577711 };

static double
keys_cubic (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* One axis: for each output, the first source index, the tap count and the
 * fixed-point weights (ksize per output). */
typedef struct {
  int ksize;
  int *first, *taps;
  int32_t *weights;
} axis_filter;

static axis_filter
axis_filter_new (int in, int out)
{
  const double scale = (double) in / out;
  const double widen = scale > 1.0 ? scale : 1.0;
  const double support = 2.0 * widen;
  axis_filter f = { (int) ceil (support) * 2 + 1, g_new0 (int, out), g_new0 (int, out), NULL };
  f.weights = g_new0 (int32_t, (gsize) out * f.ksize);
  double *w = g_new0 (double, f.ksize);
  for (int o = 0; o < out; o++)
    {
      const double center = (o + 0.5) * scale;
      int lo = (int) (center - support + 0.5), hi = (int) (center + support + 0.5);
      lo = MAX (lo, 0);
      hi = MIN (hi, in);
      double sum = 0.0;
      for (int t = 0; t < hi - lo; t++)
        sum += w[t] = keys_cubic ((lo + t - center + 0.5) / widen);
      for (int t = 0; t < hi - lo; t++)
        {
          double fixed = (sum != 0.0 ? w[t] / sum : 0.0) * (1 << FRACTION_BITS);
          /* round half away from zero, as PIL's conversion to fixed point */
          f.weights[o * f.ksize + t] = (int32_t) trunc (fixed + (fixed < 0 ? -0.5 : 0.5));
        }
      f.first[o] = lo;
      f.taps[o] = MAX (hi - lo, 0);
    }
  g_free (w);
  return f;
}

static void
axis_filter_free (axis_filter *f)
{
  g_free (f->first);
  g_free (f->taps);
  g_free (f->weights);
}

static uint8_t
to_byte (int64_t fixed)
{
  fixed += (int64_t) 1 << (FRACTION_BITS - 1);
  if (fixed <= 0)
    return 0;
  fixed >>= FRACTION_BITS;
  return fixed > 255 ? 255 : (uint8_t) fixed;
}

/* RGB bytes [h, w, 3] → [h, out_w, 3] (step 1) or the transpose's equivalent: one
 * pass along x (stride 3) or y (stride 3·w). */
static uint8_t *
resample_x (const uint8_t *src, int w, int h, int out_w)
{
  axis_filter f = axis_filter_new (w, out_w);
  uint8_t *dst = g_new (uint8_t, (gsize) out_w * h * 3);
  for (int y = 0; y < h; y++)
    for (int o = 0; o < out_w; o++)
      for (int c = 0; c < 3; c++)
        {
          int64_t acc = 0;
          for (int t = 0; t < f.taps[o]; t++)
            acc += (int64_t) src[((size_t) y * w + f.first[o] + t) * 3 + c] * f.weights[o * f.ksize + t];
          dst[((size_t) y * out_w + o) * 3 + c] = to_byte (acc);
        }
  axis_filter_free (&f);
  return dst;
}

static uint8_t *
resample_y (const uint8_t *src, int w, int h, int out_h)
{
  axis_filter f = axis_filter_new (h, out_h);
  uint8_t *dst = g_new (uint8_t, (gsize) w * out_h * 3);
  for (int o = 0; o < out_h; o++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        {
          int64_t acc = 0;
          for (int t = 0; t < f.taps[o]; t++)
            acc += (int64_t) src[((size_t) (f.first[o] + t) * w + x) * 3 + c] * f.weights[o * f.ksize + t];
          dst[((size_t) o * w + x) * 3 + c] = to_byte (acc);
        }
  axis_filter_free (&f);
  return dst;
}

/* The processor's pixel_values [3, size, size] for an RGB image. */
static float *
reference_pixel_values (const uint8_t *rgb, int w, int h, int size)
{
  uint8_t *horizontal = w != size ? resample_x (rgb, w, h, size) : g_memdup2 (rgb, (gsize) w * h * 3);
  uint8_t *resized = h != size ? resample_y (horizontal, size, h, size) : g_memdup2 (horizontal, (gsize) size * h * 3);
  float *out = g_new (float, (gsize) 3 * size * size);
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < size * size; p++)
      out[(size_t) c * size * size + p] = (float) ((resized[(size_t) p * 3 + c] / 255.0 - clip_mean[c]) / clip_std[c]);
  g_free (horizontal);
  g_free (resized);
  return out;
}

/* A deterministic picture with smooth gradients, noise, and hard black/white
 * edges (their bicubic overshoot must clamp at 0 and 255). */
static uint8_t *
synthetic_image (int w, int h, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  uint8_t *rgb = g_new (uint8_t, (gsize) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        uint8_t *p = rgb + ((size_t) y * w + x) * 3;
        bool block = ((x / 7) + (y / 5)) % 2 == 0;
        if (x < w / 3)
          {
            p[0] = block ? 255 : 0;
            p[1] = block ? 0 : 255;
            p[2] = (uint8_t) (255 * x / MAX (w - 1, 1));
          }
        else
          {
            p[0] = (uint8_t) (255.0 * (0.5 + 0.5 * sin (x * 0.21 + y * 0.07)));
            p[1] = (uint8_t) g_rand_int_range (rng, 0, 256);
            p[2] = (uint8_t) (255 * y / MAX (h - 1, 1));
          }
      }
  g_rand_free (rng);
  return rgb;
}

typedef struct {
  int width, height;
} image_case;

static void
test_against_processor (gconstpointer data)
{
  const image_case *c = data;
  uint8_t *rgb = synthetic_image (c->width, c->height, (guint32) (c->width * 1000 + c->height));
  td_error err = { 0 };
  td_backend *cpu = td_backend_cpu_new (&err);
  g_assert_nonnull (cpu);
  td_tensor *t = td_eva_preprocess (cpu, rgb, c->width, c->height, BLIP2_SIZE, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (t->ndim, ==, 4);
  g_assert_cmpint (t->shape[0], ==, 1);
  g_assert_cmpint (t->shape[1], ==, 3);
  g_assert_cmpint (t->shape[2], ==, BLIP2_SIZE);
  g_assert_cmpint (t->shape[3], ==, BLIP2_SIZE);
  float *actual = td_tensor_to_f32 (t, &err);
  g_assert_nonnull (actual);
  float *expected = reference_pixel_values (rgb, c->width, c->height, BLIP2_SIZE);

  /* A byte level is 1/255/std ≈ 0.0146 after normalisation; count the values a level or more apart. */
  const int n = 3 * BLIP2_SIZE * BLIP2_SIZE;
  int off_by_level = 0;
  double worst_levels = 0.0;
  for (int i = 0; i < n; i++)
    {
      int channel = i / (BLIP2_SIZE * BLIP2_SIZE);
      double levels = fabs ((double) actual[i] - expected[i]) * clip_std[channel] * 255.0;
      worst_levels = MAX (worst_levels, levels);
      off_by_level += levels > 0.5;
    }
  g_test_message ("%dx%d -> %dx%d: %d of %d values differ from the processor, by at most %.3g byte levels", c->width,
                  c->height, BLIP2_SIZE, BLIP2_SIZE, off_by_level, n, worst_levels);
  /* PIL's weights are 22-bit fixed point, the engine's double: a sum that lands
   * within about 1e-6 of a half level can round the other way. Measured: 0 to 4 of
   * 150 528 values, never more than one level. Anything else (a missed clamp between
   * the passes, another kernel, no antialiasing, other constants) is off by many. */
  g_assert_cmpfloat (worst_levels, <=, 1.0 + 1e-3);
  g_assert_cmpint (off_by_level, <=, n / 10000);

  g_free (expected);
  free (actual);
  td_tensor_free (t);
  td_backend_free (cpu);
  g_free (rgb);
}

/* The test's reference itself: PIL's documented behaviour on known inputs. */
static void
test_reference_sanity (void)
{
  /* A constant image stays constant through any resize (normalised weights). */
  uint8_t flat[5 * 4 * 3];
  memset (flat, 77, sizeof flat);
  float *v = reference_pixel_values (flat, 5, 4, 9);
  for (int i = 0; i < 3 * 81; i++)
    g_assert_cmpfloat_with_epsilon (v[i], (77 / 255.0 - clip_mean[i / 81]) / clip_std[i / 81], 1e-6);
  g_free (v);
  /* No resize: only the rescale and normalisation. */
  uint8_t one[3] = { 0, 128, 255 };
  v = reference_pixel_values (one, 1, 1, 1);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat_with_epsilon (v[c], (one[c] / 255.0 - clip_mean[c]) / clip_std[c], 1e-6);
  g_free (v);
  /* Doubling a step edge overshoots on both sides and clamps. */
  uint8_t edge[4 * 1 * 3] = { 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255 };
  uint8_t *wide = resample_x (edge, 4, 1, 8);
  g_assert_cmpint (wide[0], ==, 0);
  g_assert_cmpint (wide[7 * 3], ==, 255);
  g_assert_cmpint (wide[3 * 3], <, wide[4 * 3]);
  g_free (wide);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const image_case cases[] = {
    { 333, 251 }, /* shrink both axes: the antialiasing kernel */
    { 97, 61 },   /* enlarge both */
    { 517, 90 },  /* shrink x, enlarge y */
    { 224, 300 }, /* x unchanged: one pass only */
    { 224, 224 }, /* no resize */
  };
  g_test_add_func ("/eva-preprocess/reference-sanity", test_reference_sanity);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/eva-preprocess/%dx%d", cases[i].width, cases[i].height);
      g_test_add_data_func (path, &cases[i], test_against_processor);
    }
  return g_test_run ();
}
