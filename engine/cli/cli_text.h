/* cli_text.h — printing text that comes from files: names, metadata and
 * messages may hold control characters (ESC sequences rewrite the terminal),
 * so the CLI escapes them before printing. */
#pragma once

/* A copy of text (g_free it) where control characters, other non-printable
 * characters and bytes that are not UTF-8 are written as \n, \t, \xNN or
 * \u{NNNN}, and the backslash as \\. Printable UTF-8 is kept as is. */
char *td_cli_escape (const char *text);
