/* vulkan_device.c — a headless Vulkan instance, device discovery and selection,
 * feature probing, and the context that ties the backend's pieces together. */
#include "backend/vulkan/vulkan_internal.h"

#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_tile_table.h"
#include "backend/vulkan/vulkan_shaders.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int validation_messages;
static int validation_active;
static int validation_missing_reported;

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

int
td_vulkan_validation_message_count (void)
{
  return __atomic_load_n (&validation_messages, __ATOMIC_RELAXED);
}

bool
td_vulkan_validation_active (void)
{
  return __atomic_load_n (&validation_active, __ATOMIC_RELAXED) != 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_debug_message (VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
                  const VkDebugUtilsMessengerCallbackDataEXT *data, void *user_data)
{
  /* The loader's general notices ("adding layers …") are not findings. */
  bool finding = (types & VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT)
                 || severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  if (finding && severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
    {
      __atomic_add_fetch (&validation_messages, 1, __ATOMIC_RELAXED);
      fprintf (stderr, "vulkan validation: %s\n", data->pMessage);
    }
  return VK_FALSE;
}

static bool
env_flag (const char *name)
{
  const char *value = getenv (name);
  return value != NULL && value[0] != '\0' && strcmp (value, "0") != 0;
}

static bool
has_layer (const char *name)
{
  uint32_t count = 0;
  if (vkEnumerateInstanceLayerProperties (&count, NULL) != VK_SUCCESS || count == 0)
    return false;
  VkLayerProperties *layers = calloc (count, sizeof *layers);
  bool found = false;
  if (layers != NULL && vkEnumerateInstanceLayerProperties (&count, layers) == VK_SUCCESS)
    for (uint32_t i = 0; i < count && !found; i++)
      found = strcmp (layers[i].layerName, name) == 0;
  free (layers);
  return found;
}

static bool
has_instance_extension (const char *layer, const char *name)
{
  uint32_t count = 0;
  if (vkEnumerateInstanceExtensionProperties (layer, &count, NULL) != VK_SUCCESS || count == 0)
    return false;
  VkExtensionProperties *props = calloc (count, sizeof *props);
  bool found = false;
  if (props != NULL && vkEnumerateInstanceExtensionProperties (layer, &count, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < count && !found; i++)
      found = strcmp (props[i].extensionName, name) == 0;
  free (props);
  return found;
}

/* Validation was asked for but cannot run: said once on stderr, and an error
 * when TD_REQUIRE_VALIDATION=1. */
static td_status
validation_unavailable (const char *why, td_error *err)
{
  if (env_flag ("TD_REQUIRE_VALIDATION"))
    return td_error_set (err, TD_ERR_UNSUPPORTED, "TD_REQUIRE_VALIDATION=1 but Vulkan validation cannot run: %s", why);
  if (__atomic_exchange_n (&validation_missing_reported, 1, __ATOMIC_RELAXED) == 0)
    fprintf (stderr, "vulkan: validation requested (TD_VULKAN_VALIDATION=1) but not running: %s\n", why);
  return TD_OK;
}

/* A compute-only instance: no surface extensions, so it works headless. With
 * TD_VULKAN_VALIDATION=1 the Khronos layer is enabled and its messages counted;
 * when it cannot be, the result is TD_OK with a notice on stderr, or an error
 * when TD_REQUIRE_VALIDATION=1 too. *vk_result is vkCreateInstance's. */
static td_status
create_instance (VkInstance *instance, VkDebugUtilsMessengerEXT *messenger, VkResult *vk_result, td_error *err)
{
  const char *layers[1];
  const char *extensions[2];
  uint32_t layer_count = 0, extension_count = 0;
  const char *validation = VALIDATION_LAYER;
  bool validate = env_flag ("TD_VULKAN_VALIDATION");
  *instance = VK_NULL_HANDLE;
  *messenger = VK_NULL_HANDLE;
  *vk_result = VK_SUCCESS;
  if (validate && has_layer (validation))
    layers[layer_count++] = validation;
  else if (validate)
    {
      td_status status
        = validation_unavailable ("the layer " VALIDATION_LAYER " is not installed (Debian: vulkan-validationlayers)", err);
      if (status != TD_OK)
        return status;
    }
  bool debug_utils = validate && (has_instance_extension (NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)
                                  || (layer_count > 0
                                      && has_instance_extension (validation, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)));
  if (debug_utils)
    extensions[extension_count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "thinkdiff",
    .applicationVersion = 1,
    .pEngineName = "thinkdiff-engine",
    .apiVersion = VK_API_VERSION_1_3,
  };
  VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT
                   | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
    .pfnUserCallback = on_debug_message,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pNext = debug_utils ? &messenger_info : NULL,
    .pApplicationInfo = &app,
    .enabledLayerCount = layer_count,
    .ppEnabledLayerNames = layers,
    .enabledExtensionCount = extension_count,
    .ppEnabledExtensionNames = extensions,
  };
  VkResult result = vkCreateInstance (&info, NULL, instance);
  *vk_result = result;
  if (result != VK_SUCCESS)
    {
      *instance = VK_NULL_HANDLE;
      return TD_OK;
    }
  if (layer_count == 0)
    return TD_OK;
  /* Without the messenger, findings would go uncounted: that is no validation. */
  PFN_vkCreateDebugUtilsMessengerEXT create_messenger
    = debug_utils ? (PFN_vkCreateDebugUtilsMessengerEXT) vkGetInstanceProcAddr (*instance,
                                                                                 "vkCreateDebugUtilsMessengerEXT")
                  : NULL;
  if (create_messenger == NULL || create_messenger (*instance, &messenger_info, NULL, messenger) != VK_SUCCESS)
    {
      *messenger = VK_NULL_HANDLE;
      td_status status
        = validation_unavailable ("no " VK_EXT_DEBUG_UTILS_EXTENSION_NAME " messenger to count its findings", err);
      if (status != TD_OK)
        {
          vkDestroyInstance (*instance, NULL);
          *instance = VK_NULL_HANDLE;
        }
      return status;
    }
  __atomic_store_n (&validation_active, 1, __ATOMIC_RELAXED);
  return TD_OK;
}

static const char *
device_type_name (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static bool
has_device_extension (const VkExtensionProperties *props, uint32_t count, const char *name)
{
  for (uint32_t i = 0; i < count; i++)
    if (strcmp (props[i].extensionName, name) == 0)
      return true;
  return false;
}

#define MAX_COOPMAT_CONFIGS 64

/* Queries what the device offers of VK_KHR_cooperative_matrix (and
 * VK_KHR_shader_bfloat16) into caps; structures are only chained for offered
 * extensions (an unknown structure is invalid usage). */
static void
query_coopmat_khr (VkInstance instance, VkPhysicalDevice physical, const td_vulkan_device_info *info,
                   td_vk_coopmat_khr_caps *caps, VkCooperativeMatrixPropertiesKHR *configs)
{
  *caps = (td_vk_coopmat_khr_caps) {
    .extension = info->coopmat_khr,
    .vulkan_1_3 = info->api_version >= VK_API_VERSION_1_3,
    .shader_float16 = info->fp16_arithmetic,
    .storage_16bit = info->storage_16bit,
    .vulkan_memory_model = info->vulkan_memory_model,
    .subgroup_size = info->subgroup_size,
    .min_subgroup_size = info->min_subgroup_size,
    .max_subgroup_size = info->max_subgroup_size,
    .subgroup_size_control = info->subgroup_size_control,
    .required_size_compute = info->subgroup_size_compute,
    .full_subgroups = info->compute_full_subgroups,
    .bf16_extension = info->bfloat16,
  };
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR get_configs = NULL;
  if (caps->extension)
    get_configs = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)
      vkGetInstanceProcAddr (instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
  if (get_configs == NULL)
    return;
  VkPhysicalDeviceShaderBfloat16FeaturesKHR features_bf16 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_BFLOAT16_FEATURES_KHR,
  };
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR features_khr = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
    .pNext = caps->bf16_extension ? &features_bf16 : NULL,
  };
  VkPhysicalDeviceFeatures2 features = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                         .pNext = &features_khr };
  vkGetPhysicalDeviceFeatures2 (physical, &features);
  VkPhysicalDeviceCooperativeMatrixPropertiesKHR props_khr = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_KHR,
  };
  VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                        .pNext = &props_khr };
  vkGetPhysicalDeviceProperties2 (physical, &props);
  caps->feature = features_khr.cooperativeMatrix;
  caps->compute_stage = (props_khr.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  caps->bf16_feature = features_bf16.shaderBFloat16Type && features_bf16.shaderBFloat16CooperativeMatrix;

  uint32_t count = MAX_COOPMAT_CONFIGS;
  for (uint32_t i = 0; i < count; i++)
    configs[i] = (VkCooperativeMatrixPropertiesKHR) { .sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR };
  VkResult result = get_configs (physical, &count, configs);
  if (result == VK_SUCCESS || result == VK_INCOMPLETE)
    {
      caps->configs = configs;
      caps->config_count = count;
    }
}

