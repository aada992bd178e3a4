/* taesd.c — see taesd.h. Layer order follows madebyollin/taesd's taesd.py
 * (Encoder/Decoder as nn.Sequential; Block = conv-ReLU-conv-ReLU-conv + skip, then ReLU). */
#include "models/taesd.h"
#include "core/error_optional.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/pth.h"
#include "models/layers.h"

#define TAESD_WIDTH 64

struct td_taesd {
  td_backend *backend;
  td_weights *encoder, *decoder;
  /* Name index of decoder stack entry i is i + decoder_shift: 0 for taesd.py's
   * Sequential, −1 for diffusers' DecoderTiny, whose clamp is not a module. */
  int decoder_shift;
  int latent_channels;
  bool midblock_norm;
};

/* The entries of the nn.Sequential stacks. */
typedef enum { CONV, CONV_S2, BLOCK, RELU, CLAMP, UPSAMPLE } layer_kind;

static const layer_kind encoder_layers[] = {
  CONV, BLOCK, CONV_S2, BLOCK, BLOCK, BLOCK, CONV_S2, BLOCK, BLOCK, BLOCK, CONV_S2, BLOCK, BLOCK, BLOCK, CONV,
};
static const layer_kind decoder_layers[] = {
  CLAMP, CONV, RELU, BLOCK, BLOCK, BLOCK, UPSAMPLE, CONV, BLOCK, BLOCK, BLOCK, UPSAMPLE, CONV,
  BLOCK, BLOCK, BLOCK, UPSAMPLE, CONV, BLOCK, CONV,
};

/* ---- loading ---- */

static td_status
expect (td_weights *w, const char *name, int64_t a, int64_t b, td_error *err)
{
  const int64_t shape[4] = { a, b, 3, 3 };
  return td_weights_expect_shape (w, name, 4, shape, err);
}

static td_status check_stack (td_weights *w, const layer_kind *layers, size_t n, int name_shift, size_t pool_first,
                              size_t pool_last, td_error *err);

/* "<index>.<rest>" of decoder stack entry i. */
static const char *
decoder_name (const td_taesd *t, int i, const char *rest, char *buf, size_t size)
{
  snprintf (buf, size, "%d.%s", i + t->decoder_shift, rest);
  return buf;
}

