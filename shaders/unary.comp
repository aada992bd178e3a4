#version 450
/* UNARY activations (kinds as td_unary_kind) and SCALE (x · scale + bias). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_unary p; };

/* erfc (z) for z >= 0 by Abramowitz–Stegun 7.1.26 (absolute error < 1.5e-7),
 * computed directly so the tail keeps its precision. */
float
erfc_nonnegative (float z)
{
  float t = 1.0 / (1.0 + 0.3275911 * z);
  float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return poly * exp (-z * z);
}

/* x · Φ(x) = x/2 · erfc (-x/√2). */
float
gelu_erf (float x)
{
  float z = x * 0.70710678118654752;
  float c = z >= 0.0 ? 2.0 - erfc_nonnegative (z) : erfc_nonnegative (-z);
  return 0.5 * x * c;
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
    case 0u: return gelu_erf (x);
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
