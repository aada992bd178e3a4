/* api_free.c — freeing what the engine hands to callers. */
#include "thinkdiff.h"

#include <glib.h>

void
td_free (void *memory)
{
  g_free (memory);
}
