/* weights_random.h — declared tensors with made-up values, for benchmarks: the real
 * shapes and dtypes of a model without its files. Internal to weights.c. */
#pragma once

#include <stdint.h>

#include "core/tensor.h"

typedef struct td_random_spec {
  char *name;
  td_dtype dtype;
  int ndim;
  int64_t shape[TD_MAX_DIMS];
  float scale, offset; /* values: offset + scale · uniform(−1, 1) */
} td_random_spec;

typedef struct td_random_weights td_random_weights;

td_random_weights *td_random_weights_new (uint64_t seed);
void td_random_weights_free (td_random_weights *random);
td_status td_random_weights_declare (td_random_weights *random, const td_random_spec *spec, td_error *err);
const td_random_spec *td_random_weights_find (const td_random_weights *random, const char *name);
/* A new host tensor with the spec's values, the same for the same seed and name. */
td_tensor *td_random_weights_generate (const td_random_weights *random, const td_random_spec *spec, td_error *err);
/* Elements and bytes over every declared tensor. */
void td_random_weights_totals (const td_random_weights *random, int64_t *elements, int64_t *bytes);
