/* mm_tile.glsl — the tiled shared-memory GEMM core: C[m, n] = Σ_k A[m, k] · B[n, k].
 *
 * The including shader defines MM_M, MM_N, MM_K, LOAD_A (m, k), LOAD_B (n, k)
 * (called only in range) and STORE_C (m, n, value). One workgroup of 256
 * invocations (16×16) computes a (16·MM_TM)×(16·MM_TN) tile of C, 64×64 unless
 * the build defines MM_TM and MM_TN (the per-device tile table's shapes, see
 * vulkan_tile_table.h); each invocation holds an MM_TM×MM_TN register block
 * spread with a stride of 16 so neighbours store neighbouring columns. */
#ifndef MM_TM
#define MM_TM 4
#endif
#ifndef MM_TN
#define MM_TN 4
#endif
#define MM_BM (16 * MM_TM)
#define MM_BN (16 * MM_TN)
#define MM_BK 16

layout(local_size_x = 256) in;

shared float mm_a_tile[MM_BK][MM_BM + 1];
shared float mm_b_tile[MM_BK][MM_BN + 1];

void
mm_tile_run (uint m0, uint n0)
{
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % 16u, ty = tid / 16u;
  /* Each invocation stages 4 consecutive k of a row of A and of B, every 64th row. */
  uint load_row = tid / 4u, load_k = (tid % 4u) * 4u;

  float acc[MM_TM][MM_TN];
  for (uint i = 0; i < MM_TM; i++)
    for (uint j = 0; j < MM_TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < MM_K; k0 += MM_BK)
    {
      for (uint row = load_row; row < MM_BM; row += 64u)
        for (uint e = 0; e < 4u; e++)
          {
            uint am = m0 + row, k = k0 + load_k + e;
            mm_a_tile[load_k + e][row] = (am < MM_M && k < MM_K) ? LOAD_A (am, k) : 0.0;
          }
      for (uint row = load_row; row < MM_BN; row += 64u)
        for (uint e = 0; e < 4u; e++)
          {
            uint bn = n0 + row, k = k0 + load_k + e;
            mm_b_tile[load_k + e][row] = (bn < MM_N && k < MM_K) ? LOAD_B (bn, k) : 0.0;
          }
      barrier ();
      for (uint kk = 0; kk < MM_BK; kk++)
        {
          float a[MM_TM], b[MM_TN];
          for (uint i = 0; i < MM_TM; i++)
            a[i] = mm_a_tile[kk][ty + 16u * i];
          for (uint j = 0; j < MM_TN; j++)
            b[j] = mm_b_tile[kk][tx + 16u * j];
          for (uint i = 0; i < MM_TM; i++)
            for (uint j = 0; j < MM_TN; j++)
              acc[i][j] = fma (a[i], b[j], acc[i][j]);
        }
      barrier ();
    }

  for (uint i = 0; i < MM_TM; i++)
    for (uint j = 0; j < MM_TN; j++)
      {
        uint m = m0 + ty + 16u * i, n = n0 + tx + 16u * j;
        if (m < MM_M && n < MM_N)
          STORE_C (m, n, acc[i][j]);
      }
}
