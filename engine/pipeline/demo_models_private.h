/* demo_models_private.h — what the demo model writers share: a checkpoint being
 * built from named tensors with deterministic random values, and small file helpers.
 * demo_models_flux.c writes FLUX, demo_models_vision.c the vision-language parts. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/demo_models.h"

typedef struct {
  GPtrArray *names;
  GArray *entries;  /* td_safetensors_entry */
  GPtrArray *data;  /* value arrays */
  GPtrArray *shapes;
  uint64_t seed;
  uint64_t counter;
} td_demo_checkpoint;

void td_demo_checkpoint_init (td_demo_checkpoint *c, uint64_t seed);
void td_demo_checkpoint_clear (td_demo_checkpoint *c);
/* Writes dir/file (creating dir) with metadata marking it an untrained demo model. */
td_status td_demo_checkpoint_write (td_demo_checkpoint *c, const char *dir, const char *file, td_error *err);

/* Adds an f32 tensor: kind 'w' small normal weights (std 1/sqrt(fan-in)), 'o' ones,
 * 'z' zeros. Names are printf patterns. */
void td_demo_add (td_demo_checkpoint *c, char kind, int ndim, const int64_t *shape, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);
/* Stores the tensor added last as bf16, the way large tables ship, at half the bytes. */
void td_demo_last_to_bf16 (td_demo_checkpoint *c);
/* prefix.weight [out, in] and, with bias, prefix.bias [out] (zeros). */
void td_demo_add_linear (td_demo_checkpoint *c, int out, int in, bool bias, const char *prefix);
/* prefix.weight (ones) and, with bias, prefix.bias (zeros), both [n]. */
void td_demo_add_norm (td_demo_checkpoint *c, int n, bool bias, const char *prefix);

#define TD_S1(a) 1, (const int64_t[]) { a }
#define TD_S2(a, b) 2, (const int64_t[]) { a, b }
#define TD_S3(a, b, c) 3, (const int64_t[]) { a, b, c }
#define TD_S4(a, b, c, d) 4, (const int64_t[]) { a, b, c, d }
#define TD_S5(a, b, c, d, e) 5, (const int64_t[]) { a, b, c, d, e }

/* dir/file with text (creating dir). */
td_status td_demo_write_text (const char *dir, const char *file, const char *text, td_error *err);
/* Copies from_dir/name to to_dir/name (creating to_dir). */
td_status td_demo_copy_file (const char *from_dir, const char *name, const char *to_dir, td_error *err);
/* The README every demo folder carries: untrained, outputs are noise. */
td_status td_demo_write_readme (const char *dir, td_error *err);

/* The widths every part must agree on. */
enum {
  TD_DEMO_TEXT_WIDTH = 64,   /* T5 d_model = FLUX joint_attention_dim = aligner output */
  TD_DEMO_POOLED_WIDTH = 64, /* CLIP hidden = FLUX pooled_projection_dim */
};

td_status td_demo_write_flux (const char *root, const char *tokenizers_dir, td_error *err);
td_status td_demo_write_blip2_vision (const char *root, td_error *err);
td_status td_demo_write_clip_aligner (const char *root, td_error *err);
td_status td_demo_write_qwen2vl (const char *root, const char *tokenizers_dir, td_error *err);
td_status td_demo_write_lvlm_aligner (const char *root, td_error *err);
