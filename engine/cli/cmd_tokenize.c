/* thinkdiff tokenize — print the token ids of a text. */
#include "cli.h"

#include <glib.h>
#include <string.h>

#include "cli_text.h"

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: thinkdiff tokenize --tokenizer PATH [--no-special] [--tokens] TEXT\n\n"
           "Prints the token ids of TEXT, separated by spaces.\n"
           "PATH is a tokenizer.json, a spiece.model, a vocab.json (with merges.txt beside it)\n"
           "or a folder holding one of them.\n\n"
           "  --no-special   do not add BOS/EOS (special tokens written in TEXT still count)\n"
           "  --tokens       print the token strings instead of the ids\n");
}

int
td_cli_tokenize (int argc, char **argv)
{
  const char *path = NULL, *text = NULL;
  bool add_special = true, tokens = false, options_done = false;
  for (int i = 1; i < argc; i++)
    {
      /* After "--" every argument is the text, even one that starts with '-'. */
      if (options_done && text == NULL)
        text = argv[i];
      else if (options_done)
        {
          fprintf (stderr, "thinkdiff tokenize: unexpected argument '%s'\n\n", argv[i]);
          print_usage (stderr);
          return 2;
        }
      else if (strcmp (argv[i], "--") == 0)
        options_done = true;
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      else if (strcmp (argv[i], "--tokenizer") == 0 && i + 1 < argc)
        path = argv[++i];
      else if (strcmp (argv[i], "--no-special") == 0)
        add_special = false;
      else if (strcmp (argv[i], "--tokens") == 0)
        tokens = true;
      else if (text == NULL && (argv[i][0] != '-' || argv[i][1] == '\0'))
        text = argv[i];
      else
        {
          fprintf (stderr, "thinkdiff tokenize: unexpected argument '%s'\n\n", argv[i]);
          print_usage (stderr);
          return 2;
        }
    }
  if (path == NULL || text == NULL)
    {
      print_usage (stderr);
      return 2;
    }
  td_error err = { 0 };
  td_tokenizer *tok;
  if (td_tokenizer_load (path, &tok, &err) != TD_OK)
    return td_cli_fail (&err);
  int32_t *ids;
  size_t n;
  td_tokenizer_set_cancel (tok, td_cli_catch_interrupts ());
  td_status st = td_tokenizer_encode (tok, text, -1, add_special, &ids, &n, &err);
  td_cli_release_interrupts ();
  if (st != TD_OK)
    {
      td_tokenizer_free (tok);
      return td_cli_fail (&err);
    }
  for (size_t i = 0; i < n; i++)
    {
      if (i > 0)
        putchar (' ');
      if (tokens)
        {
          /* a vocabulary may hold control characters: escaped like everything printed from a file */
          g_autofree char *shown = td_cli_escape (td_tokenizer_id_to_token (tok, ids[i]));
          fputs (shown, stdout);
        }
      else
        printf ("%d", ids[i]);
    }
  putchar ('\n');
  td_free (ids);
  td_tokenizer_free (tok);
  return 0;
}
