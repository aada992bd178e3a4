#version 450
/* ARGMAX and (with SAMPLE defined) SAMPLE over rows of logits; one workgroup per
 * row, each invocation owning a contiguous chunk so "first index" is easy.
 *
 * SAMPLE reproduces the CPU's draw without sorting: tokens are ordered by logit
 * descending, ties by index. Logits map to order-preserving 32-bit keys; binary
 * searches over keys find the nucleus boundary (the largest key whose "mass at or
 * above" reaches top_p) and the drawn key (inverse CDF), and ties at a key are
 * resolved by counting in index order. */
#extension GL_GOOGLE_include_directive : require
#define TD_WG_REDUCE 256
#include "common.glsl"
#include "rng.glsl"

layout(local_size_x = TD_WG_REDUCE) in;
layout(push_constant, std430) uniform Push { td_pc_pick p; };

shared uint key_scratch[TD_WG_REDUCE];
shared uint pick_result;

/* Order-preserving key of a float; -0 counts as +0. */
uint
float_key (float f)
{
  if (f == 0.0)
    f = 0.0;
  uint u = floatBitsToUint (f);
  return (u & 0x80000000u) != 0u ? ~u : u | 0x80000000u;
}

float
key_float (uint k)
{
  return uintBitsToFloat ((k & 0x80000000u) != 0u ? k & 0x7fffffffu : ~k);
}

uint
workgroup_max_key (uint v)
{
  uint tid = gl_LocalInvocationID.x;
  key_scratch[tid] = v;
  barrier ();
  for (uint s = TD_WG_REDUCE / 2; s > 0; s >>= 1)
    {
      if (tid < s)
        key_scratch[tid] = max (key_scratch[tid], key_scratch[tid + s]);
      barrier ();
    }
  uint r = key_scratch[0];
  barrier ();
  return r;
}

uint chunk_begin, chunk_end, row_base;

#ifdef SAMPLE
uint
sample_key (float f)
{
  return float_key (isnan (f) ? -1.0 / 0.0 : f);
}

float row_max;

float
token_weight (uint key)
{
  return exp ((key_float (key) - row_max) / p.temperature);
}

/* Σ weight of tokens whose key >= k. */
float
mass_at_or_above (uint k)
{
  float s = 0.0;
  for (uint i = chunk_begin; i < chunk_end; i++)
    {
      uint key = sample_key (load_f32 (p.x, row_base + i));
      if (key >= k)
        s += token_weight (key);
    }
  return workgroup_sum (s);
}

uint
count_key (uint k)
{
  uint n = 0;
  for (uint i = chunk_begin; i < chunk_end; i++)
    n += sample_key (load_f32 (p.x, row_base + i)) == k ? 1u : 0u;
  return uint (workgroup_sum (float (n)) + 0.5);
}

/* Largest key in [lo, hi] with mass_at_or_above (key) > goal (or >= when inclusive);
 * lo must satisfy it. */
uint
search_key (uint lo, uint hi, float goal, bool inclusive)
{
  while (lo < hi)
    {
      uint mid = lo + (hi - lo + 1u) / 2u;
      float m = mass_at_or_above (mid);
      if (inclusive ? m >= goal : m > goal)
        lo = mid;
      else
        hi = mid - 1u;
    }
  return lo;
}

/* Index of the j-th token (in index order) whose key is k. */
uint
nth_with_key (uint k, uint j)
{
  uint tid = gl_LocalInvocationID.x;
  uint mine = 0;
  for (uint i = chunk_begin; i < chunk_end; i++)
    mine += sample_key (load_f32 (p.x, row_base + i)) == k ? 1u : 0u;
  key_scratch[tid] = mine;
  barrier ();
  if (tid == 0u)
    {
      uint running = 0;
      for (uint t = 0; t < TD_WG_REDUCE; t++)
        {
          uint c = key_scratch[t];
          key_scratch[t] = running;
          running += c;
        }
    }
  barrier ();
  uint before = key_scratch[tid];
  if (j >= before && j < before + mine)
    {
      uint seen = before;
      for (uint i = chunk_begin; i < chunk_end; i++)
        if (sample_key (load_f32 (p.x, row_base + i)) == k)
          {
            if (seen == j)
              pick_result = i;
            seen++;
          }
    }
  barrier ();
  uint r = pick_result;
  barrier ();
  return r;
}

uint
sample_row (uint row)
{
  uint tid = gl_LocalInvocationID.x;
  uint local_max = 0u;
  for (uint i = chunk_begin; i < chunk_end; i++)
    local_max = max (local_max, sample_key (load_f32 (p.x, row_base + i)));
  uint max_key = workgroup_max_key (local_max);
  if (max_key == float_key (-1.0 / 0.0))
    return 0u; /* nothing is possible: the first token, as the CPU */
  row_max = key_float (max_key);

  float total = mass_at_or_above (0u);
  float goal = p.top_p * total;
  /* The nucleus: every key above `edge`, plus the first `edge_kept` tokens at it. */
  uint edge = search_key (0u, max_key, goal, true);
  float edge_weight = token_weight (edge);
  float above_edge = edge < max_key ? mass_at_or_above (edge + 1u) : 0.0;
  uint edge_count = count_key (edge);
  uint edge_kept = edge_count;
  if (edge_weight > 0.0)
    edge_kept = uint (clamp (ceil ((goal - above_edge) / edge_weight), 1.0, float (edge_count)));
  float kept_mass = above_edge + float (edge_kept) * edge_weight;

  uint64_t counter = p.counter + uint64_t (row);
  float u = rng_uniform (p.seed, counter);
  float target = u * kept_mass;
  uint key = edge, limit = edge_kept;
  float below = above_edge;
  if (target < above_edge)
    {
      key = search_key (edge + 1u, max_key, target, false);
      below = key < max_key ? mass_at_or_above (key + 1u) : 0.0;
      limit = count_key (key);
    }
  float w = token_weight (key);
  uint j = w > 0.0 ? uint (clamp (floor ((target - below) / w), 0.0, float (limit - 1u))) : 0u;
  return nth_with_key (key, j);
}
#endif

/* ARGMAX: NaN counts as the largest, the first index wins. */
uint
argmax_row ()
{
  uint tid = gl_LocalInvocationID.x;
  uint best_key = 0u, best = 0xffffffffu;
  for (uint i = chunk_begin; i < chunk_end; i++)
    {
      float f = load_f32 (p.x, row_base + i);
      uint key = isnan (f) ? 0xffffffffu : float_key (f);
      if (best == 0xffffffffu || key > best_key)
        {
          best_key = key;
          best = i;
        }
    }
  uint max_key = workgroup_max_key (best == 0xffffffffu ? 0u : best_key);
  /* The smallest index holding max_key: invert so the max reduction finds it. */
  uint candidate = (best != 0xffffffffu && best_key == max_key) ? ~best : 0u;
  return ~workgroup_max_key (candidate);
}

void
main ()
{
  uint row = workgroup_linear ();
  if (row >= p.rows)
    return;
  uint tid = gl_LocalInvocationID.x;
  uint chunk = (p.cols + TD_WG_REDUCE - 1u) / TD_WG_REDUCE;
  chunk_begin = min (tid * chunk, p.cols);
  chunk_end = min (chunk_begin + chunk, p.cols);
  row_base = row * p.cols;
  uint token;
#ifdef SAMPLE
  token = p.temperature > 0.0 ? sample_row (row) : argmax_row ();
#else
  token = argmax_row ();
#endif
  if (tid == 0u)
    I32Buf (p.y).d[row] = int (token);
}
