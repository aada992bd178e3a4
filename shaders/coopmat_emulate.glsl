/* coopmat_emulate.glsl — the fragment operations of matmul_coopmat.comp in plain
 * GLSL, for testing that shader's staging, padding, offsets and output on devices
 * without cooperative matrices. Follows GL_NV_cooperative_matrix's definitions:
 * a row-major load takes element (row, col) from buf[element + row * stride + col],
 * a column-major one from buf[element + col * stride + row]. A and B fragments
 * only remember where they start (the multiply reads the shared tiles, which stay
 * unchanged between the loads and the multiplies); an accumulator is spread over
 * a virtual subgroup of 32 consecutive invocations, 8 elements each. */
struct frag_acc {
  float v[8];
};

#define FRAG_A uint
#define FRAG_B uint
#define FRAG_C frag_acc
#define SUBGROUP_ID (gl_LocalInvocationID.x / 32u)
#define SUBGROUP_LANE (gl_LocalInvocationID.x % 32u)
#define FRAG_LOAD_A(frag, element) frag = (element)
#define FRAG_LOAD_B(frag, element) frag = (element)
#define FRAG_ZERO frag_zero
#define FRAG_MMA frag_mma
#define FRAG_STORE frag_store

frag_acc
frag_zero ()
{
  frag_acc c;
  for (uint s = 0; s < 8u; s++)
    c.v[s] = 0.0;
  return c;
}

/* c + A · B for A (16×16) row-major at cm_a[a] and B (16×16) column-major at cm_b[b]. */
frag_acc
frag_mma (uint a, uint b, frag_acc c)
{
  uint lane = gl_LocalInvocationID.x % 32u;
  [[dont_unroll]] for (uint s = 0; s < 8u; s++)
    {
      uint e = lane + 32u * s, row = e / 16u, col = e % 16u;
      float sum = c.v[s];
      /* Unrolled: llvmpipe caps the loop iterations an invocation may run (65535,
       * then it leaves the loop), which a rolled loop here reached at K ≈ 1700. */
      [[unroll]] for (uint k = 0; k < 16u; k++)
        sum = fma (float (cm_a[a + row * CM_AB_STRIDE + k]), float (cm_b[b + col * CM_AB_STRIDE + k]), sum);
      c.v[s] = sum;
    }
  return c;
}

void
frag_store (frag_acc c, uint element)
{
  uint lane = gl_LocalInvocationID.x % 32u;
  for (uint s = 0; s < 8u; s++)
    {
      uint e = lane + 32u * s, row = e / 16u, col = e % 16u;
      cm_c[element + row * CM_C_STRIDE + col] = c.v[s];
    }
}
