/* verify.c — the component registry, the comparison and `thinkdiff verify`. */
#include "pipeline/verify.h"
#include "core/error_optional.h"

#include "api/api_private.h"
#include "pipeline/model_table.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- outputs ---- */

typedef struct output {
  char *name;
  td_tensor *tensor;
  double tolerance; /* 0: the component's */
} output;

struct td_verify_outputs {
  GPtrArray *items; /* output* */
};

static void
output_free (gpointer data)
{
  output *o = data;
  g_free (o->name);
  td_tensor_free (o->tensor);
  g_free (o);
}

void
td_verify_outputs_add (td_verify_outputs *outputs, const char *name, td_tensor *t)
{
  output *o = g_new0 (output, 1);
  o->name = g_strdup (name);
  o->tensor = t;
  g_ptr_array_add (outputs->items, o);
}

void
td_verify_outputs_set_tolerance (td_verify_outputs *outputs, const char *name, double tolerance)
{
  for (guint i = 0; i < outputs->items->len; i++)
    {
      output *o = g_ptr_array_index (outputs->items, i);
      if (strcmp (o->name, name) == 0)
        o->tolerance = tolerance;
    }
}

td_status
td_verify_outputs_add_f32 (td_verify_outputs *outputs, const char *name, int ndim, const int64_t *shape,
                           const float *values, td_error *err)
{
  td_tensor *t = td_tensor_new (NULL, TD_F32, ndim, shape, err);
  if (t == NULL)
    return err != NULL ? err->status : TD_ERR_INVALID_ARG;
  td_status status = td_tensor_upload (t, values, td_tensor_nbytes (t), err);
  if (status != TD_OK)
    {
      td_tensor_free (t);
      return status;
    }
  td_verify_outputs_add (outputs, name, t);
  return TD_OK;
}

td_tensor *
td_verify_io_tensor (td_safetensors *io, const char *name, td_backend *backend, td_error *err)
{
  td_tensor *host = td_safetensors_tensor (io, name, err);
  if (host == NULL)
    return NULL;
  float *values = td_tensor_to_f32 (host, err);
  td_tensor *t = values ? td_tensor_new (backend, TD_F32, host->ndim, host->shape, err) : NULL;
  if (t != NULL && td_tensor_upload (t, values, td_tensor_nbytes (t), err) != TD_OK)
    {
      td_tensor_free (t);
      t = NULL;
    }
  free (values);
  td_tensor_free (host);
  return t;
}

float *
td_verify_io_floats (td_safetensors *io, const char *name, int64_t *count, td_error *err)
{
  td_tensor *host = td_safetensors_tensor (io, name, err);
  if (host == NULL)
    return NULL;
  float *values = td_tensor_to_f32 (host, err);
  if (count != NULL)
    *count = td_tensor_numel (host);
  td_tensor_free (host);
  return values;
}

int32_t *
td_verify_io_ints (td_safetensors *io, const char *name, int64_t *count, td_error *err)
{
  int64_t n = 0;
  float *values = td_verify_io_floats (io, name, &n, err);
  if (values == NULL)
    return NULL;
  int32_t *out = malloc ((size_t) (n > 0 ? n : 1) * sizeof *out);
  if (out == NULL)
    td_error_set (err, TD_ERR_NO_MEMORY, "out of memory reading %s", name);
  for (int64_t i = 0; out != NULL && i < n; i++)
    out[i] = (int32_t) values[i];
  free (values);
  if (count != NULL)
    *count = n;
  return out;
}

/* ---- registry ---- */

#define MAX_REGISTERED 64
static const td_verify_component *registered[MAX_REGISTERED];
static size_t n_registered;

/* The built-in components: those of the model table, in its order. */
static size_t
builtin_count (void)
{
  size_t n = 0;
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    for (const td_verify_component *const *c = (*m)->components; *c != NULL; c++)
      n++;
  return n;
}

static const td_verify_component *
builtin_at (size_t index)
{
  for (const td_model_entry *const *m = td_model_table; *m != NULL; m++)
    for (const td_verify_component *const *c = (*m)->components; *c != NULL; c++)
      if (index-- == 0)
        return *c;
  return NULL;
}