/* Fills info's cooperative-matrix fields; the NV structures are only chained
 * when the extension exists (an unknown structure is invalid usage). NV kernels
 * first; the KHR ones where the NV path is not there (td_vk_coopmat_pick_kernels). */
static void
probe_coopmat (VkInstance instance, VkPhysicalDevice physical, td_vulkan_device_info *info)
{
  td_vk_coopmat_caps caps = {
    .extension = info->coopmat_nv,
    .shader_float16 = info->fp16_arithmetic,
    .storage_16bit = info->storage_16bit,
    .vulkan_memory_model = info->vulkan_memory_model,
    .subgroup_size = info->subgroup_size,
    .shaders_built = td_vk_shader_exists ("matmul_coopmat_f16") && td_vk_shader_exists ("matmul_coopmat_bf16"),
  };
  VkCooperativeMatrixPropertiesNV configs[MAX_COOPMAT_CONFIGS];
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get_configs = NULL;
  if (caps.extension)
    get_configs = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
      vkGetInstanceProcAddr (instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  if (get_configs != NULL)
    {
      VkPhysicalDeviceCooperativeMatrixFeaturesNV features_nv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
      };
      VkPhysicalDeviceFeatures2 features = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                             .pNext = &features_nv };
      vkGetPhysicalDeviceFeatures2 (physical, &features);
      VkPhysicalDeviceCooperativeMatrixPropertiesNV props_nv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV,
      };
      VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                            .pNext = &props_nv };
      vkGetPhysicalDeviceProperties2 (physical, &props);
      caps.feature = features_nv.cooperativeMatrix;
      caps.compute_stage = (props_nv.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;

      uint32_t count = MAX_COOPMAT_CONFIGS;
      for (uint32_t i = 0; i < count; i++)
        configs[i] = (VkCooperativeMatrixPropertiesNV) { .sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV };
      /* VK_INCOMPLETE still fills `count` entries; the ones we need come early. */
      VkResult result = get_configs (physical, &count, configs);
      if (result == VK_SUCCESS || result == VK_INCOMPLETE)
        {
          caps.configs = configs;
          caps.config_count = count;
        }
    }
  const char *env = getenv ("TD_VULKAN_COOPMAT");
  td_vk_coopmat_choice choice = td_vk_coopmat_decide (&caps, env);

  td_vk_coopmat_khr_caps khr_caps;
  VkCooperativeMatrixPropertiesKHR khr_configs[MAX_COOPMAT_CONFIGS];
  query_coopmat_khr (instance, physical, info, &khr_caps, khr_configs);
  const td_vk_shader_compiler *built = &td_vk_shader_compiler_features;
  td_vk_coopmat_offer offer = {
    .nv_usable = choice.available,
    .nv_built = caps.shaders_built,
    .khr_built = built->khr_coopmat && td_vk_shader_exists ("matmul_coopmat_khr_f16")
                 && td_vk_shader_exists ("attention_coopmat_khr"),
    .khr_bf16_built = built->khr_coopmat_bf16 && td_vk_shader_exists ("matmul_coopmat_khr_bf16in_bf16"),
    .prefer_khr = td_vk_coopmat_env_prefer_khr (getenv ("TD_VULKAN_COOPMAT_API")),
  };
  info->coopmat_khr_reason = td_vk_coopmat_khr_assess (&khr_caps, &offer);
  info->coopmat_khr_f16 = td_vk_coopmat_khr_config_offered (khr_caps.configs, khr_caps.config_count,
                                                            VK_COMPONENT_TYPE_FLOAT16_KHR);
  info->coopmat_khr_bf16 = khr_caps.bf16_extension
                           && td_vk_coopmat_khr_config_offered (khr_caps.configs, khr_caps.config_count,
                                                                VK_COMPONENT_TYPE_BFLOAT16_KHR);
  if (offer.khr_usable && !offer.khr_built)
    info->coopmat_khr_reason = "this build's glslang cannot compile GL_KHR_cooperative_matrix";
  td_vk_coopmat_pick pick = td_vk_coopmat_pick_kernels (&offer);
  if (pick.api == TD_VK_COOPMAT_API_KHR)
    {
      bool off = env != NULL && strcmp (env, "0") == 0;
      choice.available = true;
      choice.enabled = !off;
      choice.reason = off ? "turned off with TD_VULKAN_COOPMAT=0" : NULL;
      info->coopmat_uses_khr = true;
      info->coopmat_bf16_tiles = pick.bf16_tiles;
      info->coopmat_subgroup_size = pick.required_subgroup_size;
      info->coopmat_full_subgroups = pick.require_full_subgroups;
      info->coopmat_khr_preferred = offer.nv_usable && offer.nv_built;
    }
  else if (!choice.available && info->coopmat_khr && !info->coopmat_nv)
    choice.reason = info->coopmat_khr_reason;
  else if (!choice.available && !info->coopmat_khr && !info->coopmat_nv && caps.shaders_built)
    choice.reason = "the device offers neither VK_NV_cooperative_matrix nor VK_KHR_cooperative_matrix";
  info->coopmat_available = choice.available;
  info->coopmat_enabled = choice.enabled;
  info->coopmat_reason = choice.reason;
  /* The emulated kernels need what the shader needs but the extension. */
  info->coopmat_emulated = !choice.enabled && info->fp16_arithmetic && info->storage_16bit
                           && td_vk_coopmat_env_emulate (getenv ("TD_VULKAN_EMULATE_COOPMAT"));
}

