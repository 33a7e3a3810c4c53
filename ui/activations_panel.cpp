// Activations: residual-stream norms per layer across tokens (heatmap), and for the selected token
// and layer the norms by layer, the value histogram, the top channels and the logit lens.
#include <algorithm>
#include <cfloat>
#include <cstdio>
#include <vector>

#include "ui/colormap.h"
#include "ui/panels.h"
#include "ui/plot.h"
#include "ui/rtl_text.h"

namespace ds::ui {

namespace {

void draw_token_details(const ActivationSnapshot& snap, const TokenText& token_text, ActivationsView& v, float width) {
  const TokenActivations& ta = snap.tokens[size_t(v.token)];
  if (ta.layers.empty()) return;
  const int layer = std::clamp(v.layer, 0, int(ta.layers.size()) - 1);
  const LayerActivation& la = ta.layers[size_t(layer)];
  const auto& labels = visual_labels(snap.token_labels);
  const char* label = size_t(ta.position) < labels.size() ? labels[size_t(ta.position)].c_str() : "?";
  ImGui::Text("token %d '%s', layer %d", ta.position, label, layer);

  // Norms by layer for this token.
  PlotSeries res{"residual", {}, {}}, mix{"mixer out", {}, {}}, mlp{"mlp out", {}, {}};
  for (size_t l = 0; l < ta.layers.size(); ++l) {
    res.x.push_back(float(l)), res.y.push_back(ta.layers[l].residual_norm);
    mix.x.push_back(float(l)), mix.y.push_back(ta.layers[l].mixer_out_norm);
    mlp.x.push_back(float(l)), mlp.y.push_back(ta.layers[l].mlp_out_norm);
  }
  PlotSeries series[] = {res, mix, mlp};
  PlotSpec ps;
  ps.x_label = "layer";
  ps.integer_x = true;
  ps.y_label = "L2 norm";
  ps.y_min = 0;
  line_plot("norms_by_layer", series, ps, {width, 170});

  if (!la.histogram.empty()) {
    std::vector<float> h(la.histogram.begin(), la.histogram.end());
    char over[64];
    std::snprintf(over, sizeof over, "values in [%.2g, %.2g]", double(la.hist_lo), double(la.hist_hi));
    ImGui::PlotHistogram("##hist", h.data(), int(h.size()), 0, over, 0.0f, FLT_MAX, {width, 90});
  }
  if (ImGui::BeginTable("top_channels", 2, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchSame, {width * 0.4f, 0})) {
    ImGui::TableSetupColumn("channel");
    ImGui::TableSetupColumn("value");
    ImGui::TableHeadersRow();
    for (const auto& [ch, val] : la.top_channels) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::Text("%d", ch);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", double(val));
    }
    ImGui::EndTable();
  }
  ImGui::SameLine();
  // Logit lens: each layer's top tokens, shaded by probability.
  size_t k = 0;
  for (const auto& l : ta.layers) k = std::max(k, l.logit_lens.size());
  if (k > 0 && ImGui::BeginTable("logit_lens", int(k) + 1, ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY,
                                 {width * 0.58f, 260})) {
    ImGui::TableSetupScrollFreeze(1, 1);
    ImGui::TableSetupColumn("layer");
    for (size_t i = 0; i < k; ++i) ImGui::TableSetupColumn(("top " + std::to_string(i + 1)).c_str());
    ImGui::TableHeadersRow();
    for (size_t l = 0; l < ta.layers.size(); ++l) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::Text("%zu", l);
      for (const auto& [id, p] : ta.layers[l].logit_lens) {
        ImGui::TableNextColumn();
        ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, with_alpha(color_sequential(p), 0.55f));
        std::string t = visual_text(token_text ? token_text(id) : "#" + std::to_string(id));
        ImGui::Text("%s %.2f", t.c_str(), double(p));
      }
    }
    ImGui::EndTable();
  }
}

}  // namespace

bool draw_activations_panel(const ActivationSnapshot& snap, const TokenText& token_text, ActivationsView& v) {
  if (snap.tokens.empty()) {
    ImGui::TextDisabled("No activations captured yet.");
    return false;
  }
  const int n_tokens = int(snap.tokens.size());
  int n_layers = 0;
  for (const auto& t : snap.tokens) n_layers = std::max(n_layers, int(t.layers.size()));
  bool changed = false;
  if (v.token < 0 || v.token >= n_tokens) v.token = n_tokens - 1;
  ImGui::SetNextItemWidth(200);
  changed |= ImGui::SliderInt("token", &v.token, 0, n_tokens - 1);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("layer", &v.layer, 0, std::max(n_layers - 1, 0));

  // Residual norm [layer][token].
  std::vector<float> norms(size_t(n_layers) * size_t(n_tokens), NAN);
  float hi = 1e-6f;
  for (int t = 0; t < n_tokens; ++t)
    for (size_t l = 0; l < snap.tokens[size_t(t)].layers.size(); ++l) {
      float x = snap.tokens[size_t(t)].layers[l].residual_norm;
      norms[l * size_t(n_tokens) + size_t(t)] = x;
      hi = std::max(hi, x);
    }
  std::vector<std::string> layer_labels;
  for (int l = 0; l < n_layers; ++l) layer_labels.push_back("L" + std::to_string(l));
  HeatmapSpec s;
  s.values = norms.data();
  s.rows = n_layers;
  s.cols = n_tokens;
  s.lo = 0;
  s.hi = hi;
  s.row_labels = &layer_labels;
  s.col_labels = &visual_labels(snap.token_labels);
  s.row_name = "layer";
  s.col_name = "token";
  s.min_cell_px = 2.0f;
  s.square = false;
  ImVec2 avail = ImGui::GetContentRegionAvail();
  const float left_w = avail.x * 0.45f;
  ImGui::BeginGroup();
  ImGui::TextUnformatted("residual norm after each layer");
  HeatmapResult r = heatmap("residual_norms", s, v.norms, {left_w, avail.y - ImGui::GetTextLineHeightWithSpacing() * 3});
  char hi_label[32];
  std::snprintf(hi_label, sizeof hi_label, "%.3g", double(hi));
  color_bar("0", hi_label, false, 140);
  ImGui::EndGroup();
  if (r.clicked && r.row >= 0) {
    v.layer = r.row;
    v.token = r.col;
    changed = true;
  }
  ImGui::SameLine();
  ImGui::BeginChild("details", {0, 0});
  draw_token_details(snap, token_text, v, ImGui::GetContentRegionAvail().x);
  ImGui::EndChild();
  return changed;
}

}  // namespace ds::ui
