// Lookup over the generated table of embedded shaders.
#include "vk/shader_registry.h"

#include "util/error.h"

namespace ds::vk {

std::span<const uint32_t> find_shader(std::string_view name) {
  for (size_t i = 0; i < k_embedded_shader_count; ++i)
    if (name == k_embedded_shaders[i].name) return {k_embedded_shaders[i].words, k_embedded_shaders[i].n_words};
  fail("[vk] no embedded shader named '", name, "' (", k_embedded_shader_count, " shaders built in)");
}

}  // namespace ds::vk