/* The number of SMs (VK_NV_shader_sm_builtins) or CUs (VK_AMD_shader_core_properties)
 * where the device reports it, else 0. */
static uint32_t
query_compute_units (VkPhysicalDevice physical, const VkExtensionProperties *exts, uint32_t ext_count)
{
  VkPhysicalDeviceShaderSMBuiltinsPropertiesNV sm = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV,
  };
  VkPhysicalDeviceShaderCorePropertiesAMD cores = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD,
  };
  VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2 };
  if (has_device_extension (exts, ext_count, VK_NV_SHADER_SM_BUILTINS_EXTENSION_NAME))
    props.pNext = &sm;
  else if (has_device_extension (exts, ext_count, VK_AMD_SHADER_CORE_PROPERTIES_EXTENSION_NAME))
    props.pNext = &cores;
  else
    return 0;
  vkGetPhysicalDeviceProperties2 (physical, &props);
  if (props.pNext == &sm)
    return sm.shaderSMCount;
  return cores.shaderEngineCount * cores.shaderArraysPerEngineCount * cores.computeUnitsPerShaderArray;
}

/* The tiled GEMM's tile and the cooperative-matrix GEMM's shape from the per-device
 * table (TD_VULKAN_TILE and TD_VULKAN_COOPMAT_TILE override them). */
