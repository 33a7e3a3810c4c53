// Throughput: decode tokens/s against context length, one series per model, live as the worker
// reports each token; with the latest and mean figures.
#include <algorithm>
#include <map>

#include "ui/panels.h"
#include "ui/plot.h"

namespace ds::ui {

bool draw_throughput_panel(std::span<const ThroughputSample> samples, ThroughputView& v) {
  bool changed = ImGui::Checkbox("one series per model", &v.per_model);
  if (samples.empty()) {
    ImGui::TextDisabled("No generation yet: tokens/s appear here live while a reply is generated.");
    return changed;
  }
  std::map<std::string, PlotSeries> by_model;
  for (const auto& s : samples) {
    PlotSeries& ser = by_model[v.per_model ? s.model : std::string("all models")];
    ser.name = v.per_model ? s.model : "all models";
    ser.x.push_back(float(s.context));
    ser.y.push_back(float(s.tokens_per_s));
    ser.markers = true;
  }
  std::vector<PlotSeries> series;
  for (auto& [name, s] : by_model) series.push_back(std::move(s));
  const ThroughputSample& last = samples.back();
  double sum = 0;
  for (const auto& s : samples) sum += s.tokens_per_s;
  ImGui::Text("latest: %.1f tokens/s at context %d (%s)   mean of %zu samples: %.1f tokens/s", last.tokens_per_s,
              last.context, last.model.c_str(), samples.size(), sum / double(samples.size()));
  PlotSpec ps;
  ps.x_label = "context (tokens)";
  ps.integer_x = true;
  ps.y_label = "decode tokens/s";
  ps.y_min = 0;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  line_plot("throughput", series, ps, {avail.x, std::max(avail.y, 160.0f)});
  return changed;
}

}  // namespace ds::ui
