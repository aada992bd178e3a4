#include "models/flux_vae_tiles.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ops.h"

/* One tile's output on the host, [c, h, w], kept until its neighbours are blended. */
typedef struct host_tile {
  float *data;
  int64_t c, h, w;
} host_tile;

static void
host_tile_clear (host_tile *t)
{
  free (t->data);
  memset (t, 0, sizeof *t);
}

td_vae_tiling
td_vae_tiling_default (void)
{
  return (td_vae_tiling) { .tile = 64, .overlap = 16, .threshold = 128 };
}

td_status
td_vae_tiling_check (const td_vae_tiling *tiling, td_error *err)
{
  if (tiling->tile < 1 || tiling->tile > 4096 || tiling->overlap < 0 || tiling->overlap >= tiling->tile
      || tiling->threshold < 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "VAE tiling: tile %d with overlap %d is not valid "
                         "(need 1 ≤ tile ≤ 4096 and 0 ≤ overlap < tile)", tiling->tile, tiling->overlap);
  return TD_OK;
}

bool
td_vae_tiling_needed (const td_vae_tiling *tiling, int64_t h, int64_t w)
{
  return h > tiling->threshold || w > tiling->threshold;
}

static int64_t
min3 (int64_t a, int64_t b, int64_t c)
{
  int64_t m = a < b ? a : b;
  return m < c ? m : c;
}

/* The weights as diffusers computes them: y / extent in double, applied to f32 values. */
static void
blend_weights (int64_t i, int64_t extent, float *keep_a, float *take_b)
{
  double t = (double) i / (double) extent;
  *keep_a = (float) (1.0 - t);
  *take_b = (float) t;
}

/* b's first rows fade in from a's last rows (a is the tile above, same width). */
static void
blend_v (const host_tile *a, host_tile *b, int64_t extent)
{
  extent = min3 (a->h, b->h, extent);
  for (int64_t c = 0; c < b->c; c++)
    for (int64_t y = 0; y < extent; y++)
      {
        float wa, wb;
        blend_weights (y, extent, &wa, &wb);
        const float *ra = a->data + (c * a->h + a->h - extent + y) * a->w;
        float *rb = b->data + (c * b->h + y) * b->w;
        for (int64_t x = 0; x < b->w; x++)
          rb[x] = ra[x] * wa + rb[x] * wb;
      }
}

/* b's first columns fade in from a's last columns (a is the tile to the left, same height). */
static void
blend_h (const host_tile *a, host_tile *b, int64_t extent)
{
  extent = min3 (a->w, b->w, extent);
  for (int64_t c = 0; c < b->c; c++)
    for (int64_t y = 0; y < b->h; y++)
      {
        const float *ra = a->data + (c * a->h + y) * a->w;
        float *rb = b->data + (c * b->h + y) * b->w;
        for (int64_t x = 0; x < extent; x++)
          {
            float wa, wb;
            blend_weights (x, extent, &wa, &wb);
            rb[x] = ra[a->w - extent + x] * wa + rb[x] * wb;
          }
      }
}

/* Runs fn on input[:, :, y0 : y0 + th, x0 : x0 + tw] and reads the result back. */
static td_status
run_tile (td_backend *backend, const td_tensor *input, int64_t y0, int64_t x0, int tile, td_tile_fn fn, void *user,
          td_vae_tile_stats *stats, host_tile *out, td_error *err)
{
  int64_t th = MIN ((int64_t) tile, input->shape[2] - y0), tw = MIN ((int64_t) tile, input->shape[3] - x0);
  td_tensor *rows = td_tensor_slice (input, 2, y0, th, err);
  td_tensor *view = rows ? td_tensor_slice (rows, 3, x0, tw, err) : NULL;
  td_tensor_free (rows);
  if (view == NULL)
    return err ? err->status : TD_ERR_INVALID_ARG;
  td_tensor *piece = td_tensor_new (backend, view->dtype, view->ndim, view->shape, err);
  td_status st = piece ? td_copy (backend, piece, view, err) : (err ? err->status : TD_ERR_NO_MEMORY);
  td_tensor_free (view);
  td_tensor *result = st == TD_OK ? fn (user, piece, err) : NULL;
  td_tensor_free (piece);
  if (result == NULL)
    return st != TD_OK ? st : (err ? err->status : TD_ERR_DEVICE);
  if (result->ndim != 4 || result->shape[0] != 1)
    st = td_error_set (err, TD_ERR_INVALID_ARG, "VAE tiles: a tile's output is not [1, C, h, w]");
  if (st == TD_OK && (st = td_backend_sync (backend, err)) == TD_OK
      && (out->data = td_tensor_to_f32 (result, err)) == NULL)
    st = err ? err->status : TD_ERR_NO_MEMORY;
  if (st == TD_OK)
    {
      out->c = result->shape[1];
      out->h = result->shape[2];
      out->w = result->shape[3];
      if (stats != NULL)
        {
          stats->tiles++;
          stats->largest_tile_numel = MAX (stats->largest_tile_numel, input->shape[1] * th * tw);
          stats->largest_output_numel = MAX (stats->largest_output_numel, td_tensor_numel (result));
        }
    }
  td_tensor_free (result);
  return st;
}

