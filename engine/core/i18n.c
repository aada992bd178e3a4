#include "core/i18n.h"

#include <glib.h>
#include <libintl.h>

#ifndef TD_GETTEXT_DOMAIN
#define TD_GETTEXT_DOMAIN "thinkdiff-studio"
#endif

/* The domain is bound on first use: the engine has no init call, and a
 * library must not change the program's default domain (textdomain ()). */
const char *
td_gettext (const char *msgid)
{
  static gsize bound = 0;

  if (g_once_init_enter (&bound))
    {
#ifdef TD_LOCALEDIR
      bindtextdomain (TD_GETTEXT_DOMAIN, TD_LOCALEDIR);
#endif
      bind_textdomain_codeset (TD_GETTEXT_DOMAIN, "UTF-8");
      g_once_init_leave (&bound, 1);
    }
  return dgettext (TD_GETTEXT_DOMAIN, msgid);
}
