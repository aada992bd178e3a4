/* The cooperative-matrix matmul: when it is chosen (on invented device
 * capability lists), what `thinkdiff devices` reports, and the shader itself —
 * through its emulated form on any device, and on cooperative matrices where the
 * device has them and TD_VULKAN_COOPMAT is not 0 (tests/vulkan/gpu-check.sh). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_shaders.h"
#include "op-check.h"

static VkCooperativeMatrixPropertiesNV
config (uint32_t m, uint32_t n, uint32_t k, VkComponentTypeNV ab, VkComponentTypeNV cd, VkScopeNV scope)
{
  return (VkCooperativeMatrixPropertiesNV) {
    .sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV,
    .MSize = m, .NSize = n, .KSize = k, .AType = ab, .BType = ab, .CType = cd, .DType = cd, .scope = scope,
  };
}

#define F16 VK_COMPONENT_TYPE_FLOAT16_NV
#define F32 VK_COMPONENT_TYPE_FLOAT32_NV
#define SUBGROUP VK_SCOPE_SUBGROUP_NV

/* What an NVIDIA H200 lists (reference/h200_vulkan_caps.txt), the f16 ones. */
static const VkCooperativeMatrixPropertiesNV *
h200_like (uint32_t *count)
{
  static VkCooperativeMatrixPropertiesNV list[6];
  list[0] = config (16, 16, 16, F16, F16, SUBGROUP);
  list[1] = config (16, 8, 16, F16, F16, SUBGROUP);
  list[2] = config (16, 8, 8, F16, F16, SUBGROUP);
  list[3] = config (16, 16, 16, F16, F32, SUBGROUP);
  list[4] = config (16, 8, 16, F16, F32, SUBGROUP);
  list[5] = config (16, 8, 8, F16, F32, SUBGROUP);
  *count = 6;
  return list;
}

static void
test_config_offered (void)
{
  uint32_t count;
  const VkCooperativeMatrixPropertiesNV *h200 = h200_like (&count);
  g_assert_true (td_vk_coopmat_config_offered (h200, count));
  g_assert_false (td_vk_coopmat_config_offered (h200, 0));
  g_assert_false (td_vk_coopmat_config_offered (NULL, 0));
  /* Everything but the exact entry: f16 accumulation, other shapes. */
  VkCooperativeMatrixPropertiesNV others[] = { h200[0], h200[1], h200[2], h200[4], h200[5] };
  g_assert_false (td_vk_coopmat_config_offered (others, G_N_ELEMENTS (others)));
  /* One field off at a time. */
  VkCooperativeMatrixPropertiesNV near[] = {
    config (16, 16, 16, F32, F32, SUBGROUP),
    config (16, 16, 16, F16, F32, VK_SCOPE_WORKGROUP_NV),
    config (16, 16, 32, F16, F32, SUBGROUP),
    config (16, 8, 16, F16, F32, SUBGROUP),
    config (8, 16, 16, F16, F32, SUBGROUP),
  };
  for (size_t i = 0; i < G_N_ELEMENTS (near); i++)
    g_assert_false (td_vk_coopmat_config_offered (&near[i], 1));
  VkCooperativeMatrixPropertiesNV mixed = config (16, 16, 16, F16, F32, SUBGROUP);
  mixed.DType = F16;
  g_assert_false (td_vk_coopmat_config_offered (&mixed, 1));
  mixed = config (16, 16, 16, F16, F32, SUBGROUP);
  mixed.BType = VK_COMPONENT_TYPE_SINT8_NV;
  g_assert_false (td_vk_coopmat_config_offered (&mixed, 1));
  /* The exact entry anywhere in a list. */
  VkCooperativeMatrixPropertiesNV last[] = { h200[0], h200[1], h200[3] };
  g_assert_true (td_vk_coopmat_config_offered (last, G_N_ELEMENTS (last)));
}

static td_vk_coopmat_caps
full_caps (void)
{
  uint32_t count;
  const VkCooperativeMatrixPropertiesNV *configs = h200_like (&count);
  return (td_vk_coopmat_caps) {
    .extension = true, .feature = true, .compute_stage = true, .shader_float16 = true, .storage_16bit = true,
    .vulkan_memory_model = true, .subgroup_size = 32, .configs = configs, .config_count = count,
    .shaders_built = true,
  };
}

static void
test_decide (void)
{
  td_vk_coopmat_caps caps = full_caps ();
  /* The default wherever available; only "0" turns it off. */
  td_vk_coopmat_choice c = td_vk_coopmat_decide (&caps, NULL);
  g_assert_true (c.available && c.enabled);
  g_assert_null (c.reason);
  c = td_vk_coopmat_decide (&caps, "");
  g_assert_true (c.available && c.enabled);
  c = td_vk_coopmat_decide (&caps, "1");
  g_assert_true (c.available && c.enabled);
  c = td_vk_coopmat_decide (&caps, "0");
  g_assert_true (c.available && !c.enabled);
  g_assert_nonnull (strstr (c.reason, "TD_VULKAN_COOPMAT=0"));

  g_assert_false (td_vk_coopmat_env_emulate (NULL));
  g_assert_false (td_vk_coopmat_env_emulate (""));
  g_assert_false (td_vk_coopmat_env_emulate ("0"));
  g_assert_true (td_vk_coopmat_env_emulate ("1"));

  /* Any missing piece: unavailable, and never enabled even when asked. */
  for (int missing = 0; missing < 10; missing++)
    {
      caps = full_caps ();
      VkCooperativeMatrixPropertiesNV f16_accumulate = config (16, 16, 16, F16, F16, SUBGROUP);
      switch (missing)
        {
        case 0: caps.extension = false; break;
        case 1: caps.feature = false; break;
        case 2: caps.compute_stage = false; break;
        case 3: caps.shader_float16 = false; break;
        case 4: caps.storage_16bit = false; break;
        case 5: caps.vulkan_memory_model = false; break;
        case 6: caps.subgroup_size = 64; break;
        case 7: caps.shaders_built = false; break;
        case 8: caps.config_count = 0; break;
        case 9: caps.configs = &f16_accumulate; caps.config_count = 1; break;
        }
      c = td_vk_coopmat_decide (&caps, NULL);
      g_assert_false (c.available);
      g_assert_false (c.enabled);
      g_assert_nonnull (c.reason);
    }
}

