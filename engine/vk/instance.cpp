// Instance creation, validation messenger, and the device survey with reasons for rejection.
#include "vk/instance.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "vk/check.h"

namespace ds {

namespace {
std::atomic<uint64_t> g_validation_messages{0};
std::mutex g_last_mutex;
std::string g_last_message;

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
    g_validation_messages++;
    std::fprintf(stderr, "[vk validation] %s\n", data->pMessage);
    std::lock_guard<std::mutex> lock(g_last_mutex);
    g_last_message = data->pMessage;
  }
  return VK_FALSE;
}
}  // namespace

uint64_t validation_message_count() { return g_validation_messages.load(); }
std::string last_validation_message() {
  std::lock_guard<std::mutex> lock(g_last_mutex);
  return g_last_message;
}

namespace vk {

const char* result_name(VkResult r) {
  switch (r) {
#define DS_CASE(x) \
  case x:          \
    return #x;
    DS_CASE(VK_SUCCESS) DS_CASE(VK_NOT_READY) DS_CASE(VK_TIMEOUT) DS_CASE(VK_INCOMPLETE)
    DS_CASE(VK_ERROR_OUT_OF_HOST_MEMORY) DS_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    DS_CASE(VK_ERROR_INITIALIZATION_FAILED) DS_CASE(VK_ERROR_DEVICE_LOST)
    DS_CASE(VK_ERROR_MEMORY_MAP_FAILED) DS_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    DS_CASE(VK_ERROR_EXTENSION_NOT_PRESENT) DS_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    DS_CASE(VK_ERROR_INCOMPATIBLE_DRIVER) DS_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    DS_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED) DS_CASE(VK_ERROR_FRAGMENTED_POOL)
    DS_CASE(VK_ERROR_OUT_OF_POOL_MEMORY) DS_CASE(VK_ERROR_INVALID_SHADER_NV)
#undef DS_CASE
    default:
      return "VkResult(unknown)";
  }
}

void throw_vk_error(VkResult r, const char* expr, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  fail("[vk] ", expr, " failed: ", result_name(r), " (", int(r), ") at ", base ? base + 1 : file, ":", line);
}

namespace {
bool layer_available(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

std::vector<std::string> available_instance_extensions() {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> props(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, props.data());
  std::vector<std::string> out;
  for (auto& p : props) out.push_back(p.extensionName);
  return out;
}

// Surface extensions for DeviceOptions::presentation: the generic one plus each platform's.
constexpr const char* k_surface_extensions[] = {"VK_KHR_surface", "VK_KHR_xcb_surface", "VK_KHR_xlib_surface",
                                                "VK_KHR_wayland_surface"};
}  // namespace

Instance::Instance(bool validation, bool presentation) : validation_(validation) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "DistilScope";
  app.pEngineName = "distilscope-engine";
  app.apiVersion = VK_API_VERSION_1_2;

