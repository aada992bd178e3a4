/* cli_args.h — strict parsing of numbers and paths given on the command line.
 *
 * A number is the whole argument in plain decimal: "64.9" is not an integer,
 * and "0x40", " 64", "+64", "1e3" for an integer, "inf" or "nan" are refused.
 * Each helper prints "thinkdiff: FLAG wants …, not 'TEXT'" and returns false.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "thinkdiff.h"

bool td_cli_parse_int (const char *flag, const char *text, int64_t min, int64_t max, int64_t *out);
bool td_cli_parse_double (const char *flag, const char *text, double min, double max, double *out);

/* Checks, before any work, that an output file can be written at path: not a
 * folder or empty, its folder exists and is writable. Prints the reason. */
bool td_cli_check_output_file (const char *flag, const char *path);

/* For commands that take N operands and no options: --help or -h prints the usage to
 * stdout (returns 0); "--" ends the options, so later arguments may start with '-';
 * an unknown option or a wrong count prints why and the usage to stderr (returns 2).
 * Returns -1 when out[0 … n−1] hold the operands. */
int td_cli_operands (int argc, char **argv, void (*usage) (FILE *out), int n, const char **out);

/* --weights PART=FILE: stores FILE as files[PART] (PART flux, t5, clip, lvlm or eva). Prints why
 * and returns false for a value without '=', an unknown part or an empty file. */
bool td_cli_parse_weight_choice (const char *flag, const char *value, const char *files[TD_WEIGHTS_COUNT]);
/* Checks each chosen file against the models folder (FLUX's parts against flux_dir, a
 * FLUX folder or a models folder holding one); prints the engine's error (naming the
 * file) and returns false when one is not a weight file of its part, or when a part
 * outside FLUX is chosen with no models_dir. */
bool td_cli_check_weight_choices (const char *flux_dir, const char *models_dir,
                                  const char *const files[TD_WEIGHTS_COUNT]);
