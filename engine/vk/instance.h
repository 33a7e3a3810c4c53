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
  explicit Instance(bool validation);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  bool validation() const { return validation_; }
  // Every physical device, usable ones first (by type rank), each with its reason if unusable.
  std::vector<PhysicalCandidate> survey() const;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  bool validation_ = false;
};

// Device extensions and features the engine requires (checked by survey, enabled by Device::open).
inline constexpr const char* k_required_device_extensions[] = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};

}  // namespace ds::vk