/* Reads latent channels and the mid-block pooling from the first and last convs. */
static td_status
detect_variant (td_taesd *t, td_error *err)
{
  td_weights *enc = t->encoder, *dec = t->decoder;
  char first[32], last[32], pool[32], first_bias[32], last_bias[32];
  decoder_name (t, 1, "weight", first, sizeof first);
  decoder_name (t, 19, "weight", last, sizeof last);
  decoder_name (t, 3, "pool.0.weight", pool, sizeof pool);
  decoder_name (t, 1, "bias", first_bias, sizeof first_bias);
  decoder_name (t, 19, "bias", last_bias, sizeof last_bias);
  const td_tensor *probe = enc != NULL ? td_weights_get (enc, "14.weight", err) : td_weights_get (dec, first, err);
  if (probe == NULL || probe->ndim != 4)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s: not a TAESD %s (tensor '%s' is not the 4-D 8x latent conv; the "
                         "32x variant is not supported)", td_weights_path (enc != NULL ? enc : dec),
                         enc != NULL ? "encoder" : "decoder", enc != NULL ? "14.weight" : first);
  t->latent_channels = (int) (enc != NULL ? probe->shape[0] : probe->shape[1]);
  const td_tensor *dec_in = enc != NULL && dec != NULL ? td_weights_get_host (dec, first, err) : NULL;
  if (enc != NULL && dec != NULL && (dec_in == NULL || dec_in->ndim != 4 || dec_in->shape[1] != probe->shape[0]))
    return dec_in == NULL ? err->status
                          : td_error_set (err, TD_ERR_FORMAT, "%s: tensor '14.weight' gives %d latent channels, but "
                                          "tensor '%s' of %s is not [%d, %d, 3, 3]", td_weights_path (enc),
                                          t->latent_channels, first, td_weights_path (dec), TAESD_WIDTH,
                                          t->latent_channels);
  if (t->latent_channels < 1 || t->latent_channels > 256)
    return td_error_set (err, TD_ERR_FORMAT, "%s: %d latent channels", td_weights_path (enc ? enc : dec),
                         t->latent_channels);
  bool enc_norm = enc != NULL && td_weights_has (enc, "11.pool.0.weight");
  bool dec_norm = dec != NULL && td_weights_has (dec, pool);
  if (enc != NULL && dec != NULL && enc_norm != dec_norm)
    return td_error_set (err, TD_ERR_FORMAT, "%s and %s are different TAESD variants: %s has '%s', %s has no '%s'",
                         td_weights_path (enc), td_weights_path (dec), td_weights_path (enc_norm ? enc : dec),
                         enc_norm ? "11.pool.0.weight" : pool, td_weights_path (enc_norm ? dec : enc),
                         enc_norm ? pool : "11.pool.0.weight");
  t->midblock_norm = enc_norm || dec_norm;
  td_status st = TD_OK;
  if (enc != NULL && ((st = expect (enc, "0.weight", TAESD_WIDTH, 3, err)) != TD_OK
                      || (st = expect (enc, "14.weight", t->latent_channels, TAESD_WIDTH, err)) != TD_OK))
    return st;
  if (dec != NULL && ((st = expect (dec, first, TAESD_WIDTH, t->latent_channels, err)) != TD_OK
                      || (st = expect (dec, last, 3, TAESD_WIDTH, err)) != TD_OK))
    return st;
  if (enc != NULL
      && ((st = td_weights_expectf (enc, err, TD_DIMS (TAESD_WIDTH), "0.bias")) != TD_OK
          || (st = td_weights_expectf (enc, err, TD_DIMS (t->latent_channels), "14.bias")) != TD_OK
          || (st = check_stack (enc, encoder_layers, G_N_ELEMENTS (encoder_layers), 0, t->midblock_norm ? 11 : 1,
                                t->midblock_norm ? 13 : 0, err)) != TD_OK))
    return st;
  if (dec != NULL
      && ((st = td_weights_expectf (dec, err, TD_DIMS (TAESD_WIDTH), "%s", first_bias)) != TD_OK
          || (st = td_weights_expectf (dec, err, TD_DIMS (3), "%s", last_bias)) != TD_OK
          || (st = check_stack (dec, decoder_layers, G_N_ELEMENTS (decoder_layers), t->decoder_shift,
                                t->midblock_norm ? 3 : 1,
                                t->midblock_norm ? 5 : 0, err)) != TD_OK))
    return st;
  return TD_OK;
}

static td_taesd *
taesd_new (td_backend *backend, td_error *err)
{
  td_taesd *t = calloc (1, sizeof *t);
  if (t == NULL)
    td_error_set (err, TD_ERR_NO_MEMORY, "out of memory loading TAESD");
  else
    t->backend = backend != NULL ? backend : td_backend_host ();
  return t;
}

/* Checks what was opened into t; frees t on failure. */
static td_taesd *
taesd_finish (td_taesd *t, bool opened, td_error *err)
{
  if (!opened || detect_variant (t, err) != TD_OK)
    {
      td_error_prefix (err, "loading TAESD");
      td_taesd_free (t);
      return NULL;
    }
  return t;
}

/* Every conv of a stack after the first and last (checked by detect_variant): TAESD_WIDTH
 * wide, with a bias except after an upsample and in a stride-2 conv; blocks with their
 * optional skip, and the pooling that blocks [pool_first, pool_last] must have. */
