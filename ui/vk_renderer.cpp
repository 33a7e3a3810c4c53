// ImGui on Vulkan: swapchain (re)creation with deferred destruction of the old one, one frame in
// flight checked without waiting, submission and presentation under the engine's queue mutex,
// and an optional readback of the presented image for screenshots and PNG exports.
//
// [SECTION] helpers   [SECTION] swapchain   [SECTION] setup   [SECTION] frame   [SECTION] readback
#include "ui/vk_renderer.h"

#include <imgui.h>
#include <backends/imgui_impl_vulkan.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "distilscope/queue_turns.h"
#include "vk/check.h"
#include "vk/handle.h"

namespace ds::ui {

using vk::DeviceHandle;

// [SECTION] helpers -------------------------------------------------------------------------------
namespace {

void imgui_vk_check(VkResult r) {
  if (r != VK_SUCCESS) std::fprintf(stderr, "[ui] ImGui Vulkan backend call failed: %s\n", vk::result_name(r));
}

const char* present_mode_str(VkPresentModeKHR m) {
  switch (m) {
    case VK_PRESENT_MODE_IMMEDIATE_KHR: return "immediate";
    case VK_PRESENT_MODE_MAILBOX_KHR: return "mailbox";
    case VK_PRESENT_MODE_FIFO_KHR: return "fifo";
    case VK_PRESENT_MODE_FIFO_RELAXED_KHR: return "fifo-relaxed";
    default: return "other";
  }
}

uint32_t find_memory(VkPhysicalDevice pd, uint32_t bits, VkMemoryPropertyFlags want) {
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(pd, &mp);
  for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return i;
  fail("[ui] no host-visible memory type for the frame readback");
}

struct SwapchainSet {
  DeviceHandle<VkSwapchainKHR> swapchain;
  std::vector<VkImage> images;
  std::vector<DeviceHandle<VkImageView>> views;
  std::vector<DeviceHandle<VkFramebuffer>> framebuffers;
  std::vector<DeviceHandle<VkSemaphore>> render_done;  // per image: presentation waits on it
  VkExtent2D extent{};
  bool can_read_back = false;
};

}  // namespace

struct ImGuiVulkanRenderer::State {
  VulkanTarget t;
  VkSurfaceKHR surface = VK_NULL_HANDLE;
  VkSurfaceFormatKHR format{};
  VkPresentModeKHR mode = VK_PRESENT_MODE_FIFO_KHR;
  DeviceHandle<VkRenderPass> render_pass;
  DeviceHandle<VkDescriptorPool> descriptors;
  DeviceHandle<VkCommandPool> pool;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  DeviceHandle<VkFence> fence;          // signalled when the last submitted frame finished
  // The next frame's image is acquired right after a submit, while that frame rasterizes; two
  // semaphores alternate (one may still be waited on by the frame in flight).
  DeviceHandle<VkSemaphore> acquire_sems[2];
  int next_sem = 0;
  bool ahead = false;            // an image of `chain` is acquired for the next frame
  uint32_t ahead_index = 0;
  int ahead_sem = 0;
  std::unique_ptr<SwapchainSet> chain;
  // Old swapchains stay alive until frames submitted after them have completed.
  std::vector<std::pair<uint64_t, std::unique_ptr<SwapchainSet>>> retired;
  DeviceHandle<VkBuffer> readback_buffer;
  DeviceHandle<VkDeviceMemory> readback_memory;
  VkDeviceSize readback_size = 0;
  uint32_t want_w = 0, want_h = 0;
  bool dirty = true;
  bool backend = false;
  uint64_t submitted = 0, presented = 0, skipped = 0;
  ImGuiVulkanRenderer::Timings timings;
  // The frame submitted last, presented on the next render() once its fence has signalled.
  bool pending = false;
  bool gpu_timed = true;     // the last submit's completion has been seen
  double submit_time = 0;
  uint32_t pending_index = 0;
  const SwapchainSet* pending_chain = nullptr;
};

double now_ms();

// [SECTION] swapchain -----------------------------------------------------------------------------
namespace {

std::unique_ptr<SwapchainSet> create_swapchain(ImGuiVulkanRenderer::State& s, VkSwapchainKHR old) {
  VkDevice dev = s.t.device;
  VkSurfaceCapabilitiesKHR caps;
  VK_CHECK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(s.t.physical, s.surface, &caps));
  auto set = std::make_unique<SwapchainSet>();
  VkExtent2D e = caps.currentExtent;
  if (e.width == 0xFFFFFFFFu) e = {s.want_w, s.want_h};
  e.width = std::clamp(e.width, caps.minImageExtent.width, caps.maxImageExtent.width);
  e.height = std::clamp(e.height, caps.minImageExtent.height, caps.maxImageExtent.height);
  if (e.width == 0 || e.height == 0) return nullptr;  // minimized
  set->extent = e;
  set->can_read_back = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  uint32_t count = std::max(caps.minImageCount + 2, 3u);  // one shown, one rendering, one acquired ahead
  if (caps.maxImageCount) count = std::min(count, caps.maxImageCount);

