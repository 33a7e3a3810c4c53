// Heatmap widget: interaction (zoom/pan/hover), pooled cell drawing, axis labels.
#include "ui/heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/colormap.h"

namespace ds::ui {

namespace {

ImVec2 add(ImVec2 a, ImVec2 b) { return {a.x + b.x, a.y + b.y}; }

const std::string* label_at(const std::vector<std::string>* labels, int i) {
  if (!labels || i < 0 || size_t(i) >= labels->size()) return nullptr;
  return &(*labels)[size_t(i)];
}

// Colours are quantized to 96 levels (invisible steps) so that runs of equal neighbours merge.
ImU32 cell_color(const HeatmapSpec& s, float v) {
  constexpr float levels = 96.0f;
  if (s.diverging) {
    float h = s.hi > 0 ? s.hi : 1.0f;
    return color_diverging(std::round(std::clamp(v / h, -1.0f, 1.0f) * levels) / levels);
  }
  float t = s.hi > s.lo ? (v - s.lo) / (s.hi - s.lo) : 0.0f;
  t = std::sqrt(std::clamp(t, 0.0f, 1.0f));  // sqrt: small weights stay visible
  return color_sequential(std::round(t * levels) / levels);
}

// Zoom by the wheel around the mouse, pan by dragging, fit on double-click; keeps offsets in range.
// fit_x/fit_y: cell size at zoom 1.
void interact(HeatmapView& v, ImVec2 p0, float fit_x, float fit_y, bool hovered, bool active) {
  ImGuiIO& io = ImGui::GetIO();
  if (hovered && io.MouseWheel != 0) {
    float mx = v.offset_x + (io.MousePos.x - p0.x) / (fit_x * v.zoom);
    float my = v.offset_y + (io.MousePos.y - p0.y) / (fit_y * v.zoom);
    float max_zoom = std::max(1.0f, 48.0f / std::min(fit_x, fit_y));  // at most 48 px per cell
    v.zoom = std::clamp(v.zoom * std::pow(1.2f, io.MouseWheel), 1.0f, max_zoom);
    v.offset_x = mx - (io.MousePos.x - p0.x) / (fit_x * v.zoom);
    v.offset_y = my - (io.MousePos.y - p0.y) / (fit_y * v.zoom);
  }
  if (active && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 1.0f)) {
    v.offset_x -= io.MouseDelta.x / (fit_x * v.zoom);
    v.offset_y -= io.MouseDelta.y / (fit_y * v.zoom);
  }
  if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) v = HeatmapView{};
}

void draw_cells(ImDrawList* dl, const HeatmapSpec& s, const HeatmapView& v, ImVec2 p0, ImVec2 p1, float cw, float ch) {
  const int kx = std::max(1, int(std::ceil(s.min_cell_px / cw)));  // cells pooled per block, per axis
  const int ky = std::max(1, int(std::ceil(s.min_cell_px / ch)));
  const float vis_cols = (p1.x - p0.x) / cw, vis_rows = (p1.y - p0.y) / ch;
  const int c_begin = int(v.offset_x) / kx * kx, r_begin = int(v.offset_y) / ky * ky;
  const int c_end = std::min(s.cols, int(std::ceil(v.offset_x + vis_cols)));
  const int r_end = std::min(s.rows, int(std::ceil(v.offset_y + vis_rows)));
  // Adjacent blocks of a row with the same colour are drawn as one rectangle: on a software
  // rasterizer the cost is per triangle, and attention maps have long runs of near-zero weights.
  for (int r = r_begin; r < r_end; r += ky) {
    const int r_stop = std::min(r + ky, s.rows);
    const float y0 = p0.y + (float(r) - v.offset_y) * ch, y1 = y0 + float(r_stop - r) * ch;
    float run_x0 = 0, run_x1 = 0;
    ImU32 run_color = 0;
    bool in_run = false;
    auto flush = [&] {
      if (in_run) dl->AddRectFilled({run_x0, y0}, {run_x1, y1}, run_color);
      in_run = false;
    };
    for (int c = c_begin; c < c_end; c += kx) {
      const int c_stop = std::min(c + kx, s.cols);
      float pooled = 0;
      bool any = false;
      for (int rr = r; rr < r_stop; ++rr) {
        const float* row = s.values + size_t(rr) * size_t(s.cols);
        for (int cc = c; cc < c_stop; ++cc) {
          float x = row[cc];
          if (!std::isfinite(x)) continue;  // not captured / not applicable
          if (x != 0.0f || !s.skip_zeros) any = true;
          if (std::fabs(x) > std::fabs(pooled)) pooled = x;
        }
      }
      if (!any) {
        flush();
        continue;
      }
      const float x0 = p0.x + (float(c) - v.offset_x) * cw, x1 = x0 + float(c_stop - c) * cw;
      const ImU32 color = cell_color(s, pooled);
      if (in_run && color == run_color) {
        run_x1 = x1;
      } else {
        flush();
        run_x0 = x0, run_x1 = x1, run_color = color, in_run = true;
      }
    }
    flush();
  }
}