static void
choose_tile (td_vulkan_device_info *info, VkPhysicalDeviceType type)
{
  const td_vk_tile_device device = {
    .vendor_id = info->vendor_id, .name = info->name, .cpu = type == VK_PHYSICAL_DEVICE_TYPE_CPU,
    .discrete = type == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, .min_subgroup_size = info->min_subgroup_size,
    .max_subgroup_size = info->max_subgroup_size, .max_shared_memory = info->max_shared_memory,
    .compute_units = info->compute_units,
  };
  const td_vk_tile_entry *tile = td_vk_tile_choose (&device, getenv ("TD_VULKAN_TILE"), &info->tile_why);
  info->tile_name = tile->name;
  info->tile_m = tile->tile_m;
  info->tile_n = tile->tile_n;
  const td_vk_coopmat_shape *shape = td_vk_coopmat_shape_choose (&device, getenv ("TD_VULKAN_COOPMAT_TILE"),
                                                                 &info->coopmat_tile_forced,
                                                                 &info->coopmat_tile_why);
  info->coopmat_tile_m = shape->tile_m;
  info->coopmat_tile_n = shape->tile_n;
}

/* Fills info from the device's properties, features and extensions. */
static void
probe_device (VkInstance instance, VkPhysicalDevice physical, int index, td_vulkan_device_info *info)
{
  memset (info, 0, sizeof *info);
  info->index = index;

  /* The subgroup size range is Vulkan 1.3's (VK_EXT_subgroup_size_control before):
   * chained only where the device knows the structure; the KHR kernels that ask
   * for a size need 1.3 anyway. */
  VkPhysicalDeviceProperties base;
  vkGetPhysicalDeviceProperties (physical, &base);
  VkPhysicalDeviceSubgroupSizeControlProperties size_control = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES,
  };
  VkPhysicalDeviceSubgroupProperties subgroup = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
    .pNext = base.apiVersion >= VK_API_VERSION_1_3 ? &size_control : NULL,
  };
  VkPhysicalDeviceProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
    .pNext = &subgroup,
  };
  vkGetPhysicalDeviceProperties2 (physical, &props);
  snprintf (info->name, sizeof info->name, "%s", props.properties.deviceName);
  info->type = device_type_name (props.properties.deviceType);
  info->api_version = props.properties.apiVersion;
  info->vendor_id = props.properties.vendorID;
  info->device_id = props.properties.deviceID;
  info->subgroup_size = subgroup.subgroupSize;
  info->min_subgroup_size = size_control.minSubgroupSize ? size_control.minSubgroupSize : subgroup.subgroupSize;
  info->max_subgroup_size = size_control.maxSubgroupSize ? size_control.maxSubgroupSize : subgroup.subgroupSize;
  info->subgroup_size_compute = (size_control.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  info->max_storage_buffer_range = props.properties.limits.maxStorageBufferRange;
  info->max_shared_memory = props.properties.limits.maxComputeSharedMemorySize;

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties (physical, &memory);
  info->heap_count = (int) (memory.memoryHeapCount < TD_VULKAN_MAX_HEAPS ? memory.memoryHeapCount
                                                                           : TD_VULKAN_MAX_HEAPS);
  for (int i = 0; i < info->heap_count; i++)
    {
      info->heap_size[i] = memory.memoryHeaps[i].size;
      info->heap_device_local[i] = (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }

  uint32_t ext_count = 0;
  VkExtensionProperties *exts = NULL;
  if (vkEnumerateDeviceExtensionProperties (physical, NULL, &ext_count, NULL) == VK_SUCCESS && ext_count > 0)
    {
      exts = calloc (ext_count, sizeof *exts);
      if (exts == NULL || vkEnumerateDeviceExtensionProperties (physical, NULL, &ext_count, exts) != VK_SUCCESS)
        ext_count = 0;
    }
  info->coopmat_khr = has_device_extension (exts, ext_count, "VK_KHR_cooperative_matrix");
  info->coopmat_nv = has_device_extension (exts, ext_count, "VK_NV_cooperative_matrix");
  info->coopmat2_nv = has_device_extension (exts, ext_count, "VK_NV_cooperative_matrix2");
  info->bfloat16 = has_device_extension (exts, ext_count, "VK_KHR_shader_bfloat16");
  info->compute_units = query_compute_units (physical, exts, ext_count);
  choose_tile (info, props.properties.deviceType);
  info->memory_budget = has_device_extension (exts, ext_count, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  free (exts);

  if (info->api_version < VK_API_VERSION_1_2)
    {
      info->unusable_reason = "needs Vulkan 1.2";
      return;
    }
  VkPhysicalDeviceVulkan13Features f13 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES };
  VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES };
  VkPhysicalDeviceVulkan11Features f11 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                           .pNext = &f12 };
  if (info->api_version >= VK_API_VERSION_1_3)
    f12.pNext = &f13;
  VkPhysicalDeviceFeatures2 features = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11 };
  vkGetPhysicalDeviceFeatures2 (physical, &features);
  info->fp16_arithmetic = f12.shaderFloat16;
  info->storage_16bit = f11.storageBuffer16BitAccess;
  info->subgroup_size_control = f13.subgroupSizeControl;
  info->compute_full_subgroups = f13.computeFullSubgroups;
  info->vulkan_memory_model = f12.vulkanMemoryModel;
  if (!f12.bufferDeviceAddress)
    info->unusable_reason = "no buffer device addresses";
  else if (!features.features.shaderInt64)
    info->unusable_reason = "no 64-bit integers in shaders";
  info->usable = info->unusable_reason == NULL;
  if (info->usable)
    probe_coopmat (instance, physical, info);
  else
    info->coopmat_reason = info->unusable_reason;
}