size_t
td_verify_component_count (void)
{
  return builtin_count () + n_registered;
}

const td_verify_component *
td_verify_component_at (size_t index)
{
  size_t builtins = builtin_count ();
  if (index < builtins)
    return builtin_at (index);
  index -= builtins;
  return index < n_registered ? registered[index] : NULL;
}

const td_verify_component *
td_verify_find (const char *name)
{
  for (size_t i = 0; i < td_verify_component_count (); i++)
    if (strcmp (td_verify_component_at (i)->name, name) == 0)
      return td_verify_component_at (i);
  return NULL;
}

void
td_verify_register (const td_verify_component *component)
{
  g_return_if_fail (n_registered < MAX_REGISTERED);
  registered[n_registered++] = component;
}

/* ---- comparison ---- */

td_status
td_verify_compare (const char *name, const td_tensor *actual, const td_tensor *reference, double tolerance,
                   td_verify_result *result, td_error *err)
{
  memset (result, 0, sizeof *result);
  g_strlcpy (result->name, name, sizeof result->name);
  result->max_abs_err = NAN;
  result->rel_err = NAN;
  if (!td_tensor_same_shape (actual, reference))
    {
      char a[96], r[96];
      snprintf (result->note, sizeof result->note, "shape %s but the reference is %s",
                td_shape_string (actual->ndim, actual->shape, a, sizeof a),
                td_shape_string (reference->ndim, reference->shape, r, sizeof r));
      return TD_OK;
    }
  float *x = td_tensor_to_f32 (actual, err);
  float *y = x != NULL ? td_tensor_to_f32 (reference, err) : NULL;
  if (y == NULL)
    {
      free (x);
      return td_error_prefix (err, "verify %s", name);
    }
  int64_t n = td_tensor_numel (actual);
  double max_err = 0, max_ref = 0;
  bool non_finite = false;
  for (int64_t i = 0; i < n; i++)
    {
      double diff = fabs ((double) x[i] - (double) y[i]);
      if (!isfinite (diff))
        non_finite = true;
      else if (diff > max_err)
        max_err = diff;
      if (fabs ((double) y[i]) > max_ref)
        max_ref = fabs ((double) y[i]);
    }
  free (x);
  free (y);
  if (non_finite)
    {
      snprintf (result->note, sizeof result->note, "NaN or Inf in the output or the reference");
      return TD_OK;
    }
  result->max_abs_err = max_err;
  result->rel_err = max_ref > 0 ? max_err / max_ref : (max_err == 0 ? 0 : INFINITY);
  result->ok = result->rel_err <= tolerance;
  return TD_OK;
}

td_verify_kind
td_verify_classify (const td_verify_component *component, const char *tensor, const char **other)
{
  for (size_t i = 0; component->inputs != NULL && component->inputs[i] != NULL; i++)
    if (strcmp (component->inputs[i], tensor) == 0)
      return TD_VERIFY_INPUT;
  for (size_t i = 0; component->elsewhere != NULL && component->elsewhere[i].tensor != NULL; i++)
    if (g_pattern_match_simple (component->elsewhere[i].tensor, tensor))
      {
        if (other != NULL)
          *other = component->elsewhere[i].component;
        return TD_VERIFY_ELSEWHERE;
      }
  return TD_VERIFY_UNLISTED;
}

static bool
is_output (const td_verify_outputs *outputs, const char *name)
{
  for (guint i = 0; i < outputs->items->len; i++)
    if (strcmp (((const output *) g_ptr_array_index (outputs->items, i))->name, name) == 0)
      return true;
  return false;
}

static td_status
check_elsewhere (const td_verify_component *component, td_error *err)
{
  for (size_t i = 0; component->elsewhere != NULL && component->elsewhere[i].tensor != NULL; i++)
    {
      const char *other = component->elsewhere[i].component;
      if (other == NULL || td_verify_find (other) == NULL || strcmp (other, component->name) == 0)
        return td_error_set (err, TD_ERR_INVALID_ARG,
                             "%s: io tensor '%s' is said to be handled by '%s', not another known component",
                             component->name, component->elsewhere[i].tensor, other != NULL ? other : "(none)");
    }
  return TD_OK;
}