void draw_labels(ImDrawList* dl, const HeatmapSpec& s, const HeatmapView& v, ImVec2 origin, ImVec2 p0, ImVec2 p1,
                 float cw, float ch) {
  const float font = ImGui::GetFontSize();
  const int row_step = std::max(1, int(std::ceil(font * 1.05f / ch)));
  const int col_step = std::max(1, int(std::ceil(font * 1.05f / cw)));
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  const int r_begin = int(v.offset_y) / row_step * row_step, c_begin = int(v.offset_x) / col_step * col_step;
  const int r_end = std::min(s.rows, int(std::ceil(v.offset_y + (p1.y - p0.y) / ch)));
  const int c_end = std::min(s.cols, int(std::ceil(v.offset_x + (p1.x - p0.x) / cw)));
  if (s.row_labels && p0.x - origin.x > 8) {
    const float width = p0.x - origin.x - 6;
    dl->PushClipRect({origin.x, p0.y}, {p0.x - 2, p1.y}, true);
    for (int r = r_begin; r < r_end; r += row_step) {
      const std::string* l = label_at(s.row_labels, r + s.row_label_offset);
      if (!l) continue;
      std::string t = fit_text(*l, width);
      float w = ImGui::CalcTextSize(t.c_str()).x;
      float y = p0.y + (float(r) + 0.5f - v.offset_y) * ch - font * 0.5f;
      dl->AddText({p0.x - 4 - w, y}, text, t.c_str());
    }
    dl->PopClipRect();
  }
  if (s.col_labels && p0.y - origin.y > 8) {
    const float height = p0.y - origin.y - 6;
    dl->PushClipRect({p0.x, origin.y}, {p1.x, p0.y - 2}, true);
    for (int c = c_begin; c < c_end; c += col_step) {
      const std::string* l = label_at(s.col_labels, c);
      if (!l) continue;
      float x = p0.x + (float(c) + 0.5f - v.offset_x) * cw - font * 0.5f;
      add_vertical_text(dl, {x, p0.y - 4}, text, fit_text(*l, height).c_str());
    }
    dl->PopClipRect();
  }
}

}  // namespace

std::string fit_text(const std::string& text, float max_px) {
  if (ImGui::CalcTextSize(text.c_str()).x <= max_px) return text;
  std::string t = text;
  while (!t.empty()) {
    size_t n = t.size() - 1;  // drop the last whole UTF-8 character
    while (n > 0 && (uint8_t(t[n]) & 0xC0) == 0x80) --n;
    t.resize(n);
    if (ImGui::CalcTextSize((t + "\xE2\x80\xA6").c_str()).x <= max_px) break;
  }
  return t + "\xE2\x80\xA6";  // …
}

void add_vertical_text(ImDrawList* dl, ImVec2 bottom_left, ImU32 color, const char* text) {
  // Lay the text out horizontally at the clip rectangle's corner (so ImGui's CPU clipping keeps
  // every glyph), then rotate those vertices into place.
  ImVec2 at = dl->GetClipRectMin();
  int first = dl->VtxBuffer.Size;
  dl->AddText(at, color, text);
  for (int i = first; i < dl->VtxBuffer.Size; ++i) {
    ImVec2& p = dl->VtxBuffer[i].pos;
    float dx = p.x - at.x, dy = p.y - at.y;
    p = {bottom_left.x + dy, bottom_left.y - dx};
  }
}