static int
type_rank (const char *type)
{
  if (strcmp (type, "discrete") == 0)
    return 4;
  if (strcmp (type, "integrated") == 0)
    return 3;
  if (strcmp (type, "virtual") == 0)
    return 2;
  return strcmp (type, "cpu") == 0 ? 1 : 0;
}

static uint64_t
device_local_bytes (const td_vulkan_device_info *info)
{
  uint64_t total = 0;
  for (int i = 0; i < info->heap_count; i++)
    if (info->heap_device_local[i])
      total += info->heap_size[i];
  return total;
}

static bool
name_matches (const char *name, const char *pattern)
{
  size_t n = strlen (pattern);
  for (const char *s = name; *s; s++)
    if (strncasecmp (s, pattern, n) == 0)
      return true;
  return false;
}

/* TD_VULKAN_DEVICE (index or name substring), else the best usable device. */
static int
choose_device (const td_vulkan_device_info *infos, int count, int requested, td_error *err)
{
  const char *env = getenv ("TD_VULKAN_DEVICE");
  if (requested < 0 && env != NULL && env[0] != '\0')
    {
      char *end;
      long index = strtol (env, &end, 10);
      if (*end == '\0')
        requested = (int) index;
      else
        {
          for (int i = 0; i < count; i++)
            if (name_matches (infos[i].name, env))
              {
                requested = i;
                break;
              }
          if (requested < 0)
            return td_error_set (err, TD_ERR_NOT_FOUND, "TD_VULKAN_DEVICE=%s matches no Vulkan device", env), -1;
        }
    }
  if (requested >= 0)
    {
      if (requested >= count)
        return td_error_set (err, TD_ERR_NOT_FOUND, "Vulkan device %d does not exist (%d found)", requested, count),
               -1;
      if (!infos[requested].usable)
        return td_error_set (err, TD_ERR_UNSUPPORTED, "Vulkan device %d (%s) cannot run the engine: %s", requested,
                             infos[requested].name, infos[requested].unusable_reason),
               -1;
      return requested;
    }
  int best = -1;
  for (int i = 0; i < count; i++)
    {
      if (!infos[i].usable)
        continue;
      if (best < 0 || type_rank (infos[i].type) > type_rank (infos[best].type)
          || (type_rank (infos[i].type) == type_rank (infos[best].type)
              && device_local_bytes (&infos[i]) > device_local_bytes (&infos[best])))
        best = i;
    }
  if (best < 0)
    td_error_set (err, TD_ERR_NOT_FOUND, "no usable Vulkan device (%d found; the engine needs Vulkan 1.2 with "
                  "buffer device addresses)", count);
  return best;
}

