// VK_CHECK: turns a failed Vulkan call into ds::Error naming the call, the result and file:line.
#pragma once
#include <vulkan/vulkan.h>

#include "util/error.h"

namespace ds::vk {
const char* result_name(VkResult r);
[[noreturn]] void throw_vk_error(VkResult r, const char* expr, const char* file, int line);
}  // namespace ds::vk

#define VK_CHECK(expr)                                                          \
  do {                                                                          \
    VkResult ds_vk_r_ = (expr);                                                 \
    if (ds_vk_r_ != VK_SUCCESS) ::ds::vk::throw_vk_error(ds_vk_r_, #expr, __FILE__, __LINE__); \
  } while (0)
