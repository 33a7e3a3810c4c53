// Divergence timeline: per-token KL(teacher || student) of several students on one plot, a top-1
// agreement strip per student, one student's per-layer heat strip (1 - residual cosine), and the
// selected token's top alternatives under teacher and student.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ui/colormap.h"
#include "ui/panels.h"
#include "ui/plot.h"
#include "ui/rtl_text.h"

namespace ds::ui {

namespace {

// One row of cells per student, green where teacher and student agree on the top token. The cells
// line up with the plot's positions (x0 .. x0 + width, the plot's data area); the left margin holds
// the student's plot colour and its agreement, the hover tooltip its name.
int agreement_strips(std::span<const DivergenceSnapshot> students, int n_tokens, float x0, float width) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float h = ImGui::GetTextLineHeight();
  const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  int hovered = -1;
  for (size_t s = 0; s < students.size(); ++s) {
    const ImVec2 row = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton(("agree" + std::to_string(s)).c_str(), {std::max(x0 - row.x + width, 1.0f), h});
    const float cw = width / float(std::max(n_tokens, 1));
    int agree = 0;
    for (const auto& t : students[s].tokens) {
      const float x = x0 + float(t.position) * cw;
      dl->AddRectFilled({x, row.y}, {x + std::max(cw - 1, 1.0f), row.y + h},
                        t.top1_agree ? IM_COL32(40, 170, 90, 255) : IM_COL32(200, 60, 50, 255));
      agree += t.top1_agree;
    }
    const double percent = students[s].tokens.empty() ? 0.0 : 100.0 * agree / double(students[s].tokens.size());
    char label[16];
    std::snprintf(label, sizeof label, "%.0f%%", percent);
    dl->AddRectFilled({row.x, row.y + h * 0.25f}, {row.x + h * 0.5f, row.y + h * 0.75f}, series_color(int(s)));
    dl->AddText({row.x + h * 0.7f, row.y}, text, label);
    if (ImGui::IsItemHovered()) {
      const float mx = ImGui::GetIO().MousePos.x;
      if (mx >= x0) hovered = int((mx - x0) / cw);
      ImGui::SetTooltip("%s: top-1 agrees with the teacher on %s of the tokens (green)", students[s].student.c_str(),
                        label);
    }
  }
  return hovered;
}

void token_details(const DivergenceSnapshot& d, int token, const TokenText& token_text) {
  const TokenDivergence* t = nullptr;
  for (const auto& x : d.tokens)
    if (x.position == token) t = &x;
  if (!t) return;
  const auto& labels = visual_labels(d.token_labels);
  auto text = [&](int32_t id) { return visual_text(token_text ? token_text(id) : "#" + std::to_string(id)); };
  ImGui::Text("%s, token %d '%s': KL %.4f, reverse KL %.4f, top-%s, overlap %.2f, H teacher %.3f / student %.3f",
              d.student.c_str(), t->position,
              size_t(t->position) < labels.size() ? labels[size_t(t->position)].c_str() : "?", double(t->kl),
              double(t->reverse_kl), t->top1_agree ? "1 agrees" : "1 differs", double(t->topk_overlap),
              double(t->entropy_teacher), double(t->entropy_student));
  if (ImGui::BeginTable("alts", 2, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingStretchSame)) {
    ImGui::TableSetupColumn("teacher top");
    ImGui::TableSetupColumn("student top");
    ImGui::TableHeadersRow();
    size_t n = std::max(t->teacher_top.size(), t->student_top.size());
    for (size_t i = 0; i < n; ++i) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      if (i < t->teacher_top.size())
        ImGui::Text("%s  %.3f", text(t->teacher_top[i].first).c_str(), double(t->teacher_top[i].second));
      ImGui::TableNextColumn();
      if (i < t->student_top.size())
        ImGui::Text("%s  %.3f", text(t->student_top[i].first).c_str(), double(t->student_top[i].second));
    }
    ImGui::EndTable();
  }
}

}  // namespace

