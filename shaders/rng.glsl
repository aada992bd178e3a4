/* rng.glsl — td_rng_uniform (engine/backend/op.c) in GLSL: lowbias32 mixes of
 * counter and seed, 24 bits to a float in [0, 1). Must stay bit-identical. */
uint
rng_mix32 (uint x)
{
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

float
rng_uniform (uint64_t seed, uint64_t counter)
{
  uint h = rng_mix32 (uint (counter >> 32));
  h = rng_mix32 (h ^ uint (counter));
  h = rng_mix32 (h ^ uint (seed >> 32));
  h = rng_mix32 (h ^ uint (seed));
  return float (h >> 8) * (1.0 / 16777216.0);
}
