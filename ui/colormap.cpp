// Colour maps: piecewise-linear interpolation between a few anchor colours.
#include "ui/colormap.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace ds::ui {

namespace {
struct Rgb {
  float r, g, b;
};

template <size_t N>
ImU32 interpolate(const std::array<Rgb, N>& anchors, float t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0f, 0.0f, 1.0f) * float(N - 1);
  size_t i = std::min(size_t(t), N - 2);
  float f = t - float(i);
  const Rgb &a = anchors[i], &b = anchors[i + 1];
  return IM_COL32(int((a.r + (b.r - a.r) * f) * 255.0f), int((a.g + (b.g - a.g) * f) * 255.0f),
                  int((a.b + (b.b - a.b) * f) * 255.0f), 255);
}

// Sampled from the viridis curve at 0, 1/6, ..., 1.
constexpr std::array<Rgb, 7> k_sequential = {{{0.267f, 0.005f, 0.329f},
                                              {0.275f, 0.194f, 0.497f},
                                              {0.212f, 0.359f, 0.552f},
                                              {0.153f, 0.498f, 0.558f},
                                              {0.122f, 0.633f, 0.530f},
                                              {0.437f, 0.789f, 0.337f},
                                              {0.993f, 0.906f, 0.144f}}};
constexpr std::array<Rgb, 5> k_diverging = {{{0.085f, 0.290f, 0.650f},
                                             {0.450f, 0.650f, 0.900f},
                                             {0.950f, 0.950f, 0.950f},
                                             {0.950f, 0.550f, 0.450f},
                                             {0.700f, 0.080f, 0.120f}}};
}  // namespace

ImU32 color_sequential(float t) { return interpolate(k_sequential, t); }
ImU32 color_diverging(float t) { return interpolate(k_diverging, (t + 1.0f) * 0.5f); }

ImU32 series_color(int i) {
  static const ImU32 colors[] = {IM_COL32(86, 180, 233, 255), IM_COL32(230, 159, 0, 255), IM_COL32(0, 158, 115, 255),
                                 IM_COL32(204, 121, 167, 255), IM_COL32(240, 228, 66, 255), IM_COL32(213, 94, 0, 255),
                                 IM_COL32(0, 114, 178, 255)};
  return colors[size_t(i) % (sizeof colors / sizeof colors[0])];
}

ImU32 with_alpha(ImU32 c, float alpha) {
  return (c & ~IM_COL32_A_MASK) | (ImU32(std::clamp(alpha, 0.0f, 1.0f) * 255.0f) << IM_COL32_A_SHIFT);
}

void color_bar(const char* lo_label, const char* hi_label, bool diverging, float width) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImGui::TextUnformatted(lo_label);
  ImGui::SameLine();
  ImVec2 p = ImGui::GetCursorScreenPos();
  float h = ImGui::GetTextLineHeight();
  const int steps = 32;
  for (int i = 0; i < steps; ++i) {
    float t = (float(i) + 0.5f) / steps;
    ImU32 c = diverging ? color_diverging(t * 2.0f - 1.0f) : color_sequential(t);
    dl->AddRectFilled({p.x + width * float(i) / steps, p.y}, {p.x + width * float(i + 1) / steps, p.y + h}, c);
  }
  ImGui::Dummy({width, h});
  ImGui::SameLine();
  ImGui::TextUnformatted(hi_label);
}

}  // namespace ds::ui
