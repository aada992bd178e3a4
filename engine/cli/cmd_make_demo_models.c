/* thinkdiff make-demo-models — tiny untrained models in the real layouts. */
#include "cli.h"

#include <string.h>

int
td_cli_make_demo_models (int argc, char **argv)
{
  const char *dir = NULL, *tokenizers = NULL;
  bool options_done = false;
  for (int i = 1; i < argc; i++)
    {
      if (!options_done && strcmp (argv[i], "--") == 0)
        {
          options_done = true;
          continue;
        }
      if (options_done && dir == NULL)
        {
          dir = argv[i];
          continue;
        }
      if (!options_done && (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0))
        {
          printf ("Usage: thinkdiff make-demo-models [--tokenizers DIR] DIR\n"
                  "Writes tiny, randomly initialised models in the real layouts under DIR, so the whole\n"
                  "pipeline runs without downloads. They are untrained: their images are noise.\n");
          return 0;
        }
      if (!options_done && strcmp (argv[i], "--tokenizers") == 0 && i + 1 < argc)
        tokenizers = argv[++i];
      else if (dir == NULL && argv[i][0] != '-')
        dir = argv[i];
      else
        {
          fprintf (stderr, "thinkdiff: unexpected '%s' (see --help)\n", argv[i]);
          return 2;
        }
    }
  if (dir == NULL)
    {
      fprintf (stderr, "Usage: thinkdiff make-demo-models [--tokenizers DIR] DIR\n");
      return 2;
    }
  td_error err = { 0 };
  if (td_demo_models_write (dir, tokenizers != NULL ? tokenizers : td_demo_tokenizers_dir (), &err) != TD_OK)
    return td_cli_fail (&err);
  printf ("Untrained demo models written to %s\n", dir);
  return 0;
}
