// A fingerprint of a frame's ImGui draw data (vertices, indices, commands, clip rectangles, display
// size), so the explorer can skip rendering and presenting a frame identical to the one on screen:
// on a software Vulkan device every frame costs rasterization plus a full-window copy to the X
// server, CPU that generation needs.
#pragma once
#include <cstdint>

struct ImDrawData;

namespace ds::ui {

uint64_t hash_draw_data(const ImDrawData* data);

}  // namespace ds::ui
