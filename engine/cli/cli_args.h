/* cli_args.h — strict parsing of numbers and paths given on the command line.
 *
 * A number is the whole argument in plain decimal: "64.9" is not an integer,
 * and "0x40", " 64", "+64", "1e3" for an integer, "inf" or "nan" are refused.
 * Each helper prints "thinkdiff: FLAG wants …, not 'TEXT'" and returns false.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

bool td_cli_parse_int (const char *flag, const char *text, int64_t min, int64_t max, int64_t *out);
bool td_cli_parse_double (const char *flag, const char *text, double min, double max, double *out);

/* Checks, before any work, that an output file can be written at path: not a
 * folder or empty, its folder exists and is writable. Prints the reason. */
bool td_cli_check_output_file (const char *flag, const char *path);
