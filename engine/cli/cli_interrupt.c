/* cli_interrupt.c — Ctrl-C / SIGTERM as a cancel flag for long engine calls. */
#include "cli.h"

#include <signal.h>

static volatile int interrupted;

static void
on_interrupt (int signal_number)
{
  /* A second signal while cancelling gets the default behaviour back. */
  interrupted = 1;
  signal (signal_number, SIG_DFL);
}

const volatile int *
td_cli_catch_interrupts (void)
{
  interrupted = 0;
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  return &interrupted;
}

void
td_cli_release_interrupts (void)
{
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
}