  VkSwapchainCreateInfoKHR ci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
  ci.surface = s.surface;
  ci.minImageCount = count;
  ci.imageFormat = s.format.format;
  ci.imageColorSpace = s.format.colorSpace;
  ci.imageExtent = e;
  ci.imageArrayLayers = 1;
  ci.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (set->can_read_back ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0);
  ci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  ci.preTransform = caps.currentTransform;
  ci.compositeAlpha = (caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR)
                          ? VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR
                          : VkCompositeAlphaFlagBitsKHR(caps.supportedCompositeAlpha & -caps.supportedCompositeAlpha);
  ci.presentMode = s.mode;
  ci.clipped = VK_TRUE;
  ci.oldSwapchain = old;
  VkSwapchainKHR sc;
  VK_CHECK(vkCreateSwapchainKHR(dev, &ci, nullptr, &sc));
  set->swapchain = DeviceHandle<VkSwapchainKHR>(dev, sc, vkDestroySwapchainKHR);

  uint32_t n = 0;
  VK_CHECK(vkGetSwapchainImagesKHR(dev, sc, &n, nullptr));
  set->images.resize(n);
  VK_CHECK(vkGetSwapchainImagesKHR(dev, sc, &n, set->images.data()));
  for (VkImage img : set->images) {
    VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = img;
    vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vi.format = s.format.format;
    vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView view;
    VK_CHECK(vkCreateImageView(dev, &vi, nullptr, &view));
    set->views.emplace_back(dev, view, vkDestroyImageView);
    VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fi.renderPass = s.render_pass;
    fi.attachmentCount = 1;
    fi.pAttachments = &view;
    fi.width = e.width;
    fi.height = e.height;
    fi.layers = 1;
    VkFramebuffer fb;
    VK_CHECK(vkCreateFramebuffer(dev, &fi, nullptr, &fb));
    set->framebuffers.emplace_back(dev, fb, vkDestroyFramebuffer);
    VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore sem;
    VK_CHECK(vkCreateSemaphore(dev, &si, nullptr, &sem));
    set->render_done.emplace_back(dev, sem, vkDestroySemaphore);
  }
  return set;
}

void choose_surface_format_and_mode(ImGuiVulkanRenderer::State& s) {
  uint32_t n = 0;
  VK_CHECK(vkGetPhysicalDeviceSurfaceFormatsKHR(s.t.physical, s.surface, &n, nullptr));
  std::vector<VkSurfaceFormatKHR> formats(n);
  VK_CHECK(vkGetPhysicalDeviceSurfaceFormatsKHR(s.t.physical, s.surface, &n, formats.data()));
  DS_CHECK(n > 0, "[ui] the window surface offers no image formats");
  s.format = formats[0];
  // UNORM: ImGui's colours are already display-ready (no sRGB conversion wanted).
  for (VkFormat want : {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM})
    if (auto it = std::find_if(formats.begin(), formats.end(), [&](auto& f) { return f.format == want; });
        it != formats.end()) {
      s.format = *it;
      break;
    }
  VK_CHECK(vkGetPhysicalDeviceSurfacePresentModesKHR(s.t.physical, s.surface, &n, nullptr));
  std::vector<VkPresentModeKHR> modes(n);
  VK_CHECK(vkGetPhysicalDeviceSurfacePresentModesKHR(s.t.physical, s.surface, &n, modes.data()));
  // Mailbox/immediate never block the GUI thread in present; FIFO (always offered) may.
  s.mode = VK_PRESENT_MODE_FIFO_KHR;
  std::vector<VkPresentModeKHR> preference = {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR};
  if (const char* e = std::getenv("DS_UI_PRESENT_MODE"))  // immediate | mailbox | fifo, for measurements
    for (VkPresentModeKHR m : {VK_PRESENT_MODE_IMMEDIATE_KHR, VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_FIFO_KHR})
      if (std::strcmp(e, present_mode_str(m)) == 0) preference.insert(preference.begin(), m);
  for (VkPresentModeKHR want : preference)
    if (std::find(modes.begin(), modes.end(), want) != modes.end()) {
      s.mode = want;
      break;
    }
}

}  // namespace

