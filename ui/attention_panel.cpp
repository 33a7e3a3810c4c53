// Attention explorer: one head's map (with teacher and difference side by side), all heads of a
// layer as thumbnails, and a layers x heads overview coloured by a per-head summary. Mixer layers'
// maps are the weights the mixer implies, and are labelled so.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ui/colormap.h"
#include "ui/panels.h"
#include "ui/rtl_text.h"

namespace ds::ui {

const AttentionMap* find_map(const AttentionSnapshot& snap, int layer, int head) {
  for (const auto& m : snap.maps)
    if (m.layer == layer && m.head == head) return &m;
  return nullptr;
}

float head_metric(const AttentionMap& m, HeadMetric metric) {
  if (m.n_queries <= 0 || m.n_keys <= 0) return NAN;
  double total = 0;
  int rows = 0;
  for (int q = 0; q < m.n_queries; ++q) {
    const int pos = m.query_begin + q;  // absolute position of this query
    const int n = std::min(pos + 1, m.n_keys);
    if (n <= 1 && metric != HeadMetric::FirstToken) continue;
    switch (metric) {
      case HeadMetric::Entropy: {
        double h = 0;
        for (int k = 0; k < n; ++k) {
          float p = m.at(q, k);
          if (p > 0) h -= double(p) * std::log(double(p));
        }
        total += h / std::log(double(n));
        break;
      }
      case HeadMetric::FirstToken: total += m.at(q, 0); break;
      case HeadMetric::PreviousToken: total += m.at(q, pos - 1); break;
    }
    ++rows;
  }
  return rows ? float(total / rows) : NAN;
}

namespace {

const char* metric_name(HeadMetric m) {
  return m == HeadMetric::Entropy ? "entropy (normalized)" : m == HeadMetric::FirstToken ? "mass on first token"
                                                                                         : "mass on previous token";
}

std::string layer_caption(const AttentionSnapshot& s, int layer) {
  LayerKind k = layer < int(s.layout.size()) ? s.layout[size_t(layer)] : LayerKind::Attention;
  char buf[96];
  if (k == LayerKind::Attention) std::snprintf(buf, sizeof buf, "layer %d: attention", layer);
  else std::snprintf(buf, sizeof buf, "layer %d: %s mixer, implied attention", layer, layer_kind_name(k));
  return buf;
}

HeatmapSpec map_spec(const AttentionMap& m, const std::vector<std::string>& labels) {
  HeatmapSpec s;
  s.values = m.probs.data();
  s.rows = m.n_queries;
  s.cols = m.n_keys;
  s.lo = 0;
  s.hi = m.probs.empty() ? 1.0f : std::max(1e-6f, *std::max_element(m.probs.begin(), m.probs.end()));
  s.skip_zeros = true;
  s.row_labels = &labels;
  s.col_labels = &labels;
  s.row_label_offset = m.query_begin;
  s.row_name = "query";
  s.col_name = "key";
  return s;
}

void hover_line(const HeatmapResult& r, const AttentionMap& m, const std::vector<std::string>& labels) {
  if (r.row < 0) return;
  int q = r.row + m.query_begin;
  auto lab = [&](int i) { return i >= 0 && size_t(i) < labels.size() ? labels[size_t(i)].c_str() : "?"; };
  ImGui::Text("query %d '%s' -> key %d '%s': %s %.4f", q, lab(q), r.col, lab(r.col), m.implied ? "implied weight" : "p",
              double(r.value));
}

bool draw_map_mode(const AttentionSnapshot& st, const AttentionSnapshot* teacher, AttentionView& v) {
  const AttentionMap* sm = find_map(st, v.layer, v.head);
  const auto& labels = visual_labels(st.token_labels);
  ImGui::TextUnformatted(layer_caption(st, v.layer).c_str());
  if (!sm) {
    ImGui::TextDisabled("layer %d head %d was not captured", v.layer, v.head);
    return false;
  }
  const AttentionMap* tm = teacher && v.compare ? find_map(*teacher, v.layer, v.head) : nullptr;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  avail.y -= ImGui::GetTextLineHeightWithSpacing() * 2.2f;
  HeatmapResult hover;
  if (!tm) {
    hover = heatmap("student", map_spec(*sm, labels), v.map, avail);
  } else {
    const bool same_shape = tm->n_queries == sm->n_queries && tm->n_keys == sm->n_keys;
    std::vector<float> diff;
    if (same_shape) {
      diff.resize(sm->probs.size());
      for (size_t i = 0; i < diff.size(); ++i) diff[i] = sm->probs[i] - tm->probs[i];
    }
    const float w = (avail.x - 2 * ImGui::GetStyle().ItemSpacing.x) / 3.0f;
    const float h = avail.y - ImGui::GetTextLineHeightWithSpacing();
    ImGui::BeginGroup();
    ImGui::Text("student: %s", st.model.c_str());
    HeatmapResult a = heatmap("student", map_spec(*sm, labels), v.map, {w, h});
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::Text("teacher: %s", teacher->model.c_str());
    const auto& tlabels = visual_labels(teacher->token_labels);
    HeatmapResult b = heatmap("teacher", map_spec(*tm, tlabels), v.teacher_map, {w, h});
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextUnformatted("student - teacher");
    HeatmapResult c;
    if (same_shape) {
      HeatmapSpec ds = map_spec(*sm, labels);
      ds.values = diff.data();
      ds.diverging = true;
      float mx = 1e-6f;
      for (float d : diff) mx = std::max(mx, std::fabs(d));
      ds.hi = mx;
      c = heatmap("diff", ds, v.diff_map, {w, h});
    } else {
      ImGui::TextDisabled("shapes differ (%dx%d vs %dx%d)", sm->n_queries, sm->n_keys, tm->n_queries, tm->n_keys);
    }
    ImGui::EndGroup();
    hover = a.row >= 0 ? a : b.row >= 0 ? b : c;
  }
  hover_line(hover, *sm, labels);
  ImGui::TextDisabled("wheel: zoom   drag: pan   double-click: fit");
  return false;
}

bool draw_heads_grid(const AttentionSnapshot& st, AttentionView& v) {
  ImGui::TextUnformatted(layer_caption(st, v.layer).c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("(click a head to open it)");
  const int n = std::max(st.n_heads, 1);
  ImVec2 avail = ImGui::GetContentRegionAvail();
  int cols = std::max(1, int(std::ceil(std::sqrt(float(n) * avail.x / std::max(avail.y, 1.0f)))));
  cols = std::min(cols, n);
  const int rows = (n + cols - 1) / cols;
  const float sp = ImGui::GetStyle().ItemSpacing.x;
  const float cell = std::max(40.0f, std::min((avail.x - sp * float(cols - 1)) / float(cols),
                                              avail.y / float(rows) - ImGui::GetTextLineHeightWithSpacing() - sp));
  v.thumbs.resize(size_t(n));
  bool changed = false;
  for (int h = 0; h < n; ++h) {
    if (h % cols) ImGui::SameLine();
    ImGui::BeginGroup();
    const AttentionMap* m = find_map(st, v.layer, h);
    if (m) ImGui::Text("h%d  H=%.2f", h, double(head_metric(*m, HeadMetric::Entropy)));
    else ImGui::Text("h%d", h);
    if (m) {
      HeatmapSpec s = map_spec(*m, st.token_labels);
      s.show_labels = false;
      s.interactive = false;
      s.min_cell_px = 3.0f;
      if (heatmap(("thumb" + std::to_string(h)).c_str(), s, v.thumbs[size_t(h)], {cell, cell}).clicked) {
        v.head = h;
        v.mode = AttentionMode::Map;
        changed = true;
      }
    } else {
      ImGui::Dummy({cell, cell});
    }
    ImGui::EndGroup();
  }
  return changed;
}

bool draw_overview(const AttentionSnapshot& st, AttentionView& v) {
  const char* metrics[] = {"entropy (normalized)", "mass on first token", "mass on previous token"};
  int mi = int(v.metric);
  ImGui::SetNextItemWidth(220);
  if (ImGui::Combo("per-head summary", &mi, metrics, 3)) v.metric = HeadMetric(mi);
  const int nl = st.n_layers, nh = st.n_heads;
  std::vector<float> values(size_t(std::max(nl * nh, 0)), NAN);
  for (const auto& m : st.maps)
    if (m.layer < nl && m.head < nh) values[size_t(m.layer * nh + m.head)] = head_metric(m, v.metric);
  std::vector<std::string> row_labels, col_labels;
  for (int l = 0; l < nl; ++l) {
    LayerKind k = l < int(st.layout.size()) ? st.layout[size_t(l)] : LayerKind::Attention;
    row_labels.push_back("L" + std::to_string(l) + (k == LayerKind::Attention ? " attn" : std::string(" ") +
                                                                                            layer_kind_name(k) + " (implied)"));
  }
  for (int h = 0; h < nh; ++h) col_labels.push_back("h" + std::to_string(h));
  HeatmapSpec s;
  s.values = values.data();
  s.rows = nl;
  s.cols = nh;
  s.lo = 0;
  s.hi = 1;
  s.row_labels = &row_labels;
  s.col_labels = &col_labels;
  s.row_name = "layer";
  s.col_name = "head";
  s.min_cell_px = 1.0f;
  s.row_label_width = 160.0f;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  avail.y -= ImGui::GetTextLineHeightWithSpacing() * 2;
  HeatmapResult r = heatmap("overview", s, v.overview, avail);
  color_bar("0", "1", false, 160);
  ImGui::SameLine();
  ImGui::TextDisabled("%s; click a cell to open that head", metric_name(v.metric));
  if (r.clicked && r.row >= 0) {
    v.layer = r.row;
    v.head = r.col;
    v.mode = AttentionMode::Map;
    return true;
  }
  return false;
}

}  // namespace

bool draw_attention_panel(const AttentionSnapshot& st, const AttentionSnapshot* teacher, AttentionView& v) {
  bool changed = false;
  if (st.maps.empty()) {
    ImGui::TextDisabled("No attention captured yet.");
    return false;
  }
  int mode = int(v.mode);
  changed |= ImGui::RadioButton("Map", &mode, 0);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("All heads", &mode, 1);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("Layers x heads", &mode, 2);
  v.mode = AttentionMode(mode);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(140);
  changed |= ImGui::SliderInt("layer", &v.layer, 0, std::max(st.n_layers - 1, 0));
  ImGui::SameLine();
  ImGui::SetNextItemWidth(140);
  changed |= ImGui::SliderInt("head", &v.head, 0, std::max(st.n_heads - 1, 0));
  if (teacher) {
    ImGui::SameLine();
    changed |= ImGui::Checkbox("teacher + difference", &v.compare);
  }
  v.layer = std::clamp(v.layer, 0, std::max(st.n_layers - 1, 0));
  v.head = std::clamp(v.head, 0, std::max(st.n_heads - 1, 0));
  switch (v.mode) {
    case AttentionMode::Map: changed |= draw_map_mode(st, teacher, v); break;
    case AttentionMode::HeadsGrid: changed |= draw_heads_grid(st, v); break;
    case AttentionMode::Overview: changed |= draw_overview(st, v); break;
  }
  return changed;
}

}  // namespace ds::ui