static td_status
enumerate (VkInstance instance, VkPhysicalDevice **physical, td_vulkan_device_info **infos, int *count,
           td_error *err)
{
  uint32_t n = 0;
  *physical = NULL;
  *infos = NULL;
  *count = 0;
  VkResult result = vkEnumeratePhysicalDevices (instance, &n, NULL);
  if (result != VK_SUCCESS)
    return td_error_set (err, TD_ERR_DEVICE, "listing Vulkan devices failed (VkResult %d)", result);
  if (n == 0)
    return TD_OK;
  *physical = calloc (n, sizeof **physical);
  *infos = calloc (n, sizeof **infos);
  if (*physical == NULL || *infos == NULL)
    {
      free (*physical);
      free (*infos);
      *physical = NULL;
      *infos = NULL;
      return td_error_set (err, TD_ERR_NO_MEMORY, "out of memory listing Vulkan devices");
    }
  vkEnumeratePhysicalDevices (instance, &n, *physical);
  for (uint32_t i = 0; i < n; i++)
    probe_device (instance, (*physical)[i], (int) i, &(*infos)[i]);
  *count = (int) n;
  return TD_OK;
}

td_status
td_vulkan_list_devices (td_vulkan_device_info **out, int *count, td_error *err)
{
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkResult result;
  *out = NULL;
  *count = 0;
  td_status status = create_instance (&instance, &messenger, &result, err);
  if (status != TD_OK)
    return status;
  if (result != VK_SUCCESS)
    return TD_OK; /* no loader or no driver: no devices */
  VkPhysicalDevice *physical;
  status = enumerate (instance, &physical, out, count, err);
  free (physical);
  if (messenger != VK_NULL_HANDLE)
    {
      PFN_vkDestroyDebugUtilsMessengerEXT destroy
        = (PFN_vkDestroyDebugUtilsMessengerEXT) vkGetInstanceProcAddr (instance, "vkDestroyDebugUtilsMessengerEXT");
      if (destroy != NULL)
        destroy (instance, messenger, NULL);
    }
  vkDestroyInstance (instance, NULL);
  return status;
}

