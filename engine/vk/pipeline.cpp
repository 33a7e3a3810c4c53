// PipelineRegistry: lazy creation, spec constants, VkPipelineCache persistence (tmp + rename).
#include "vk/pipeline.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "distilscope/device.h"
#include "vk/check.h"
#include "vk/shader_registry.h"

namespace ds::vk {

std::string user_cache_dir() {
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    base = std::string(h) + "/.cache";
  } else {
    base = "/tmp";
  }
  ::mkdir(base.c_str(), 0755);
  std::string dir = base + "/distilscope";
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

PipelineRegistry::PipelineRegistry(Device& dev, bool use_disk_cache) : dev_(dev) {
  std::vector<char> blob;
  if (use_disk_cache) {
    const auto& p = dev.props();
    char id[96];
    std::snprintf(id, sizeof id, "pipelines-%04x-%04x-%08x.bin", p.vendorID, p.deviceID, p.driverVersion);
    cache_path_ = user_cache_dir() + "/" + id;
    std::ifstream in(cache_path_, std::ios::binary);
    if (in) blob.assign(std::istreambuf_iterator<char>(in), {});
    // The header carries vendor, device and the pipeline-cache UUID; a stale or foreign blob is dropped
    // here rather than trusted to the driver.
    if (blob.size() >= 16 + VK_UUID_SIZE) {
      uint32_t vendor, device;
      std::memcpy(&vendor, blob.data() + 8, 4);
      std::memcpy(&device, blob.data() + 12, 4);
      if (vendor != p.vendorID || device != p.deviceID || std::memcmp(blob.data() + 16, p.pipelineCacheUUID, VK_UUID_SIZE) != 0)
        blob.clear();
    } else {
      blob.clear();
    }
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = blob.size();
  ci.pInitialData = blob.empty() ? nullptr : blob.data();
  VkPipelineCache c;
  VK_CHECK(vkCreatePipelineCache(dev.handle(), &ci, nullptr, &c));
  cache_ = DeviceHandle<VkPipelineCache>(dev.handle(), c, vkDestroyPipelineCache);
}

PipelineRegistry::~PipelineRegistry() {
  try {
    save();
  } catch (...) {
    // A cache that cannot be written only costs compile time on the next start.
  }
}

void PipelineRegistry::save() const {
  if (cache_path_.empty()) return;
  size_t n = 0;
  VK_CHECK(vkGetPipelineCacheData(dev_.handle(), cache_, &n, nullptr));
  std::vector<char> blob(n);
  VK_CHECK(vkGetPipelineCacheData(dev_.handle(), cache_, &n, blob.data()));
  std::string tmp = cache_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out.write(blob.data(), std::streamsize(n));
    if (!out) {
      std::remove(tmp.c_str());
      return;
    }
  }
  std::rename(tmp.c_str(), cache_path_.c_str());
}

const Pipeline& PipelineRegistry::get(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                      const std::vector<uint32_t>& spec) {
  std::string key = shader;
  for (uint32_t s : spec) key += ":" + std::to_string(s);
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) {
    const Pipeline& p = *it->second;
    DS_CHECK(p.n_buffers == n_buffers && p.push_bytes == push_bytes, "[vk] pipeline ", key, " requested with ",
             n_buffers, " buffers/", push_bytes, " push bytes, created with ", p.n_buffers, "/", p.push_bytes);
    return p;
  }
  DS_CHECK(push_bytes <= dev_.props().limits.maxPushConstantsSize, "[vk] shader ", shader, " needs ", push_bytes,
           " push-constant bytes, device allows ", dev_.props().limits.maxPushConstantsSize);
  VkDevice d = dev_.handle();
  auto p = std::make_unique<Pipeline>();
  p->name = key;
  p->n_buffers = n_buffers;
  p->push_bytes = push_bytes;

  auto words = find_shader(shader);
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = words.size() * 4;
  mi.pCode = words.data();
  VkShaderModule m;
  VK_CHECK(vkCreateShaderModule(d, &mi, nullptr, &m));
  p->module = DeviceHandle<VkShaderModule>(d, m, vkDestroyShaderModule);

  std::vector<VkDescriptorSetLayoutBinding> binds(n_buffers);
  for (uint32_t i = 0; i < n_buffers; ++i)
    binds[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
  li.bindingCount = n_buffers;
  li.pBindings = binds.data();
  VkDescriptorSetLayout sl;
  VK_CHECK(vkCreateDescriptorSetLayout(d, &li, nullptr, &sl));
  p->set_layout = DeviceHandle<VkDescriptorSetLayout>(d, sl, vkDestroyDescriptorSetLayout);

  VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &sl;
  pli.pushConstantRangeCount = push_bytes ? 1 : 0;
  pli.pPushConstantRanges = push_bytes ? &pr : nullptr;
  VkPipelineLayout pl;
  VK_CHECK(vkCreatePipelineLayout(d, &pli, nullptr, &pl));
  p->layout = DeviceHandle<VkPipelineLayout>(d, pl, vkDestroyPipelineLayout);

  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * 4, spec.data()};
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = m;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  ci.layout = pl;
  VkPipeline pipe;
  VK_CHECK(vkCreateComputePipelines(d, cache_, 1, &ci, nullptr, &pipe));
  p->pipeline = DeviceHandle<VkPipeline>(d, pipe, vkDestroyPipeline);
  auto& ref = *p;
  pipelines_.emplace(key, std::move(p));
  return ref;
}

}  // namespace ds::vk
