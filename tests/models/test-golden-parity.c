/* Every model component against the reference outputs in tests/data/golden,
 * on the backend named by TD_TEST_BACKEND (cpu by default, vulkan on lavapipe). */
#include <glib.h>
#include <stdlib.h>

#include "pipeline/verify.h"

#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

typedef struct {
  const char *component;
  const char *folder;      /* under tests/data/golden */
  const char *io;          /* io file, relative to the folder */
} parity_case;

static const parity_case cases[] = {
  { "t5-encoder", "t5_encoder", "io.safetensors" },
  { "clip-text", "clip_text", "io.safetensors" },
  { "flux-transformer", "flux", "io.safetensors" },
  { "flux-vae", "flux", "io.safetensors" },
  { "flux-pipeline", "flux", "io.safetensors" },
  { "eva-vision", "blip2_vision", "io.safetensors" },
  { "taesd", "taef2", "io.safetensors" },
  { "qwen2-vl", "qwen2_vl", "io.safetensors" },
  { "gguf-matmul", "gguf", "types_ref.safetensors" },
};

static void
run_case (gconstpointer data)
{
  const parity_case *c = data;
  const char *backend_name = g_getenv ("TD_TEST_BACKEND") ? g_getenv ("TD_TEST_BACKEND") : "cpu";
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new (backend_name, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  const td_verify_component *component = td_verify_find (c->component);
  g_assert_nonnull (component);
  g_autofree char *dir = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", c->folder, NULL);
  g_autofree char *io = g_build_filename (dir, c->io, NULL);
  td_verify_result *results = NULL;
  size_t n = 0;
  td_status st = td_verify_run (component, dir, io, backend, &results, &n, &err);
  if (st != TD_OK)
    g_error ("%s on %s: %s", c->component, backend_name, err.message);
  g_assert_cmpuint (n, >, 0);
  for (size_t i = 0; i < n; i++)
    {
      g_test_message ("%s %s: max_abs_err %.3g rel_err %.3g %s", c->component, results[i].name,
                      results[i].max_abs_err, results[i].rel_err, results[i].note);
      if (!results[i].ok)
        g_error ("%s output %s: rel_err %.3g over tolerance %s", c->component, results[i].name, results[i].rel_err,
                 results[i].note);
    }
  free (results);
  td_backend_free (backend);
#ifdef TD_HAVE_VULKAN
  /* With TD_VULKAN_VALIDATION=1 any validation-layer message fails the case. */
  g_assert_cmpint (td_vulkan_validation_message_count (), ==, 0);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/golden-parity/%s", cases[i].component);
      g_test_add_data_func (path, &cases[i], run_case);
    }
  return g_test_run ();
}
