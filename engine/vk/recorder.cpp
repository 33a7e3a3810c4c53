// Recorder and Profiler implementation.
#include "vk/recorder.h"

#include "distilscope/device.h"
#include "vk/check.h"
#include "vk/pipeline.h"

namespace ds::vk {

Profiler::Profiler(Device& dev) : dev_(dev) {}

void Profiler::reset(VkCommandBuffer cmd, uint32_t capacity) {
  if (capacity + 1 > capacity_) {
    capacity_ = std::max(capacity + 1, 2 * capacity_);
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = capacity_;
    VkQueryPool qp;
    VK_CHECK(vkCreateQueryPool(dev_.handle(), &qi, nullptr, &qp));
    pool_ = DeviceHandle<VkQueryPool>(dev_.handle(), qp, vkDestroyQueryPool);
  }
  labels_.clear();
  vkCmdResetQueryPool(cmd, pool_, 0, capacity_);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool_, 0);
}

bool Profiler::stamp(VkCommandBuffer cmd, const std::string& label) {
  if (labels_.size() + 1 >= capacity_) return false;
  labels_.push_back(label);
  vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, pool_, uint32_t(labels_.size()));
  return true;
}

std::vector<OpTiming> Profiler::read() const {
  std::vector<OpTiming> out;
  if (labels_.empty()) return out;
  std::vector<uint64_t> t(labels_.size() + 1);
  VK_CHECK(vkGetQueryPoolResults(dev_.handle(), pool_, 0, uint32_t(t.size()), t.size() * 8, t.data(), 8,
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  double ns = dev_.timestamp_period_ns();
  for (size_t i = 0; i < labels_.size(); ++i) out.push_back({labels_[i], double(t[i + 1] - t[i]) * ns * 1e-6});
  return out;
}

Recorder::Recorder(Device& dev, VkCommandBuffer cmd, Profiler* profiler) : dev_(dev), cmd_(cmd), profiler_(profiler) {}

bool Recorder::overlaps(const std::vector<Range>& set, const BufferSlice& s) {
  for (auto& r : set)
    if (r.buf == s.buffer && s.offset < r.hi && r.lo < s.offset + s.size) return true;
  return false;
}

void Recorder::barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  auto stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
  written_.clear();
  read_.clear();
  ++barriers_;
}

void Recorder::hazard_check(const BufferSlice* bufs, size_t n, uint32_t write_mask) {
  bool need = false;
  for (size_t i = 0; i < n && !need; ++i) {
    bool w = write_mask & (1u << i);
    need = overlaps(written_, bufs[i]) || (w && overlaps(read_, bufs[i]));
  }
  if (need) barrier();
  for (size_t i = 0; i < n; ++i) {
    Range r{bufs[i].buffer, bufs[i].offset, bufs[i].offset + bufs[i].size};
    ((write_mask & (1u << i)) ? written_ : read_).push_back(r);
  }
}

void Recorder::after(const char* label, const std::string& fallback) {
  ++dispatches_;
  if (profiler_) profiler_->stamp(cmd_, label ? std::string(label) : fallback);
}

void Recorder::dispatch(const Pipeline& p, std::initializer_list<BufferSlice> bufs, uint32_t write_mask,
                        const void* push, uint32_t gx, uint32_t gy, uint32_t gz, const char* label) {
  dispatch(p, std::vector<BufferSlice>(bufs), write_mask, push, gx, gy, gz, label);
}

void Recorder::dispatch(const Pipeline& p, const std::vector<BufferSlice>& bufs, uint32_t write_mask,
                        const void* push, uint32_t gx, uint32_t gy, uint32_t gz, const char* label) {
  DS_CHECK(bufs.size() == p.n_buffers, "[vk] ", p.name, ": ", bufs.size(), " buffers bound, shader takes ",
           p.n_buffers);
  const auto& lim = dev_.props().limits;
  DS_CHECK(gx <= lim.maxComputeWorkGroupCount[0] && gy <= lim.maxComputeWorkGroupCount[1] &&
               gz <= lim.maxComputeWorkGroupCount[2],
           "[vk] ", p.name, ": dispatch ", gx, "x", gy, "x", gz, " exceeds the device's workgroup count limits");
  if (gx == 0 || gy == 0 || gz == 0) return;
  VkDescriptorBufferInfo infos[16];
  VkWriteDescriptorSet writes[16];
  DS_CHECK(bufs.size() <= 16, "[vk] ", p.name, ": too many bindings");
  for (size_t i = 0; i < bufs.size(); ++i) {
    DS_CHECK(bufs[i].buffer != VK_NULL_HANDLE, "[vk] ", p.name, ": binding ", i, " is empty");
    DS_CHECK(bufs[i].size <= lim.maxStorageBufferRange, "[vk] ", p.name, ": binding ", i, " is ",
             format_bytes(double(bufs[i].size)), ", over the device's storage-buffer range of ",
             format_bytes(double(lim.maxStorageBufferRange)));
    infos[i] = {bufs[i].buffer, bufs[i].offset, bufs[i].size};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = uint32_t(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  hazard_check(bufs.data(), bufs.size(), write_mask);
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  dev_.push_descriptor_fn()(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, uint32_t(bufs.size()), writes);
  if (p.push_bytes) vkCmdPushConstants(cmd_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p.push_bytes, push);
  vkCmdDispatch(cmd_, gx, gy, gz);
  after(label, p.name);
}

void Recorder::copy(const BufferSlice& src, const BufferSlice& dst) {
  DS_CHECK(src.size <= dst.size, "[vk] copy of ", src.size, " bytes into a slice of ", dst.size);
  BufferSlice b[2] = {src, dst};
  hazard_check(b, 2, 0b10);
  VkBufferCopy region{src.offset, dst.offset, src.size};
  vkCmdCopyBuffer(cmd_, src.buffer, dst.buffer, 1, &region);
}

void Recorder::fill(const BufferSlice& dst, uint32_t value) {
  hazard_check(&dst, 1, 1);
  vkCmdFillBuffer(cmd_, dst.buffer, dst.offset, dst.size, value);
}

}  // namespace ds::vk
