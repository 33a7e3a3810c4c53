// Recording: reusable command buffer with its own fence.
#include "vk/submit.h"

#include <mutex>

#include "distilscope/device.h"
#include "vk/check.h"

namespace ds::vk {

Recording::Recording(Device& dev) : dev_(dev) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = dev.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  {
    std::lock_guard<std::mutex> lock(dev.pool_mutex());
    VK_CHECK(vkAllocateCommandBuffers(dev.handle(), &ai, &cmd_));
  }
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence f;
  VK_CHECK(vkCreateFence(dev.handle(), &fi, nullptr, &f));
  fence_ = DeviceHandle<VkFence>(dev.handle(), f, vkDestroyFence);
}

Recording::~Recording() {
  if (pending_) {
    VkFence f = fence_;
    vkWaitForFences(dev_.handle(), 1, &f, VK_TRUE, UINT64_MAX);
    dev_.queue_turns().after_complete();
  }
  std::lock_guard<std::mutex> lock(dev_.pool_mutex());
  vkFreeCommandBuffers(dev_.handle(), dev_.command_pool(), 1, &cmd_);
}

void Recording::begin() {
  wait();
  std::lock_guard<std::mutex> lock(dev_.pool_mutex());  // the pool is externally synchronized
  VK_CHECK(vkResetCommandBuffer(cmd_, 0));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  VK_CHECK(vkBeginCommandBuffer(cmd_, &bi));
}

void Recording::end() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  VK_CHECK(vkEndCommandBuffer(cmd_));
}

void Recording::submit() {
  wait();
  VkFence f = fence_;
  VK_CHECK(vkResetFences(dev_.handle(), 1, &f));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  dev_.queue_turns().before_submit();  // a UI sharing the queue may hold the next turn
  std::lock_guard<std::mutex> lock(dev_.queue_mutex());
  VkResult r = vkQueueSubmit(dev_.queue(), 1, &si, f);
  if (r != VK_SUCCESS) dev_.queue_turns().after_complete();
  VK_CHECK(r);
  pending_ = true;
}

void Recording::wait() {
  if (!pending_) return;
  VkFence f = fence_;
  VkResult r = vkWaitForFences(dev_.handle(), 1, &f, VK_TRUE, UINT64_MAX);
  pending_ = false;
  dev_.queue_turns().after_complete();
  if (r == VK_ERROR_DEVICE_LOST) fail("[vk] device lost on ", dev_.info().name, " while waiting for a submit");
  VK_CHECK(r);
}

}  // namespace ds::vk
