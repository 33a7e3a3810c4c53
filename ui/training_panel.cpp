// Distillation: the loss curve of each stage of a staged distillation (one colour per stage, the global
// step on x so the stages follow each other), drawn live as the worker reports steps; CSV/JSON exports.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/export.h"
#include "ui/panels.h"
#include "ui/plot.h"

namespace ds::ui {

bool draw_training_panel(const TrainingSnapshot& snap, TrainingView& v) {
  ImGui::TextUnformatted(snap.status.empty() ? "No distillation yet: start a plan in the Distillation dock." : snap.status.c_str());
  ImGui::SameLine();
  const bool changed = ImGui::Checkbox("log scale", &v.log_scale);
  std::vector<PlotSeries> series;
  for (const auto& st : snap.stages) {
    PlotSeries s;
    s.name = st.label + (st.done ? "" : " (running)");
    s.x = st.steps;
    s.y = st.losses;
    if (v.log_scale)
      for (float& y : s.y) y = y > 0 ? std::log10(y) : NAN;
    series.push_back(std::move(s));
  }
  PlotSpec ps;
  ps.x_label = "step (over all stages)";
  ps.y_label = v.log_scale ? "log10 loss" : "loss";
  ps.integer_x = true;
  if (snap.total_steps > 1) ps.x_min = 1, ps.x_max = float(snap.total_steps);  // the curve grows into the plan
  if (!v.log_scale) ps.y_min = 0;
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  line_plot("losses", series, ps, {avail.x, std::max(avail.y, 160.0f)});
  return changed;
}

std::string training_csv(const TrainingSnapshot& snap) {
  std::string out = "stage,label,step,loss\n";
  char buf[96];
  for (size_t s = 0; s < snap.stages.size(); ++s) {
    const auto& st = snap.stages[s];
    for (size_t i = 0; i < st.steps.size() && i < st.losses.size(); ++i) {
      std::snprintf(buf, sizeof buf, ",%.0f,%.6g\n", double(st.steps[i]), double(st.losses[i]));
      out += std::to_string(s) + "," + csv_field(st.label) + buf;
    }
  }
  return out;
}

std::string training_json(const TrainingSnapshot& snap) {
  std::string out = "[";
  char buf[48];
  for (size_t s = 0; s < snap.stages.size(); ++s) {
    const auto& st = snap.stages[s];
    out += (s ? ",\n " : "") + std::string("{\"stage\": ") + std::to_string(s) + ", \"label\": " + json_string(st.label) +
           ", \"steps\": [";
    for (size_t i = 0; i < st.steps.size(); ++i) out += (i ? "," : "") + std::to_string(int64_t(st.steps[i]));
    out += "], \"losses\": [";
    for (size_t i = 0; i < st.losses.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", double(st.losses[i]));
      out += buf;
    }
    out += "]}";
  }
  return out + "]\n";
}

}  // namespace ds::ui
