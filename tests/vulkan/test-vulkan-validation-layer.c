/* Whether Vulkan validation really runs: with the Khronos layer hidden from the
 * loader, TD_VULKAN_VALIDATION=1 says so on stderr and TD_REQUIRE_VALIDATION=1
 * refuses to create a backend; where the layer is installed it is active. Each
 * case runs in a subprocess with its own environment. */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk-test-util.h"

/* The loader searches VK_LAYER_PATH (an empty folder, returned for g_rmdir)
 * instead of the system's layer folders. */
static char *
hide_validation_layer (void)
{
  char *empty = g_dir_make_tmp ("td-no-layers-XXXXXX", NULL);
  g_assert_nonnull (empty);
  g_setenv ("VK_LAYER_PATH", empty, TRUE);
  g_unsetenv ("VK_INSTANCE_LAYERS");
  g_unsetenv ("TD_VULKAN_VALIDATION");
  g_unsetenv ("TD_REQUIRE_VALIDATION");
  return empty;
}

static void
test_missing_layer_required (void)
{
  if (g_test_subprocess ())
    {
      char *empty = hide_validation_layer ();
      td_error err;
      td_vulkan_device_info *devices;
      int count;
      /* Required only where asked for. */
      g_setenv ("TD_REQUIRE_VALIDATION", "1", TRUE);
      g_assert_cmpint (td_vulkan_list_devices (&devices, &count, &err), ==, TD_OK);
      free (devices);
      g_setenv ("TD_VULKAN_VALIDATION", "1", TRUE);
      g_assert_cmpint (td_vulkan_list_devices (&devices, &count, &err), ==, TD_ERR_UNSUPPORTED);
      g_assert_nonnull (strstr (err.message, "VK_LAYER_KHRONOS_validation"));
      g_assert_null (td_backend_vulkan_new (-1, &err));
      g_assert_cmpint (err.status, ==, TD_ERR_UNSUPPORTED);
      g_assert_nonnull (strstr (err.message, "TD_REQUIRE_VALIDATION"));
      g_assert_false (td_vulkan_validation_active ());
      g_rmdir (empty);
      g_free (empty);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_missing_layer_reported (void)
{
  if (g_test_subprocess ())
    {
      char *empty = hide_validation_layer ();
      g_setenv ("TD_VULKAN_VALIDATION", "1", TRUE);
      td_error err;
      td_backend *b = td_backend_vulkan_new (-1, &err);
      g_assert_nonnull (b);
      g_assert_false (td_vulkan_validation_active ());
      td_backend_free (b);
      g_rmdir (empty);
      g_free (empty);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*validation requested*not running*VK_LAYER_KHRONOS_validation*not installed*");
}

/* The environment the Vulkan tests run in (TD_VULKAN_VALIDATION=1). */
static void
test_layer_active (void)
{
  vk_test_backend ();
  if (!td_vulkan_validation_active ())
    {
      g_test_skip ("the Vulkan validation layer is not installed here (vulkan-validationlayers); "
                   "TD_REQUIRE_VALIDATION=1 makes this a failure");
      return;
    }
  g_assert_cmpint (td_vulkan_validation_message_count (), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Subprocesses set up their own environment before any instance exists. */
  if (!g_test_subprocess ())
    vk_test_backend ();
  g_test_add_func ("/vulkan/validation-layer/missing-required", test_missing_layer_required);
  g_test_add_func ("/vulkan/validation-layer/missing-reported", test_missing_layer_reported);
  g_test_add_func ("/vulkan/validation-layer/active", test_layer_active);
  int result = g_test_run ();
  if (!g_test_subprocess ())
    td_backend_free (vk_test_backend ());
  return result;
}
