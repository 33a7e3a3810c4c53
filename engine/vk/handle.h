// DeviceHandle<T>: owns one VkDevice-child object (buffer, memory, pipeline, ...) and destroys it
// with its vkDestroy*/vkFree* function. Move-only; members declared later are destroyed first,
// so a class lists its handles in creation order and needs no hand-written destructor.
#pragma once
#include <vulkan/vulkan.h>

#include <utility>

namespace ds::vk {

template <class T>
class DeviceHandle {
 public:
  using Destroy = void (*)(VkDevice, T, const VkAllocationCallbacks*);
  DeviceHandle() = default;
  DeviceHandle(VkDevice dev, T h, Destroy destroy) : dev_(dev), h_(h), destroy_(destroy) {}
  DeviceHandle(DeviceHandle&& o) noexcept { *this = std::move(o); }
  DeviceHandle& operator=(DeviceHandle&& o) noexcept {
    if (this != &o) {
      reset();
      dev_ = std::exchange(o.dev_, VK_NULL_HANDLE);
      h_ = std::exchange(o.h_, VK_NULL_HANDLE);
      destroy_ = o.destroy_;
    }
    return *this;
  }
  DeviceHandle(const DeviceHandle&) = delete;
  DeviceHandle& operator=(const DeviceHandle&) = delete;
  ~DeviceHandle() { reset(); }

  void reset() {
    if (h_ != VK_NULL_HANDLE) destroy_(dev_, h_, nullptr);
    h_ = VK_NULL_HANDLE;
  }
  T get() const { return h_; }
  operator T() const { return h_; }
  explicit operator bool() const { return h_ != VK_NULL_HANDLE; }

 private:
  VkDevice dev_ = VK_NULL_HANDLE;
  T h_ = VK_NULL_HANDLE;
  Destroy destroy_ = nullptr;
};

}  // namespace ds::vk