// [SECTION] setup ---------------------------------------------------------------------------------
ImGuiVulkanRenderer::ImGuiVulkanRenderer(const VulkanTarget& t, VkSurfaceKHR surface, uint32_t w, uint32_t h)
    : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.t = t;
  s.surface = surface;
  s.want_w = w;
  s.want_h = h;
  VkDevice dev = t.device;
  VkBool32 supported = VK_FALSE;
  VK_CHECK(vkGetPhysicalDeviceSurfaceSupportKHR(t.physical, t.queue_family, surface, &supported));
  DS_CHECK(supported, "[ui] the engine's queue family ", t.queue_family, " cannot present to this window");
  choose_surface_format_and_mode(s);

  VkAttachmentDescription color{};
  color.format = s.format.format;
  color.samples = VK_SAMPLE_COUNT_1_BIT;
  color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  color.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  color.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  color.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  color.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription sub{};
  sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  sub.colorAttachmentCount = 1;
  sub.pColorAttachments = &ref;
  VkSubpassDependency dep{};  // the acquire semaphore waits at colour output: order the layout change after it
  dep.srcSubpass = VK_SUBPASS_EXTERNAL;
  dep.dstSubpass = 0;
  dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dep.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dep.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  VkRenderPassCreateInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
  rp.attachmentCount = 1;
  rp.pAttachments = &color;
  rp.subpassCount = 1;
  rp.pSubpasses = &sub;
  rp.dependencyCount = 1;
  rp.pDependencies = &dep;
  VkRenderPass pass;
  VK_CHECK(vkCreateRenderPass(dev, &rp, nullptr, &pass));
  s.render_pass = DeviceHandle<VkRenderPass>(dev, pass, vkDestroyRenderPass);

  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16};
  VkDescriptorPoolCreateInfo dp{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  dp.maxSets = 16;
  dp.poolSizeCount = 1;
  dp.pPoolSizes = &ps;
  VkDescriptorPool pool;
  VK_CHECK(vkCreateDescriptorPool(dev, &dp, nullptr, &pool));
  s.descriptors = DeviceHandle<VkDescriptorPool>(dev, pool, vkDestroyDescriptorPool);

  VkCommandPoolCreateInfo cp{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cp.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  cp.queueFamilyIndex = t.queue_family;
  VkCommandPool cpool;
  VK_CHECK(vkCreateCommandPool(dev, &cp, nullptr, &cpool));
  s.pool = DeviceHandle<VkCommandPool>(dev, cpool, vkDestroyCommandPool);
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = cpool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VK_CHECK(vkAllocateCommandBuffers(dev, &ai, &s.cmd));
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  fi.flags = VK_FENCE_CREATE_SIGNALED_BIT;
  VkFence fence;
  VK_CHECK(vkCreateFence(dev, &fi, nullptr, &fence));
  s.fence = DeviceHandle<VkFence>(dev, fence, vkDestroyFence);
  for (auto& sem_handle : s.acquire_sems) {
    VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore sem;
    VK_CHECK(vkCreateSemaphore(dev, &si, nullptr, &sem));
    sem_handle = DeviceHandle<VkSemaphore>(dev, sem, vkDestroySemaphore);
  }

  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = t.instance;
  info.PhysicalDevice = t.physical;
  info.Device = dev;
  info.QueueFamily = t.queue_family;
  info.Queue = t.queue;  // the backend itself never submits; we do, under the queue mutex
  info.DescriptorPool = pool;
  info.MinImageCount = 2;
  info.ImageCount = 2;  // vertex/index buffer sets it cycles; one frame in flight needs two
  info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  info.CheckVkResultFn = imgui_vk_check;
  DS_CHECK(ImGui_ImplVulkan_Init(&info, pass), "[ui] ImGui Vulkan backend initialization failed");
  s.backend = true;

  // Font atlas upload: one submit, waited for (start-up only).
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(s.cmd, &bi));
  ImGui_ImplVulkan_CreateFontsTexture(s.cmd);
  VK_CHECK(vkEndCommandBuffer(s.cmd));
  VK_CHECK(vkResetFences(dev, 1, &fence));
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &s.cmd;
  {
    std::lock_guard<std::mutex> lock(*t.queue_mutex);
    VK_CHECK(vkQueueSubmit(t.queue, 1, &submit, fence));
  }
  VK_CHECK(vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX));
  ImGui_ImplVulkan_DestroyFontUploadObjects();
}