static void
test_variant (void)
{
  char v[64];
  td_vk_matmul_variant (v, sizeof v, true, false, TD_F16, true);
  g_assert_cmpstr (v, ==, "matmul_coopmat_f16");
  td_vk_matmul_variant (v, sizeof v, true, false, TD_BF16, true);
  g_assert_cmpstr (v, ==, "matmul_coopmat_bf16");
  td_vk_matmul_variant (v, sizeof v, true, false, TD_Q4_K, true);
  g_assert_cmpstr (v, ==, "matmul_coopmat_q4_K");
  td_vk_matmul_variant (v, sizeof v, false, true, TD_F8_E4M3, true);
  g_assert_cmpstr (v, ==, "matmul_coopmat_emu_f8_e4m3");
  /* Without 16-bit storage there is no coopmat variant. */
  td_vk_matmul_variant (v, sizeof v, true, true, TD_Q8_0, false);
  g_assert_cmpstr (v, ==, "matmul_q8_0_p32");
  /* f32 weights always take the tiled kernel. */
  td_vk_matmul_variant (v, sizeof v, true, false, TD_F32, true);
  g_assert_cmpstr (v, ==, "matmul_f32_s16");
  td_vk_matmul_variant (v, sizeof v, false, false, TD_BF16, true);
  g_assert_cmpstr (v, ==, "matmul_bf16_s16");
  td_vk_matmul_variant (v, sizeof v, false, false, TD_F16, false);
  g_assert_cmpstr (v, ==, "matmul_f16_p32");
  td_vk_matmul_variant (v, sizeof v, false, true, TD_BF16, true);
  g_assert_cmpstr (v, ==, "matmul_coopmat_emu_bf16");
  td_vk_matmul_variant (v, sizeof v, false, true, TD_F32, false);
  g_assert_cmpstr (v, ==, "matmul_f32_p32");
  /* Every variant the selection can name for this build exists. */
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_emu_f16"));
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_emu_bf16"));
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_emu_q6_K"));
  /* The real kernels exist exactly when the build's glslang compiled them. */
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_bf16") == td_vk_shader_compiler_features.nv_coopmat);
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_q4_K") == td_vk_shader_compiler_features.nv_coopmat);
  /* Likewise the GL_KHR_cooperative_matrix ones (none with Debian 12's glslang). */
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_khr_bf16") == td_vk_shader_compiler_features.khr_coopmat);
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_khr_q6_K") == td_vk_shader_compiler_features.khr_coopmat);
  g_assert_true (td_vk_shader_exists ("attention_coopmat_khr") == td_vk_shader_compiler_features.khr_coopmat);
}

/* NV before KHR; bf16 tiles only on KHR with the bf16 configuration and kernel. */
static void
test_pick_kernels (void)
{
  td_vk_coopmat_offer offer = { .nv_usable = true, .khr_usable = true, .khr_bf16 = true, .nv_built = true,
                                .khr_built = true, .khr_bf16_built = true };
  char v[64];
  td_vk_coopmat_pick pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_NV);
  g_assert_false (pick.bf16_tiles);
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_cmpstr (v, ==, "matmul_coopmat_bf16");
  /* A Debian-12-like build: NV kernels only, so a KHR-only device gets none. */
  offer = (td_vk_coopmat_offer) { .khr_usable = true, .khr_bf16 = true, .nv_built = true };
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_NONE);
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_cmpstr (v, ==, "");
  /* AMD/Intel-like device, KHR kernels built, no bf16 configuration: f16 tiles. */
  offer = (td_vk_coopmat_offer) { .khr_usable = true, .nv_built = true, .khr_built = true, .khr_bf16_built = true };
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_KHR);
  g_assert_false (pick.bf16_tiles);
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_cmpstr (v, ==, "matmul_coopmat_khr_bf16");
  /* bf16 configuration offered but the bf16 kernel not built: f16 tiles. */
  offer.khr_bf16 = true;
  offer.khr_bf16_built = false;
  g_assert_false (td_vk_coopmat_pick_kernels (&offer).bf16_tiles);
  /* Both: bf16 tiles for bf16 weights, f16 ones for the other formats. */
  offer.khr_bf16_built = true;
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_true (pick.bf16_tiles);
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_cmpstr (v, ==, "matmul_coopmat_khr_bf16in_bf16");
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_Q4_K);
  g_assert_cmpstr (v, ==, "matmul_coopmat_khr_q4_K");
  /* An NV device whose NV kernels were not built falls to KHR when usable. */
  offer = (td_vk_coopmat_offer) { .nv_usable = true, .khr_usable = true, .khr_built = true };
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_KHR);
  /* TD_VULKAN_COOPMAT_API=khr: a device offering both (NVIDIA) runs the KHR
   * kernels, bf16 tiles included; NV where the KHR ones cannot run. */
  offer = (td_vk_coopmat_offer) { .nv_usable = true, .khr_usable = true, .khr_bf16 = true, .nv_built = true,
                                  .khr_built = true, .khr_bf16_built = true, .prefer_khr = true };
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_KHR);
  g_assert_true (pick.bf16_tiles);
  offer.khr_built = false;
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_NV);
  offer.khr_built = true;
  offer.khr_usable = false;
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_NV);
  offer.nv_usable = false;
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_NONE);
  g_assert_true (td_vk_coopmat_env_prefer_khr ("khr"));
  g_assert_true (td_vk_coopmat_env_prefer_khr ("KHR"));
  g_assert_false (td_vk_coopmat_env_prefer_khr (NULL));
  g_assert_false (td_vk_coopmat_env_prefer_khr (""));
  g_assert_false (td_vk_coopmat_env_prefer_khr ("nv"));
  g_assert_false (td_vk_coopmat_env_prefer_khr ("1"));
  g_assert_false (td_vk_coopmat_env_prefer_khr ("khr2"));
  /* Every name a pick makes for this build's compiler exists. */
  offer = (td_vk_coopmat_offer) { .nv_usable = true, .khr_usable = true, .khr_bf16 = true,
                                  .nv_built = td_vk_shader_compiler_features.nv_coopmat,
                                  .khr_built = td_vk_shader_compiler_features.khr_coopmat,
                                  .khr_bf16_built = td_vk_shader_compiler_features.khr_coopmat_bf16 };
  pick = td_vk_coopmat_pick_kernels (&offer);
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_true (pick.api == TD_VK_COOPMAT_API_NONE || td_vk_shader_exists (v));
  g_assert_true (td_vk_shader_exists ("matmul_coopmat_khr_bf16in_bf16")
                 == td_vk_shader_compiler_features.khr_coopmat_bf16);
}

