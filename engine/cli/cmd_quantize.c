/* cmd_quantize.c — `thinkdiff quantize IN OUT.gguf --type TYPE`: a safetensors
 * checkpoint to GGUF through td_quantize, with a progress line on stderr. */
#include "cli.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#include "cli_args.h"

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff quantize IN OUT.gguf --type TYPE [--name NAME] [--arch ARCH]\n\n"
                "Writes the tensors of IN (a .safetensors file, a sharded index or a model folder)\n"
                "to a GGUF file with the matrices in TYPE: q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k,\n"
                "q4_k, q5_k or q6_k. As ggml's converters do, 1-D tensors, norms, biases and\n"
                "embeddings stay f32/f16/bf16; a matrix whose rows are not whole blocks of 256\n"
                "takes llama-quantize's 32-value fallback (q4_k: q5_0, q5_k: q5_1, q6_k: q8_0,\n"
                "q2_k/q3_k: q4_0), or stays float when its rows are not whole blocks of 32.\n"
                "--name sets general.name (default: IN's name), --arch general.architecture\n"
                "(default: found from the tensor names).\n");
}

/* user_data: a bool, set once a progress line is on the terminal. */
static void
show_progress (size_t done, size_t total, const char *name, void *user_data)
{
  bool *shown = user_data;
  if (done > 0)
    {
      fprintf (stderr, "\rquantize: %zu/%zu tensors", done, total);
      *shown = true;
    }
  if (name == NULL && *shown)
    {
      fprintf (stderr, "\n");
      *shown = false;
    }
}

static int
parse_args (int argc, char **argv, const char **in, const char **out, td_quantize_options *options)
{
  bool operands_only = false;
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      if (!operands_only && (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0))
        {
          print_usage (stdout);
          return 0;
        }
      const char **slot = NULL;
      if (!operands_only && strcmp (arg, "--type") == 0)
        slot = &options->type;
      else if (!operands_only && strcmp (arg, "--name") == 0)
        slot = &options->name;
      else if (!operands_only && strcmp (arg, "--arch") == 0)
        slot = &options->architecture;
      if (slot != NULL && i + 1 < argc)
        *slot = argv[++i];
      else if (slot != NULL)
        {
          fprintf (stderr, "thinkdiff: %s needs a value\n", arg);
          return 2;
        }
      else if (!operands_only && strcmp (arg, "--") == 0)
        operands_only = true;
      else if ((operands_only || arg[0] != '-') && *in == NULL)
        *in = arg;
      else if ((operands_only || arg[0] != '-') && *out == NULL)
        *out = arg;
      else
        {
          fprintf (stderr, "thinkdiff: %s '%s'\n", arg[0] == '-' && !operands_only ? "unknown option" : "extra operand",
                   arg);
          print_usage (stderr);
          return 2;
        }
    }
  if (*in == NULL || *out == NULL || options->type == NULL)
    {
      fprintf (stderr, "thinkdiff: quantize needs IN, OUT and --type\n");
      print_usage (stderr);
      return 2;
    }
  if (!td_quantize_type_known (options->type))
    {
      fprintf (stderr,
               "thinkdiff: unknown --type '%s' (q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k or q6_k)\n",
               options->type);
      return 2;
    }
  return td_cli_check_output_file ("OUT", *out) ? -1 : 2;
}

int
td_cli_quantize (int argc, char **argv)
{
  const char *in = NULL, *out = NULL;
  bool progress_shown = false;
  td_quantize_options options = { .progress = show_progress, .user_data = &progress_shown };
  int code = parse_args (argc, argv, &in, &out, &options);
  if (code >= 0)
    return code;
  options.cancel = td_cli_catch_interrupts ();
  td_error err = { 0 };
  td_quantize_report report;
  td_status status = td_quantize (in, out, &options, &report, &err);
  td_cli_release_interrupts ();
  if (status != TD_OK)
    {
      if (progress_shown)
        fprintf (stderr, "\n");
      return td_cli_fail (&err);
    }
  g_autofree char *type = g_ascii_strdown (options.type, -1);
  printf ("%s: %zu tensors (%s), %zu matrices as %s, %zu in the fallback type; %" PRIu64 " to %" PRIu64 " bytes\n",
          out, report.n_tensors, report.architecture, report.n_quantized, type, report.n_fallback, report.bytes_in,
          report.bytes_out);
  return 0;
}
