#version 450
/* ATTENTION as one fused flash-attention kernel with an online softmax: memory
 * does not grow with Tq × Tk.
 *
 * A workgroup takes BR query rows of one (batch, head). For each block of BC keys
 * it stages K in shared memory, scores every (row, key) pair, then one invocation
 * per row updates the running max and sum and rescales, and all invocations fold
 * P · V into per-invocation accumulators (invocation `lane` of a row owns the
 * output dims lane, lane + TPR, …). DMAX bounds D and Dv (variants 128 and 512).
 * Grid: (query blocks, heads, batch). */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#if DMAX <= 128
#define BR 8
#define BC 32
#else
#define BR 4
#define BC 8
#endif
#define WG 128
#define TPR (WG / BR)
#define ACC (DMAX / TPR)

layout(local_size_x = WG) in;
layout(push_constant, std430) uniform Push { td_pc_attention p; };

shared float q_tile[BR][DMAX];
shared float k_tile[BC][DMAX + 1];
shared float scores[BR][BC];
shared float row_scale[BR];

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint q0 = gl_WorkGroupID.x * BR, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
  uint hkv = h / (p.heads / p.kv_heads);
  uint my_row = tid / TPR, lane = tid % TPR;
  float neg_inf = -1.0 / 0.0;

  for (uint e = tid; e < BR * p.d; e += WG)
    {
      uint r = e / p.d, c = e % p.d;
      uint qi = q0 + r;
      q_tile[r][c] = qi < p.tq ? load_f32 (p.q, ((b * p.tq + qi) * p.heads + h) * p.d + c) : 0.0;
    }

  float acc[ACC];
  for (uint i = 0; i < ACC; i++)
    acc[i] = 0.0;
  /* Running max and sum of row `tid` (kept by invocations tid < BR). */
  float run_max = neg_inf, run_sum = 0.0;

  /* Causal: row i sees keys j <= i + (tk - tq); the last row of the block bounds the loop. */
  uint key_end = p.tk;
  if (p.causal != 0u)
    {
      int last = int (min (q0 + BR, p.tq)) - 1 + int (p.tk) - int (p.tq);
      key_end = uint (clamp (last + 1, 0, int (p.tk)));
    }

  for (uint k0 = 0; k0 < key_end; k0 += BC)
    {
      barrier ();
      for (uint e = tid; e < BC * p.d; e += WG)
        {
          uint j = e / p.d, c = e % p.d;
          uint kj = k0 + j;
          k_tile[j][c] = kj < p.tk ? load_any (p.k, p.kv_dtype, ((b * p.tk + kj) * p.kv_heads + hkv) * p.d + c) : 0.0;
        }
      barrier ();
      for (uint e = tid; e < BR * BC; e += WG)
        {
          uint r = e / BC, j = e % BC;
          uint qi = q0 + r, kj = k0 + j;
          float s = neg_inf;
          bool visible = qi < p.tq && kj < p.tk
                         && (p.causal == 0u || int (kj) <= int (qi) + int (p.tk) - int (p.tq));
          if (visible)
            {
              float dot_qk = 0.0;
              for (uint c = 0; c < p.d; c++)
                dot_qk = fma (q_tile[r][c], k_tile[j][c], dot_qk);
              s = dot_qk * p.scale;
              if (p.has_bias != 0u)
                s += load_f32 (p.bias, b * p.bias_stride_b + h * p.bias_stride_h + qi * p.tk + kj);
            }
          scores[r][j] = s;
        }
      barrier ();
      if (tid < BR)
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
          row_scale[tid] = correction;
        }
      barrier ();
      float correction = row_scale[my_row];
      uint keys = min (BC, p.tk - k0);
      for (uint i = 0; i < ACC; i++)
        {
          uint c = lane + i * TPR;
          float a = acc[i] * correction;
          if (c < p.dv)
            for (uint j = 0; j < keys; j++)
              {
                float pj = scores[my_row][j];
                if (pj != 0.0)
                  a = fma (pj, load_any (p.v, p.kv_dtype, ((b * p.tk + k0 + j) * p.kv_heads + hkv) * p.dv + c), a);
              }
          acc[i] = a;
        }
    }

  barrier ();
  if (tid < BR)
    row_scale[tid] = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
  barrier ();
  uint qi = q0 + my_row;
  if (qi >= p.tq)
    return;
  float inv = row_scale[my_row];
  for (uint i = 0; i < ACC; i++)
    {
      uint c = lane + i * TPR;
      if (c < p.dv)
        store_f32 (p.y, ((b * p.tq + qi) * p.heads + h) * p.dv + c, acc[i] * inv);
    }
}