static VkCooperativeMatrixPropertiesKHR
khr_config (uint32_t m, uint32_t n, uint32_t k, VkComponentTypeKHR ab, VkComponentTypeKHR c, VkScopeKHR scope)
{
  return (VkCooperativeMatrixPropertiesKHR) {
    .sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR,
    .MSize = m, .NSize = n, .KSize = k, .AType = ab, .BType = ab, .CType = c, .ResultType = c, .scope = scope,
  };
}

/* An invented KHR device with everything the KHR kernels need and the given list. */
static td_vk_coopmat_khr_caps
khr_device (const VkCooperativeMatrixPropertiesKHR *configs, uint32_t count)
{
  return (td_vk_coopmat_khr_caps) {
    .extension = true, .feature = true, .compute_stage = true, .vulkan_1_3 = true, .shader_float16 = true,
    .storage_16bit = true, .vulkan_memory_model = true, .subgroup_size = 32,
    .configs = configs, .config_count = count,
  };
}

/* The KHR path from queried property lists, then the kernels and tile sizes
 * picked from it with what the build compiled. */
static void
test_khr_assess (void)
{
  const VkComponentTypeKHR f16 = VK_COMPONENT_TYPE_FLOAT16_KHR, f32 = VK_COMPONENT_TYPE_FLOAT32_KHR;
  const VkComponentTypeKHR bf16 = VK_COMPONENT_TYPE_BFLOAT16_KHR;
  const VkScopeKHR subgroup = VK_SCOPE_SUBGROUP_KHR;
  /* The registry's values, which the local definitions must match. */
  g_assert_cmpint (VK_COMPONENT_TYPE_FLOAT16_KHR, ==, 0);
  g_assert_cmpint (VK_COMPONENT_TYPE_FLOAT32_KHR, ==, 1);
  g_assert_cmpint (VK_COMPONENT_TYPE_BFLOAT16_KHR, ==, 1000141000);
  g_assert_cmpint (VK_SCOPE_SUBGROUP_KHR, ==, 3);
  g_assert_cmpint (VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR, ==, 1000506000);
  g_assert_cmpint (VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR, ==, 1000506001);
  g_assert_cmpint (VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_KHR, ==, 1000506002);
  g_assert_cmpint (VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_BFLOAT16_FEATURES_KHR, ==, 1000141000);

  /* An RDNA3-like list: f16 with f16 and f32 accumulators, int8; no bf16. */
  VkCooperativeMatrixPropertiesKHR list[5] = {
    khr_config (16, 16, 16, f16, f16, subgroup),
    khr_config (16, 16, 16, f16, f32, subgroup),
    khr_config (16, 16, 16, VK_COMPONENT_TYPE_SINT8_KHR, VK_COMPONENT_TYPE_SINT32_KHR, subgroup),
  };
  td_vk_coopmat_khr_caps caps = khr_device (list, 3);
  td_vk_coopmat_offer offer = { 0 };
  g_assert_null (td_vk_coopmat_khr_assess (&caps, &offer));
  g_assert_true (offer.khr_usable);
  g_assert_false (offer.khr_bf16);
  /* The bf16 configuration counts only with VK_KHR_shader_bfloat16 and its features. */
  list[3] = khr_config (16, 16, 16, bf16, f32, subgroup);
  caps.config_count = 4;
  td_vk_coopmat_khr_assess (&caps, &offer);
  g_assert_false (offer.khr_bf16);
  caps.bf16_extension = true;
  td_vk_coopmat_khr_assess (&caps, &offer);
  g_assert_false (offer.khr_bf16);
  caps.bf16_feature = true;
  td_vk_coopmat_khr_assess (&caps, &offer);
  g_assert_true (offer.khr_usable);
  g_assert_true (offer.khr_bf16);
  /* bf16 without the f16 configuration: the kernels stage f16 for every other format. */
  VkCooperativeMatrixPropertiesKHR only_bf16[1] = { khr_config (16, 16, 16, bf16, f32, subgroup) };
  td_vk_coopmat_khr_caps bf16_caps = khr_device (only_bf16, 1);
  bf16_caps.bf16_extension = bf16_caps.bf16_feature = true;
  g_assert_nonnull (strstr (td_vk_coopmat_khr_assess (&bf16_caps, &offer), "configuration"));
  g_assert_false (offer.khr_usable);
  g_assert_false (offer.khr_bf16);

  /* Lists that lack the exact configuration: f16 accumulators only, another
   * shape, workgroup scope, none at all. */
  VkCooperativeMatrixPropertiesKHR wrong[3] = {
    khr_config (16, 16, 16, f16, f16, subgroup),
    khr_config (16, 8, 16, f16, f32, subgroup),
    khr_config (16, 16, 16, f16, f32, VK_SCOPE_WORKGROUP_KHR),
  };
  for (uint32_t i = 0; i < 3; i++)
    {
      caps = khr_device (&wrong[i], 1);
      g_assert_nonnull (strstr (td_vk_coopmat_khr_assess (&caps, &offer), "16x16x16"));
      g_assert_false (offer.khr_usable);
    }
  caps = khr_device (NULL, 0);
  g_assert_nonnull (td_vk_coopmat_khr_assess (&caps, &offer));
  g_assert_false (offer.khr_usable);

  /* Everything else the kernels need, one missing at a time. */
  for (int missing = 0; missing < 8; missing++)
    {
      caps = khr_device (list, 2);
      bool *flags[] = { &caps.extension, &caps.feature, &caps.compute_stage, &caps.vulkan_1_3,
                        &caps.shader_float16, &caps.storage_16bit, &caps.vulkan_memory_model };
      if (missing < 7)
        *flags[missing] = false;
      else
        caps.subgroup_size = 64;
      offer = (td_vk_coopmat_offer) { .khr_usable = true, .khr_bf16 = true };
      g_assert_nonnull (td_vk_coopmat_khr_assess (&caps, &offer));
      g_assert_false (offer.khr_usable);
      g_assert_false (offer.khr_bf16);
    }

  /* Offered but not built (Debian 12's glslang): no cooperative-matrix kernels, no tiles. */
  caps = khr_device (list, 4);
  caps.bf16_extension = caps.bf16_feature = true;
  offer = (td_vk_coopmat_offer) { .nv_built = true };
  td_vk_coopmat_khr_assess (&caps, &offer);
  td_vk_coopmat_pick pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_NONE);
  g_assert_cmpuint (pick.tile_m, ==, 0);
  /* Offered and built: KHR kernels on 16x16x16 fragments, bf16 tiles where built. */
  offer.khr_built = true;
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_KHR);
  g_assert_false (pick.bf16_tiles);
  g_assert_cmpuint (pick.tile_m, ==, 16);
  g_assert_cmpuint (pick.tile_n, ==, 16);
  g_assert_cmpuint (pick.tile_k, ==, 16);
  offer.khr_bf16_built = true;
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_true (pick.bf16_tiles);
  char v[64];
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_cmpstr (v, ==, "matmul_coopmat_khr_bf16in_bf16");
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_F16);
  g_assert_cmpstr (v, ==, "matmul_coopmat_khr_f16");
  /* Built but only NV offered: the NV kernels, on the same fragment shape. */
  caps = khr_device (list, 4);
  caps.extension = false;
  offer = (td_vk_coopmat_offer) { .nv_usable = true, .nv_built = true, .khr_built = true, .khr_bf16_built = true };
  g_assert_cmpstr (td_vk_coopmat_khr_assess (&caps, &offer), ==, "no VK_KHR_cooperative_matrix");
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_NV);
  g_assert_false (pick.bf16_tiles);
  g_assert_cmpuint (pick.tile_k, ==, 16);
  td_vk_coopmat_pick_variant (v, sizeof v, pick, TD_BF16);
  g_assert_cmpstr (v, ==, "matmul_coopmat_bf16");

  /* The H200's list as its driver reports it (../shared/reference): f16 with
   * f16 and f32 accumulators at 16x16x16, 16x8x16 and 16x8x8, int8 at K 32, bf16
   * 16x16x16 into f32; subgroups of 32 only. NV stays first; asked for, the KHR
   * kernels run with bf16 tiles and no subgroup size request. */
  const VkComponentTypeKHR u8 = VK_COMPONENT_TYPE_UINT8_KHR, s8 = VK_COMPONENT_TYPE_SINT8_KHR;
  const VkCooperativeMatrixPropertiesKHR h200[11] = {
    khr_config (16, 16, 16, f16, f16, subgroup), khr_config (16, 8, 16, f16, f16, subgroup),
    khr_config (16, 8, 8, f16, f16, subgroup),   khr_config (16, 16, 16, f16, f32, subgroup),
    khr_config (16, 8, 16, f16, f32, subgroup),  khr_config (16, 8, 8, f16, f32, subgroup),
    khr_config (16, 16, 32, u8, VK_COMPONENT_TYPE_UINT32_KHR, subgroup),
    khr_config (16, 16, 32, s8, VK_COMPONENT_TYPE_SINT32_KHR, subgroup),
    khr_config (16, 8, 32, u8, VK_COMPONENT_TYPE_UINT32_KHR, subgroup),
    khr_config (16, 8, 32, s8, VK_COMPONENT_TYPE_SINT32_KHR, subgroup),
    khr_config (16, 16, 16, bf16, f32, subgroup),
  };
  caps = khr_device (h200, 11);
  caps.min_subgroup_size = caps.max_subgroup_size = 32;
  caps.subgroup_size_control = caps.required_size_compute = caps.full_subgroups = true;
  caps.bf16_extension = caps.bf16_feature = true;
  offer = (td_vk_coopmat_offer) { .nv_usable = true, .nv_built = true, .khr_built = true, .khr_bf16_built = true };
  g_assert_null (td_vk_coopmat_khr_assess (&caps, &offer));
  g_assert_true (offer.khr_usable && offer.khr_bf16);
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_NV);
  offer.prefer_khr = true;
  pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_KHR);
  g_assert_true (pick.bf16_tiles);
  g_assert_cmpuint (pick.required_subgroup_size, ==, 0);
  /* Without VK_KHR_shader_bfloat16's features the bf16 entry does not count. */
  caps.bf16_feature = false;
  td_vk_coopmat_khr_assess (&caps, &offer);
  g_assert_true (offer.khr_usable);
  g_assert_false (td_vk_coopmat_pick_kernels (&offer).bf16_tiles);
  /* A Vulkan 1.2 driver: the KHR kernels are SPIR-V 1.6, so NV only. */
  caps.vulkan_1_3 = false;
  g_assert_nonnull (strstr (td_vk_coopmat_khr_assess (&caps, &offer), "Vulkan 1.3"));
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_NV);
}