static td_status
check_stack (td_weights *w, const layer_kind *layers, size_t n, int name_shift, size_t pool_first, size_t pool_last,
             td_error *err)
{
  const int64_t c = TAESD_WIDTH;
  td_status st = TD_OK;
  bool first = true;
  for (size_t i = 0; i + 1 < n && st == TD_OK; i++)
    {
      char name[64];
      int index = (int) i + name_shift;
      if (layers[i] == CONV && first)
        first = false;
      else if (layers[i] == CONV || layers[i] == CONV_S2)
        st = td_weights_expect_conv (w, err, c, c, 3, layers[i] == CONV && layers[i - 1] != UPSAMPLE, "%d", index);
      if (layers[i] != BLOCK)
        continue;
      for (int k = 0; k < 3 && st == TD_OK; k++)
        st = td_weights_expect_conv (w, err, c, c, 3, true, "%d.conv.%d", index, 2 * k);
      snprintf (name, sizeof name, "%d.skip.weight", index);
      if (st == TD_OK && td_weights_has (w, name))
        st = td_weights_expect_conv (w, err, c, c, 1, false, "%d.skip", index);
      snprintf (name, sizeof name, "%d.pool.0.weight", index);
      if (st == TD_OK && (td_weights_has (w, name) || (i >= pool_first && i <= pool_last)))
        {
          const td_tensor *pool = td_weights_get_host (w, name, err);
          int64_t width = pool != NULL && pool->ndim == 4 ? pool->shape[0] : -1;
          if (pool == NULL)
            st = err != NULL ? err->status : TD_ERR_FORMAT;
          else if (width < 4 || width % 4 != 0) /* GroupNorm(4, width) */
            st = td_error_set (err, TD_ERR_FORMAT, "%s: tensor '%s' is not [4k, %d, 1, 1]", td_weights_path (w), name,
                               TAESD_WIDTH);
          else if ((st = td_weights_expect_conv (w, err, width, c, 1, false, "%d.pool.0", index)) == TD_OK
                   && (st = td_weights_expect_norm (w, err, width, true, "%d.pool.1", index)) == TD_OK)
            st = td_weights_expect_conv (w, err, c, width, 1, false, "%d.pool.3", index);
        }
    }
  return st;
}

td_taesd *
td_taesd_load (const char *encoder_path, const char *decoder_path, td_backend *backend, td_error *err)
{
  if (encoder_path == NULL && decoder_path == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "TAESD needs an encoder or a decoder checkpoint");
      return NULL;
    }
  td_taesd *t = taesd_new (backend, err);
  if (t == NULL)
    return NULL;
  bool ok = (encoder_path == NULL || (t->encoder = td_weights_open (encoder_path, t->backend, err)) != NULL)
            && (decoder_path == NULL || (t->decoder = td_weights_open (decoder_path, t->backend, err)) != NULL);
  return taesd_finish (t, ok, err);
}

/* Opens path once more with names under prefix; NULL when the file has none. */
static td_weights *
open_part (const char *path, const char *prefix, td_backend *backend, td_error *err)
{
  td_weights *w = td_weights_open (path, backend, err);
  if (w == NULL)
    return NULL;
  td_weights_add_prefix (w, prefix);
  g_autofree char *probe = g_strconcat (prefix, "0.weight", NULL);
  if (!td_weights_has (w, probe))
    {
      td_weights_free (w);
      return NULL;
    }
  return w;
}

td_taesd *
td_taesd_load_diffusers (const char *path, td_backend *backend, td_error *err)
{
  td_taesd *t = taesd_new (backend, err);
  if (t == NULL)
    return NULL;
  t->decoder_shift = -1;
  td_error open_err = { 0 };
  t->encoder = open_part (path, "encoder.layers.", t->backend, &open_err);
  if (open_err.status == TD_OK)
    t->decoder = open_part (path, "decoder.layers.", t->backend, &open_err);
  if (open_err.status != TD_OK)
    {
      if (err != NULL)
        *err = open_err;
      return taesd_finish (t, false, err);
    }
  if (t->encoder == NULL && t->decoder == NULL)
    {
      td_error_set (err, TD_ERR_FORMAT, "%s: no encoder.layers.* or decoder.layers.* tensors (not an AutoencoderTiny)",
                    path);
      return taesd_finish (t, false, err);
    }
  return taesd_finish (t, true, err);
}

/* The folder's one file ending in "_<part>.pth" or "_<part>.safetensors", or NULL. */
static char *
find_part (const char *dir, const char *part)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return NULL;
  g_autofree char *pth = g_strdup_printf ("_%s.pth", part);
  g_autofree char *st = g_strdup_printf ("_%s.safetensors", part);
  char *found = NULL;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL && found == NULL)
    if (g_str_has_suffix (name, pth) || g_str_has_suffix (name, st))
      found = g_build_filename (dir, name, NULL);
  g_dir_close (d);
  return found;
}

