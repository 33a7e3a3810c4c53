// Buffer allocation with readable out-of-memory errors, arenas and staging copies.
#include "vk/memory.h"

#include <cstring>
#include <mutex>

#include "distilscope/device.h"
#include "vk/check.h"
#include "vk/submit.h"

namespace ds::vk {

namespace {
VkMemoryPropertyFlags want_flags(MemoryKind k) {
  switch (k) {
    case MemoryKind::DeviceLocal: return VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    case MemoryKind::Upload: return VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    case MemoryKind::Readback:
      return VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  }
  return 0;
}
}  // namespace

Buffer::Buffer(Device& dev, VkDeviceSize size, MemoryKind kind, const std::string& what) : dev_(&dev), size_(size) {
  VkDevice d = dev.handle();
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  auto out_of_memory = [&](VkResult r, VkDeviceSize bytes, uint64_t heap) {
    fail("[vk] out of ", r == VK_ERROR_OUT_OF_HOST_MEMORY ? "host" : "device", " memory on ", dev.info().name,
         ": allocating ", format_bytes(double(bytes)), " for ", what, " (", format_bytes(double(dev.allocated_bytes())),
         " already allocated", heap ? cat(", heap is ", format_bytes(double(heap))) : std::string(), ")");
  };
  VkBuffer b;
  VkResult cr = vkCreateBuffer(d, &bi, nullptr, &b);
  if (cr == VK_ERROR_OUT_OF_DEVICE_MEMORY || cr == VK_ERROR_OUT_OF_HOST_MEMORY) out_of_memory(cr, size, 0);
  VK_CHECK(cr);
  buffer_ = DeviceHandle<VkBuffer>(d, b, vkDestroyBuffer);

  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d, b, &req);
  uint32_t type;
  if (kind == MemoryKind::DeviceLocal) {
    // Prefer device-local memory that is also host-visible (UMA, CPU devices, ReBAR) so uploads are memcpy.
    type = dev.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  } else if (kind == MemoryKind::Readback) {
    try {
      type = dev.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT |
                                                     VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    } catch (const Error&) {
      type = dev.memory_type(req.memoryTypeBits, want_flags(kind));
    }
  } else {
    type = dev.memory_type(req.memoryTypeBits, want_flags(kind));
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkDeviceMemory mem;
  VkResult r = vkAllocateMemory(d, &ai, nullptr, &mem);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    const auto& mp = dev.mem_props();
    out_of_memory(r, req.size, mp.memoryHeaps[mp.memoryTypes[type].heapIndex].size);
  }
  VK_CHECK(r);
  memory_ = DeviceHandle<VkDeviceMemory>(d, mem, vkFreeMemory);
  VK_CHECK(vkBindBufferMemory(d, b, mem, 0));
  if (dev.mem_props().memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
    void* p;
    VK_CHECK(vkMapMemory(d, mem, 0, VK_WHOLE_SIZE, 0, &p));
    mapped_ = static_cast<uint8_t*>(p);
  }
  dev.note_alloc(int64_t(req.size));
}

Buffer::Buffer(Buffer&& o) noexcept { *this = std::move(o); }
Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    if (dev_ && memory_) dev_->note_alloc(-int64_t(size_));
    buffer_ = std::move(o.buffer_);
    memory_ = std::move(o.memory_);
    dev_ = std::exchange(o.dev_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, nullptr);
  }
  return *this;
}
Buffer::~Buffer() {
  if (dev_ && memory_) dev_->note_alloc(-int64_t(size_));
  buffer_.reset();  // buffer before its memory
  memory_.reset();
}

Arena::Arena(Device& dev, std::string name, MemoryKind kind, VkDeviceSize chunk_bytes)
    : dev_(dev), name_(std::move(name)), kind_(kind), chunk_bytes_(chunk_bytes) {}

BufferSlice Arena::alloc(VkDeviceSize bytes, const std::string& what, VkDeviceSize align) {
  align = std::max<VkDeviceSize>(align, dev_.props().limits.minStorageBufferOffsetAlignment);
  bytes = std::max<VkDeviceSize>(bytes, 4);
  for (auto& c : chunks_) {
    VkDeviceSize off = (c.top + align - 1) / align * align;
    if (off + bytes <= c.buffer.size()) {
      c.top = off + bytes;
      used_ += bytes;
      return c.buffer.slice().sub(off, bytes);
    }
  }
  VkDeviceSize size = std::max(bytes, chunk_bytes_);
  chunks_.push_back({Buffer(dev_, size, kind_, cat(what, " in arena '", name_, "'")), bytes});
  used_ += bytes;
  return chunks_.back().buffer.slice().sub(0, bytes);
}

void Arena::reset() {
  chunks_.clear();
  used_ = 0;
}

VkDeviceSize Arena::reserved() const {
  VkDeviceSize n = 0;
  for (auto& c : chunks_) n += c.buffer.size();
  return n;
}

StagingPool::StagingPool(Device& dev, VkDeviceSize bytes) : dev_(dev), bytes_(bytes) {}

void StagingPool::copy_and_wait(VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off, VkDeviceSize n) {
  OneShot cmd(dev_);
  VkBufferCopy region{src_off, dst_off, n};
  vkCmdCopyBuffer(cmd.cmd(), src, dst, 1, &region);
  cmd.submit_and_wait();
}

void StagingPool::upload(const BufferSlice& dst, const void* src, VkDeviceSize n) {
  if (dst.mapped) {
    std::memcpy(dst.mapped, src, n);
    return;
  }
  if (!up_) up_ = std::make_unique<Buffer>(dev_, bytes_, MemoryKind::Upload, "upload staging");
  auto* p = static_cast<const uint8_t*>(src);
  for (VkDeviceSize done = 0; done < n;) {
    VkDeviceSize k = std::min(bytes_, n - done);
    std::memcpy(up_->slice().mapped, p + done, k);
    copy_and_wait(up_->slice().buffer, 0, dst.buffer, dst.offset + done, k);
    done += k;
  }
}

void StagingPool::download(const BufferSlice& src, void* dst, VkDeviceSize n) {
  if (src.mapped) {
    std::memcpy(dst, src.mapped, n);
    return;
  }
  if (!down_) down_ = std::make_unique<Buffer>(dev_, bytes_, MemoryKind::Readback, "readback staging");
  auto* p = static_cast<uint8_t*>(dst);
  for (VkDeviceSize done = 0; done < n;) {
    VkDeviceSize k = std::min(bytes_, n - done);
    copy_and_wait(src.buffer, src.offset + done, down_->slice().buffer, 0, k);
    std::memcpy(p + done, down_->slice().mapped, k);
    done += k;
  }
}

}  // namespace ds::vk
