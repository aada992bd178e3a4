/* bench-tokenizers — load time and encoding throughput of each tokenizer (a figure printer,
 * not a test). Usage: bench-tokenizers [DATA_DIR] [MEGABYTES]; DATA_DIR defaults to
 * $TD_TEST_DATA/tokenizers or tests/data/tokenizers. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "text/tokenizer.h"

static const char *const samples[] = {
  "A photo of a cat sitting on a red sofa. ",
  "I give you several words and pictures. First, please analyse what the next picture is. ",
  "Numbers: 3.14159, 1,000,000 and 2024-11-27; ",
  "Café naïve résumé façade — “quotes” ‘single’ … ellipsis. ",
  "code: def f(x):\n    return x**2  # comment\n",
  "日本語のテキストと中文文本和한국어 ",
  "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis\n",
};

int
main (int argc, char **argv)
{
  const char *env = g_getenv ("TD_TEST_DATA");
  g_autofree char *dir = argc > 1 ? g_strdup (argv[1])
                                  : g_build_filename (env ? env : "tests/data", "tokenizers", NULL);
  double megabytes = argc > 2 ? atof (argv[2]) : 4.0;
  /* Varied text: the samples with a running number, so the word cache sees new words too. */
  GString *text = g_string_new (NULL);
  for (unsigned i = 0; text->len < megabytes * 1e6; i++)
    g_string_append_printf (text, "%s%u ", samples[i % G_N_ELEMENTS (samples)], i * 7919u % 100003u);

  static const char *const files[] = { "t5/tokenizer.json", "t5/spiece.model", "clip/tokenizer.json",
                                       "clip/vocab.json", "qwen2/tokenizer.json" };
  printf ("%-22s %10s %12s %14s %10s\n", "tokenizer", "load ms", "tokens", "tokens/s", "MB/s");
  for (size_t f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *path = g_build_filename (dir, files[f], NULL);
      td_error err = { 0 };
      td_tokenizer *tok;
      gint64 t0 = g_get_monotonic_time ();
      if (td_tokenizer_load (path, &tok, &err) != TD_OK)
        {
          fprintf (stderr, "bench-tokenizers: %s\n", err.message);
          return 1;
        }
      gint64 t1 = g_get_monotonic_time ();
      int32_t *ids;
      size_t n;
      if (td_tokenizer_encode (tok, text->str, text->len, false, &ids, &n, &err) != TD_OK)
        {
          fprintf (stderr, "bench-tokenizers: %s\n", err.message);
          return 1;
        }
      gint64 t2 = g_get_monotonic_time ();
      double secs = (t2 - t1) / 1e6;
      printf ("%-22s %10.1f %12zu %14.0f %10.2f\n", files[f], (t1 - t0) / 1e3, n, n / secs,
              text->len / 1e6 / secs);
      g_free (ids);
      td_tokenizer_free (tok);
    }
  g_string_free (text, TRUE);
  return 0;
}
