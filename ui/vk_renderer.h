// ImGui drawn with Vulkan into a window surface, on the engine's own VkDevice and queue (shared:
// every vkQueueSubmit/vkQueuePresentKHR holds the engine's queue mutex). A frame never waits for
// the GPU: when the previous frame (or the engine's work queued before it) is still running, or no
// swapchain image is free, render() skips the frame and the caller tries again on its next tick.
// A frame is presented by the next render() call, after its fence has signalled: Mesa's software
// WSI (lavapipe) waits for the queue inside vkQueuePresentKHR, which would otherwise block the GUI
// thread, and the engine's submits behind the queue mutex, for a whole frame of rasterization.
// No Qt here: the window system hands in a VkSurfaceKHR and sizes.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct ImDrawData;

namespace ds {
class QueueTurns;
}

namespace ds::ui {

struct VulkanTarget {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  std::mutex* queue_mutex = nullptr;  // the engine's Device::queue_mutex()
  // When the queue is shared with the engine: frames claim a turn (distilscope/queue_turns.h), else null.
  QueueTurns* turns = nullptr;
};

// A copy of a presented frame, RGBA8, rows top to bottom.
struct FrameImage {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgba;
};

class ImGuiVulkanRenderer {
 public:
  // Needs the current ImGui context with its fonts added; uploads the font atlas (one submit,
  // waited for). Throws ds::Error naming the reason when the queue cannot present to `surface`.
  ImGuiVulkanRenderer(const VulkanTarget& target, VkSurfaceKHR surface, uint32_t width, uint32_t height);
  ~ImGuiVulkanRenderer();  // waits for the queue to be idle (under the queue mutex)
  ImGuiVulkanRenderer(const ImGuiVulkanRenderer&) = delete;
  ImGuiVulkanRenderer& operator=(const ImGuiVulkanRenderer&) = delete;

  void resize(uint32_t width, uint32_t height);
  // The previous frame has finished on the GPU (a check, never a wait).
  bool ready() const;
  // Presents the previous frame, then records and submits the draw data of ImGui::Render().
  // Returns false when the frame was skipped (see above). With `readback`, the frame is also copied
  // back and presented at once (this one call waits for it).
  bool render(ImDrawData* data, FrameImage* readback = nullptr);
  // Presents the frame submitted last if the GPU has finished it (never waits); for ticks that
  // draw nothing new. Returns whether a frame was presented.
  bool present_ready();
  // A frame submitted and not yet presented.
  bool has_unpresented_frame() const;
  // Turns at a queue shared with the engine (VulkanTarget::turns; always true/no-op without one):
  // claim_turn() before render() or present_ready(); false means engine work is still in flight (the
  // claim stays: the engine submits nothing new), so try again shortly. release_turn() afterwards.
  bool claim_turn();
  void release_turn();
  bool claimed() const;  // this renderer holds a claim (a frame waits for its turn)

  std::string present_mode_name() const;
  uint32_t image_count() const;
  uint64_t frames_presented() const;
  uint64_t frames_skipped() const;
  // Host time spent in each Vulkan step, totals in milliseconds since creation.
  struct Timings {
    double acquire_ms = 0, record_ms = 0, submit_ms = 0, present_ms = 0;
    double gpu_ms = 0;  // submit -> fence seen signalled (includes engine work queued before it)
  };
  Timings timings() const;

  struct State;  // implementation (vk_renderer.cpp)

 private:
  std::unique_ptr<State> s_;
};

}  // namespace ds::ui
