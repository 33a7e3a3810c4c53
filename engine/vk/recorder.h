// Recorder: records compute dispatches into a command buffer. Bindings go in by push descriptor;
// a memory barrier is inserted only where a dispatch touches a range written (or writes a range
// read) since the last barrier, so independent dispatches may overlap. With a Profiler attached
// it writes a GPU timestamp after every dispatch, labelled with the op's name.
#pragma once
#include <vulkan/vulkan.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "vk/handle.h"
#include "vk/memory.h"

namespace ds {
class Device;
}

namespace ds::vk {

struct Pipeline;

struct OpTiming {
  std::string label;
  double ms = 0;
};

// Timestamp queries for one recording (capacity grows as needed when re-recorded).
class Profiler {
 public:
  explicit Profiler(Device& dev);
  void reset(VkCommandBuffer cmd, uint32_t capacity);
  bool stamp(VkCommandBuffer cmd, const std::string& label);  // false when out of queries
  std::vector<OpTiming> read() const;                       // after the submit has finished
  uint32_t capacity() const { return capacity_; }

 private:
  Device& dev_;
  DeviceHandle<VkQueryPool> pool_;
  uint32_t capacity_ = 0;
  std::vector<std::string> labels_;
};

class Recorder {
 public:
  Recorder(Device& dev, VkCommandBuffer cmd, Profiler* profiler = nullptr);

  // Binds `bufs` to bindings 0..n-1, pushes `push` (p.push_bytes) and dispatches.
  // Bit i of write_mask says the shader writes bufs[i].
  void dispatch(const Pipeline& p, std::initializer_list<BufferSlice> bufs, uint32_t write_mask, const void* push,
                uint32_t gx, uint32_t gy = 1, uint32_t gz = 1, const char* label = nullptr);
  void dispatch(const Pipeline& p, const std::vector<BufferSlice>& bufs, uint32_t write_mask, const void* push,
                uint32_t gx, uint32_t gy = 1, uint32_t gz = 1, const char* label = nullptr);
  void copy(const BufferSlice& src, const BufferSlice& dst);
  void fill(const BufferSlice& dst, uint32_t value);
  void barrier();  // full compute/transfer barrier
  VkCommandBuffer cmd() const { return cmd_; }
  Device& device() { return dev_; }
  uint32_t dispatch_count() const { return dispatches_; }
  uint32_t barrier_count() const { return barriers_; }

 private:
  struct Range {
    VkBuffer buf;
    VkDeviceSize lo, hi;
  };
  static bool overlaps(const std::vector<Range>& set, const BufferSlice& s);
  void hazard_check(const BufferSlice* bufs, size_t n, uint32_t write_mask);
  void after(const char* label, const std::string& fallback);

  Device& dev_;
  VkCommandBuffer cmd_;
  Profiler* profiler_;
  std::vector<Range> written_, read_;
  uint32_t dispatches_ = 0, barriers_ = 0;
};

}  // namespace ds::vk
