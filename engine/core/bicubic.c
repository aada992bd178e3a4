/* bicubic.c — per-axis bicubic resize weights (see bicubic.h). */
#include "core/bicubic.h"

#include <math.h>
#include <stdlib.h>

double
td_bicubic_kernel (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

void
td_bicubic_axis_clear (td_bicubic_axis *axis)
{
  free (axis->first);
  free (axis->weight);
  *axis = (td_bicubic_axis) { 0 };
}

bool
td_bicubic_axis_init (td_bicubic_axis *axis, int in, int out)
{
  /* Output o covers source interval scale·[o, o + 1). */
  const double scale = (double) in / out;
  const double filter_scale = scale < 1.0 ? 1.0 : scale;
  const double support = 2.0 * filter_scale;
  const double inv_filter_scale = 1.0 / filter_scale; /* PIL multiplies by the reciprocal */
  *axis = (td_bicubic_axis) { .taps = (int) ceil (support) * 2 + 1 };
  axis->first = malloc ((size_t) out * 2 * sizeof (int));
  axis->weight = malloc ((size_t) out * (size_t) axis->taps * sizeof (double));
  if (axis->first == NULL || axis->weight == NULL)
    {
      td_bicubic_axis_clear (axis);
      return false;
    }
  axis->count = axis->first + out;

  for (int o = 0; o < out; o++)
    {
      const double center = (o + 0.5) * scale;
      int lo = (int) (center - support + 0.5); /* PIL rounds by truncating +0.5 */
      int hi = (int) (center + support + 0.5);
      lo = lo < 0 ? 0 : lo;
      hi = hi > in ? in : hi;
      const int count = hi - lo < 0 ? 0 : (hi - lo > axis->taps ? axis->taps : hi - lo);
      double *k = axis->weight + (size_t) o * (size_t) axis->taps;
      double total = 0.0;
      for (int t = 0; t < count; t++)
        {
          k[t] = td_bicubic_kernel ((t + lo - center + 0.5) * inv_filter_scale);
          total += k[t];
        }
      for (int t = 0; t < count && total != 0.0; t++)
        k[t] /= total;
      axis->first[o] = lo;
      axis->count[o] = count;
    }
  return true;
}