ImGuiVulkanRenderer::~ImGuiVulkanRenderer() {
  {
    std::lock_guard<std::mutex> lock(*s_->t.queue_mutex);
    vkQueueWaitIdle(s_->t.queue);
  }
  if (s_->backend) ImGui_ImplVulkan_Shutdown();
}

void ImGuiVulkanRenderer::resize(uint32_t w, uint32_t h) {
  if (w == s_->want_w && h == s_->want_h) return;
  s_->want_w = w;
  s_->want_h = h;
  s_->dirty = true;
}

bool ImGuiVulkanRenderer::ready() const {
  const bool done = vkGetFenceStatus(s_->t.device, s_->fence) == VK_SUCCESS;
  if (done && !s_->gpu_timed) {
    s_->gpu_timed = true;
    s_->timings.gpu_ms += now_ms() - s_->submit_time;
  }
  return done;
}
std::string ImGuiVulkanRenderer::present_mode_name() const { return present_mode_str(s_->mode); }
uint32_t ImGuiVulkanRenderer::image_count() const { return s_->chain ? uint32_t(s_->chain->images.size()) : 0; }
uint64_t ImGuiVulkanRenderer::frames_presented() const { return s_->presented; }
bool ImGuiVulkanRenderer::has_unpresented_frame() const { return s_->pending; }
bool ImGuiVulkanRenderer::claim_turn() { return s_->t.turns ? s_->t.turns->claim() : true; }
bool ImGuiVulkanRenderer::claimed() const { return s_->t.turns && s_->t.turns->claimed(); }
void ImGuiVulkanRenderer::release_turn() {
  if (s_->t.turns) s_->t.turns->release();
}
uint64_t ImGuiVulkanRenderer::frames_skipped() const { return s_->skipped; }