bool draw_divergence_panel(std::span<const DivergenceSnapshot> students, const TokenText& token_text,
                           DivergenceView& v) {
  if (students.empty()) {
    ImGui::TextDisabled("No teacher-student comparison yet.");
    return false;
  }
  bool changed = ImGui::Checkbox("reverse KL (student || teacher)", &v.reverse_kl);
  int n_tokens = 0;
  std::vector<PlotSeries> series;
  for (const auto& d : students) {
    PlotSeries s{d.student, {}, {}};
    double sum = 0;
    int agree = 0;
    for (const auto& t : d.tokens) {
      s.x.push_back(float(t.position));
      s.y.push_back(v.reverse_kl ? t.reverse_kl : t.kl);
      sum += double(s.y.back());
      agree += t.top1_agree;
      n_tokens = std::max(n_tokens, t.position + 1);
    }
    if (!d.tokens.empty()) {  // the legend gives each student's summary over the reply
      char summary[64];
      const double n = double(d.tokens.size());
      std::snprintf(summary, sizeof summary, "  mean KL %.3f, top-1 %.0f%%", sum / n, 100.0 * agree / n);
      s.name += summary;
    }
    series.push_back(std::move(s));
  }
  const float width = ImGui::GetContentRegionAvail().x;
  const float font = ImGui::GetFontSize();
  PlotSpec ps;
  ps.x_label = "token position";
  ps.integer_x = true;
  ps.y_label = v.reverse_kl ? "KL(student||teacher), nats" : "KL(teacher||student), nats";
  ps.y_min = 0;
  ps.x_min = -0.5f;
  ps.x_max = float(n_tokens) - 0.5f;
  PlotResult pr = line_plot("kl", series, ps, {width, 200});
  if (pr.hovered) v.token = int(std::lround(pr.x));

  // Strips aligned with the plot's data area (the plot leaves 3.5 font widths left, 0.5 right).
  const float x0 = ImGui::GetCursorScreenPos().x + font * 3.5f;
  const float strip_w = width - font * 4.0f;
  int h = agreement_strips(students, n_tokens, x0, strip_w);
  if (h >= 0) v.token = h;

  v.student = std::clamp(v.student, 0, int(students.size()) - 1);
  const DivergenceSnapshot& d = students[size_t(v.student)];
  if (students.size() > 1) {
    std::vector<const char*> names;
    for (const auto& s : students) names.push_back(s.student.c_str());
    ImGui::SetNextItemWidth(240);
    changed |= ImGui::Combo("layers of", &v.student, names.data(), int(names.size()));
  }
  size_t n_layers = 0;
  for (const auto& t : d.tokens) n_layers = std::max(n_layers, t.layer_cosine.size());
  if (n_layers > 0) {
    std::vector<float> drift(n_layers * size_t(n_tokens), NAN);
    float hi = 1e-6f;
    for (const auto& t : d.tokens)
      for (size_t l = 0; l < t.layer_cosine.size(); ++l) {
        float x = 1.0f - t.layer_cosine[l];
        drift[l * size_t(n_tokens) + size_t(t.position)] = x;
        hi = std::max(hi, x);
      }
    std::vector<std::string> layer_labels;
    for (size_t l = 0; l < n_layers; ++l) {
      LayerKind k = l < d.student_layout.size() ? d.student_layout[l] : LayerKind::Attention;
      layer_labels.push_back("L" + std::to_string(l) + " " + layer_kind_name(k));
    }
    HeatmapSpec s;
    s.values = drift.data();
    s.rows = int(n_layers);
    s.cols = n_tokens;
    s.hi = hi;
    s.row_labels = &layer_labels;
    s.col_labels = &visual_labels(d.token_labels);
    s.row_name = "layer";
    s.col_name = "token";
    s.min_cell_px = 2.0f;
  s.square = false;
    ImGui::TextUnformatted("per-layer drift: 1 - cosine(teacher residual, student residual)");
    float hh = std::max(120.0f, ImGui::GetContentRegionAvail().y - font * 9);
    HeatmapResult r = heatmap("layer_strip", s, v.layers, {width, hh});
    if (r.col >= 0) v.token = r.col;
  }
  if (v.token >= 0) token_details(d, v.token, token_text);
  return changed;
}

}  // namespace ds::ui
