// Heatmap widget for matrices of hundreds of rows/columns (attention maps, layer x token strips):
// zoom with the wheel around the mouse, pan by dragging, double-click to fit; token labels on both
// axes (columns written vertically) when there is room; hover reads a cell. Drawn with ImDrawList
// rectangles at screen resolution: when cells are smaller than `min_cell_px`, blocks of cells are
// pooled (max of |value|) so the number of rectangles is bounded by the widget's pixel area.
#pragma once
#include <imgui.h>

#include <string>
#include <vector>

namespace ds::ui {

struct HeatmapView {
  float zoom = 1.0f;                // 1: the whole matrix fits the area
  float offset_x = 0, offset_y = 0;  // first visible column / row (in cells, fractional)
};

struct HeatmapSpec {
  const float* values = nullptr;    // [rows][cols] row-major
  int rows = 0, cols = 0;
  float lo = 0, hi = 1;             // colour range (diverging: symmetric around 0, hi used)
  bool diverging = false;
  bool skip_zeros = false;          // leave exact zeros undrawn (e.g. above the causal diagonal)
  const std::vector<std::string>* row_labels = nullptr;  // display labels (visual order), or null
  const std::vector<std::string>* col_labels = nullptr;
  const char* row_name = "row";
  const char* col_name = "column";
  int row_label_offset = 0;         // row r is labelled row_labels[r + offset] (query windows)
  float min_cell_px = 4.0f;         // pooling threshold
  bool square = true;               // square cells; false: fill the area (e.g. few layers x many tokens)
  float row_label_width = 0;        // 0: automatic
  bool show_labels = true;
  bool interactive = true;          // zoom/pan/tooltip (off for thumbnails)
};

struct HeatmapResult {
  int row = -1, col = -1;           // hovered cell, -1 when none
  float value = 0;
  bool clicked = false;
};

HeatmapResult heatmap(const char* id, const HeatmapSpec& spec, HeatmapView& view, ImVec2 size);

// Text drawn rotated 90 degrees counter-clockwise (reading upwards), starting at `bottom_left`.
void add_vertical_text(ImDrawList* dl, ImVec2 bottom_left, ImU32 color, const char* text);

// `text` shortened with "…" to fit `max_px` at the current font.
std::string fit_text(const std::string& text, float max_px);

}  // namespace ds::ui
