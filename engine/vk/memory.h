// Device memory: Buffer (one VkBuffer + its VkDeviceMemory), BufferSlice (a sub-range, what ops
// bind), Arena (bump sub-allocation out of large chunks, one arena per lifetime: weights, session,
// scratch, capture) and StagingPool (host-visible bounce buffers for upload/readback when the
// target memory is not host-visible).
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vk/handle.h"

namespace ds {
class Device;
}

namespace ds::vk {

enum class MemoryKind {
  DeviceLocal,  // fastest for the GPU; host-visible too on UMA/CPU devices (then mapped)
  Upload,       // host-visible, coherent: staging for uploads, small per-step parameter buffers
  Readback,     // host-visible, cached if available: results read by the host
};

struct BufferSlice {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  uint8_t* mapped = nullptr;  // host pointer to offset, when the memory is host-visible

  explicit operator bool() const { return buffer != VK_NULL_HANDLE; }
  BufferSlice sub(VkDeviceSize off, VkDeviceSize n) const {
    return {buffer, offset + off, n, mapped ? mapped + off : nullptr};
  }
};

class Buffer {
 public:
  Buffer() = default;
  Buffer(Device& dev, VkDeviceSize size, MemoryKind kind, const std::string& what);
  Buffer(Buffer&&) noexcept;
  Buffer& operator=(Buffer&&) noexcept;
  ~Buffer();

  BufferSlice slice() const { return {buffer_, 0, size_, mapped_}; }
  VkDeviceSize size() const { return size_; }
  bool host_visible() const { return mapped_ != nullptr; }

 private:
  Device* dev_ = nullptr;
  VkDeviceSize size_ = 0;
  uint8_t* mapped_ = nullptr;
  DeviceHandle<VkDeviceMemory> memory_;
  DeviceHandle<VkBuffer> buffer_;
};

class Arena {
 public:
  Arena(Device& dev, std::string name, MemoryKind kind, VkDeviceSize chunk_bytes = 256ull << 20);
  // A zero-initialized? No: contents undefined. Aligned to `align` (at least the device's
  // storage-buffer offset alignment). Tensors larger than a chunk get a chunk of their own.
  BufferSlice alloc(VkDeviceSize bytes, const std::string& what, VkDeviceSize align = 256);
  void reset();  // frees every chunk (all slices become invalid)
  VkDeviceSize used() const { return used_; }
  VkDeviceSize reserved() const;
  const std::string& name() const { return name_; }

 private:
  struct Chunk {
    Buffer buffer;
    VkDeviceSize top = 0;
  };
  Device& dev_;
  std::string name_;
  MemoryKind kind_;
  VkDeviceSize chunk_bytes_;
  VkDeviceSize used_ = 0;
  std::vector<Chunk> chunks_;
};

// Copies between host memory and any slice; goes through a staging buffer (and one submit per
// piece) only when the slice is not host-visible.
class StagingPool {
 public:
  explicit StagingPool(Device& dev, VkDeviceSize bytes = 64ull << 20);
  void upload(const BufferSlice& dst, const void* src, VkDeviceSize n);
  void download(const BufferSlice& src, void* dst, VkDeviceSize n);

 private:
  void copy_and_wait(VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off, VkDeviceSize n);
  Device& dev_;
  VkDeviceSize bytes_;
  std::unique_ptr<Buffer> up_, down_;
};

}  // namespace ds::vk
