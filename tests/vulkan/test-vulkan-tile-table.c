/* The per-device tile table of the tiled GEMM (vulkan_tile_table.h): the entry each
 * invented device gets and TD_VULKAN_TILE's override, then every entry's tile shape
 * forced on the device under test (lavapipe on CI) against a double loop, for each
 * format the shapes are built for, on sizes that leave every tile edge ragged. */
#include <string.h>

#include "thinkdiff.h"

#include "op-check.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/vulkan/vulkan_tile_table.h"
#include "../ops/quant-test-util.h"

static const char *
choose (uint32_t vendor, const char *name, bool cpu, bool discrete, uint32_t min_sg, uint32_t max_sg,
        uint32_t shared, const char *env)
{
  const td_vk_tile_device d = { .vendor_id = vendor, .name = name, .cpu = cpu, .discrete = discrete,
                                .min_subgroup_size = min_sg, .max_subgroup_size = max_sg,
                                .max_shared_memory = shared };
  const char *why = NULL;
  const td_vk_tile_entry *e = td_vk_tile_choose (&d, env, &why);
  g_assert_nonnull (e);
  g_assert_nonnull (why);
  return e->name;
}

static void
test_table (void)
{
  size_t count = 0;
  const td_vk_tile_entry *table = td_vk_tile_table (&count);
  g_assert_cmpuint (count, >=, 2);
  g_assert_cmpstr (table[count - 1].name, ==, "portable");
  g_assert_cmpuint (table[count - 1].tile_m, ==, 64);
  g_assert_cmpuint (table[count - 1].tile_n, ==, 64);
  for (size_t i = 0; i < count; i++)
    {
      /* 256 invocations as 16×16, each an thread_m × thread_n block. */
      g_assert_cmpuint (table[i].tile_m, ==, 16 * table[i].thread_m);
      g_assert_cmpuint (table[i].tile_n, ==, 16 * table[i].thread_n);
      g_assert_cmpuint (table[i].thread_m, >=, 1);
      g_assert_cmpuint (table[i].thread_m * table[i].thread_n, <=, 64);
      for (size_t j = 0; j < i; j++)
        g_assert_cmpstr (table[i].name, !=, table[j].name);
    }
  for (size_t i = 0; i < count; i++)
    g_assert_true (td_vk_tile_find (table[i].name) == &table[i]);
  g_assert_cmpstr (td_vk_tile_find ("128x128")->name, ==, "nvidia");
  g_assert_null (td_vk_tile_find ("32x32")); /* not a built shape */
  g_assert_cmpuint (td_vk_tile_find ("128x128")->tile_n, ==, 128);
  g_assert_null (td_vk_tile_find ("99x99"));
  g_assert_null (td_vk_tile_find ("64x64 "));
  g_assert_null (td_vk_tile_find (""));
  char v[64];
  td_vk_tile_variant (v, sizeof v, "matmul_bf16_s16", 64, 64);
  g_assert_cmpstr (v, ==, "matmul_bf16_s16");
  td_vk_tile_variant (v, sizeof v, "matmul_q4_K_p32", 128, 64);
  g_assert_cmpstr (v, ==, "matmul_q4_K_p32_t128x64");
}