/* Compares output o with its reference into *r. */
static td_status
compare_output (td_safetensors *io, const char *io_path, const output *o, double tolerance, td_verify_result *r,
                td_error *err)
{
  if (td_safetensors_find (io, o->name) == NULL)
    {
      memset (r, 0, sizeof *r);
      g_strlcpy (r->name, o->name, sizeof r->name);
      r->max_abs_err = r->rel_err = NAN;
      r->tolerance = tolerance;
      snprintf (r->note, sizeof r->note, "no reference tensor '%s' in %s", o->name, io_path);
      return TD_OK;
    }
  td_tensor *reference = td_safetensors_tensor (io, o->name, err);
  if (reference == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  td_status status = td_verify_compare (o->name, o->tensor, reference, tolerance, r, err);
  r->tolerance = tolerance;
  td_tensor_free (reference);
  return status;
}

/* An io tensor the component does not output: an input, another component's, or a failure. */
static void
account_io_tensor (const td_verify_component *component, const char *name, td_verify_result *r)
{
  memset (r, 0, sizeof *r);
  g_strlcpy (r->name, name, sizeof r->name);
  r->max_abs_err = r->rel_err = r->tolerance = NAN;
  const char *other = NULL;
  r->kind = td_verify_classify (component, name, &other);
  r->ok = r->kind != TD_VERIFY_UNLISTED;
  if (r->kind == TD_VERIFY_ELSEWHERE)
    snprintf (r->note, sizeof r->note, "%s", other);
  else if (r->kind == TD_VERIFY_UNLISTED)
    snprintf (r->note, sizeof r->note, "io tensor '%s' is neither an input of %s nor an output it computes", name,
              component->name);
}

td_status
td_verify_run (const td_verify_component *component, const char *model_dir, const char *io_path,
               td_backend *backend, td_verify_result **results, size_t *n_results, td_error *err)
{
  TD_ERROR_OPTIONAL (err);
  *results = NULL;
  *n_results = 0;
  td_status status = check_elsewhere (component, err);
  if (status != TD_OK)
    return status;
  td_safetensors *io = td_safetensors_open (io_path, err);
  if (io == NULL)
    return err != NULL ? err->status : TD_ERR_IO;
  td_verify_outputs outputs = { g_ptr_array_new_with_free_func (output_free) };
  double tolerance = component->tolerance > 0 ? component->tolerance : TD_VERIFY_DEFAULT_TOLERANCE;

  status = component->run (model_dir, io, backend, &outputs, err);
  if (status != TD_OK)
    td_error_prefix (err, "%s", component->name);
  else if (outputs.items->len == 0)
    status = td_error_set (err, TD_ERR_MISMATCH, "%s: the component produced no outputs", component->name);

  size_t n_io = td_safetensors_count (io);
  size_t capacity = outputs.items->len + n_io;
  td_verify_result *list = status == TD_OK ? calloc (capacity, sizeof *list) : NULL;
  if (status == TD_OK && list == NULL)
    status = td_error_set (err, TD_ERR_NO_MEMORY, "out of memory");
  size_t n = 0;
  for (guint i = 0; status == TD_OK && i < outputs.items->len; i++)
    {
      const output *o = g_ptr_array_index (outputs.items, i);
      status = compare_output (io, io_path, o, o->tolerance > 0 ? o->tolerance : tolerance, &list[n++], err);
    }
  for (size_t i = 0; status == TD_OK && i < n_io; i++)
    {
      const char *name = td_safetensors_at (io, i)->name;
      if (!is_output (&outputs, name))
        account_io_tensor (component, name, &list[n++]);
    }
  if (status == TD_OK)
    {
      *results = list;
      *n_results = n;
    }
  else
    free (list);
  g_ptr_array_unref (outputs.items);
  td_safetensors_close (io);
  return status;
}

td_backend *
td_verify_backend_new (const char *name, td_error *err)
{
  return td_backend_choose (name, -1, err);
}