HeatmapResult heatmap(const char* id, const HeatmapSpec& s, HeatmapView& v, ImVec2 size) {
  HeatmapResult res;
  ImGui::PushID(id);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  size.x = std::max(size.x, 16.0f);
  size.y = std::max(size.y, 16.0f);
  ImGui::InvisibleButton("##heatmap", size);
  const bool hovered = ImGui::IsItemHovered(), active = ImGui::IsItemActive();
  ImDrawList* dl = ImGui::GetWindowDrawList();

  const bool labels = s.show_labels && size.x > 160 && size.y > 80;
  const float left = !labels || !s.row_labels ? 0.0f
                     : s.row_label_width > 0  ? s.row_label_width
                                              : std::min(110.0f, size.x * 0.22f);
  const float top = labels && s.col_labels ? std::min(80.0f, size.y * 0.22f) : 0.0f;
  const ImVec2 p0 = add(origin, {left, top}), p1 = add(origin, size);
  const float pw = p1.x - p0.x, ph = p1.y - p0.y;
  if (!s.values || s.rows <= 0 || s.cols <= 0) {
    dl->AddText(add(origin, {4, 4}), ImGui::GetColorU32(ImGuiCol_TextDisabled), "no data");
    ImGui::PopID();
    return res;
  }
  float fit_x = pw / float(s.cols), fit_y = ph / float(s.rows);
  if (s.square) fit_x = fit_y = std::min(fit_x, fit_y);
  if (s.interactive) interact(v, p0, fit_x, fit_y, hovered, active);
  const float cw = fit_x * v.zoom, ch = fit_y * v.zoom;
  v.offset_x = std::clamp(v.offset_x, 0.0f, std::max(0.0f, float(s.cols) - pw / cw));
  v.offset_y = std::clamp(v.offset_y, 0.0f, std::max(0.0f, float(s.rows) - ph / ch));

  dl->PushClipRect(p0, p1, true);
  dl->AddRectFilled(p0, p1, IM_COL32(18, 18, 24, 255));
  draw_cells(dl, s, v, p0, p1, cw, ch);
  if (hovered) {
    ImVec2 m = ImGui::GetIO().MousePos;
    int c = int(std::floor(v.offset_x + (m.x - p0.x) / cw)), r = int(std::floor(v.offset_y + (m.y - p0.y) / ch));
    if (m.x >= p0.x && m.y >= p0.y && c >= 0 && c < s.cols && r >= 0 && r < s.rows) {
      res.row = r;
      res.col = c;
      res.value = s.values[size_t(r) * size_t(s.cols) + size_t(c)];
      ImVec2 a{p0.x + (float(c) - v.offset_x) * cw, p0.y + (float(r) - v.offset_y) * ch};
      dl->AddRect(a, {a.x + std::max(cw, 3.0f), a.y + std::max(ch, 3.0f)}, IM_COL32(255, 255, 255, 220));
    }
  }
  dl->PopClipRect();
  if (labels) draw_labels(dl, s, v, origin, p0, p1, cw, ch);

  if (res.row >= 0 && s.interactive) {
    const std::string* rl = label_at(s.row_labels, res.row + s.row_label_offset);
    const std::string* cl = label_at(s.col_labels, res.col);
    ImGui::BeginTooltip();
    ImGui::Text("%s %d %s%s%s", s.row_name, res.row + s.row_label_offset, rl ? "'" : "", rl ? rl->c_str() : "",
                rl ? "'" : "");
    ImGui::Text("%s %d %s%s%s", s.col_name, res.col, cl ? "'" : "", cl ? cl->c_str() : "", cl ? "'" : "");
    ImGui::Text("value %.5g", double(res.value));
    ImGui::EndTooltip();
  }
  // A click is a release without a drag (dragging pans).
  res.clicked = hovered && ImGui::IsMouseReleased(ImGuiMouseButton_Left) &&
                ImGui::GetIO().MouseDragMaxDistanceSqr[ImGuiMouseButton_Left] < 16.0f;
  ImGui::PopID();
  return res;
}

}  // namespace ds::ui