/* Invented devices, with the properties the drivers report. */
static void
test_choose (void)
{
  const uint32_t nv = TD_VK_VENDOR_NVIDIA, amd = TD_VK_VENDOR_AMD, intel = TD_VK_VENDOR_INTEL;
  /* The H200 reports 48 KiB of static shared memory (reference/h200_vulkan_caps.txt). */
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, NULL), ==, "nvidia");
  g_assert_cmpstr (choose (nv, "NVIDIA GeForce RTX 4090", false, true, 32, 32, 49152, NULL), ==, "nvidia");
  g_assert_cmpstr (choose (nv, "NVIDIA Some Future GPU", false, true, 32, 32, 101376, NULL), ==, "nvidia");
  g_assert_cmpstr (choose (nv, "NVIDIA GeForce GTX 1080", false, true, 32, 32, 49152, NULL), ==, "portable");
  g_assert_cmpstr (choose (amd, "AMD Radeon RX 7900 XTX (RADV NAVI31)", false, true, 32, 64, 65536, NULL), ==,
                   "amd-rdna");
  g_assert_cmpstr (choose (amd, "AMD Radeon RX Vega (RADV VEGA10)", false, true, 64, 64, 65536, NULL), ==,
                   "portable");
  g_assert_cmpstr (choose (intel, "Intel(R) Arc(tm) A770 Graphics (DG2)", false, true, 8, 32, 65536, NULL), ==,
                   "intel-arc");
  g_assert_cmpstr (choose (intel, "Intel(R) UHD Graphics 770", false, false, 8, 32, 65536, NULL), ==, "portable");
  g_assert_cmpstr (choose (TD_VK_VENDOR_APPLE, "Apple M2 Max", false, false, 32, 32, 32768, NULL), ==, "apple");
  g_assert_cmpstr (choose (TD_VK_VENDOR_MESA, "llvmpipe (LLVM 15.0.6, 256 bits)", true, false, 8, 8, 32768, NULL),
                   ==, "lavapipe");
  g_assert_cmpstr (choose (0x5143, "Adreno (TM) 740", false, false, 64, 128, 32768, NULL), ==, "portable");
  g_assert_cmpstr (choose (0, NULL, false, false, 0, 0, 0, NULL), ==, "portable");

  /* TD_VULKAN_TILE: an entry's name or a built shape; anything else keeps the table's pick. */
  g_assert_cmpstr (choose (TD_VK_VENDOR_MESA, "llvmpipe", true, false, 8, 8, 32768, "nvidia"), ==, "nvidia");
  g_assert_cmpstr (choose (TD_VK_VENDOR_MESA, "llvmpipe", true, false, 8, 8, 32768, "128x64"), ==, "amd-rdna");
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, "64x64"), ==, "apple");
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, "portable"), ==, "portable");
  const td_vk_tile_device h200 = { .vendor_id = nv, .name = "NVIDIA H200", .discrete = true };
  const char *why = NULL;
  const char *bad[] = { "99x99", "128x128x1", "fast", "" };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_cmpstr (td_vk_tile_choose (&h200, bad[i], &why)->name, ==, "nvidia");
      if (bad[i][0] != '\0')
        g_assert_nonnull (strstr (why, "names no entry"));
    }
  td_vk_tile_choose (&h200, "64x64", &why);
  g_assert_nonnull (strstr (why, "TD_VULKAN_TILE"));
}

/* Every shape in the table is built for the formats the models run. */
static void
test_shapes_built (void)
{
  size_t count = 0;
  const td_vk_tile_entry *table = td_vk_tile_table (&count);
  const char *bases[] = { "matmul_f32_s16", "matmul_f32_p32", "matmul_f16_s16", "matmul_f16_p32",
                          "matmul_bf16_s16", "matmul_bf16_p32", "matmul_q8_0_p32", "matmul_q4_K_p32" };
  for (size_t i = 0; i < count; i++)
    for (size_t b = 0; b < G_N_ELEMENTS (bases); b++)
      {
        char v[64];
        td_vk_tile_variant (v, sizeof v, bases[b], table[i].tile_m, table[i].tile_n);
        if (!td_vk_shader_exists (v))
          g_error ("%s (tile of %s) was not built", v, table[i].name);
      }
}

/* y = x · wᵀ + bias on the tiled path with the backend's current tile. */
static void
check_tiled (td_backend *b, td_dtype dtype, int64_t m, int64_t n, int64_t blocks, GRand *rng, const char *tile)
{
  const int64_t k = blocks * td_dtype_block_elems (dtype);
  float *w = g_new (float, n * k), *x = g_new (float, m * k), *bias = g_new (float, n);
  size_t bytes;
  guint8 *raw;
  if (td_dtype_is_quantized (dtype))
    raw = quant_test_random_weights (dtype, n * k, rng, &bytes);
  else
    {
      for (int64_t i = 0; i < n * k; i++)
        w[i] = (float) g_rand_double_range (rng, -1, 1);
      td_dtype_nbytes (dtype, n * k, &bytes);
      raw = g_malloc (bytes);
      td_convert_from_f32 (raw, dtype, w, (size_t) (n * k));
    }
  td_convert_to_f32 (w, raw, dtype, (size_t) (n * k));
  for (int64_t i = 0; i < m * k; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int64_t i = 0; i < n; i++)
    bias[i] = (float) g_rand_double_range (rng, -1, 1);
  double *ref = g_new (double, m * n);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      {
        double s = bias[j];
        for (int64_t c = 0; c < k; c++)
          s += (double) x[i * k + c] * w[j * k + c];
        ref[i * n + j] = s;
      }
  td_error err = { 0 };
  const int64_t xs[2] = { m, k }, ws[2] = { n, k }, bs[1] = { n }, ys[2] = { m, n };
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, xs, x);
  td_tensor *tw = td_tensor_new (b, dtype, 2, ws, &err);
  g_assert_nonnull (tw);
  g_assert_cmpint (td_tensor_upload (tw, raw, bytes, &err), ==, TD_OK);
  td_tensor *tb = vk_tensor_from (b, TD_F32, 1, bs, bias);
  vk_guarded g = vk_guarded_new (b, TD_F32, 2, ys);
  char what[128];
  g_snprintf (what, sizeof what, "%s weights, tile %s, M %lld N %lld K %lld", td_dtype_name (dtype), tile,
              (long long) m, (long long) n, (long long) k);
  td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw, tb } };
  op_check (&op, &g, ref, 1e-5, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (raw);
  g_free (w);
  g_free (x);
  g_free (bias);
  g_free (ref);
}

