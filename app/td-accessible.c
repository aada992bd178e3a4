/* td-accessible.c — buttons with a mnemonic get their accessible name
 * without the underscore.
 *
 * GTK 4.8 names a button with use-underline after its raw label, so a screen
 * reader says "_Generate" (and, with the label inside, "_Generate Generate").
 * Each such button is named after its label with the mnemonic taken out, now
 * and whenever the label changes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-accessible.h"

#include <string.h>

/* "_Save" → "Save", "Fish __ Chips" → "Fish _ Chips". */
char *
td_accessible_strip_mnemonic (const char *label)
{
  GString *out;

  g_return_val_if_fail (label != NULL, NULL);

  out = g_string_sized_new (strlen (label));
  for (const char *p = label; *p != '\0'; p++)
    {
      if (*p == '_')
        {
          if (p[1] != '_')
            continue;
          p++;
        }
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static void
name_button (GtkButton *button)
{
  const char *label = gtk_button_get_label (button);
  g_autofree char *name = NULL;

  if (label == NULL || !gtk_button_get_use_underline (button))
    return;
  name = td_accessible_strip_mnemonic (label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
}

static void
on_button_label_changed (GtkButton  *button,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  name_button (button);
}

/* Names every button with a mnemonic under @root (itself included) and keeps
 * the name right when the button's label changes. Call it once per widget
 * tree, after the tree is built. */
void
td_accessible_name_mnemonic_buttons (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  if (GTK_IS_BUTTON (root))
    {
      name_button (GTK_BUTTON (root));
      g_signal_connect (root, "notify::label", G_CALLBACK (on_button_label_changed), NULL);
      g_signal_connect (root, "notify::use-underline", G_CALLBACK (on_button_label_changed), NULL);
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    td_accessible_name_mnemonic_buttons (child);
}
