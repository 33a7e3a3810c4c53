// vk::Instance: the VkInstance (optionally with the Khronos validation layer and a debug messenger
// that counts every warning/error), and the physical-device survey behind list_devices().
#pragma once
#include <vulkan/vulkan.h>

#include <string>
#include <vector>

#include "distilscope/device.h"

namespace ds::vk {

struct PhysicalCandidate {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  DeviceInfo info;
  uint32_t queue_family = 0;
  int type_rank = 0;  // 0 discrete, 1 integrated, 2 virtual, 3 cpu, 4 other
};

class Instance {
 public:
  // presentation: also enable VK_KHR_surface and every platform surface extension offered.
  explicit Instance(bool validation, bool presentation = false);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  bool validation() const { return validation_; }
  const std::vector<std::string>& extensions() const { return extensions_; }
  // Every physical device, usable ones first (by type rank), each with its reason if unusable.
  std::vector<PhysicalCandidate> survey() const;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  bool validation_ = false;
  std::vector<std::string> extensions_;  // enabled instance extensions
};

// Device extensions and features the engine requires (checked by survey, enabled by Device::open).
inline constexpr const char* k_required_device_extensions[] = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};

// What the survey reads off a physical device, reduced to what the engine's requirements test.
struct DeviceCaps {
  uint32_t api_version = 0;
  bool compute_queue_with_timestamps = false;
  std::vector<std::string> extensions;
  bool storage_16bit = false, storage_8bit = false, float16 = false, int8 = false;
  bool subgroup_arithmetic_in_compute = false;
  uint32_t max_invocations = 0, shared_memory = 0, push_constant_bytes = 0;
};
// Whether the device's VK_NV_cooperative_matrix offers 16x16x16 subgroup matrices with F16 inputs and
// F32 accumulators (what shaders/matmul_coopmat.comp uses).
bool supports_coopmat_f16_16x16x16(VkInstance instance, VkPhysicalDevice pd);

// The requirements a device misses, in words ("16-bit storage (storageBuffer16BitAccess)"); empty = usable.
std::vector<std::string> missing_requirements(const DeviceCaps& caps);

}  // namespace ds::vk
