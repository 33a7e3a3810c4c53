// Colour maps for heatmaps and plots: a perceptually ordered sequential map (dark blue -> yellow,
// viridis-like anchors), a diverging blue-white-red map for signed differences, and series colours.
#pragma once
#include <imgui.h>

namespace ds::ui {

ImU32 color_sequential(float t);   // t in [0, 1] (clamped)
ImU32 color_diverging(float t);    // t in [-1, 1] (clamped): blue < 0 < red
ImU32 series_color(int i);         // distinct colours for plot series / students
ImU32 with_alpha(ImU32 c, float alpha);

// A horizontal colour bar with its end labels, `width` pixels wide.
void color_bar(const char* lo_label, const char* hi_label, bool diverging, float width);

}  // namespace ds::ui
