/* flux-test-inputs.h — random inputs for the memory tests of the FLUX models:
 * noise tensors, and the latents, text, pooled vector and rotary tables of one
 * transformer forward. */
#pragma once

#include "backend/backend.h"
#include "models/flux_dit.h"

/* A new f32 tensor on backend of td_gaussian_noise (seed); fails the test when it
 * cannot be made. */
td_tensor *flux_test_noise (td_backend *backend, int ndim, const int64_t *shape, uint64_t seed);

typedef struct {
  td_tensor *latents, *txt, *pooled;  /* noise of seeds 1, 2 and 3 */
  td_tensor *cos, *sin;               /* NULL when the rotary tables failed */
} flux_test_inputs;

/* The inputs of model's forward at side × side pixels with tokens text tokens;
 * returns the status of the rotary tables (the noise tensors are made either way). */
td_status flux_test_inputs_new (td_flux_dit *model, td_backend *backend, int side, int tokens,
                                flux_test_inputs *in, td_error *err);
void flux_test_inputs_clear (flux_test_inputs *in);
