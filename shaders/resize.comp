#version 450
/* UPSAMPLE_NEAREST2X, RESIZE_BILINEAR (align_corners=False, as torch) and
 * RESIZE_BICUBIC (PIL: a = -0.5, support widened by the scale when downscaling,
 * normalised weights) over planes [planes, H, W]; one invocation per output. */
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(push_constant, std430) uniform Push { td_pc_resize p; };

float
cubic_weight (float x)
{
  const float a = -0.5;
  x = abs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* PIL's tap window for one output coordinate: [first, first + count). */
void
cubic_window (uint out_index, uint in_size, uint out_size, out int first, out int count, out float center,
              out float inv_filter_scale)
{
  float scale = float (in_size) / float (out_size);
  float filter_scale = max (scale, 1.0);
  float support = 2.0 * filter_scale;
  center = (float (out_index) + 0.5) * scale;
  first = max (int (center - support + 0.5), 0);
  int last = min (int (center + support + 0.5), int (in_size));
  count = last - first;
  inv_filter_scale = 1.0 / filter_scale;
}

float
bicubic (uint plane, uint oy, uint ox)
{
  int fy, cy, fx, cx;
  float center_y, center_x, sy, sx;
  cubic_window (oy, p.h, p.ho, fy, cy, center_y, sy);
  cubic_window (ox, p.w, p.wo, fx, cx, center_x, sx);
  float wx_sum = 0.0;
  for (int i = 0; i < cx; i++)
    wx_sum += cubic_weight ((float (fx + i) - center_x + 0.5) * sx);
  float acc = 0.0, wy_sum = 0.0;
  for (int j = 0; j < cy; j++)
    {
      float wy = cubic_weight ((float (fy + j) - center_y + 0.5) * sy);
      wy_sum += wy;
      uint row = (plane * p.h + uint (fy + j)) * p.w;
      float line = 0.0;
      for (int i = 0; i < cx; i++)
        line += cubic_weight ((float (fx + i) - center_x + 0.5) * sx) * load_f32 (p.x, row + uint (fx + i));
      acc += wy * line;
    }
  float norm = wx_sum * wy_sum;
  return norm != 0.0 ? acc / norm : 0.0;
}

/* torch's area_pixel_compute_source_index for align_corners=False. */
void
linear_source (uint out_index, uint in_size, uint out_size, out uint i0, out uint i1, out float frac)
{
  float scale = float (in_size) / float (out_size);
  float src = max ((float (out_index) + 0.5) * scale - 0.5, 0.0);
  i0 = min (uint (src), in_size - 1u);
  i1 = min (i0 + 1u, in_size - 1u);
  frac = src - float (i0);
}

float
bilinear (uint plane, uint oy, uint ox)
{
  uint y0, y1, x0, x1;
  float fy, fx;
  linear_source (oy, p.h, p.ho, y0, y1, fy);
  linear_source (ox, p.w, p.wo, x0, x1, fx);
  uint base = plane * p.h * p.w;
  float top = mix (load_f32 (p.x, base + y0 * p.w + x0), load_f32 (p.x, base + y0 * p.w + x1), fx);
  float bottom = mix (load_f32 (p.x, base + y1 * p.w + x0), load_f32 (p.x, base + y1 * p.w + x1), fx);
  return mix (top, bottom, fy);
}

void
main ()
{
  uint i = invocation_linear ();
  if (i >= p.planes * p.ho * p.wo)
    return;
  uint ox = i % p.wo, rest = i / p.wo;
  uint oy = rest % p.ho, plane = rest / p.ho;
  float v;
  if (p.mode == PC_RESIZE_NEAREST2X)
    v = load_f32 (p.x, (plane * p.h + oy / 2u) * p.w + ox / 2u);
  else if (p.mode == PC_RESIZE_BILINEAR)
    v = bilinear (plane, oy, ox);
  else
    v = bicubic (plane, oy, ox);
  store_f32 (p.y, i, v);
}
