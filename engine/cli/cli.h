/* cli.h — the `thinkdiff` command-line tool: one file per subcommand. */
#pragma once

#include <stdio.h>

#include "thinkdiff.h"

typedef struct td_cli_command {
  const char *name;
  const char *summary;
  /* argv[0] is the subcommand name. Returns the process exit code. */
  int (*run) (int argc, char **argv);
} td_cli_command;

/* Prints "thinkdiff: <message>" to stderr and returns the exit code: 130 when the work
 * was cancelled (TD_ERR_CANCELLED, as a shell reports Ctrl-C), else 1. */
int td_cli_fail (const td_error *err);

/* Runs thinkdiff-dev from this binary's folder with the same arguments (argv[0] is
 * the subcommand); returns only when that fails. */
int td_cli_run_dev_tool (int argc, char **argv);

/* From now until td_cli_release_interrupts, SIGINT and SIGTERM set the returned flag
 * (pass it to the engine as its cancel flag); a second signal ends the process. */
const volatile int *td_cli_catch_interrupts (void);
void td_cli_release_interrupts (void);

int td_cli_devices (int argc, char **argv);
int td_cli_inspect (int argc, char **argv);
int td_cli_generate (int argc, char **argv);
int td_cli_make_demo_models (int argc, char **argv);
int td_cli_plan (int argc, char **argv);
/* The developer commands, in thinkdiff-dev (dev/). */
int td_cli_verify (int argc, char **argv);
int td_cli_tokenize (int argc, char **argv);
int td_cli_bench (int argc, char **argv);
int td_cli_models (int argc, char **argv);
int td_cli_convert (int argc, char **argv);
int td_cli_quantize (int argc, char **argv);
/* `thinkdiff inspect FILE.gguf` (cmd_inspect_gguf.c). */
int td_cli_inspect_gguf (const char *path);
int td_cli_bench_models (int argc, char **argv);
