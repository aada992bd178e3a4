/* flow_scheduler.h — FLUX's flow-matching Euler schedule
 * (diffusers FlowMatchEulerDiscreteScheduler with dynamic, exponential shift). */
#pragma once

#include "thinkdiff.h"

typedef struct td_flow_schedule_config {
  int base_image_seq_len;  /* 256 */
  int max_image_seq_len;   /* 4096 */
  double base_shift;       /* 0.5 */
  double max_shift;        /* 1.15 */
  int num_train_timesteps; /* 1000 */
} td_flow_schedule_config;

typedef struct td_flow_schedule {
  int steps;
  float mu;
  float *sigmas;    /* steps + 1 entries, the last 0 */
  float *timesteps; /* steps entries: sigma × num_train_timesteps */
} td_flow_schedule;

/* FLUX.1's defaults (those of its scheduler_config.json). */
td_flow_schedule_config td_flow_schedule_config_default (void);
/* Reads scheduler/scheduler_config.json; missing keys keep the defaults. */
td_status td_flow_schedule_config_load (const char *path, td_flow_schedule_config *config, td_error *err);

/* mu = linear interpolation of the shift over the image sequence length (not clamped). */
double td_flow_shift_mu (const td_flow_schedule_config *config, int image_seq_len);

/* sigmas = linspace(1, 1/steps, steps), shifted by exp(mu) / (exp(mu) + 1/σ − 1), then 0. */
td_status td_flow_schedule_new (const td_flow_schedule_config *config, int steps, int image_seq_len,
                                td_flow_schedule *schedule, td_error *err);
void td_flow_schedule_clear (td_flow_schedule *schedule);
