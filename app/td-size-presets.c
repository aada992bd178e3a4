/* td-size-presets.c — output size presets and the custom size.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-size-presets.h"

/* FLUX works on 16-pixel patches of the latent (8× VAE, 2×2 patchify). */
#define SIZE_MULTIPLE 16

static const TdSizePreset presets[] = {
  { "square-512",  N_("Square 512 × 512"),     512,  512 },
  { "square-768",  N_("Square 768 × 768"),     768,  768 },
  { "square-1024", N_("Square 1024 × 1024"),  1024, 1024 },
  { "portrait",    N_("Portrait 768 × 1024"),  768, 1024 },
  { "landscape",   N_("Landscape 1024 × 768"), 1024, 768 },
  { "custom",      N_("Custom"),                 0,    0 },
};

guint
td_size_presets_get_n (void)
{
  return G_N_ELEMENTS (presets);
}

const TdSizePreset *
td_size_presets_get (guint index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (presets), NULL);
  return &presets[index];
}

int
td_size_presets_find (const char *nick)
{
  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    if (g_strcmp0 (presets[i].nick, nick) == 0)
      return i;
  return -1;
}

/* The size the next generation uses: the preset's, or the custom width and
 * height rounded down to what the model can take. */
void
td_size_presets_resolve (GSettings *settings,
                         int       *width,
                         int       *height)
{
  g_autofree char *nick = g_settings_get_string (settings, "size-preset");
  int index = td_size_presets_find (nick);

  if (index >= 0 && presets[index].width > 0)
    {
      *width = presets[index].width;
      *height = presets[index].height;
      return;
    }

  *width = g_settings_get_int (settings, "width") / SIZE_MULTIPLE * SIZE_MULTIPLE;
  *height = g_settings_get_int (settings, "height") / SIZE_MULTIPLE * SIZE_MULTIPLE;
}