/* Copies the tile's top-left step × step block (clipped) into the output at (oy, ox). */
static void
place (const host_tile *t, float *out, int64_t out_h, int64_t out_w, int64_t oy, int64_t ox, int64_t step)
{
  int64_t h = MIN (MIN (step, t->h), out_h - oy), w = MIN (MIN (step, t->w), out_w - ox);
  for (int64_t c = 0; c < t->c; c++)
    for (int64_t y = 0; y < h; y++)
      memcpy (out + (c * out_h + oy + y) * out_w + ox, t->data + (c * t->h + y) * t->w, (size_t) w * sizeof *out);
}

td_tensor *
td_tiles_map_blend (td_backend *backend, const td_tensor *input, int tile, int stride, int up, int down,
                    td_tile_fn fn, void *user, td_vae_tile_stats *stats, td_error *err)
{
  if (input->ndim != 4 || input->shape[0] != 1 || tile < 1 || stride < 1 || stride > tile || up < 1 || down < 1
      || tile % down || stride % down || input->shape[2] % down || input->shape[3] % down)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "VAE tiles: tile %d and step %d do not fit an input of [1, C, h, w] "
                    "with sides that are multiples of %d", tile, stride, down);
      return NULL;
    }
  if (stats != NULL)
    memset (stats, 0, sizeof *stats);
  const int64_t in_h = input->shape[2], in_w = input->shape[3];
  /* An input that fits one tile is processed whole, as diffusers only tiles larger ones. */
  if (in_h <= tile && in_w <= tile)
    stride = tile;
  const int64_t out_h = in_h * up / down, out_w = in_w * up / down;
  const int64_t out_tile = (int64_t) tile * up / down, out_step = (int64_t) stride * up / down;
  const int64_t extent = out_tile - out_step; /* diffusers' blend_extent */
  const int64_t cols = (in_w + stride - 1) / stride;

  host_tile *above = calloc ((size_t) cols, sizeof *above);
  host_tile *current = calloc ((size_t) cols, sizeof *current);
  td_tensor *image = NULL;
  float *out = NULL;
  td_status st = above && current ? TD_OK : td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for VAE tiles");
  for (int64_t y0 = 0, i = 0; st == TD_OK && y0 < in_h; y0 += stride, i++)
    {
      for (int64_t x0 = 0, j = 0; st == TD_OK && x0 < in_w; x0 += stride, j++)
        {
          if ((st = run_tile (backend, input, y0, x0, tile, fn, user, stats, &current[j], err)) != TD_OK)
            break;
          if (image == NULL)
            {
              const int64_t shape[4] = { 1, current[j].c, out_h, out_w };
              if ((image = td_tensor_new (NULL, TD_F32, 4, shape, err)) == NULL)
                {
                  st = err ? err->status : TD_ERR_NO_MEMORY;
                  break;
                }
              out = td_tensor_host_data (image);
            }
          if (current[j].c != image->shape[1])
            {
              st = td_error_set (err, TD_ERR_INVALID_ARG, "VAE tiles: tiles gave different channel counts");
              break;
            }
          /* In place and in this order, as diffusers: the tiles above and to the left are already blended. */
          if (i > 0)
            blend_v (&above[j], &current[j], extent);
          if (j > 0)
            blend_h (&current[j - 1], &current[j], extent);
          place (&current[j], out, out_h, out_w, y0 * up / down, x0 * up / down, out_step);
        }
      for (int64_t j = 0; j < cols; j++)
        {
          host_tile_clear (&above[j]);
          above[j] = current[j];
          memset (&current[j], 0, sizeof current[j]);
        }
    }
  for (int64_t j = 0; above != NULL && current != NULL && j < cols; j++)
    {
      host_tile_clear (&above[j]);
      host_tile_clear (&current[j]);
    }
  free (above);
  free (current);
  if (st != TD_OK)
    {
      td_tensor_free (image);
      return NULL;
    }
  return image;
}

static td_tensor *
decode_tile (void *user, const td_tensor *tile, td_error *err)
{
  return td_flux_vae_decode (user, tile, err);
}

static td_tensor *
encode_tile (void *user, const td_tensor *tile, td_error *err)
{
  return td_flux_vae_encode_mean (user, tile, err);
}

td_tensor *
td_flux_vae_decode_tiled (td_flux_vae *vae, const td_tensor *z, const td_vae_tiling *tiling, td_vae_tile_stats *stats,
                          td_error *err)
{
  if (td_vae_tiling_check (tiling, err) != TD_OK)
    return NULL;
  td_tensor *image = td_tiles_map_blend (td_flux_vae_backend (vae), z, tiling->tile, tiling->tile - tiling->overlap,
                                         td_flux_vae_scale_factor (vae), 1, decode_tile, vae, stats, err);
  if (image == NULL)
    td_error_prefix (err, "tiled VAE decode");
  return image;
}

td_tensor *
td_flux_vae_encode_mean_tiled (td_flux_vae *vae, const td_tensor *image, const td_vae_tiling *tiling,
                               td_vae_tile_stats *stats, td_error *err)
{
  if (td_vae_tiling_check (tiling, err) != TD_OK)
    return NULL;
  int factor = td_flux_vae_scale_factor (vae);
  td_tensor *latents = td_tiles_map_blend (td_flux_vae_backend (vae), image, tiling->tile * factor,
                                           (tiling->tile - tiling->overlap) * factor, 1, factor, encode_tile, vae,
                                           stats, err);
  if (latents == NULL)
    td_error_prefix (err, "tiled VAE encode");
  return latents;
}