/* Subgroups of 32 for the KHR kernels on invented devices: natively (NVIDIA), asked
 * for per pipeline where the default is 64 (RDNA3) or the size varies (Intel Arc, 8
 * to 32), refused where it cannot be asked for or is out of range. These choices
 * are all that runs here: Debian 12's glslang cannot build the KHR kernels, so no
 * pipeline has been created with the required size on real hardware. */
static void
test_khr_subgroup_size (void)
{
  const td_vk_subgroup_caps nvidia = { .size = 32, .min_size = 32, .max_size = 32, .size_control = true,
                                       .compute_required = true, .full_subgroups = true };
  td_vk_subgroup_plan plan = td_vk_subgroup_plan_for (&nvidia, 32);
  g_assert_true (plan.usable);
  g_assert_cmpuint (plan.required_size, ==, 0);
  g_assert_null (plan.reason);
  /* No size control reported at all: the one size is the device's. */
  const td_vk_subgroup_caps old_driver = { .size = 32 };
  plan = td_vk_subgroup_plan_for (&old_driver, 32);
  g_assert_true (plan.usable);
  g_assert_cmpuint (plan.required_size, ==, 0);

  td_vk_subgroup_caps rdna3 = { .size = 64, .min_size = 32, .max_size = 64, .size_control = true,
                                .compute_required = true, .full_subgroups = true };
  plan = td_vk_subgroup_plan_for (&rdna3, 32);
  g_assert_true (plan.usable);
  g_assert_cmpuint (plan.required_size, ==, 32);
  g_assert_true (plan.require_full);
  rdna3.full_subgroups = false;
  plan = td_vk_subgroup_plan_for (&rdna3, 32);
  g_assert_true (plan.usable);
  g_assert_false (plan.require_full);
  rdna3.size_control = false;
  plan = td_vk_subgroup_plan_for (&rdna3, 32);
  g_assert_false (plan.usable);
  g_assert_nonnull (strstr (plan.reason, "cannot be asked"));
  rdna3.size_control = true;
  rdna3.compute_required = false;
  g_assert_false (td_vk_subgroup_plan_for (&rdna3, 32).usable);

  /* Intel Arc: the default is 32, but a pipeline may get 8 or 16 unless it asks. */
  td_vk_subgroup_caps arc = { .size = 32, .min_size = 8, .max_size = 32, .size_control = true,
                              .compute_required = true };
  plan = td_vk_subgroup_plan_for (&arc, 32);
  g_assert_true (plan.usable);
  g_assert_cmpuint (plan.required_size, ==, 32);
  arc.size_control = false;
  g_assert_false (td_vk_subgroup_plan_for (&arc, 32).usable);

  /* Out of range: a fixed 64 (older GCN), or 4..16 (an invented small GPU). */
  const td_vk_subgroup_caps gcn = { .size = 64, .min_size = 64, .max_size = 64, .size_control = true,
                                    .compute_required = true };
  plan = td_vk_subgroup_plan_for (&gcn, 32);
  g_assert_false (plan.usable);
  g_assert_nonnull (strstr (plan.reason, "subgroups of 32"));
  const td_vk_subgroup_caps small = { .size = 16, .min_size = 4, .max_size = 16, .size_control = true,
                                      .compute_required = true };
  g_assert_false (td_vk_subgroup_plan_for (&small, 32).usable);

  /* Through the KHR assessment and pick: an RDNA3-like device gets the KHR kernels
   * with pipelines that require 32. */
  const VkCooperativeMatrixPropertiesKHR list[1] = {
    khr_config (16, 16, 16, VK_COMPONENT_TYPE_FLOAT16_KHR, VK_COMPONENT_TYPE_FLOAT32_KHR, VK_SCOPE_SUBGROUP_KHR),
  };
  td_vk_coopmat_khr_caps caps = khr_device (list, 1);
  caps.subgroup_size = 64;
  caps.min_subgroup_size = 32;
  caps.max_subgroup_size = 64;
  caps.subgroup_size_control = caps.required_size_compute = caps.full_subgroups = true;
  td_vk_coopmat_offer offer = { .khr_built = true };
  g_assert_null (td_vk_coopmat_khr_assess (&caps, &offer));
  g_assert_true (offer.khr_usable);
  td_vk_coopmat_pick pick = td_vk_coopmat_pick_kernels (&offer);
  g_assert_cmpint (pick.api, ==, TD_VK_COOPMAT_API_KHR);
  g_assert_cmpuint (pick.required_subgroup_size, ==, 32);
  g_assert_true (pick.require_full_subgroups);
  caps.subgroup_size_control = false;
  g_assert_nonnull (strstr (td_vk_coopmat_khr_assess (&caps, &offer), "subgroups of 32"));
  g_assert_false (offer.khr_usable);
  g_assert_cmpint (td_vk_coopmat_pick_kernels (&offer).api, ==, TD_VK_COOPMAT_API_NONE);

  /* Only the KHR kernels' pipelines ask. */
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("matmul_coopmat_khr_f16", 32), ==, 32);
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("matmul_coopmat_khr_bf16in_bf16", 32), ==, 32);
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("attention_coopmat_khr", 32), ==, 32);
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("matmul_coopmat_khr_f16", 0), ==, 0);
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("matmul_coopmat_f16", 32), ==, 0);
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("matmul_bf16_s16", 32), ==, 0);
  g_assert_cmpuint (td_vk_pipeline_subgroup_size ("attention_coopmat_emu", 32), ==, 0);
}

