#include "pipeline/latent_preview.h"

/* Rows: latent channels 0..15; columns: R, G, B. */
static const float preview_factors[TD_FLUX_LATENT_CHANNELS][3] = {
  { -0.0346f, 0.0244f, 0.0681f }, { 0.0034f, 0.0210f, 0.0687f }, { 0.0275f, -0.0668f, -0.0433f },
  { -0.0174f, 0.0160f, 0.0617f }, { 0.0859f, 0.0721f, 0.0329f }, { 0.0004f, 0.0383f, 0.0115f },
  { 0.0405f, 0.0861f, 0.0915f }, { -0.0236f, -0.0185f, -0.0259f }, { -0.0245f, 0.0250f, 0.1180f },
  { 0.1008f, 0.0755f, -0.0421f }, { -0.0515f, 0.0201f, 0.0011f }, { 0.0428f, -0.0012f, -0.0036f },
  { 0.0817f, 0.0765f, 0.0749f }, { -0.1264f, -0.0522f, -0.1103f }, { -0.0280f, -0.0881f, -0.0499f },
  { -0.1262f, -0.0982f, -0.0778f },
};
static const float preview_bias[3] = { -0.0329f, -0.0718f, -0.0851f };

void
td_latent_preview_rgb (const float *latents, int h, int w, uint8_t *rgb)
{
  const long plane = (long) h * w;
  for (long p = 0; p < plane; p++)
    for (int c = 0; c < 3; c++)
      {
        float v = preview_bias[c];
        for (int k = 0; k < TD_FLUX_LATENT_CHANNELS; k++)
          v += latents[k * plane + p] * preview_factors[k][c];
        v = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
        rgb[p * 3 + c] = (uint8_t) ((v + 1.0f) * 127.5f + 0.5f);
      }
}
