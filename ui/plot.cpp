// Line plot: data range, ticks, polylines, legend, hover readout.
#include "ui/plot.h"

#include <algorithm>
#include <cfloat>
#include <cstdio>

#include "ui/colormap.h"

namespace ds::ui {

float nice_step(float range, int n) {
  if (!(range > 0)) return 1.0f;
  float raw = range / float(std::max(n, 1));
  float mag = std::pow(10.0f, std::floor(std::log10(raw)));
  float f = raw / mag;
  return (f < 1.5f ? 1.0f : f < 3.5f ? 2.0f : f < 7.5f ? 5.0f : 10.0f) * mag;
}

PlotResult line_plot(const char* id, std::span<const PlotSeries> series, const PlotSpec& spec, ImVec2 size) {
  PlotResult res;
  ImGui::PushID(id);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("##plot", {std::max(size.x, 40.0f), std::max(size.y, 40.0f)});
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float font = ImGui::GetFontSize();
  const ImVec2 p0{origin.x + font * 3.5f, origin.y + font * 0.5f};
  const ImVec2 p1{origin.x + size.x - font * 0.5f, origin.y + size.y - font * 2.4f};

  float x0 = FLT_MAX, x1 = -FLT_MAX, y0 = FLT_MAX, y1 = -FLT_MAX;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (!std::isnan(spec.x_min)) x0 = spec.x_min;
  if (!std::isnan(spec.x_max)) x1 = spec.x_max;
  if (!std::isnan(spec.y_min)) y0 = spec.y_min;
  if (!std::isnan(spec.y_max)) y1 = spec.y_max;
  const ImU32 axis = ImGui::GetColorU32(ImGuiCol_TextDisabled), text = ImGui::GetColorU32(ImGuiCol_Text);
  dl->AddRectFilled(p0, p1, IM_COL32(20, 20, 26, 255));
  if (x0 > x1 || y0 > y1) {
    dl->AddText({p0.x + 6, p0.y + 6}, axis, "no data yet");
    ImGui::PopID();
    return res;
  }
  if (x1 - x0 < 1e-6f) x0 -= 0.5f, x1 += 0.5f;
  if (y1 - y0 < 1e-9f) y0 -= 0.5f, y1 += 0.5f;
  auto sx = [&](float x) { return p0.x + (x - x0) / (x1 - x0) * (p1.x - p0.x); };
  auto sy = [&](float y) { return p1.y - (y - y0) / (y1 - y0) * (p1.y - p0.y); };

  char buf[64];
  for (float st = nice_step(y1 - y0, 4), t = std::ceil(y0 / st) * st; t <= y1 + st * 1e-3f; t += st) {
    dl->AddLine({p0.x, sy(t)}, {p1.x, sy(t)}, IM_COL32(60, 60, 70, 255));
    std::snprintf(buf, sizeof buf, "%.4g", std::fabs(t) < st * 1e-4f ? 0.0 : double(t));  // no "-0"
    dl->AddText({origin.x, sy(t) - font * 0.5f}, axis, buf);
  }
  float x_step = nice_step(x1 - x0, 6);
  if (spec.integer_x) x_step = std::max(x_step, 1.0f);
  for (float st = x_step, t = std::ceil(x0 / st) * st; t <= x1 + st * 1e-3f; t += st) {
    dl->AddLine({sx(t), p1.y}, {sx(t), p1.y + 4}, axis);
    std::snprintf(buf, sizeof buf, "%.4g", std::fabs(t) < st * 1e-4f ? 0.0 : double(t));
    dl->AddText({sx(t) - ImGui::CalcTextSize(buf).x * 0.5f, p1.y + 4}, axis, buf);
  }
  dl->AddText({(p0.x + p1.x) * 0.5f - ImGui::CalcTextSize(spec.x_label).x * 0.5f, p1.y + font * 1.2f}, axis, spec.x_label);
  dl->AddText({p0.x + 4, p0.y + 2}, axis, spec.y_label);

  dl->PushClipRect(p0, p1, true);
  std::vector<ImVec2> pts;
  for (size_t si = 0; si < series.size(); ++si) {
    const auto& s = series[si];
    ImU32 c = s.color ? s.color : series_color(int(si));
    // One polyline per run of increasing x (a series restarting, e.g. a new reply's context, is not joined).
    auto flush = [&] {
      if (pts.size() > 1) dl->AddPolyline(pts.data(), int(pts.size()), c, ImDrawFlags_None, 1.5f);
      if (s.markers || pts.size() == 1)
        for (const ImVec2& p : pts) dl->AddCircleFilled(p, 2.5f, c, 8);
      pts.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      if (!pts.empty() && sx(s.x[i]) < pts.back().x) flush();
      pts.push_back({sx(s.x[i]), sy(s.y[i])});
    }
    flush();
  }
  dl->PopClipRect();

  // Legend (top right).
  float ly = p0.y + 4;
  for (size_t si = 0; si < series.size(); ++si) {
    if (series[si].name.empty()) continue;
    ImU32 c = series[si].color ? series[si].color : series_color(int(si));
    float w = ImGui::CalcTextSize(series[si].name.c_str()).x;
    dl->AddRectFilled({p1.x - w - 22, ly + font * 0.3f}, {p1.x - w - 12, ly + font * 0.7f}, c);
    dl->AddText({p1.x - w - 6, ly}, text, series[si].name.c_str());
    ly += font * 1.1f;
  }

  ImVec2 m = ImGui::GetIO().MousePos;
  if (hovered && m.x >= p0.x && m.x <= p1.x) {
    res.hovered = true;
    res.x = x0 + (m.x - p0.x) / (p1.x - p0.x) * (x1 - x0);
    dl->AddLine({m.x, p0.y}, {m.x, p1.y}, IM_COL32(255, 255, 255, 90));
    ImGui::BeginTooltip();
    ImGui::Text("%s %.4g", spec.x_label, double(res.x));
    for (size_t si = 0; si < series.size(); ++si) {
      const auto& s = series[si];
      size_t best = SIZE_MAX;
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (best == SIZE_MAX || std::fabs(s.x[i] - res.x) < std::fabs(s.x[best] - res.x)) best = i;
      if (best != SIZE_MAX)
        ImGui::Text("%s: %.4g at %.4g", s.name.empty() ? spec.y_label : s.name.c_str(), double(s.y[best]),
                    double(s.x[best]));
    }
    ImGui::EndTooltip();
  }
  ImGui::PopID();
  return res;
}

}  // namespace ds::ui
