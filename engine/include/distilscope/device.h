// Public device API: list the Vulkan devices (with the reason any is unusable), open one by
// preference, index or name. A Device owns the VkInstance/VkDevice, the compute queue, memory,
// the pipeline registry (with its on-disk VkPipelineCache) and GPU timestamps. No Qt here.
#pragma once
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "distilscope/queue_turns.h"

namespace ds {

namespace vk {
class Instance;
class PipelineRegistry;
class StagingPool;
struct Pipeline;
}  // namespace vk

struct DeviceInfo {
  int index = 0;                  // position in list_devices() (selection order)
  std::string name;
  std::string type;               // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver;             // driver name and version
  std::string api_version;        // "1.3.230"
  uint64_t device_local_bytes = 0;
  bool usable = false;
  std::string reason;             // why not usable (empty when usable)
  bool coopmat_nv = false;        // VK_NV_cooperative_matrix offered (tensor cores)
};

struct DeviceOptions {
  // "" = best usable (discrete, integrated, virtual, cpu); a number = index in list_devices();
  // anything else = first usable device whose name contains it (case-insensitive).
  std::string select;
  // Enable VK_LAYER_KHRONOS_validation; every warning/error message is counted (tests fail on any).
  // Default: on when the environment has DS_VALIDATION=1.
  bool validation = false;
  bool profile = false;           // per-op GPU timestamps
  bool pipeline_cache = true;     // load/save the VkPipelineCache under the user cache dir
  // For a UI that draws on the same VkDevice: the instance also gets VK_KHR_surface and the
  // platform surface extensions the loader offers (xcb, xlib, wayland), the device VK_KHR_swapchain
  // when offered, and the queue is taken from a family with graphics + compute. Headless use
  // (the default) is unchanged.
  bool presentation = false;
};

// Lists every physical device in selection order (usable first by type, then unusable ones).
std::vector<DeviceInfo> list_devices();

// Validation messages seen by any Device/Instance in this process (warnings and errors).
uint64_t validation_message_count();
std::string last_validation_message();

class Device {
 public:
  static std::unique_ptr<Device> open(const DeviceOptions& opts = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const { return info_; }
  bool profiling() const { return profile_; }
  // Opened with DeviceOptions::presentation and the device offers VK_KHR_swapchain; the queue
  // then also supports graphics when any family does.
  bool can_present() const { return can_present_; }
  // Instance extensions enabled (VK_KHR_surface, VK_KHR_xcb_surface, ...): what a windowing
  // layer wrapping instance() may rely on.
  const std::vector<std::string>& instance_extensions() const;

  // --- Vulkan handles (for the engine and for a UI sharing the device) ---
  VkInstance instance() const;
  VkPhysicalDevice physical() const { return physical_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  std::mutex& queue_mutex() { return queue_mutex_; }  // vkQueueSubmit is externally synchronized
  // The queue a UI draws and presents with (opened with presentation): a second queue of the same
  // family when the device offers one (then UI frames never wait behind engine work), else queue().
  VkQueue ui_queue() const { return ui_queue_; }
  std::mutex& ui_queue_mutex() { return ui_queue_ == queue_ ? queue_mutex_ : ui_queue_mutex_; }
  // Turns at the queue between engine submissions and a UI's frames; enabled when the UI has to share
  // the engine's queue (ui_queue() == queue()), see queue_turns.h.
  QueueTurns& queue_turns() { return queue_turns_; }
  const VkPhysicalDeviceProperties& props() const { return props_; }
  const VkPhysicalDeviceMemoryProperties& mem_props() const { return mem_props_; }
  uint32_t subgroup_size() const { return subgroup_size_; }
  bool has_coopmat_nv() const { return coopmat_nv_; }
  float timestamp_period_ns() const { return props_.limits.timestampPeriod; }
  PFN_vkCmdPushDescriptorSetKHR push_descriptor_fn() const { return push_descriptor_; }

  // --- engine internals ---
  // A compute pipeline for an embedded shader, created on first use and cached by (name, spec).
  const vk::Pipeline& pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                               const std::vector<uint32_t>& spec = {});
  // Memory type index for a kind of allocation; throws naming the need when none fits.
  uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid = 0) const;
  // Device memory currently allocated through this Device, in bytes (all arenas).
  uint64_t allocated_bytes() const { return allocated_.load(); }
  void note_alloc(int64_t delta) { allocated_ += delta; }
  vk::StagingPool& staging();
  VkCommandPool command_pool() const { return pool_; }
  std::mutex& pool_mutex() { return pool_mutex_; }

 private:
  Device() = default;
  DeviceInfo info_;
  bool profile_ = false;
  bool can_present_ = false;
  std::unique_ptr<vk::Instance> instance_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkQueue ui_queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props_{};
  VkPhysicalDeviceMemoryProperties mem_props_{};
  uint32_t subgroup_size_ = 0;
  bool coopmat_nv_ = false;
  PFN_vkCmdPushDescriptorSetKHR push_descriptor_ = nullptr;
  std::mutex queue_mutex_, ui_queue_mutex_, pool_mutex_;
  QueueTurns queue_turns_;
  std::atomic<int64_t> allocated_{0};
  std::unique_ptr<vk::PipelineRegistry> pipelines_;
  std::unique_ptr<vk::StagingPool> staging_;
};

}  // namespace ds