/* The listing reports the choice: on wherever available unless
 * TD_VULKAN_COOPMAT=0, emulated with TD_VULKAN_EMULATE_COOPMAT=1 where not on. */
static void
test_device_listing (void)
{
  char *saved = g_strdup (g_getenv ("TD_VULKAN_COOPMAT"));
  char *saved_emulate = g_strdup (g_getenv ("TD_VULKAN_EMULATE_COOPMAT"));
  /* Passes: unset (the default), "1", "0", "0" with emulation. */
  for (int pass = 0; pass < 4; pass++)
    {
      if (pass == 0)
        g_unsetenv ("TD_VULKAN_COOPMAT");
      else
        g_setenv ("TD_VULKAN_COOPMAT", pass == 1 ? "1" : "0", TRUE);
      if (pass == 3)
        g_setenv ("TD_VULKAN_EMULATE_COOPMAT", "1", TRUE);
      else
        g_unsetenv ("TD_VULKAN_EMULATE_COOPMAT");
      td_vulkan_device_info *devices;
      int count;
      td_error err;
      g_assert_cmpint (td_vulkan_list_devices (&devices, &count, &err), ==, TD_OK);
      for (int i = 0; i < count; i++)
        {
          const td_vulkan_device_info *d = &devices[i];
          g_test_message ("%s: coopmat available %d enabled %d (%s)", d->name, d->coopmat_available,
                          d->coopmat_enabled, d->coopmat_reason ? d->coopmat_reason : "");
          g_assert_true (!d->coopmat_enabled || d->coopmat_available);
          if (pass <= 1)
            g_assert_true (d->coopmat_enabled == d->coopmat_available);
          else
            g_assert_false (d->coopmat_enabled);
          g_assert_true (d->coopmat_emulated
                         == (pass == 3 && !d->coopmat_enabled && d->fp16_arithmetic && d->storage_16bit));
          if (!d->coopmat_enabled)
            g_assert_nonnull (d->coopmat_reason);
          /* Only a device offering VK_NV_cooperative_matrix or (with the KHR
           * kernels built) VK_KHR_cooperative_matrix can have it; the KHR kernels
           * only where the NV path is not there. */
          if (!d->coopmat_nv && !(d->coopmat_khr && td_vk_shader_compiler_features.khr_coopmat))
            g_assert_false (d->coopmat_available);
          if (d->coopmat_uses_khr)
            g_assert_true (d->coopmat_available && d->coopmat_khr && d->coopmat_khr_reason == NULL);
          if (d->coopmat_khr_preferred)
            g_assert_true (d->coopmat_uses_khr && d->coopmat_nv);
          else
            g_assert_false (d->coopmat_bf16_tiles);
          if (d->coopmat_khr_bf16)
            g_assert_true (d->bfloat16);
        }
      free (devices);
    }
  if (saved != NULL)
    g_setenv ("TD_VULKAN_COOPMAT", saved, TRUE);
  else
    g_unsetenv ("TD_VULKAN_COOPMAT");
  if (saved_emulate != NULL)
    g_setenv ("TD_VULKAN_EMULATE_COOPMAT", saved_emulate, TRUE);
  else
    g_unsetenv ("TD_VULKAN_EMULATE_COOPMAT");
  g_free (saved);
  g_free (saved_emulate);
}

