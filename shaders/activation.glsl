/* activation.glsl — the activations of td_unary_kind, shared by UNARY (unary.comp)
 * and the matmul family's epilogue (epilogue.glsl). */

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

/* kind as td_unary_kind; anything else passes x through. */
float
activation (uint kind, float x)
{
  switch (kind)
    {
    case 0u: return gelu_erf (x);
    case 1u: return 0.5 * x * (1.0 + tanh (0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case 2u: return x * sigmoid (x);
    case 3u: return x * sigmoid (1.702 * x);
    case 4u: return max (x, 0.0);
    case 5u: return tanh (x);
    case 6u: return sigmoid (x);
    default: return x;
    }
}