td_status
td_vk_fail (td_vk_context *ctx, VkResult result, const char *what, td_error *err)
{
  switch (result)
    {
    case VK_ERROR_DEVICE_LOST:
      if (ctx != NULL)
        ctx->lost = true;
      return td_error_set (err, TD_ERR_DEVICE_LOST,
                           "%s: the GPU was lost (driver reset or crash); recreate the Vulkan backend", what);
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return td_error_set (err, TD_ERR_DEVICE_OOM, "%s: out of GPU memory", what);
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return td_error_set (err, TD_ERR_NO_MEMORY, "%s: the Vulkan driver ran out of host memory", what);
    default:
      return td_error_set (err, TD_ERR_DEVICE, "%s failed (VkResult %d)", what, result);
    }
}

td_status
td_vk_check_alive (td_vk_context *ctx, td_error *err)
{
  if (ctx->lost)
    return td_error_set (err, TD_ERR_DEVICE_LOST, "the GPU was lost earlier; recreate the Vulkan backend");
  return TD_OK;
}

/* As on a device without storageBuffer16BitAccess: the feature stays off and the
 * _p32 shader variants run (tests force this on devices that have it). */
static void
without_16bit_storage (td_vulkan_device_info *info)
{
  info->storage_16bit = false;
  if (info->coopmat_available || info->coopmat_enabled)
    info->coopmat_reason = "16-bit storage is turned off (TD_VULKAN_NO_16BIT_STORAGE=1)";
  info->coopmat_available = false;
  info->coopmat_enabled = false;
  info->coopmat_emulated = false;
  info->coopmat_uses_khr = false;
  info->coopmat_bf16_tiles = false;
}

static td_status
create_device (td_vk_context *ctx, td_error *err)
{
  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties (ctx->physical, &family_count, NULL);
  VkQueueFamilyProperties families[32];
  if (family_count > 32)
    family_count = 32;
  vkGetPhysicalDeviceQueueFamilyProperties (ctx->physical, &family_count, families);
  int chosen = -1;
  /* Prefer a compute queue without graphics (async compute), else any compute queue. */
  for (uint32_t i = 0; i < family_count; i++)
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
      chosen = (int) i;
  for (uint32_t i = 0; i < family_count && chosen < 0; i++)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      chosen = (int) i;
  if (chosen < 0)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s has no compute queue", ctx->info.name);
  ctx->queue_family = (uint32_t) chosen;
  ctx->timestamps = families[chosen].timestampValidBits > 0;
  td_vk_transfer_choose_family (ctx, families, family_count, ctx->queue_family);

  const char *extensions[4];
  uint32_t extension_count = 0;
  if (ctx->info.memory_budget)
    extensions[extension_count++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
  /* The cooperative-matrix shaders use the Vulkan memory model (GL_KHR_memory_scope_semantics).
   * One of the NV and KHR extensions is enabled, as probe_coopmat picked. */
  bool coopmat = ctx->info.coopmat_enabled;
  bool khr = coopmat && ctx->info.coopmat_uses_khr;
  bool bf16 = khr && ctx->info.coopmat_bf16_tiles;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat_nv_features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
    .cooperativeMatrix = VK_TRUE,
  };
  VkPhysicalDeviceShaderBfloat16FeaturesKHR bf16_features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_BFLOAT16_FEATURES_KHR,
    .shaderBFloat16Type = VK_TRUE,
    .shaderBFloat16CooperativeMatrix = VK_TRUE,
  };
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR coopmat_khr_features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
    .pNext = bf16 ? &bf16_features : NULL,
    .cooperativeMatrix = VK_TRUE,
  };
  void *coopmat_features = NULL;
  if (khr)
    {
      extensions[extension_count++] = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
      if (bf16)
        extensions[extension_count++] = VK_KHR_SHADER_BFLOAT16_EXTENSION_NAME;
      coopmat_features = &coopmat_khr_features;
    }
  else if (coopmat)
    {
      extensions[extension_count++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
      coopmat_features = &coopmat_nv_features;
    }

  /* The KHR kernels ask for subgroups of 32 where the device's default is not that. */
  const bool size_control = khr && ctx->info.coopmat_subgroup_size != 0;
  VkPhysicalDeviceVulkan13Features f13 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
    .pNext = coopmat_features,
    .subgroupSizeControl = VK_TRUE,
    .computeFullSubgroups = ctx->info.coopmat_full_subgroups,
  };
  VkPhysicalDeviceVulkan12Features f12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = size_control ? (void *) &f13 : coopmat_features,
    .bufferDeviceAddress = VK_TRUE,
    .timelineSemaphore = ctx->transfer_wanted, /* required of every Vulkan 1.2 device */
    .shaderFloat16 = ctx->info.fp16_arithmetic,
    .vulkanMemoryModel = coopmat,
  };
  VkPhysicalDeviceVulkan11Features f11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .pNext = &f12,
    .storageBuffer16BitAccess = ctx->info.storage_16bit,
  };
  VkPhysicalDeviceFeatures2 features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
    .pNext = &f11,
    .features = { .shaderInt64 = VK_TRUE },
  };
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info[2] = {
    {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = ctx->queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
    },
    {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = ctx->transfer_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
    },
  };
  VkDeviceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &features,
    .queueCreateInfoCount = td_vk_transfer_separate_family (ctx) ? 2 : 1,
    .pQueueCreateInfos = queue_info,
    .enabledExtensionCount = extension_count,
    .ppEnabledExtensionNames = extensions,
  };
  VkResult result = vkCreateDevice (ctx->physical, &info, NULL, &ctx->device);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "creating the Vulkan device", err);
  vkGetDeviceQueue (ctx->device, ctx->queue_family, 0, &ctx->queue);

  VkPhysicalDeviceMaintenance3Properties maintenance3 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                        .pNext = &maintenance3 };
  vkGetPhysicalDeviceProperties2 (ctx->physical, &props);
  ctx->max_allocation = maintenance3.maxMemoryAllocationSize;
  ctx->timestamp_period = props.properties.limits.timestampPeriod;
  if (!props.properties.limits.timestampComputeAndGraphics)
    ctx->timestamps = false;
  return TD_OK;
}