td_taesd *
td_taesd_load_dir (const char *dir, td_backend *backend, td_error *err)
{
  g_autofree char *diffusers = g_build_filename (dir, "diffusion_pytorch_model.safetensors", NULL);
  if (g_file_test (diffusers, G_FILE_TEST_EXISTS))
    return td_taesd_load_diffusers (diffusers, backend, err);
  g_autofree char *encoder = find_part (dir, "encoder");
  g_autofree char *decoder = find_part (dir, "decoder");
  if (encoder == NULL && decoder == NULL)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "%s: no diffusion_pytorch_model.safetensors and no *_encoder or *_decoder"
                    " TAESD checkpoint", dir);
      return NULL;
    }
  return td_taesd_load (encoder, decoder, backend, err);
}

void
td_taesd_free (td_taesd *taesd)
{
  if (taesd == NULL)
    return;
  td_weights_free (taesd->encoder);
  td_weights_free (taesd->decoder);
  free (taesd);
}

int
td_taesd_latent_channels (const td_taesd *taesd)
{
  return taesd->latent_channels;
}

bool
td_taesd_has_midblock_norm (const td_taesd *taesd)
{
  return taesd->midblock_norm;
}

/* ---- forward ---- */

/* conv(x) where x is consumed. */
static td_tensor *
conv_ (td_layer_ctx *ctx, td_tensor *x, const char *prefix, int stride, int pad)
{
  td_tensor *y = td_layer_conv2d (ctx, x, prefix, stride, pad);
  td_tensor_free (x);
  return y;
}

/* FLUX.2's pooling: x + conv1x1(ReLU(GroupNorm(4, conv1x1(x)))). */
static td_tensor *
pool_ (td_layer_ctx *ctx, td_tensor *x, int index)
{
  char name[64];
  snprintf (name, sizeof name, "%d.pool.0", index);
  td_tensor *p = td_layer_conv2d (ctx, x, name, 1, 0);
  snprintf (name, sizeof name, "%d.pool.1", index);
  td_tensor *n = td_layer_group_norm (ctx, p, name, 4, 1e-5f);
  td_tensor_free (p);
  td_layer_unary_ (ctx, n, TD_UNARY_RELU);
  snprintf (name, sizeof name, "%d.pool.3", index);
  p = conv_ (ctx, n, name, 1, 0);
  td_layer_add_ (ctx, x, p);
  td_tensor_free (p);
  return x;
}

/* Block: ReLU(conv(ReLU(conv(ReLU(conv(x))))) + skip(x)); consumes x. */
static td_tensor *
block_ (td_layer_ctx *ctx, td_tensor *x, int index)
{
  char name[64];
  snprintf (name, sizeof name, "%d.pool.0.weight", index);
  if (td_weights_has (ctx->weights, name))
    x = pool_ (ctx, x, index);
  td_tensor *h = x;
  for (int i = 0; i < 3; i++)
    {
      snprintf (name, sizeof name, "%d.conv.%d", index, 2 * i);
      td_tensor *next = td_layer_conv2d (ctx, h, name, 1, 1);
      if (h != x)
        td_tensor_free (h);
      h = i < 2 ? td_layer_unary_ (ctx, next, TD_UNARY_RELU) : next;
    }
  snprintf (name, sizeof name, "%d.skip.weight", index);
  if (td_weights_has (ctx->weights, name))
    {
      snprintf (name, sizeof name, "%d.skip", index);
      td_tensor *skip = td_layer_conv2d (ctx, x, name, 1, 0);
      td_layer_add_ (ctx, h, skip);
      td_tensor_free (skip);
    }
  else
    td_layer_add_ (ctx, h, x);
  td_tensor_free (x);
  return td_layer_unary_ (ctx, h, TD_UNARY_RELU);
}

static td_tensor *
upsample_ (td_layer_ctx *ctx, td_tensor *x)
{
  if (!td_layer_ok (ctx) || x == NULL)
    {
      td_tensor_free (x);
      return NULL;
    }
  const int64_t shape[4] = { x->shape[0], x->shape[1], 2 * x->shape[2], 2 * x->shape[3] };
  td_tensor *y = td_layer_new (ctx, TD_F32, 4, shape);
  td_status st = y != NULL ? td_upsample_nearest2x (ctx->backend, y, x, ctx->err) : TD_OK;
  if (st != TD_OK)
    td_layer_fail (ctx, st);
  td_tensor_free (x);
  return y;
}