/* Each entry's shape on the device under test, with the emulated cooperative-matrix path
 * off so that every format takes the tiled kernel (on a device whose cooperative matrices
 * are on, only f32 weights do): sizes one past whole tiles of every shape, and below one
 * tile. */
static void
test_every_entry_computes (void)
{
  td_backend *b = vk_test_backend ();
  const td_vulkan_device_info *d = td_vulkan_backend_device (b);
  td_vulkan_set_coopmat_emulation (b, false);
  const char *saved = d->tile_name;
  size_t count = 0;
  const td_vk_tile_entry *table = td_vk_tile_table (&count);
  const td_dtype formats[] = { TD_F32, TD_F16, TD_BF16, TD_Q8_0, TD_Q4_K };
  GRand *rng = g_rand_new_with_seed (12);
  for (size_t i = 0; i < count; i++)
    {
      g_assert_true (td_vulkan_set_tile (b, table[i].name));
      g_assert_cmpuint (d->tile_m, ==, table[i].tile_m);
      g_assert_cmpuint (d->tile_n, ==, table[i].tile_n);
      for (size_t f = 0; f < (d->coopmat_enabled ? 1 : G_N_ELEMENTS (formats)); f++)
        {
          /* The path is the tiled GEMM, in this entry's shape. */
          char variant[64], tiled[64];
          g_assert_cmpint (td_vk_matmul_kernel (variant, sizeof variant, 133, false, false, formats[f],
                                                d->storage_16bit), ==, TD_VK_MATMUL_GEMM);
          td_vk_tile_variant (tiled, sizeof tiled, variant, d->tile_m, d->tile_n);
          g_assert_true (td_vk_shader_exists (tiled));
          const int64_t blocks = td_dtype_is_quantized (formats[f]) ? (formats[f] == TD_Q4_K ? 1 : 3) : 37;
          check_tiled (b, formats[f], 129, 65 + 64, blocks, rng, table[i].name);
          check_tiled (b, formats[f], 5, 7, blocks, rng, table[i].name);
          check_tiled (b, formats[f], 33, 31, blocks, rng, table[i].name);
        }
    }
  /* Names and shapes only; anything else leaves the tile as it was. */
  g_assert_false (td_vulkan_set_tile (b, "99x99"));
  g_assert_true (td_vulkan_set_tile (b, saved));
  g_assert_cmpstr (d->tile_name, ==, saved);
  g_rand_free (rng);
  vk_test_assert_no_validation_messages ();
}

/* `thinkdiff devices` shows each device's tile and how it was chosen. */
static void
test_listing (void)
{
  vk_test_backend (); /* skips without a Vulkan device */
  const char *saved = g_getenv ("TD_VULKAN_TILE");
  g_autofree char *saved_copy = g_strdup (saved);
  g_unsetenv ("TD_VULKAN_TILE");
  td_error err = { 0 };
  char *text = NULL;
  g_assert_cmpint (td_devices_report (&text, &err), ==, TD_OK);
  g_assert_nonnull (strstr (text, "outputs per workgroup (table entry "));
  g_assert_nonnull (strstr (text, "from the device's vendor and architecture"));
  if (strstr (text, "llvmpipe") != NULL)
    g_assert_nonnull (strstr (text, "tiled matmul: 128x128 outputs per workgroup (table entry lavapipe"));
  g_free (text);
  g_setenv ("TD_VULKAN_TILE", "amd-rdna", TRUE);
  g_assert_cmpint (td_devices_report (&text, &err), ==, TD_OK);
  g_assert_nonnull (strstr (text, "tiled matmul: 128x64 outputs per workgroup (table entry amd-rdna, forced with "
                                  "TD_VULKAN_TILE)"));
  g_free (text);
  if (saved_copy != NULL)
    g_setenv ("TD_VULKAN_TILE", saved_copy, TRUE);
  else
    g_unsetenv ("TD_VULKAN_TILE");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/tile-table/table", test_table);
  g_test_add_func ("/vulkan/tile-table/choose", test_choose);
  g_test_add_func ("/vulkan/tile-table/shapes-built", test_shapes_built);
  g_test_add_func ("/vulkan/tile-table/every-entry-computes", test_every_entry_computes);
  g_test_add_func ("/vulkan/tile-table/listing", test_listing);
  return g_test_run ();
}
