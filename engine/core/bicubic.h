/* bicubic.h — the weights of an antialiased bicubic resize along one axis, as
 * PIL (and torch's antialiased kernel) compute them: Keys' cubic kernel with
 * a = −0.5, stretched by the scale when shrinking, each output's weights
 * normalised to sum to 1. The CPU RESIZE_BICUBIC op and Qwen2-VL's 8-bit image
 * resize both start from these. */
#pragma once

#include <stdbool.h>

typedef struct td_bicubic_axis {
  int taps;       /* weights per output */
  int *first;     /* [out] first source index */
  int *count;     /* [out] weights used */
  double *weight; /* [out, taps] */
} td_bicubic_axis;

/* Keys' cubic convolution kernel with a = −0.5, support 2. */
double td_bicubic_kernel (double x);

/* Fills axis for a resize from in to out samples (both > 0); false when out of memory. */
bool td_bicubic_axis_init (td_bicubic_axis *axis, int in, int out);
void td_bicubic_axis_clear (td_bicubic_axis *axis);
