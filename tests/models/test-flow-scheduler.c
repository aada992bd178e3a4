#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/flow_scheduler.h"

/* Every entry of the reference schedules ("{steps}_{image_seq_len}" → mu, sigmas, timesteps). */
static void
test_matches_reference (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TD_TEST_DATA"), "flux", "flux_scheduler.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  td_flow_schedule_config config = td_flow_schedule_config_default ();
  g_autoptr (GList) keys = json_object_get_members (root);
  g_assert_cmpuint (g_list_length (keys), >=, 5);

  for (GList *k = keys; k != NULL; k = k->next)
    {
      int steps = 0, seq_len = 0;
      g_assert_cmpint (sscanf (k->data, "%d_%d", &steps, &seq_len), ==, 2);
      JsonObject *entry = json_object_get_object_member (root, k->data);
      td_flow_schedule schedule = { 0 };
      td_error err = { 0 };
      g_assert_cmpint (td_flow_schedule_new (&config, steps, seq_len, &schedule, &err), ==, TD_OK);
      g_assert_cmpfloat_with_epsilon (schedule.mu, json_object_get_double_member (entry, "mu"), 1e-6);
      JsonArray *sigmas = json_object_get_array_member (entry, "sigmas");
      JsonArray *timesteps = json_object_get_array_member (entry, "timesteps");
      g_assert_cmpuint (json_array_get_length (sigmas), ==, steps + 1);
      g_assert_cmpuint (json_array_get_length (timesteps), ==, steps);
      for (int i = 0; i <= steps; i++)
        g_assert_cmpfloat_with_epsilon (schedule.sigmas[i], json_array_get_double_element (sigmas, i), 2e-7);
      for (int i = 0; i < steps; i++)
        g_assert_cmpfloat_with_epsilon (schedule.timesteps[i], json_array_get_double_element (timesteps, i), 2e-4);
      td_flow_schedule_clear (&schedule);
    }
}

static void
test_bad_arguments (void)
{
  td_flow_schedule_config config = td_flow_schedule_config_default ();
  td_flow_schedule schedule = { 0 };
  td_error err = { 0 };
  g_assert_cmpint (td_flow_schedule_new (&config, 0, 256, &schedule, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "steps"));
  g_assert_cmpint (td_flow_schedule_new (&config, 4, 0, &schedule, &err), ==, TD_ERR_INVALID_ARG);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flow-scheduler/matches-reference", test_matches_reference);
  g_test_add_func ("/flow-scheduler/bad-arguments", test_bad_arguments);
  return g_test_run ();
}
