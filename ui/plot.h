// A small line/scatter plot widget for panels (KL per token, tokens/s vs context): several
// series, axes with ticks, a legend, and hover that reads the nearest point of each series.
#pragma once
#include <imgui.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

namespace ds::ui {

struct PlotSeries {
  std::string name;
  std::vector<float> x, y;  // same length
  ImU32 color = 0;          // 0: series_color(index)
  bool markers = false;
};

struct PlotSpec {
  const char* x_label = "";
  const char* y_label = "";
  float y_min = NAN, y_max = NAN;  // NAN: from the data
  float x_min = NAN, x_max = NAN;
  bool integer_x = false;  // x is a count (layer, position): ticks at whole numbers
};

struct PlotResult {
  bool hovered = false;
  float x = 0;  // data x under the mouse
};

PlotResult line_plot(const char* id, std::span<const PlotSeries> series, const PlotSpec& spec, ImVec2 size);

// "Nice" tick step for a range: 1, 2 or 5 times a power of ten, giving about `n` ticks.
float nice_step(float range, int n);

}  // namespace ds::ui