// [SECTION] readback ------------------------------------------------------------------------------
namespace {

void record_readback(ImGuiVulkanRenderer::State& s, VkImage image) {
  const VkExtent2D e = s.chain->extent;
  const VkDeviceSize bytes = VkDeviceSize(e.width) * e.height * 4;
  VkDevice dev = s.t.device;
  if (s.readback_size < bytes) {
    s.readback_memory.reset();
    s.readback_buffer.reset();
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = bytes;
    bi.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer buf;
    VK_CHECK(vkCreateBuffer(dev, &bi, nullptr, &buf));
    s.readback_buffer = DeviceHandle<VkBuffer>(dev, buf, vkDestroyBuffer);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, buf, &req);
    VkMemoryAllocateInfo mi{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mi.allocationSize = req.size;
    mi.memoryTypeIndex = find_memory(s.t.physical, req.memoryTypeBits,
                                     VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    VkDeviceMemory mem;
    VK_CHECK(vkAllocateMemory(dev, &mi, nullptr, &mem));
    s.readback_memory = DeviceHandle<VkDeviceMemory>(dev, mem, vkFreeMemory);
    VK_CHECK(vkBindBufferMemory(dev, buf, mem, 0));
    s.readback_size = bytes;
  }
  VkImageMemoryBarrier to_src{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
  to_src.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  to_src.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
  to_src.oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  to_src.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
  to_src.srcQueueFamilyIndex = to_src.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  to_src.image = image;
  to_src.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vkCmdPipelineBarrier(s.cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                       nullptr, 0, nullptr, 1, &to_src);
  VkBufferImageCopy region{};
  region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
  region.imageExtent = {e.width, e.height, 1};
  vkCmdCopyImageToBuffer(s.cmd, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, s.readback_buffer, 1, &region);
  VkImageMemoryBarrier to_present = to_src;
  to_present.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
  to_present.dstAccessMask = 0;
  to_present.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
  to_present.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  VkBufferMemoryBarrier to_host{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
  to_host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  to_host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  to_host.srcQueueFamilyIndex = to_host.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  to_host.buffer = s.readback_buffer;
  to_host.size = VK_WHOLE_SIZE;
  vkCmdPipelineBarrier(s.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &to_host, 1,
                       &to_present);
}

void copy_readback(ImGuiVulkanRenderer::State& s, FrameImage& out) {
  const VkExtent2D e = s.chain->extent;
  out.width = e.width;
  out.height = e.height;
  out.rgba.resize(size_t(e.width) * e.height * 4);
  void* p = nullptr;
  VK_CHECK(vkMapMemory(s.t.device, s.readback_memory, 0, VK_WHOLE_SIZE, 0, &p));
  std::memcpy(out.rgba.data(), p, out.rgba.size());
  vkUnmapMemory(s.t.device, s.readback_memory);
  const bool bgra = s.format.format == VK_FORMAT_B8G8R8A8_UNORM || s.format.format == VK_FORMAT_B8G8R8A8_SRGB;
  for (size_t i = 0; i < out.rgba.size(); i += 4) {
    if (bgra) std::swap(out.rgba[i], out.rgba[i + 2]);
    out.rgba[i + 3] = 255;
  }
}

}  // namespace

// [SECTION] frame ---------------------------------------------------------------------------------
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ImGuiVulkanRenderer::Timings ImGuiVulkanRenderer::timings() const { return s_->timings; }

namespace {

// Presents the frame submitted last; called once its fence has signalled, so the present does not
// wait for our rendering (Mesa's software WSI waits for the queue inside vkQueuePresentKHR).
void present_pending(ImGuiVulkanRenderer::State& s) {
  if (!s.pending) return;
  s.pending = false;
  VkSemaphore done = s.pending_chain->render_done[s.pending_index];
  VkSwapchainKHR sc = s.pending_chain->swapchain;
  VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  pi.waitSemaphoreCount = 1;
  pi.pWaitSemaphores = &done;
  pi.swapchainCount = 1;
  pi.pSwapchains = &sc;
  pi.pImageIndices = &s.pending_index;
  VkResult r;
  {
    std::lock_guard<std::mutex> lock(*s.t.queue_mutex);
    const double t = now_ms();
    r = vkQueuePresentKHR(s.t.queue, &pi);
    s.timings.present_ms += now_ms() - t;
  }
  if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) s.dirty = true;
  else VK_CHECK(r);
  ++s.presented;
}

bool record_and_submit(ImGuiVulkanRenderer::State& s, ImDrawData* data, uint32_t index, bool read) {
  VkDevice dev = s.t.device;
  double t = now_ms();
  VkFence fence = s.fence;
  VK_CHECK(vkResetFences(dev, 1, &fence));
  VK_CHECK(vkResetCommandBuffer(s.cmd, 0));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(s.cmd, &bi));
  VkClearValue clear{};
  clear.color = {{0.08f, 0.08f, 0.10f, 1.0f}};
  VkRenderPassBeginInfo rb{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
  rb.renderPass = s.render_pass;
  rb.framebuffer = s.chain->framebuffers[index];
  rb.renderArea.extent = s.chain->extent;
  rb.clearValueCount = 1;
  rb.pClearValues = &clear;
  vkCmdBeginRenderPass(s.cmd, &rb, VK_SUBPASS_CONTENTS_INLINE);
  ImGui_ImplVulkan_RenderDrawData(data, s.cmd);
  vkCmdEndRenderPass(s.cmd);
  if (read) record_readback(s, s.chain->images[index]);
  VK_CHECK(vkEndCommandBuffer(s.cmd));
  s.timings.record_ms += now_ms() - t;

  VkSemaphore acquired = s.acquire_sems[s.ahead_sem], done = s.chain->render_done[index];
  VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = 1;
  si.pWaitSemaphores = &acquired;
  si.pWaitDstStageMask = &wait_stage;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &s.cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &done;
  {
    std::lock_guard<std::mutex> lock(*s.t.queue_mutex);
    t = now_ms();
    VK_CHECK(vkQueueSubmit(s.t.queue, 1, &si, fence));
    s.timings.submit_ms += now_ms() - t;
  }
  s.submit_time = now_ms();
  s.gpu_timed = false;
  ++s.submitted;
  s.pending = true;
  s.pending_index = index;
  s.pending_chain = s.chain.get();
  return true;
}

// Acquires the next frame's image without waiting (timeout 0); leaves s.ahead false when none is free.
void acquire_ahead(ImGuiVulkanRenderer::State& s) {
  if (s.ahead || !s.chain || s.dirty) return;
  uint32_t index = 0;
  const double t = now_ms();
  VkResult r = vkAcquireNextImageKHR(s.t.device, s.chain->swapchain, 0, s.acquire_sems[s.next_sem], VK_NULL_HANDLE,
                                     &index);
  s.timings.acquire_ms += now_ms() - t;
  if (r == VK_ERROR_OUT_OF_DATE_KHR) s.dirty = true;
  if (r == VK_NOT_READY || r == VK_TIMEOUT || r == VK_ERROR_OUT_OF_DATE_KHR) return;
  if (r == VK_SUBOPTIMAL_KHR) s.dirty = true;
  else VK_CHECK(r);
  s.ahead = true;
  s.ahead_index = index;
  s.ahead_sem = s.next_sem;
  s.next_sem ^= 1;
}

// Gives up the image acquired ahead (swapchain recreation): its semaphore was signalled by the
// acquire, so a submit with no work waits on it to leave it unsignalled for its next use.
void drop_ahead(ImGuiVulkanRenderer::State& s) {
  if (!s.ahead) return;
  s.ahead = false;
  VkSemaphore sem = s.acquire_sems[s.ahead_sem];
  VkPipelineStageFlags stage = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = 1;
  si.pWaitSemaphores = &sem;
  si.pWaitDstStageMask = &stage;
  VkFence fence = s.fence;
  VK_CHECK(vkResetFences(s.t.device, 1, &fence));
  std::lock_guard<std::mutex> lock(*s.t.queue_mutex);
  VK_CHECK(vkQueueSubmit(s.t.queue, 1, &si, fence));
  ++s.submitted;
}

}  // namespace

bool ImGuiVulkanRenderer::present_ready() {
  if (!s_->pending || !ready()) return false;
  present_pending(*s_);
  return true;
}

bool ImGuiVulkanRenderer::render(ImDrawData* data, FrameImage* readback) {
  State& s = *s_;
  if (!ready() || s.want_w == 0 || s.want_h == 0) {
    ++s.skipped;
    return false;
  }
  present_pending(s);  // the previous frame is finished: show it
  // Everything submitted so far has completed: retire old swapchains.
  s.retired.erase(std::remove_if(s.retired.begin(), s.retired.end(), [&](auto& r) { return r.first < s.submitted; }),
                  s.retired.end());
  if (s.dirty || !s.chain) {
    if (s.ahead) {  // first release the image acquired ahead; recreate on the next tick
      drop_ahead(s);
      ++s.skipped;
      return false;
    }
    VkSwapchainKHR old = s.chain ? VkSwapchainKHR(s.chain->swapchain) : VK_NULL_HANDLE;
    auto fresh = create_swapchain(s, old);
    if (!fresh) {
      ++s.skipped;
      return false;
    }
    if (s.chain) s.retired.emplace_back(s.submitted + 1, std::move(s.chain));
    s.chain = std::move(fresh);
    s.dirty = false;
  }
  if (!s.ahead) acquire_ahead(s);
  if (!s.ahead) {
    ++s.skipped;
    return false;
  }
  const bool read = readback && s.chain->can_read_back;
  const uint32_t index = s.ahead_index;
  record_and_submit(s, data, index, read);
  s.ahead = false;
  if (read) {  // a screenshot: this one call waits for its frame
    VkFence fence = s.fence;
    VK_CHECK(vkWaitForFences(s.t.device, 1, &fence, VK_TRUE, UINT64_MAX));
    copy_readback(s, *readback);
    present_pending(s);
  } else if (readback) {
    *readback = {};
  }
  release_turn();  // the queue work of this frame is submitted; acquiring the next image needs no turn
  if (!read) acquire_ahead(s);  // overlaps this frame's rasterization
  return true;
}

}  // namespace ds::ui