/* Runs an nn.Sequential stack on a copy of input. */
static td_tensor *
run_stack (td_taesd *t, td_weights *weights, const layer_kind *layers, size_t n, int name_shift,
           const td_tensor *input, td_error *err)
{
  td_layer_ctx ctx = { .backend = t->backend, .weights = weights, .err = err };
  td_tensor *x = td_layer_contiguous (&ctx, input);
  char name[32];
  for (size_t i = 0; i < n && td_layer_ok (&ctx); i++)
    {
      int index = (int) i + name_shift;
      snprintf (name, sizeof name, "%d", index);
      switch (layers[i])
        {
        case CONV: x = conv_ (&ctx, x, name, 1, 1); break;
        case CONV_S2: x = conv_ (&ctx, x, name, 2, 1); break;
        case BLOCK: x = block_ (&ctx, x, index); break;
        case RELU: x = td_layer_unary_ (&ctx, x, TD_UNARY_RELU); break;
        case UPSAMPLE: x = upsample_ (&ctx, x); break;
        case CLAMP: /* tanh(x / 3) · 3 */
          x = td_layer_scale_ (&ctx, td_layer_unary_ (&ctx, td_layer_scale_ (&ctx, x, 1.0f / 3, 0), TD_UNARY_TANH), 3, 0);
          break;
        }
    }
  if (!td_layer_ok (&ctx))
    {
      td_tensor_free (x);
      return NULL;
    }
  return x;
}

td_tensor *
td_taesd_encode (td_taesd *taesd, const td_tensor *image, td_error *err)
{
  if (taesd->encoder == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "this TAESD has no encoder loaded");
      return NULL;
    }
  if (image->ndim != 4 || image->shape[1] != 3 || image->shape[2] % 8 != 0 || image->shape[3] % 8 != 0
      || image->shape[2] < 8 || image->shape[3] < 8 || image->dtype != TD_F32)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "TAESD encodes f32 [B, 3, H, W] images with H and W multiples of 8");
      return NULL;
    }
  return run_stack (taesd, taesd->encoder, encoder_layers, G_N_ELEMENTS (encoder_layers), 0, image, err);
}

td_tensor *
td_taesd_decode (td_taesd *taesd, const td_tensor *latents, td_error *err)
{
  if (taesd->decoder == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "this TAESD has no decoder loaded");
      return NULL;
    }
  if (latents->ndim != 4 || latents->shape[1] != taesd->latent_channels || latents->dtype != TD_F32)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "TAESD decodes f32 [B, %d, h, w] latents", taesd->latent_channels);
      return NULL;
    }
  return run_stack (taesd, taesd->decoder, decoder_layers, G_N_ELEMENTS (decoder_layers), taesd->decoder_shift, latents,
                    err);
}

td_status
td_taesd_preview_rgb (td_taesd *taesd, const float *latents, int h, int w, float scaling, float shift, uint8_t *rgb,
                      td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  int c = taesd->latent_channels;
  if (h < 1 || w < 1 || h > 4096 || w > 4096 || scaling == 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "a %d×%d preview latent is out of range", h, w);
  size_t n = (size_t) c * h * w;
  float *raw = malloc (n * sizeof *raw);
  if (raw == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for a preview");
  for (size_t i = 0; i < n; i++)
    raw[i] = latents[i] / scaling + shift;
  const int64_t shape[4] = { 1, c, h, w };
  td_tensor *z = td_tensor_new (taesd->backend, TD_F32, 4, shape, err);
  td_status st = z != NULL ? td_tensor_upload (z, raw, n * sizeof *raw, err) : err->status;
  free (raw);
  td_tensor *image = st == TD_OK ? td_taesd_decode (taesd, z, err) : NULL;
  td_tensor_free (z);
  float *pixels = NULL;
  if (image != NULL && (st = td_backend_sync (taesd->backend, err)) == TD_OK)
    pixels = td_tensor_to_f32 (image, err);
  if (pixels == NULL)
    st = err != NULL && err->status != TD_OK ? err->status : TD_ERR_NO_MEMORY;
  else
    {
      size_t plane = (size_t) 64 * h * w; /* (8h)·(8w) */
      for (size_t p = 0; p < plane; p++)
        for (int ch = 0; ch < 3; ch++)
          {
            float v = roundf (pixels[ch * plane + p] * 255.0f);
            rgb[3 * p + ch] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
          }
    }
  free (pixels);
  td_tensor_free (image);
  return st;
}
