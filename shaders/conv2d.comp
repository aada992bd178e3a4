#version 450
/* CONV2D as an implicit GEMM: C[cout, n] = Σ_k w[cout, k] · im2col[n, k] with
 * n = (b, oh, ow) and k = (ci, ky, kx); the im2col operand is gathered on the fly,
 * zero outside the padded input. W_DTYPE is the weight's stored dtype. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant, std430) uniform Push { td_pc_conv2d p; };

float
load_patch (uint n, uint k)
{
  uint ow = n % p.wo, rest = n / p.wo;
  uint oh = rest % p.ho, b = rest / p.ho;
  uint kx = k % p.kw, krest = k / p.kw;
  uint ky = krest % p.kh, ci = krest / p.kh;
  int ih = int (oh * p.stride_h + ky) - int (p.pad_h);
  int iw = int (ow * p.stride_w + kx) - int (p.pad_w);
  if (ih < 0 || iw < 0 || ih >= int (p.h) || iw >= int (p.w_in))
    return 0.0;
  return load_f32 (p.x, ((b * p.cin + ci) * p.h + uint (ih)) * p.w_in + uint (iw));
}

void
store_output (uint cout, uint n, float v)
{
  uint plane = p.ho * p.wo;
  uint b = n / plane, pixel = n % plane;
  if (p.has_bias != 0u)
    v += load_any (p.bias, p.bias_dtype, cout);
  store_f32 (p.y, (b * p.cout + cout) * plane + pixel, v);
}

#define MM_M p.cout
#define MM_N (p.batch * p.ho * p.wo)
#define MM_K (p.cin * p.kh * p.kw)
#define LOAD_A(m, k) load_any (p.w, W_DTYPE, (m) * MM_K + (k))
#define LOAD_B(n, k) load_patch ((n), (k))
#define STORE_C(m, n, v) store_output ((m), (n), (v))

#include "mm_tile.glsl"

void
main ()
{
  mm_tile_run (gl_WorkGroupID.y * MM_BM, gl_WorkGroupID.x * MM_BN);
}
