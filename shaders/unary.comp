#version 450
/* UNARY activations (kinds as td_unary_kind) and SCALE (x · scale + bias). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_unary p; };

/* erf by Abramowitz–Stegun 7.1.26 is too coarse for GELU parity; use the
 * W. J. Cody-style rational approximation via erfc for |x| large. */
float
erf_approx (float x)
{
  /* Numerical Recipes erfc (Chebyshev), relative error < 1.2e-7. */
  float z = abs (x);
  float t = 1.0 / (1.0 + 0.5 * z);
  float r = t * exp (-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0.0 ? 1.0 - r : r - 1.0;
}

float
sigmoid (float x)
{
  return 1.0 / (1.0 + exp (-x));
}

float
apply (float x)
{
  switch (p.kind)
    {
    case 0u: return 0.5 * x * (1.0 + erf_approx (x * 0.70710678118654752));
    case 1u: return 0.5 * x * (1.0 + tanh (0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case 2u: return x * sigmoid (x);
    case 3u: return x * sigmoid (1.702 * x);
    case 4u: return max (x, 0.0);
    case 5u: return tanh (x);
    case 6u: return sigmoid (x);
    case PC_UNARY_SCALE: return x * p.scale + p.bias;
    default: return x;
    }
}

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.n)
    return;
  store_f32 (p.y, i, apply (load_f32 (p.x, i)));
}
