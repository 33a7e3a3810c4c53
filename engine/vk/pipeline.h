// Compute pipelines, created lazily on first use and cached by (shader, specialization constants).
// Every shader binds N storage buffers at set 0, bindings 0..N-1, through push descriptors, and
// takes one push-constant block. The VkPipelineCache is loaded from and saved to
// $XDG_CACHE_HOME/distilscope (or ~/.cache/distilscope), one file per device and driver.
#pragma once
#include <vulkan/vulkan.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vk/handle.h"

namespace ds {
class Device;
}

namespace ds::vk {

struct Pipeline {
  std::string name;
  uint32_t n_buffers = 0;
  uint32_t push_bytes = 0;
  DeviceHandle<VkShaderModule> module;
  DeviceHandle<VkDescriptorSetLayout> set_layout;
  DeviceHandle<VkPipelineLayout> layout;
  DeviceHandle<VkPipeline> pipeline;
};

class PipelineRegistry {
 public:
  PipelineRegistry(Device& dev, bool use_disk_cache);
  ~PipelineRegistry();  // saves the cache
  const Pipeline& get(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                      const std::vector<uint32_t>& spec);
  size_t size() const { return pipelines_.size(); }
  const std::string& cache_path() const { return cache_path_; }
  void save() const;

 private:
  Device& dev_;
  std::string cache_path_;
  DeviceHandle<VkPipelineCache> cache_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

// The user's cache directory for DistilScope (created if missing): $XDG_CACHE_HOME/distilscope
// or $HOME/.cache/distilscope.
std::string user_cache_dir();

}  // namespace ds::vk
