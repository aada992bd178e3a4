/* model_table.h — one entry per model: its golden reference folder, the
 * `thinkdiff verify` components checked against it, and its demo-model writer.
 * `thinkdiff verify`, the golden parity tests and `make-demo-models` all read
 * this table, and tests/models/test-model-table.c checks it against the tree. */
#pragma once

#include "pipeline/verify.h"

typedef struct td_model_entry {
  const char *name;
  /* The folder under tests/data/golden holding the reference weights and
   * io.safetensors; NULL when the model has no golden (its components, if any,
   * are checked through another entry's). */
  const char *golden;
  /* The io files under that folder, NULL-terminated; NULL: io.safetensors alone. */
  const char *const *io;
  /* The verify components run on each io file, NULL-terminated. */
  const td_verify_component *const *components;
  /* Writes the model's untrained demo folder under a models folder; NULL when
   * another entry's writer covers it (T5 and CLIP come with FLUX). */
  td_status (*write_demo) (const char *models_dir, const char *tokenizers_dir, td_error *err);
} td_model_entry;

/* NULL-terminated, in the order make-demo-models writes. */
extern const td_model_entry *const td_model_table[];

/* The golden io file every golden folder has; entries may name more. */
#define TD_MODEL_GOLDEN_IO "io.safetensors"

/* entry->io, or { TD_MODEL_GOLDEN_IO, NULL } when it is NULL. */
const char *const *td_model_entry_io (const td_model_entry *entry);