/* y[b, M, N] = x[b, M, K] · w[b or shared][N, K]ᵀ + bias, against a double
 * reference. With f16_exact_x the activations are f16 values, so the shader's
 * conversion loses nothing and only accumulation order differs. The bias is
 * stored as bias_dtype (the checkpoints' bf16 biases stay bf16). */
/* Set while the hardware case runs on a device that stages bf16 weights as bf16
 * tiles (KHR with bf16 cooperative matrices): the activations beside them are
 * then rounded to bf16's 8 significant bits instead of f16's 11. */
static bool bf16_tiles;

static void
check_matmul_biased (td_dtype wdtype, td_dtype bias_dtype, bool with_bias, int batch, bool batched_w, int64_t m,
                     int64_t k, int64_t n, bool f16_exact_x, double tol)
{
  td_backend *b = vk_test_backend ();
  int64_t xs[3] = { batch, m, k }, ws[3] = { batch, n, k }, bs[1] = { n }, ys[3] = { batch, m, n };
  float *x = g_new (float, batch * m * k);
  vk_random_fill (x, batch * m * k, -1, 1);
  const bool bf16_x = bf16_tiles && wdtype == TD_BF16;
  /* bf16 values are exact in f16 tiles too (after the per-row scaling). */
  if (f16_exact_x)
    vk_round_to_dtype (x, batch * m * k, bf16_x ? TD_BF16 : TD_F16);
  else if (bf16_x)
    tol *= 8; /* 8 significant bits instead of 11 */
  int64_t wcount = (batched_w ? batch : 1) * n * k;
  float *w = g_new (float, wcount);
  vk_random_fill (w, wcount, -1, 1);
  vk_round_to_dtype (w, wcount, wdtype);
  float bias[4096];
  g_assert_cmpint (n, <=, 4096);
  vk_random_fill (bias, n, -1, 1);
  vk_round_to_dtype (bias, n, bias_dtype);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x);
  td_tensor *tw = batched_w ? vk_tensor_from (b, wdtype, 3, ws, w) : vk_tensor_from (b, wdtype, 2, ws + 1, w);
  td_tensor *tb = with_bias ? vk_tensor_from (b, bias_dtype, 1, bs, bias) : NULL;
  vk_guarded g = vk_guarded_new (b, TD_F32, 3, ys);
  double *ref = g_new (double, batch * m * n);
  for (int z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++)
        {
          double s = with_bias ? bias[j] : 0;
          const float *wrow = w + (batched_w ? z * n * k : 0) + j * k;
          for (int64_t c = 0; c < k; c++)
            s += (double) x[(z * m + i) * k + c] * wrow[c];
          ref[(z * m + i) * n + j] = s;
        }
  td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw, tb } };
  char what[128];
  g_snprintf (what, sizeof what, "coopmat matmul %s %dx%lldx%lldx%lld%s%s", td_dtype_name (wdtype), batch,
              (long long) m, (long long) k, (long long) n, batched_w ? " batched w" : "", with_bias ? " bias" : "");
  op_check (&op, &g, ref, tol, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (x);
  g_free (w);
  g_free (ref);
}

static void
check_matmul (td_dtype wdtype, bool with_bias, int batch, bool batched_w, int64_t m, int64_t k, int64_t n,
              bool f16_exact_x, double tol)
{
  check_matmul_biased (wdtype, TD_F32, with_bias, batch, batched_w, m, k, n, f16_exact_x, tol);
}

/* Ragged edges in every dimension, exact tiles, single elements, batches. */
static void
check_matmul_shapes (void)
{
  const double tol = 1e-4;
  check_matmul (TD_F16, true, 1, false, 5, 1, 1, true, tol);
  check_matmul (TD_BF16, false, 1, false, 64, 32, 64, true, tol);
  check_matmul (TD_F16, true, 1, false, 17, 33, 19, true, tol);
  check_matmul (TD_BF16, true, 1, false, 130, 70, 65, true, tol);
  check_matmul (TD_F16, false, 1, false, 64, 129, 128, true, tol);
  check_matmul (TD_BF16, true, 2, false, 67, 47, 33, true, tol);
  check_matmul (TD_F16, true, 3, true, 5, 37, 70, true, tol);
  check_matmul (TD_BF16, false, 3, true, 70, 16, 9, true, tol);
  /* Activations that f16 rounds: within what 11 significant bits allow. */
  check_matmul (TD_BF16, true, 1, false, 33, 200, 47, false, 3e-3);
  /* The ThinkDiff-LVLM aligner on the qwen2-vl golden's thought: 6 rows (just
   * past GEMV), 64 → 64, bf16 weights and bf16 bias; then odd sizes around it. */
  check_matmul_biased (TD_BF16, TD_BF16, true, 1, false, 6, 64, 64, false, 3e-3);
  check_matmul_biased (TD_BF16, TD_BF16, true, 1, false, 5, 65, 67, false, 3e-3);
  check_matmul_biased (TD_BF16, TD_BF16, true, 1, false, 7, 63, 129, false, 3e-3);
  check_matmul_biased (TD_F16, TD_F16, true, 2, false, 9, 31, 3, true, tol);
}

