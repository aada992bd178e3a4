/* verify_cli.c — `thinkdiff verify`, in the engine so tests can run it with
 * components they register themselves. */
#include "pipeline/verify.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct verify_args {
  const char *component;
  const char *model;
  const char *io;
  const char *backend;
  const char *tolerance;
  const char *weights;
  bool list;
  bool help;
} verify_args;

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff verify --component NAME --model DIR --io FILE [--backend cpu|vulkan]\n"
                "                        [--weights FILE] [--tolerance REL]\n"
                "       thinkdiff verify --list\n\n"
                "Runs a model component on the inputs in FILE (a golden io.safetensors) with the\n"
                "weights in DIR and compares each output with the reference of the same name.\n"
                "Prints 'name max_abs_err rel_err tolerance ok|FAIL' per output; every other\n"
                "tensor of FILE must be an input of the component (or, in a file several\n"
                "components share, another component's). Exits 1 if any check fails.\n"
                "DIR may hold the weights as a GGUF file (`thinkdiff quantize`) or fp8 safetensors\n"
                "in place of the reference checkpoint, or --weights FILE names such a file to use\n"
                "instead of the component's checkpoint in DIR; --tolerance then sets the largest\n"
                "rel_err that passes (the quantised formats' figures are in the README).\n");
}

/* Accepts "--name value" and "--name=value". Returns false on bad usage. */
static bool
parse_args (int argc, char **argv, verify_args *a, FILE *errout)
{
  static const char *const names[] = { "--component", "--model", "--io", "--backend", "--tolerance", "--weights" };
  const char **slots[] = { &a->component, &a->model, &a->io, &a->backend, &a->tolerance, &a->weights };
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          a->help = true;
          continue;
        }
      if (strcmp (argv[i], "--list") == 0)
        {
          a->list = true;
          continue;
        }
      bool matched = false;
      for (size_t k = 0; k < sizeof names / sizeof names[0] && !matched; k++)
        {
          size_t len = strlen (names[k]);
          if (strncmp (argv[i], names[k], len) != 0)
            continue;
          if (argv[i][len] == '=')
            *slots[k] = argv[i] + len + 1;
          else if (argv[i][len] == '\0' && i + 1 < argc)
            *slots[k] = argv[++i];
          else if (argv[i][len] == '\0')
            {
              fprintf (errout, "thinkdiff: %s needs a value\n", names[k]);
              return false;
            }
          else
            continue;
          matched = true;
        }
      if (!matched)
        {
          fprintf (errout, "thinkdiff: unknown option '%s'\n", argv[i]);
          return false;
        }
    }
  return true;
}

static void
print_components (FILE *out)
{
  size_t n = td_verify_component_count ();
  if (n == 0)
    fprintf (out, "  (none registered yet)\n");
  for (size_t i = 0; i < n; i++)
    fprintf (out, "  %-20s %s\n", td_verify_component_at (i)->name, td_verify_component_at (i)->summary);
}

static void
print_result (const td_verify_result *r, FILE *out)
{
  if (r->kind == TD_VERIFY_UNLISTED)
    fprintf (out, "%s - - - FAIL (%s)\n", r->name, r->note);
  else if (isnan (r->max_abs_err))
    fprintf (out, "%s - - %.1e %s (%s)\n", r->name, r->tolerance, r->ok ? "ok" : "FAIL", r->note);
  else
    fprintf (out, "%s %.3e %.3e %.1e %s\n", r->name, r->max_abs_err, r->rel_err, r->tolerance,
             r->ok ? "ok" : "FAIL");
}

/* Appends ", name" (or "name" first) to a summary list; with detail, "name (detail)". */
static void
list_add (GString *list, const char *name, const char *detail)
{
  g_string_append_printf (list, "%s%s", list->len > 0 ? ", " : "", name);
  if (detail != NULL)
    g_string_append_printf (list, " (%s)", detail);
}

/* "1.0e-05" when every output has the component's tolerance, else that and the exceptions. */
static void
describe_tolerances (double tolerance, const td_verify_result *results, size_t n, GString *text)
{
  g_string_append_printf (text, "rel_err <= %.1e", tolerance);
  for (size_t i = 0; i < n; i++)
    if (results[i].kind == TD_VERIFY_OUTPUT && results[i].tolerance != tolerance)
      g_string_append_printf (text, ", %s <= %.1e", results[i].name, results[i].tolerance);
}

