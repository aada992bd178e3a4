#include "pipeline/flow_scheduler.h"

#include <math.h>
#include <stdlib.h>

#include "models/model_config.h"

td_flow_schedule_config
td_flow_schedule_config_default (void)
{
  return (td_flow_schedule_config) {
    .base_image_seq_len = 256,
    .max_image_seq_len = 4096,
    .base_shift = 0.5,
    .max_shift = 1.15,
    .num_train_timesteps = 1000,
  };
}

td_status
td_flow_schedule_config_load (const char *path, td_flow_schedule_config *out, td_error *err)
{
  td_flow_schedule_config c = td_flow_schedule_config_default ();
  td_model_config *config = td_model_config_load (path, err);
  if (config == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  long long base_len, max_len, train;
  bool dynamic;
  td_status st;
  if ((st = td_config_int (config, NULL, "base_image_seq_len", false, c.base_image_seq_len, 1, 1 << 24, &base_len, err))
      || (st = td_config_int (config, NULL, "max_image_seq_len", false, c.max_image_seq_len, 1, 1 << 24, &max_len, err))
      || (st = td_config_int (config, NULL, "num_train_timesteps", false, c.num_train_timesteps, 1, 1 << 20, &train, err))
      || (st = td_config_double (config, NULL, "base_shift", false, c.base_shift, &c.base_shift, err))
      || (st = td_config_double (config, NULL, "max_shift", false, c.max_shift, &c.max_shift, err))
      || (st = td_config_bool (config, NULL, "use_dynamic_shifting", false, true, &dynamic, err)))
    goto out;
  if (!dynamic)
    {
      st = td_error_set (err, TD_ERR_UNSUPPORTED, "%s: only dynamic shifting (FLUX.1) is supported", path);
      goto out;
    }
  if (base_len == max_len)
    {
      st = td_error_set (err, TD_ERR_FORMAT, "%s: base_image_seq_len equals max_image_seq_len", path);
      goto out;
    }
  c.base_image_seq_len = (int) base_len;
  c.max_image_seq_len = (int) max_len;
  c.num_train_timesteps = (int) train;
  *out = c;
out:
  td_model_config_free (config);
  return st;
}

double
td_flow_shift_mu (const td_flow_schedule_config *c, int image_seq_len)
{
  double m = (c->max_shift - c->base_shift) / (double) (c->max_image_seq_len - c->base_image_seq_len);
  double b = c->base_shift - m * c->base_image_seq_len;
  return image_seq_len * m + b;
}

td_status
td_flow_schedule_new (const td_flow_schedule_config *config, int steps, int image_seq_len,
                      td_flow_schedule *schedule, td_error *err)
{
  if (steps < 1 || steps > 1000)
    return td_error_set (err, TD_ERR_INVALID_ARG, "steps must be 1..1000, not %d", steps);
  if (image_seq_len < 1)
    return td_error_set (err, TD_ERR_INVALID_ARG, "image sequence length must be positive");
  schedule->steps = steps;
  schedule->sigmas = calloc ((size_t) steps + 1, sizeof (float));
  schedule->timesteps = calloc ((size_t) steps, sizeof (float));
  if (schedule->sigmas == NULL || schedule->timesteps == NULL)
    {
      td_flow_schedule_clear (schedule);
      return td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for the schedule");
    }
  double mu = td_flow_shift_mu (config, image_seq_len);
  schedule->mu = (float) mu;
  /* The reference computes the shift on float32 arrays: keep each step in f32. */
  float exp_mu = (float) exp (mu);
  double last = 1.0 / steps;
  for (int i = 0; i < steps; i++)
    {
      double t = steps == 1 ? 1.0 : 1.0 + (last - 1.0) * i / (steps - 1);
      float sigma = (float) t;
      float shifted = exp_mu / (exp_mu + (1.0f / sigma - 1.0f));
      schedule->sigmas[i] = shifted;
      schedule->timesteps[i] = shifted * (float) config->num_train_timesteps;
    }
  schedule->sigmas[steps] = 0.0f;
  return TD_OK;
}

void
td_flow_schedule_clear (td_flow_schedule *schedule)
{
  free (schedule->sigmas);
  free (schedule->timesteps);
  schedule->sigmas = NULL;
  schedule->timesteps = NULL;
  schedule->steps = 0;
}
