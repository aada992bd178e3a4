#version 450
/* ATTENTION for one query row per (batch, head): the decode step of a language model
 * over its key/value cache, in two passes.
 *
 * Split pass (grid: splits, kv_heads × head_groups, batch): a workgroup takes one
 * chunk of keys and up to GMAX query heads that share one key/value head (GQA), so
 * each key row is read once for all of them. It stages BC keys at a time in shared
 * memory, scores them against every head's query, and folds P · V into an online
 * softmax, then writes its running max, sum and unnormalised outputs to `partial`.
 * With one query row there is nothing to mask: the row sees every cached key, so the
 * causal mask holds by construction.
 *
 * Reduction pass (REDUCE; grid: heads, batch): rescales every split's sum and outputs
 * to the largest max and divides. Keys and values are read in kv_dtype (f32, f16 or
 * bf16). DMAX bounds D and Dv (variants 64, 128, 256). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define WG 128

layout(local_size_x = WG) in;
layout(push_constant, std430) uniform Push { td_pc_attention_decode p; };

#ifdef REDUCE

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint h = gl_WorkGroupID.x, b = gl_WorkGroupID.y;
  uint stride = p.dv + 2u;
  uint base = (b * p.heads + h) * p.splits * stride;
  float neg_inf = -1.0 / 0.0;

  float top = neg_inf;
  for (uint s = 0; s < p.splits; s++)
    top = max (top, load_f32 (p.partial, base + s * stride));
  float sum = 0.0;
  for (uint s = 0; s < p.splits; s++)
    {
      float m = load_f32 (p.partial, base + s * stride);
      if (m != neg_inf)
        sum += load_f32 (p.partial, base + s * stride + 1u) * exp (m - top);
    }
  float inv = sum > 0.0 ? 1.0 / sum : 0.0;
  for (uint c = tid; c < p.dv; c += WG)
    {
      float out_c = 0.0;
      for (uint s = 0; s < p.splits; s++)
        {
          float m = load_f32 (p.partial, base + s * stride);
          if (m != neg_inf)
            out_c += load_f32 (p.partial, base + s * stride + 2u + c) * exp (m - top);
        }
      store_f32 (p.y, (b * p.heads + h) * p.dv + c, out_c * inv);
    }
}

#else

#define GMAX 8              /* query heads per workgroup */
#define BC (4096 / DMAX)    /* keys staged per pass (16 KiB of shared memory) */
#define ACC (GMAX * DMAX / WG)

shared float q_tile[GMAX][DMAX];
shared float k_tile[BC][DMAX + 1];
shared float scores[GMAX][BC];
shared float head_scale[GMAX];

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint split = gl_WorkGroupID.x, b = gl_WorkGroupID.z;
  uint group = p.heads / p.kv_heads;
  uint hkv = gl_WorkGroupID.y / p.head_groups;
  uint g0 = (gl_WorkGroupID.y % p.head_groups) * GMAX;
  uint heads_here = min (uint (GMAX), group - g0);
  uint h0 = hkv * group + g0;
  float neg_inf = -1.0 / 0.0;

  for (uint e = tid; e < GMAX * DMAX; e += WG)
    {
      uint g = e / DMAX, c = e % DMAX;
      q_tile[g][c] = g < heads_here && c < p.d ? load_f32 (p.q, (b * p.heads + h0 + g) * p.d + c) : 0.0;
    }

  float acc[ACC];
  for (uint i = 0; i < ACC; i++)
    acc[i] = 0.0;
  /* Running max and sum of head g0 + tid (kept by invocations tid < GMAX). */
  float run_max = neg_inf, run_sum = 0.0;

  uint key_begin = split * p.chunk, key_end = min (p.tk, key_begin + p.chunk);
  for (uint k0 = key_begin; k0 < key_end; k0 += BC)
    {
      uint keys = min (uint (BC), key_end - k0);
      barrier ();
      for (uint e = tid; e < BC * p.d; e += WG)
        {
          uint j = e / p.d, c = e % p.d;
          k_tile[j][c] = j < keys ? load_any (p.k, p.kv_dtype, ((b * p.tk + k0 + j) * p.kv_heads + hkv) * p.d + c)
                                  : 0.0;
        }
      barrier ();
      for (uint e = tid; e < GMAX * BC; e += WG)
        {
          uint g = e / BC, j = e % BC;
          float s = neg_inf;
          if (g < heads_here && j < keys)
            {
              float dot_qk = 0.0;
              for (uint c = 0; c < p.d; c++)
                dot_qk = fma (q_tile[g][c], k_tile[j][c], dot_qk);
              s = dot_qk * p.scale;
            }
          scores[g][j] = s;
        }
      barrier ();
      if (tid < GMAX)
        {
          float block_max = neg_inf;
          for (uint j = 0; j < BC; j++)
            block_max = max (block_max, scores[tid][j]);
          float new_max = max (run_max, block_max);
          float correction = 1.0, block_sum = 0.0;
          if (new_max != neg_inf)
            {
              correction = run_max == neg_inf ? 0.0 : exp (run_max - new_max);
              for (uint j = 0; j < BC; j++)
                {
                  float pj = scores[tid][j] == neg_inf ? 0.0 : exp (scores[tid][j] - new_max);
                  scores[tid][j] = pj;
                  block_sum += pj;
                }
            }
          else
            for (uint j = 0; j < BC; j++)
              scores[tid][j] = 0.0;
          run_sum = run_sum * correction + block_sum;
          run_max = new_max;
          head_scale[tid] = correction;
        }
      barrier ();
      /* Output element o = tid + i · WG is dim o % DMAX of head o / DMAX: consecutive
       * invocations read consecutive values of one key row. */
      for (uint i = 0; i < ACC; i++)
        {
          uint o = tid + i * WG, g = o / DMAX, c = o % DMAX;
          float a = acc[i] * head_scale[g];
          if (g < heads_here && c < p.dv)
            for (uint j = 0; j < keys; j++)
              {
                float pj = scores[g][j];
                if (pj != 0.0)
                  a = fma (pj, load_any (p.v, p.kv_dtype, ((b * p.tk + k0 + j) * p.kv_heads + hkv) * p.dv + c), a);
              }
          acc[i] = a;
        }
    }

  uint stride = p.dv + 2u;
  if (tid < heads_here)
    {
      uint base = ((b * p.heads + h0 + tid) * p.splits + split) * stride;
      store_f32 (p.partial, base, run_max);
      store_f32 (p.partial, base + 1u, run_sum);
    }
  for (uint i = 0; i < ACC; i++)
    {
      uint o = tid + i * WG, g = o / DMAX, c = o % DMAX;
      if (g < heads_here && c < p.dv)
        store_f32 (p.partial, ((b * p.heads + h0 + g) * p.splits + split) * stride + 2u + c, acc[i]);
    }
}

#endif
