// Command buffers: OneShot (record, submit, wait: uploads and tests) and Recording (a reusable
// command buffer + fence, resubmitted as is: how a decode step is replayed every token).
#pragma once
#include <vulkan/vulkan.h>

#include "vk/handle.h"

namespace ds {
class Device;
}

namespace ds::vk {

class Recording {
 public:
  explicit Recording(Device& dev);
  ~Recording();
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  VkCommandBuffer cmd() const { return cmd_; }
  void begin();  // resets the command buffer and begins it (waits for a pending submit first)
  void end();    // adds a final barrier making shader/transfer writes visible to the host
  void submit();
  void wait();   // blocks until the last submit has finished; no-op when none is pending
  void submit_and_wait() {
    submit();
    wait();
  }
  bool pending() const { return pending_; }

 private:
  Device& dev_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  DeviceHandle<VkFence> fence_;
  bool pending_ = false;
};

// A command buffer begun at construction; submit_and_wait() runs it.
class OneShot : public Recording {
 public:
  explicit OneShot(Device& dev) : Recording(dev) { begin(); }
  void submit_and_wait() {
    end();
    Recording::submit_and_wait();
  }
};

}  // namespace ds::vk
