// Embedded SPIR-V: every shader variant compiled at build time (cmake/Shaders.cmake), by name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ds::vk {

struct EmbeddedShader {
  const char* name;
  const uint32_t* words;
  size_t n_words;
};

extern const EmbeddedShader k_embedded_shaders[];
extern const size_t k_embedded_shader_count;

// The SPIR-V of a shader variant; throws ds::Error listing nothing found for an unknown name.
std::span<const uint32_t> find_shader(std::string_view name);

}  // namespace ds::vk