/* Rows far outside f16's range (activations up to 1e6 as in T5-XXL, bf16 weight
 * rows of 1e5 and 1e-9, activations of 1e-7): every output within the f16
 * rounding bound of its own terms, 2^-10 · Σ|x||w| (both operands rounded to
 * 11 significant bits after the per-row scaling). Without the scaling these
 * would be Inf or lose every bit. */
static void
check_f16_range (td_dtype wdtype)
{
  td_backend *b = vk_test_backend ();
  const int64_t m = 70, k = 45, n = 37;
  static const double x_scales[] = { 1e6, 1e-7, 3e4, 1.0, 7e5 };
  static const double w_scales[] = { 1.0, 1e5, 1e-9, 0.02 };
  float *x = g_new (float, m * k), *w = g_new (float, n * k);
  vk_random_fill (x, m * k, -1, 1);
  vk_random_fill (w, n * k, -1, 1);
  for (int64_t i = 0; i < m; i++)
    for (int64_t c = 0; c < k; c++)
      x[i * k + c] *= (float) x_scales[i % G_N_ELEMENTS (x_scales)];
  for (int64_t j = 0; j < n; j++)
    for (int64_t c = 0; c < k; c++)
      w[j * k + c] *= wdtype == TD_BF16 ? (float) w_scales[j % G_N_ELEMENTS (w_scales)] : 1.0f;
  vk_round_to_dtype (w, n * k, wdtype);
  int64_t xs[2] = { m, k }, ws[2] = { n, k }, ys[2] = { m, n };
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, xs, x);
  td_tensor *tw = vk_tensor_from (b, wdtype, 2, ws, w);
  td_error err = { 0 };
  td_tensor *ty = td_tensor_new (b, TD_F32, 2, ys, &err);
  g_assert_nonnull (ty);
  td_op op = { .type = TD_OP_MATMUL, .dst = ty, .src = { tx, tw } };
  g_assert_cmpint (vk_run (b, &op, &err), ==, TD_OK);
  float *y = td_tensor_to_f32 (ty, &err);
  g_assert_nonnull (y);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      {
        double want = 0, magnitude = 0;
        for (int64_t c = 0; c < k; c++)
          {
            want += (double) x[i * k + c] * w[j * k + c];
            magnitude += fabs ((double) x[i * k + c] * w[j * k + c]);
          }
        /* bf16 tiles: only the activations are rounded, to 8 bits (2^-9 relative). */
        double rounding = bf16_tiles && wdtype == TD_BF16 ? 1.0 / 512 : 1.0 / 1024;
        double bound = magnitude * (rounding + (double) k * 6e-8);
        if (!(fabs (y[i * n + j] - want) <= bound))
          g_error ("f16-range matmul (%s) [%lld, %lld]: got %.9g want %.9g (bound %.3g)", td_dtype_name (wdtype),
                   (long long) i, (long long) j, y[i * n + j], want, bound);
      }
  free (y);
  td_tensor_free (ty);
  td_tensor_free (tx);
  td_tensor_free (tw);
  g_free (x);
  g_free (w);
}

/* Attention [b, t, h, d] against a double softmax(Q·Kᵀ·scale + mask)·V, with
 * q/k/v scaled by the given factors (beyond f16's range on purpose). */
static void
check_attention (int64_t batch, int64_t tq, int64_t tk, int64_t heads, int64_t kv_heads, int64_t d, int64_t dv,
                 bool causal, double q_scale, double k_scale, double v_scale)
{
  td_backend *b = vk_test_backend ();
  int64_t qs[4] = { batch, tq, heads, d }, ks[4] = { batch, tk, kv_heads, d };
  int64_t vs[4] = { batch, tk, kv_heads, dv }, ys[4] = { batch, tq, heads, dv };
  int64_t nq = batch * tq * heads * d, nk = batch * tk * kv_heads * d, nv = batch * tk * kv_heads * dv;
  float *q = g_new (float, nq), *k = g_new (float, nk), *v = g_new (float, nv);
  vk_random_fill (q, nq, -1, 1);
  vk_random_fill (k, nk, -1, 1);
  vk_random_fill (v, nv, -1, 1);
  for (int64_t i = 0; i < nq; i++)
    q[i] *= (float) q_scale;
  for (int64_t i = 0; i < nk; i++)
    k[i] *= (float) k_scale;
  for (int64_t i = 0; i < nv; i++)
    v[i] *= (float) v_scale;
  double scale = 1 / sqrt ((double) d);
  double *ref = g_new (double, batch * tq * heads * dv), *p = g_new (double, tk);
  for (int64_t z = 0; z < batch; z++)
    for (int64_t h = 0; h < heads; h++)
      for (int64_t i = 0; i < tq; i++)
        {
          int64_t hk = h / (heads / kv_heads);
          double m = -INFINITY, sum = 0;
          for (int64_t j = 0; j < tk; j++)
            {
              double s = 0;
              for (int64_t c = 0; c < d; c++)
                s += (double) q[((z * tq + i) * heads + h) * d + c] * k[((z * tk + j) * kv_heads + hk) * d + c];
              p[j] = causal && j > i + (tk - tq) ? -INFINITY : s * scale;
              m = fmax (m, p[j]);
            }
          for (int64_t j = 0; j < tk; j++)
            {
              p[j] = p[j] == -INFINITY ? 0 : exp (p[j] - m);
              sum += p[j];
            }
          for (int64_t c = 0; c < dv; c++)
            {
              double o = 0;
              for (int64_t j = 0; j < tk; j++)
                o += p[j] * v[((z * tk + j) * kv_heads + hk) * dv + c];
              ref[((z * tq + i) * heads + h) * dv + c] = sum > 0 ? o / sum : 0;
            }
        }
  td_tensor *tq_ = vk_tensor_from (b, TD_F32, 4, qs, q), *tk_ = vk_tensor_from (b, TD_F32, 4, ks, k);
  td_tensor *tv = vk_tensor_from (b, TD_F32, 4, vs, v);
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_ATTENTION, .src = { tq_, tk_, tv },
               .p.attention = { .scale = (float) scale, .causal = causal } };
  char what[160];
  g_snprintf (what, sizeof what, "coopmat attention B%lld Tq%lld Tk%lld H%lld/%lld D%lld/%lld%s scales %g %g %g",
              (long long) batch, (long long) tq, (long long) tk, (long long) heads, (long long) kv_heads,
              (long long) d, (long long) dv, causal ? " causal" : "", q_scale, k_scale, v_scale);
  /* Q, K, P and V rounded to f16 (11 significant bits) after range scaling. */
  op_check (&op, &g, ref, 2e-3, what);
  vk_guarded_free (&g);
  td_tensor_free (tq_);
  td_tensor_free (tk_);
  td_tensor_free (tv);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (ref);
  g_free (p);
}

