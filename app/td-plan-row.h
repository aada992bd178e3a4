/* td-plan-row.h — the memory a run will need and how it will fit, before the run.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TD_TYPE_PLAN_ROW (td_plan_row_get_type ())

G_DECLARE_FINAL_TYPE (TdPlanRow, td_plan_row, TD, PLAN_ROW, AdwActionRow)

GtkWidget *td_plan_row_new        (void);
/* The summary shown ("Needs about 12.4 GiB of 16.0 GiB — one stage at a time"), or
 * why there is none; NULL while the first plan is being made. */
const char *td_plan_row_get_summary (TdPlanRow *self);

G_END_DECLS