static int
report (const td_verify_component *c, const char *backend, double tolerance, const td_verify_result *results, size_t n, FILE *out,
        FILE *errout)
{
  size_t outputs = 0, passed = 0;
  g_autoptr (GString) inputs = g_string_new (NULL);
  g_autoptr (GString) elsewhere = g_string_new (NULL);
  g_autoptr (GString) unlisted = g_string_new (NULL);
  for (size_t i = 0; i < n; i++)
    {
      const td_verify_result *r = &results[i];
      if (r->kind == TD_VERIFY_OUTPUT || r->kind == TD_VERIFY_UNLISTED)
        print_result (r, out);
      if (r->kind == TD_VERIFY_OUTPUT)
        {
          outputs++;
          passed += r->ok;
        }
      else if (r->kind == TD_VERIFY_INPUT)
        list_add (inputs, r->name, NULL);
      else if (r->kind == TD_VERIFY_ELSEWHERE)
        list_add (elsewhere, r->name, r->note);
      else
        list_add (unlisted, r->name, NULL);
    }
  g_autoptr (GString) tolerances = g_string_new (NULL);
  describe_tolerances (tolerance, results, n, tolerances);
  fprintf (errout, "verify %s on %s: %zu of %zu outputs within tolerance (%s)\n", c->name, backend, passed, outputs,
           tolerances->str);
  if (inputs->len > 0)
    fprintf (errout, "  inputs: %s\n", inputs->str);
  if (elsewhere->len > 0)
    fprintf (errout, "  handled by other components: %s\n", elsewhere->str);
  if (unlisted->len > 0)
    fprintf (errout, "  FAIL: io tensors neither input nor output of %s: %s\n", c->name, unlisted->str);
  return passed == outputs && unlisted->len == 0 ? 0 : 1;
}

int
td_verify_main (int argc, char **argv, FILE *out, FILE *errout)
{
  verify_args a = { .backend = "cpu" };
  if (!parse_args (argc, argv, &a, errout))
    {
      print_usage (errout);
      return 2;
    }
  if (a.help || a.list)
    {
      if (a.help)
        print_usage (out);
      fprintf (out, "%sComponents:\n", a.help ? "\n" : "");
      print_components (out);
      return 0;
    }
  if (a.component == NULL || a.model == NULL || a.io == NULL)
    {
      fprintf (errout, "thinkdiff: verify needs --component, --model and --io\n");
      print_usage (errout);
      return 2;
    }

  double tolerance = 0;
  if (a.tolerance != NULL)
    {
      char *end = NULL;
      tolerance = g_ascii_strtod (a.tolerance, &end);
      if (end == a.tolerance || *end != '\0' || !(tolerance > 0 && tolerance < 1e3))
        {
          fprintf (errout, "thinkdiff: --tolerance wants a positive number, not '%s'\n", a.tolerance);
          return 2;
        }
    }
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new (a.backend, &err);
  if (backend == NULL)
    {
      fprintf (errout, "thinkdiff: %s\n", err.message);
      return 1;
    }
  const td_verify_component *c = td_verify_find (a.component);
  if (c == NULL)
    {
      fprintf (errout, "thinkdiff: unknown component '%s'; known components:\n", a.component);
      print_components (errout);
      td_backend_free (backend);
      return 1;
    }
  /* --tolerance: the component as it is, with that tolerance on every backend. */
  td_verify_component loosened;
  if (tolerance > 0)
    {
      loosened = *c;
      loosened.tolerance = loosened.f16_tolerance = tolerance;
      c = &loosened;
    }
  char *weights_folder = NULL;
  if (a.weights != NULL && (weights_folder = td_verify_weights_folder (c, a.model, a.weights, &err)) == NULL)
    {
      fprintf (errout, "thinkdiff: %s\n", err.message);
      td_backend_free (backend);
      return 1;
    }
  td_verify_result *results = NULL;
  size_t n = 0;
  int code;
  if (td_verify_run (c, weights_folder != NULL ? weights_folder : a.model, a.io, backend, &results, &n, &err) != TD_OK)
    {
      fprintf (errout, "thinkdiff: %s\n", err.message);
      code = 1;
    }
  else
    code = report (c, a.backend, td_verify_tolerance (c, backend), results, n, out, errout);
  free (results);
  td_verify_weights_folder_free (weights_folder);
  td_backend_free (backend);
  return code;
}