  std::vector<const char*> layers, exts;
  const char* k_validation = "VK_LAYER_KHRONOS_validation";
  if (validation) {
    if (!layer_available(k_validation))
      fail("[vk] validation requested but ", k_validation,
           " is not installed (Debian: apt-get install vulkan-validationlayers)");
    layers.push_back(k_validation);
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  if (presentation) {
    auto available = available_instance_extensions();
    auto offered = [&](const char* e) { return std::find(available.begin(), available.end(), e) != available.end(); };
    if (!offered("VK_KHR_surface"))
      fail("[vk] presentation requested but the Vulkan loader offers no VK_KHR_surface (no windowing support)");
    for (const char* e : k_surface_extensions)
      if (offered(e)) exts.push_back(e);
  }
  for (const char* e : exts) extensions_.push_back(e);
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  VkResult r = vkCreateInstance(&ci, nullptr, &instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    fail("[vk] no Vulkan driver could be loaded (", result_name(r),
         "); on a machine without a GPU install Mesa's lavapipe: apt-get install mesa-vulkan-drivers");
  VK_CHECK(r);

  if (validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
    mi.pfnUserCallback = debug_callback;
    if (create) VK_CHECK(create(instance_, &mi, nullptr, &messenger_));
  }
}

Instance::~Instance() {
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

namespace {

std::string version_str(uint32_t v) {
  return cat(VK_API_VERSION_MAJOR(v), ".", VK_API_VERSION_MINOR(v), ".", VK_API_VERSION_PATCH(v));
}

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
  for (auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

}  // namespace

bool supports_coopmat_f16_16x16x16(VkInstance instance, VkPhysicalDevice pd) {
  auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  if (!get) return false;
  uint32_t n = 0;
  if (get(pd, &n, nullptr) != VK_SUCCESS) return false;
  std::vector<VkCooperativeMatrixPropertiesNV> props(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  if (get(pd, &n, props.data()) != VK_SUCCESS) return false;
  for (const auto& p : props)
    if (p.MSize == 16 && p.NSize == 16 && p.KSize == 16 && p.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
        p.BType == VK_COMPONENT_TYPE_FLOAT16_NV && p.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
        p.DType == VK_COMPONENT_TYPE_FLOAT32_NV && p.scope == VK_SCOPE_SUBGROUP_NV)
      return true;
  return false;
}

std::vector<std::string> missing_requirements(const DeviceCaps& caps) {
  std::vector<std::string> missing;
  if (caps.api_version < VK_API_VERSION_1_2) missing.push_back("Vulkan 1.2 (has " + version_str(caps.api_version) + ")");
  if (!caps.compute_queue_with_timestamps) missing.push_back("a compute queue with timestamps");
  for (const char* e : k_required_device_extensions)
    if (std::find(caps.extensions.begin(), caps.extensions.end(), e) == caps.extensions.end()) missing.push_back(e);
  if (!caps.storage_16bit) missing.push_back("16-bit storage (storageBuffer16BitAccess)");
  if (!caps.storage_8bit) missing.push_back("8-bit storage (storageBuffer8BitAccess)");
  if (!caps.float16) missing.push_back("shaderFloat16");
  if (!caps.int8) missing.push_back("shaderInt8");
  if (!caps.subgroup_arithmetic_in_compute) missing.push_back("subgroup basic+arithmetic operations in compute");
  if (caps.max_invocations < 256) missing.push_back("256 invocations per workgroup (has " + std::to_string(caps.max_invocations) + ")");
  if (caps.shared_memory < 16384) missing.push_back("16 KiB shared memory (has " + std::to_string(caps.shared_memory) + " bytes)");
  if (caps.push_constant_bytes < 128) missing.push_back("128 bytes of push constants (has " + std::to_string(caps.push_constant_bytes) + ")");
  return missing;
}

std::vector<PhysicalCandidate> Instance::survey() const {
  uint32_t n = 0;
  VK_CHECK(vkEnumeratePhysicalDevices(instance_, &n, nullptr));
  std::vector<VkPhysicalDevice> devs(n);
  VK_CHECK(vkEnumeratePhysicalDevices(instance_, &n, devs.data()));

  std::vector<PhysicalCandidate> out;
  for (VkPhysicalDevice pd : devs) {
    PhysicalCandidate c;
    c.handle = pd;
    VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, &driver};
    VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup};
    vkGetPhysicalDeviceProperties2(pd, &props2);
    const auto& p = props2.properties;
    c.info.name = p.deviceName;
    c.info.api_version = version_str(p.apiVersion);
    c.info.driver = cat(driver.driverName, " ", driver.driverInfo);
    switch (p.deviceType) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: c.info.type = "discrete"; c.type_rank = 0; break;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: c.info.type = "integrated"; c.type_rank = 1; break;
      case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: c.info.type = "virtual"; c.type_rank = 2; break;
      case VK_PHYSICAL_DEVICE_TYPE_CPU: c.info.type = "cpu"; c.type_rank = 3; break;
      default: c.info.type = "other"; c.type_rank = 4; break;
    }
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t h = 0; h < mp.memoryHeapCount; ++h)
      if (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) c.info.device_local_bytes += mp.memoryHeaps[h].size;

    uint32_t ne = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &ne, nullptr);
    std::vector<VkExtensionProperties> exts(ne);
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &ne, exts.data());
    c.info.coopmat_nv = has_extension(exts, "VK_NV_cooperative_matrix");

    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
    if (p.apiVersion >= VK_API_VERSION_1_2) vkGetPhysicalDeviceFeatures2(pd, &f2);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qf(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf.data());
    int compute_family = -1;
    for (uint32_t q = 0; q < nq; ++q)
      if ((qf[q].queueFlags & VK_QUEUE_COMPUTE_BIT) && qf[q].timestampValidBits > 0) {
        compute_family = int(q);
        break;
      }

    DeviceCaps caps;
    caps.api_version = p.apiVersion;
    caps.compute_queue_with_timestamps = compute_family >= 0;
    for (auto& e : exts) caps.extensions.push_back(e.extensionName);
    caps.storage_16bit = f11.storageBuffer16BitAccess;
    caps.storage_8bit = f12.storageBuffer8BitAccess;
    caps.float16 = f12.shaderFloat16;
    caps.int8 = f12.shaderInt8;
    const VkSubgroupFeatureFlags need_sg = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    caps.subgroup_arithmetic_in_compute =
        (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) && (subgroup.supportedOperations & need_sg) == need_sg;
    caps.max_invocations = p.limits.maxComputeWorkGroupInvocations;
    caps.shared_memory = p.limits.maxComputeSharedMemorySize;
    caps.push_constant_bytes = p.limits.maxPushConstantsSize;
    std::vector<std::string> missing = missing_requirements(caps);

    c.queue_family = compute_family < 0 ? 0 : uint32_t(compute_family);
    c.info.usable = missing.empty();
    if (!missing.empty()) {
      c.info.reason = "missing ";
      for (size_t i = 0; i < missing.size(); ++i) c.info.reason += (i ? ", " : "") + missing[i];
    }
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(), [](const PhysicalCandidate& a, const PhysicalCandidate& b) {
    if (a.info.usable != b.info.usable) return a.info.usable;
    return a.type_rank < b.type_rank;
  });
  for (size_t i = 0; i < out.size(); ++i) out[i].info.index = int(i);
  return out;
}

}  // namespace vk
}  // namespace ds
