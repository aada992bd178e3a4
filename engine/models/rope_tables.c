/* rope_tables.c — cos/sin tables for TD_OP_ROPE (see rope_tables.h). */
#include "models/rope_tables.h"

#include <math.h>
#include <stdlib.h>

/* transformers' inverse frequencies, in float32 as it computes them:
 * 1 / theta^(float(2i) / dim), each step rounded to f32. */
static float
inv_freq_f32 (int i, int dim, double theta)
{
  float exponent = (float) (2 * i) / (float) dim;
  float power = (float) pow ((double) (float) theta, (double) exponent);
  return 1.0f / power;
}

/* cos/sin of an angle that transformers holds in f32. */
static void
store_f32_angle (float angle, float *cos_out, float *sin_out)
{
  *cos_out = (float) cos ((double) angle);
  *sin_out = (float) sin ((double) angle);
}

static td_status
check_common (const char *what, const void *cos_out, const void *sin_out, int64_t n, double theta, td_error *err)
{
  if (cos_out == NULL || sin_out == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: missing output tables", what);
  if (n < 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: negative position count %lld", what, (long long) n);
  if (!(theta > 0.0) || !isfinite (theta))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: theta must be a positive finite number, got %g", what, theta);
  return TD_OK;
}

td_status
td_rope_table_1d (const int64_t *positions, int64_t n_positions, int rot_dim, double theta, float *cos_out,
                  float *sin_out, td_error *err)
{
  td_status s = check_common ("rope table", cos_out, sin_out, n_positions, theta, err);
  if (s != TD_OK)
    return s;
  if (rot_dim <= 0 || rot_dim % 2 != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "rope table: rotary dims must be even and positive, got %d", rot_dim);
  if (n_positions > 0 && positions == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "rope table: missing positions");

  int half = rot_dim / 2;
  for (int i = 0; i < half; i++)
    {
      float inv_freq = inv_freq_f32 (i, rot_dim, theta);
      for (int64_t t = 0; t < n_positions; t++)
        store_f32_angle ((float) positions[t] * inv_freq, &cos_out[t * half + i], &sin_out[t * half + i]);
    }
  return TD_OK;
}

td_status
td_rope_table_flux (const float *ids, int64_t n_tokens, int n_axes, const int *axes_dim, double theta,
                    float *cos_out, float *sin_out, td_error *err)
{
  td_status s = check_common ("flux rope table", cos_out, sin_out, n_tokens, theta, err);
  if (s != TD_OK)
    return s;
  if (n_axes <= 0 || axes_dim == NULL || (n_tokens > 0 && ids == NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "flux rope table: missing ids or axes");
  int64_t half = 0;
  for (int a = 0; a < n_axes; a++)
    {
      if (axes_dim[a] <= 0 || axes_dim[a] % 2 != 0)
        return td_error_set (err, TD_ERR_INVALID_ARG,
                             "flux rope table: axis %d has %d dims; each must be even and positive", a, axes_dim[a]);
      half += axes_dim[a] / 2;
    }

  /* diffusers works in float64 here: freqs = 1 / theta^(2i / dim), angle = id · freq. */
  int64_t column = 0;
  for (int a = 0; a < n_axes; a++)
    {
      for (int i = 0; i < axes_dim[a] / 2; i++, column++)
        {
          double freq = 1.0 / pow (theta, (double) (2 * i) / (double) axes_dim[a]);
          for (int64_t t = 0; t < n_tokens; t++)
            {
              double angle = (double) ids[t * n_axes + a] * freq;
              cos_out[t * half + column] = (float) cos (angle);
              sin_out[t * half + column] = (float) sin (angle);
            }
        }
    }
  return TD_OK;
}

td_status
td_rope_table_mrope (const int64_t *positions, int64_t n_positions, const int section[3], int rot_dim, double theta,
                     float *cos_out, float *sin_out, td_error *err)
{
  td_status s = check_common ("m-rope table", cos_out, sin_out, n_positions, theta, err);
  if (s != TD_OK)
    return s;
  if (rot_dim <= 0 || rot_dim % 2 != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "m-rope table: rotary dims must be even and positive, got %d",
                         rot_dim);
  if (section == NULL || (n_positions > 0 && positions == NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "m-rope table: missing positions or sections");
  int half = rot_dim / 2;
  if (section[0] < 0 || section[1] < 0 || section[2] < 0 || section[0] + section[1] + section[2] != half)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "m-rope table: sections %d + %d + %d must be non-negative and add up to rot_dim/2 = %d",
                         section[0], section[1], section[2], half);

  /* Frequency i reads the stream its section names (temporal, height, width). */
  for (int i = 0; i < half; i++)
    {
      int stream = i < section[0] ? 0 : (i < section[0] + section[1] ? 1 : 2);
      const int64_t *pos = positions + (int64_t) stream * n_positions;
      float inv_freq = inv_freq_f32 (i, rot_dim, theta);
      for (int64_t t = 0; t < n_positions; t++)
        store_f32_angle ((float) pos[t] * inv_freq, &cos_out[t * half + i], &sin_out[t * half + i]);
    }
  return TD_OK;
}

td_status
td_rope_table_qwen2vl_vision (int grid_t, int grid_h, int grid_w, int merge_size, int head_dim, double theta,
                              float *cos_out, float *sin_out, td_error *err)
{
  td_status s = check_common ("vision rope table", cos_out, sin_out, 0, theta, err);
  if (s != TD_OK)
    return s;
  if (grid_t < 0 || grid_h < 0 || grid_w < 0 || merge_size <= 0 || grid_h % merge_size != 0
      || grid_w % merge_size != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG,
                         "vision rope table: grid %d×%d×%d must be non-negative with sides divisible by the merge "
                         "size %d",
                         grid_t, grid_h, grid_w, merge_size);
  if (head_dim <= 0 || head_dim % 4 != 0)
    return td_error_set (err, TD_ERR_INVALID_ARG, "vision rope table: head dim %d must be a positive multiple of 4",
                         head_dim);

  int quarter = head_dim / 4; /* frequencies per axis */
  int half = head_dim / 2;    /* angles per row */
  float *inv_freq = malloc ((size_t) quarter * sizeof *inv_freq);
  if (inv_freq == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "vision rope table: out of memory");
  for (int i = 0; i < quarter; i++)
    inv_freq[i] = inv_freq_f32 (i, half, theta);

  int64_t row = 0;
  for (int t = 0; t < grid_t; t++)
    for (int block_y = 0; block_y < grid_h / merge_size; block_y++)
      for (int block_x = 0; block_x < grid_w / merge_size; block_x++)
        for (int dy = 0; dy < merge_size; dy++)
          for (int dx = 0; dx < merge_size; dx++, row++)
            {
              float y = (float) (block_y * merge_size + dy), x = (float) (block_x * merge_size + dx);
              float *c = cos_out + row * half, *sn = sin_out + row * half;
              for (int i = 0; i < quarter; i++)
                {
                  store_f32_angle (y * inv_freq[i], &c[i], &sn[i]);
                  store_f32_angle (x * inv_freq[i], &c[quarter + i], &sn[quarter + i]);
                }
            }
  free (inv_freq);
  return TD_OK;
}
