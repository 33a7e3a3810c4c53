// Device::open: picks a physical device (with reasons for the ones skipped), creates the VkDevice
// with the features the shaders need, the command pool, the pipeline registry and staging.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "distilscope/device.h"
#include "vk/check.h"
#include "vk/instance.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

namespace ds {

namespace {
bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string describe_all(const std::vector<vk::PhysicalCandidate>& all) {
  std::string s;
  for (auto& c : all)
    s += cat(s.empty() ? " devices: " : "; ", "[", c.info.index, "] ", c.info.name, " (", c.info.type, ", ",
             c.info.usable ? "usable" : c.info.reason, ")");
  return s.empty() ? " (no Vulkan devices found)" : s;
}

// For presentation: a queue family with graphics, compute and timestamps (the UI draws and the
// engine computes on the same queue), if the device has one.
std::optional<uint32_t> graphics_compute_family(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> qf(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, qf.data());
  const VkQueueFlags want = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT;
  for (uint32_t q = 0; q < n; ++q)
    if ((qf[q].queueFlags & want) == want && qf[q].timestampValidBits > 0) return q;
  return std::nullopt;
}

bool device_has_extension(VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  for (auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}
}  // namespace

std::vector<DeviceInfo> list_devices() {
  vk::Instance inst(false);
  std::vector<DeviceInfo> out;
  for (auto& c : inst.survey()) out.push_back(c.info);
  return out;
}

std::unique_ptr<Device> Device::open(const DeviceOptions& opts) {
  std::unique_ptr<Device> dev(new Device());
  dev->profile_ = opts.profile;
  dev->instance_ = std::make_unique<vk::Instance>(opts.validation || env_flag("DS_VALIDATION"), opts.presentation);
  auto all = dev->instance_->survey();

  const vk::PhysicalCandidate* pick = nullptr;
  const std::string& sel = opts.select;
  if (sel.empty()) {
    for (auto& c : all)
      if (c.info.usable) {
        pick = &c;
        break;
      }
    if (!pick) fail("[vk] no usable Vulkan device:", describe_all(all));
  } else if (std::all_of(sel.begin(), sel.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
    size_t i = std::stoul(sel);
    if (i >= all.size()) fail("[vk] device index ", i, " does not exist (", all.size(), " devices):", describe_all(all));
    pick = &all[i];
    if (!pick->info.usable) fail("[vk] device ", i, " (", pick->info.name, ") is not usable: ", pick->info.reason);
  } else {
    for (auto& c : all)
      if (lower(c.info.name).find(lower(sel)) != std::string::npos) {
        if (!c.info.usable) fail("[vk] device '", c.info.name, "' is not usable: ", c.info.reason);
        pick = &c;
        break;
      }
    if (!pick) fail("[vk] no device name contains '", sel, "':", describe_all(all));
  }

  dev->info_ = pick->info;
  dev->physical_ = pick->handle;
  dev->queue_family_ = pick->queue_family;
  if (opts.presentation) {
    if (auto family = graphics_compute_family(dev->physical_)) dev->queue_family_ = *family;
    dev->can_present_ = device_has_extension(dev->physical_, VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  }
  vkGetPhysicalDeviceProperties(dev->physical_, &dev->props_);
  vkGetPhysicalDeviceMemoryProperties(dev->physical_, &dev->mem_props_);
  VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &sg};
  vkGetPhysicalDeviceProperties2(dev->physical_, &p2);
  dev->subgroup_size_ = sg.subgroupSize;

  // With presentation, a second queue of the family (when offered) for the UI, so that its
  // frames never queue behind the engine's work; otherwise both share the one queue.
  uint32_t n_families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(dev->physical_, &n_families, nullptr);
  std::vector<VkQueueFamilyProperties> families(n_families);
  vkGetPhysicalDeviceQueueFamilyProperties(dev->physical_, &n_families, families.data());
  const uint32_t n_queues = opts.presentation && families[dev->queue_family_].queueCount >= 2 ? 2 : 1;
  const float prio[2] = {1.0f, 1.0f};
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = dev->queue_family_;
  qi.queueCount = n_queues;
  qi.pQueuePriorities = prio;

  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f12.storageBuffer8BitAccess = VK_TRUE;
  f12.shaderFloat16 = VK_TRUE;
  f12.shaderInt8 = VK_TRUE;
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
  f11.storageBuffer16BitAccess = VK_TRUE;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
  VkPhysicalDeviceFeatures supported{};
  vkGetPhysicalDeviceFeatures(dev->physical_, &supported);
  f2.features.shaderInt16 = supported.shaderInt16;
  f2.features.shaderInt64 = supported.shaderInt64;

  std::vector<const char*> exts(std::begin(vk::k_required_device_extensions), std::end(vk::k_required_device_extensions));
  // Tensor cores: VK_NV_cooperative_matrix with 16x16x16 F16 x F16 + F32 (and the Vulkan memory model
  // its SPIR-V declares). DS_NO_COOPMAT=1 turns it off (to compare paths).
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  if (pick->info.coopmat_nv && !env_flag("DS_NO_COOPMAT") && vk::supports_coopmat_f16_16x16x16(dev->instance(), dev->physical_)) {
    VkPhysicalDeviceVulkan12Features s12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceFeatures2 sf{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &s12};
    vkGetPhysicalDeviceFeatures2(dev->physical_, &sf);
    if (s12.vulkanMemoryModel) {
      exts.push_back("VK_NV_cooperative_matrix");
      coop.cooperativeMatrix = VK_TRUE;
      coop.pNext = f2.pNext;
      f2.pNext = &coop;
      f12.vulkanMemoryModel = VK_TRUE;
      dev->coopmat_nv_ = true;
    }
  }
  if (dev->can_present_) exts.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &f2};
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &qi;
  ci.enabledExtensionCount = uint32_t(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  VK_CHECK(vkCreateDevice(dev->physical_, &ci, nullptr, &dev->device_));
  vkGetDeviceQueue(dev->device_, dev->queue_family_, 0, &dev->queue_);
  dev->ui_queue_ = dev->queue_;
  if (n_queues == 2) vkGetDeviceQueue(dev->device_, dev->queue_family_, 1, &dev->ui_queue_);
  dev->push_descriptor_ = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(
      vkGetDeviceProcAddr(dev->device_, "vkCmdPushDescriptorSetKHR"));
  DS_CHECK(dev->push_descriptor_, "[vk] ", dev->info_.name, ": vkCmdPushDescriptorSetKHR not found");

  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = dev->queue_family_;
  VK_CHECK(vkCreateCommandPool(dev->device_, &pi, nullptr, &dev->pool_));

  dev->pipelines_ = std::make_unique<vk::PipelineRegistry>(*dev, opts.pipeline_cache && !env_flag("DS_NO_PIPELINE_CACHE"));
  dev->staging_ = std::make_unique<vk::StagingPool>(*dev);
  return dev;
}

Device::~Device() {
  if (device_) vkDeviceWaitIdle(device_);
  staging_.reset();
  pipelines_.reset();
  if (pool_) vkDestroyCommandPool(device_, pool_, nullptr);
  if (device_) vkDestroyDevice(device_, nullptr);
}

VkInstance Device::instance() const { return instance_->handle(); }
const std::vector<std::string>& Device::instance_extensions() const { return instance_->extensions(); }

const vk::Pipeline& Device::pipeline(const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                                     const std::vector<uint32_t>& spec) {
  return pipelines_->get(shader, n_buffers, push_bytes, spec);
}

uint32_t Device::memory_type(uint32_t type_bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) const {
  for (uint32_t i = 0; i < mem_props_.memoryTypeCount; ++i) {
    auto f = mem_props_.memoryTypes[i].propertyFlags;
    if ((type_bits & (1u << i)) && (f & want) == want && (f & avoid) == 0) return i;
  }
  fail("[vk] ", info_.name, ": no memory type with flags 0x", std::hex, want, " for type bits 0x", type_bits);
}

vk::StagingPool& Device::staging() { return *staging_; }

}  // namespace ds
