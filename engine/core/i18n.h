/* i18n.h — the engine's user-facing messages through gettext.
 *
 * Messages a user of the app can meet (loading models, the board, images,
 * generation) are marked _("…") and translated in the application's domain,
 * so po/ holds one catalogue for the app and the engine. Messages for
 * developers (tensor shapes, shader and file-format internals) stay English.
 * A program that never calls setlocale () gets the English text.
 */
#pragma once

/* format_arg: a translated format string is checked like its msgid. */
const char *td_gettext (const char *msgid) __attribute__ ((format_arg (1)));

#define _(msgid) td_gettext (msgid)
#define N_(msgid) (msgid)
