/* i18n.h — the engine's user-facing messages through gettext.
 *
 * Every error message is translated in the application's domain, so po/ holds
 * one catalogue for the app and the engine: td_error_set's format string is
 * looked up (core/status.c) and extracted for translators as keyword 3 of
 * td_error_set. Other user-facing text is marked _("…"). A program that never
 * calls setlocale () (the CLI) gets the English text.
 */
#pragma once

/* format_arg: a translated format string is checked like its msgid. */
const char *td_gettext (const char *msgid) __attribute__ ((format_arg (1)));

#define _(msgid) td_gettext (msgid)
#define N_(msgid) (msgid)