static void
context_destroy (td_vk_context *ctx)
{
  if (ctx->device != VK_NULL_HANDLE)
    {
      vkDeviceWaitIdle (ctx->device);
      td_vk_transfer_destroy (ctx);
      td_vk_exec_destroy (ctx);
      td_vk_pipelines_destroy (ctx);
      td_vk_memory_destroy (ctx);
      vkDestroyDevice (ctx->device, NULL);
    }
  if (ctx->messenger != VK_NULL_HANDLE && ctx->destroy_messenger != NULL)
    ctx->destroy_messenger (ctx->instance, ctx->messenger, NULL);
  if (ctx->instance != VK_NULL_HANDLE)
    vkDestroyInstance (ctx->instance, NULL);
  free (ctx);
}

void
td_vk_context_unref (td_vk_context *ctx)
{
  if (ctx != NULL && --ctx->refcount == 0)
    context_destroy (ctx);
}

td_vk_context *
td_vk_context_new (int device_index, td_error *err)
{
  td_vk_context *ctx = calloc (1, sizeof *ctx);
  if (ctx == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory creating the Vulkan backend");
      return NULL;
    }
  ctx->refcount = 1;
  VkResult result;
  if (create_instance (&ctx->instance, &ctx->messenger, &result, err) != TD_OK)
    {
      free (ctx);
      return NULL;
    }
  if (result != VK_SUCCESS)
    {
      td_error_set (err, TD_ERR_NOT_FOUND, "no Vulkan driver (vkCreateInstance: VkResult %d)", result);
      free (ctx);
      return NULL;
    }
  ctx->destroy_messenger
    = (PFN_vkDestroyDebugUtilsMessengerEXT) vkGetInstanceProcAddr (ctx->instance, "vkDestroyDebugUtilsMessengerEXT");

  VkPhysicalDevice *physical;
  td_vulkan_device_info *infos;
  int count, chosen = -1;
  if (enumerate (ctx->instance, &physical, &infos, &count, err) == TD_OK)
    {
      chosen = choose_device (infos, count, device_index, err);
      if (chosen >= 0)
        {
          ctx->physical = physical[chosen];
          ctx->info = infos[chosen];
          if (env_flag ("TD_VULKAN_NO_16BIT_STORAGE"))
            without_16bit_storage (&ctx->info);
          ctx->coopmat_emulate = ctx->info.coopmat_emulated;
        }
      free (physical);
      free (infos);
    }
  if (chosen < 0 || create_device (ctx, err) != TD_OK || td_vk_memory_init (ctx, err) != TD_OK
      || td_vk_pipelines_init (ctx, err) != TD_OK || td_vk_exec_init (ctx, err) != TD_OK
      || td_vk_transfer_init (ctx, err) != TD_OK)
    {
      context_destroy (ctx);
      return NULL;
    }
  ctx->profile = env_flag ("TD_VULKAN_PROFILE") && ctx->timestamps;
  return ctx;
}