/* Partial query and key blocks, GQA, causal with an offset, D and Dv that are
 * not multiples of 16, FLUX's head size, and values outside f16's range. */
static void
check_attention_shapes (void)
{
  check_attention (1, 70, 97, 3, 1, 128, 128, false, 1, 1, 1);
  check_attention (2, 33, 45, 4, 2, 80, 72, true, 1, 1, 1);
  check_attention (1, 5, 3, 2, 2, 9, 17, false, 1, 1, 1);
  check_attention (1, 40, 40, 2, 1, 64, 64, true, 1, 1, 1);
  /* |Q| up to 1e5 and |V| up to 1e6 (both past 65504), |K| down to 1e-5 (f16 subnormals). */
  check_attention (1, 35, 50, 2, 1, 64, 48, false, 1e5, 3e-5, 1e6);
}

static void
test_emulated_attention (void)
{
  td_backend *b = vk_test_backend ();
  if (td_vulkan_backend_device (b)->coopmat_enabled)
    {
      g_test_skip ("the device runs cooperative matrices itself (hardware-attention covers them)");
      return;
    }
  if (!td_vulkan_set_coopmat_emulation (b, true))
    {
      g_test_skip ("the device has no f16 arithmetic or 16-bit storage");
      return;
    }
  uint32_t rows;
  g_assert_cmpstr (td_vk_attention_kernel (128, 128, false, true, &rows), ==, "attention_coopmat_emu");
  check_attention_shapes ();
  g_assert_true (td_vulkan_set_coopmat_emulation (b, td_vk_coopmat_env_emulate (g_getenv ("TD_VULKAN_EMULATE_COOPMAT"))));
  vk_test_assert_no_validation_messages ();
}

static void
test_hardware_attention (void)
{
  const td_vulkan_device_info *d = td_vulkan_backend_device (vk_test_backend ());
  if (!d->coopmat_enabled)
    {
      g_test_skip (d->coopmat_available ? "cooperative matrices are turned off (TD_VULKAN_COOPMAT=0)"
                                        : "the device has no cooperative matrices that the shader can use");
      return;
    }
  check_attention_shapes ();
  vk_test_assert_no_validation_messages ();
}

static void
test_attention_kernel (void)
{
  uint32_t rows;
  g_assert_cmpstr (td_vk_attention_kernel (128, 128, true, false, &rows), ==, "attention_coopmat");
  g_assert_cmpuint (rows, ==, 32);
  g_assert_cmpstr (td_vk_attention_kernel (64, 128, false, true, &rows), ==, "attention_coopmat_emu");
  g_assert_cmpstr (td_vk_attention_kernel (128, 128, false, false, &rows), ==, "attention_d128");
  g_assert_cmpuint (rows, ==, 8);
  /* Wider heads keep the scalar kernel. */
  g_assert_cmpstr (td_vk_attention_kernel (129, 64, true, false, &rows), ==, "attention_d512");
  g_assert_cmpuint (rows, ==, 4);
  g_assert_cmpstr (td_vk_attention_kernel (64, 200, false, true, &rows), ==, "attention_d512");
  g_assert_true (td_vk_shader_exists ("attention_coopmat_emu"));
  g_assert_true (td_vk_shader_exists ("attention_coopmat") == td_vk_shader_compiler_features.nv_coopmat);
}

static void
test_emulated_matmul (void)
{
  td_backend *b = vk_test_backend ();
  if (!td_vulkan_set_coopmat_emulation (b, true))
    {
      g_test_skip ("the device has no f16 arithmetic or 16-bit storage");
      return;
    }
  check_matmul_shapes ();
  check_f16_range (TD_BF16);
  check_f16_range (TD_F16);
  g_assert_true (td_vulkan_set_coopmat_emulation (b, td_vk_coopmat_env_emulate (g_getenv ("TD_VULKAN_EMULATE_COOPMAT"))));
  vk_test_assert_no_validation_messages ();
}

static void
test_hardware_matmul (void)
{
  const td_vulkan_device_info *d = td_vulkan_backend_device (vk_test_backend ());
  if (!d->coopmat_enabled)
    {
      g_test_skip (d->coopmat_available ? "cooperative matrices are turned off (TD_VULKAN_COOPMAT=0)"
                                        : "the device has no cooperative matrices that the shader can use");
      return;
    }
  g_test_message ("%s kernels%s", d->coopmat_uses_khr ? "KHR" : "NV",
                  d->coopmat_bf16_tiles ? ", bf16 tiles for bf16 weights" : "");
  bf16_tiles = d->coopmat_bf16_tiles;
  check_matmul_shapes ();
  check_f16_range (TD_BF16);
  check_f16_range (TD_F16);
  bf16_tiles = false;
  vk_test_assert_no_validation_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/coopmat/config-offered", test_config_offered);
  g_test_add_func ("/vulkan/coopmat/decide", test_decide);
  g_test_add_func ("/vulkan/coopmat/variant", test_variant);
  g_test_add_func ("/vulkan/coopmat/pick-kernels", test_pick_kernels);
  g_test_add_func ("/vulkan/coopmat/khr-assess", test_khr_assess);
  g_test_add_func ("/vulkan/coopmat/khr-subgroup-size", test_khr_subgroup_size);
  g_test_add_func ("/vulkan/coopmat/device-listing", test_device_listing);
  g_test_add_func ("/vulkan/coopmat/emulated-matmul", test_emulated_matmul);
  g_test_add_func ("/vulkan/coopmat/hardware-matmul", test_hardware_matmul);
  g_test_add_func ("/vulkan/coopmat/attention-kernel", test_attention_kernel);
  g_test_add_func ("/vulkan/coopmat/emulated-attention", test_emulated_attention);
  g_test_add_func ("/vulkan/coopmat/hardware-attention", test_hardware_attention);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
