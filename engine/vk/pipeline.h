// Compute pipelines, created lazily on first use and cached by (shader, specialization constants).
// Every shader binds N storage buffers at set 0, bindings 0..N-1, through push descriptors, and
// takes one push-constant block. A chained variant ("<shader>_chain", shaders/chain.glsl) also binds two
// chain slots at bindings 14 and 15 (vk::Recorder chain mode). The VkPipelineCache is loaded from and saved to
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

inline constexpr uint32_t k_chain_wait_binding = 14, k_chain_signal_binding = 15;

struct Pipeline {
  std::string name;    // shader name and specialization constants (the cache key)
  std::string shader;  // the embedded shader's name
  std::vector<uint32_t> spec;
  bool chained = false;  // binds the chain slots too
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
  // The chained variant of p ("<shader>_chain", same specialization), or nullptr where none is built in.
  const Pipeline* chained(const Pipeline& p);
  size_t size() const { return pipelines_.size(); }
  const std::string& cache_path() const { return cache_path_; }
  void save() const;

 private:
  Device& dev_;
  std::string cache_path_;
  DeviceHandle<VkPipelineCache> cache_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
  std::map<const Pipeline*, const Pipeline*> chained_;  // p -> its chained variant (nullptr: none)
};

// The user's cache directory for DistilScope (created if missing): $XDG_CACHE_HOME/distilscope
// or $HOME/.cache/distilscope.
std::string user_cache_dir();

}  // namespace ds::vk
