/* verify.h — check model components against the golden reference outputs.
 *
 * A component reads its inputs from a golden `io.safetensors`, runs on a
 * backend with the weights of a model folder, and hands back named outputs;
 * each is compared with the tensor of the same name in the io file:
 *   rel_err = max |actual − reference| / max |reference|  ≤  tolerance.
 * Every io tensor is accounted for: an output the component computes (compared),
 * one of its listed inputs, or, in an io file several components share, listed as
 * handled by another component. Any other io tensor fails the run, so a reference
 * cannot sit in the file unchecked.
 *
 * Adding a component: define a `const td_verify_component` in the model's
 * verify_<model>.c and list it in the model's entry of model_table.c.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "backend/backend.h"
#include "io/safetensors.h"

/* fp32 paths: the goldens match to about 2e-6 on the CPU and on lavapipe; the
 * goldens' README asks about 2e-2 for f16/bf16 paths, the fallback for a
 * component without its own f16_tolerance. The built-in ones all have one:
 * about 4× the worst rel_err measured on the CPU, lavapipe and the emulated
 * cooperative-matrix kernels, rounded up to 1, 2 or 5 × 10^k (the table with
 * every output and its margin: docs/precision.md). */
#define TD_VERIFY_DEFAULT_TOLERANCE 1e-5
#define TD_VERIFY_F16_TOLERANCE 2e-2

typedef struct td_verify_outputs td_verify_outputs;

/* An io tensor (a name, or a glob such as "latents_after_step_*") that another
 * component reading the same io file takes as input or compares. */
typedef struct td_verify_elsewhere {
  const char *tensor;
  const char *component;
} td_verify_elsewhere;

typedef struct td_verify_component {
  const char *name;
  const char *summary;
  /* Largest rel_err that passes; 0 means TD_VERIFY_DEFAULT_TOLERANCE. */
  double tolerance;
  /* Runs the component: model_dir holds the weights (the golden folder),
   * io holds the inputs. Adds every output to compare to `outputs`. */
  td_status (*run) (const char *model_dir, td_safetensors *io, td_backend *backend,
                    td_verify_outputs *outputs, td_error *err);
  /* NULL-terminated names of the io tensors it reads as inputs; one it also
   * outputs (an encoder's latent that the decoder then reads) is compared. */
  const char *const *inputs;
  /* { NULL }-terminated, or NULL: io tensors another component handles. */
  const td_verify_elsewhere *elsewhere;
  /* Largest rel_err on a backend whose fast paths round to f16
   * (td_backend_reduced_precision); 0 means TD_VERIFY_F16_TOLERANCE. */
  double f16_tolerance;
  /* The folder of model_dir ("" for model_dir itself) whose one checkpoint
   * `verify --weights FILE` replaces; NULL when the component reads several. */
  const char *weights_dir;
} td_verify_component;

/* The component's tolerance on this backend (per-output ones aside). */
double td_verify_tolerance (const td_verify_component *component, td_backend *backend);

/* Adds an output named like its reference tensor; takes ownership of t. */
void td_verify_outputs_add (td_verify_outputs *outputs, const char *name, td_tensor *t);
/* An io tensor (any dtype) as a new f32 tensor on backend, for a component's inputs. */
td_tensor *td_verify_io_tensor (td_safetensors *io, const char *name, td_backend *backend, td_error *err);
/* An io tensor (any dtype) as host values (free()): f32, or int32 for ids and
 * grids. *count (may be NULL) gets the number of values. */
float *td_verify_io_floats (td_safetensors *io, const char *name, int64_t *count, td_error *err);
int32_t *td_verify_io_ints (td_safetensors *io, const char *name, int64_t *count, td_error *err);
/* A tolerance for one output instead of the component's (a bf16 path beside f32 ones). */
void td_verify_outputs_set_tolerance (td_verify_outputs *outputs, const char *name, double tolerance);
/* Adds a copy of a float array of the given shape. */
td_status td_verify_outputs_add_f32 (td_verify_outputs *outputs, const char *name, int ndim, const int64_t *shape,
                                     const float *values, td_error *err);

/* The built-in components (those of the model table, model_table.h) and those
 * registered at run time (tests). */
size_t td_verify_component_count (void);
const td_verify_component *td_verify_component_at (size_t index);
const td_verify_component *td_verify_find (const char *name);
/* Adds a component (kept by pointer; it must outlive its use). */
void td_verify_register (const td_verify_component *component);

typedef enum td_verify_kind {
  TD_VERIFY_OUTPUT,    /* computed and compared */
  TD_VERIFY_INPUT,     /* one of the component's inputs */
  TD_VERIFY_ELSEWHERE, /* handled by another component (note names it) */
  TD_VERIFY_UNLISTED,  /* neither: a failure */
} td_verify_kind;

typedef struct td_verify_result {
  char name[128];
  td_verify_kind kind;
  double max_abs_err;
  double rel_err;
  double tolerance; /* the one applied (outputs only) */
  bool ok;
  char note[256]; /* why it failed when no error figure applies (shape, missing) */
} td_verify_result;

/* Compares one output with its reference (any dtypes, read as f32). A shape
 * mismatch, a NaN or a rel_err above tolerance makes result->ok false.
 * Returns an error only when the tensors cannot be read. */
td_status td_verify_compare (const char *name, const td_tensor *actual, const td_tensor *reference,
                             double tolerance, td_verify_result *result, td_error *err);

/* How the component accounts for an io tensor it does not output: INPUT,
 * ELSEWHERE (*other gets the component's name) or UNLISTED. */
td_verify_kind td_verify_classify (const td_verify_component *component, const char *tensor, const char **other);

/* Opens io_path, runs the component and compares every output; outputs the
 * io file has no reference for are failures. *results (free()) gets one entry
 * per output, in the order the component added them, then one per other io
 * tensor (input, elsewhere, or an UNLISTED failure). Returns an error when the
 * component cannot run or names an unknown component in `elsewhere`. */
td_status td_verify_run (const td_verify_component *component, const char *model_dir, const char *io_path,
                         td_backend *backend, td_verify_result **results, size_t *n_results, td_error *err);

/* A temporary model folder that is model_dir with the checkpoint of the
 * component's weights_dir replaced by weights_file (a .gguf or a .safetensors
 * file): links to everything else, so nothing is copied. Remove it with
 * td_verify_weights_folder_free. NULL and err when the component has no single
 * checkpoint or the folder cannot be made. */
char *td_verify_weights_folder (const td_verify_component *component, const char *model_dir,
                                const char *weights_file, td_error *err);
void td_verify_weights_folder_free (char *folder);

/* "cpu", "vulkan" (the default device) or "auto", as td_engine_new chooses. */
td_backend *td_verify_backend_new (const char *name, td_error *err);

/* The whole `thinkdiff verify` command: argv[0] is "verify". Prints one line
 * per output, "name max_abs_err rel_err tolerance ok|FAIL", and one FAIL line
 * per unlisted io tensor to out; the summary, inputs and errors to errout.
 * Returns 0 when every output passes, 1 on a failure or error, 2 on bad usage. */
int td_verify_main (int argc, char **argv, FILE *out, FILE *errout);
