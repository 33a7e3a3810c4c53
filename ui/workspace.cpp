// The explorer's tab bar, panel dispatch and export buttons.
#include "ui/workspace.h"

#include "ui/export.h"

namespace ds::ui {

const char* panel_title(Panel p) {
  switch (p) {
    case Panel::Attention: return "Attention";
    case Panel::Activations: return "Activations";
    case Panel::Divergence: return "Divergence";
    case Panel::Throughput: return "Throughput";
    case Panel::Distillation: return "Distillation";
    case Panel::Gallery: return "Gallery";
  }
  return "?";
}

const char* panel_file_name(Panel p) {
  switch (p) {
    case Panel::Attention: return "attention";
    case Panel::Activations: return "activations";
    case Panel::Divergence: return "divergence";
    case Panel::Throughput: return "throughput";
    case Panel::Distillation: return "distillation";
    case Panel::Gallery: return "gallery";
  }
  return "panel";
}

std::string export_text(const WorkspaceData& d, const WorkspaceState& s, Panel panel, ExportKind kind) {
  if (kind == ExportKind::Png) return {};
  const bool csv = kind == ExportKind::Csv;
  static const AttentionSnapshot no_attention;
  static const ActivationSnapshot no_activations;
  static const TrainingSnapshot no_training;
  switch (panel) {
    case Panel::Attention: {
      const AttentionSnapshot& a = d.attention ? *d.attention : no_attention;
      return csv ? attention_csv(a, s.attention.layer, s.attention.head) : attention_json(a, s.attention.layer, s.attention.head);
    }
    case Panel::Activations: {
      const ActivationSnapshot& a = d.activations ? *d.activations : no_activations;
      return csv ? activations_csv(a) : activations_json(a);
    }
    case Panel::Divergence: return csv ? divergence_csv(d.divergence) : divergence_json(d.divergence);
    case Panel::Throughput: return csv ? throughput_csv(d.throughput) : throughput_json(d.throughput);
    case Panel::Distillation: {
      const TrainingSnapshot& t = d.training ? *d.training : no_training;
      return csv ? training_csv(t) : training_json(t);
    }
    case Panel::Gallery: {
      const GalleryState& g = s.gallery;
      return csv ? attention_csv(g.student, g.attention_view.layer, g.attention_view.head)
                 : attention_json(g.student, g.attention_view.layer, g.attention_view.head);
    }
  }
  return {};
}

namespace {

void export_buttons(const WorkspaceData& d, WorkspaceState& s) {
  const float w = ImGui::CalcTextSize("Export: PNG CSV JSON").x + ImGui::GetStyle().FramePadding.x * 8;
  const float x = ImGui::GetWindowContentRegionMax().x - w;
  // Right-aligned on the line of the status and probe controls, or below them when they reach it.
  const float used = ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + ImGui::GetStyle().ItemSpacing.x;
  if (used <= x) ImGui::SameLine(x);
  else ImGui::SetCursorPosX(x);
  ImGui::TextDisabled("Export:");
  for (ExportKind k : {ExportKind::Png, ExportKind::Csv, ExportKind::Json}) {
    ImGui::SameLine();
    const char* name = k == ExportKind::Png ? "PNG" : k == ExportKind::Csv ? "CSV" : "JSON";
    if (ImGui::SmallButton(name)) {
      ExportRequest r;
      r.panel = s.current;
      r.kind = k;
      r.min = s.panel_min;
      r.max = s.panel_max;
      r.content = export_text(d, s, s.current, k);
      s.export_request = std::move(r);
    }
  }
}

void draw_panel(const WorkspaceData& d, WorkspaceState& s, Panel p) {
  static const AttentionSnapshot no_attention;
  static const ActivationSnapshot no_activations;
  static const TrainingSnapshot no_training;
  switch (p) {
    case Panel::Attention:
      draw_attention_panel(d.attention ? *d.attention : no_attention, d.attention_teacher, s.attention);
      break;
    case Panel::Activations:
      draw_activations_panel(d.activations ? *d.activations : no_activations, d.token_text, s.activations);
      break;
    case Panel::Divergence: draw_divergence_panel(d.divergence, d.token_text, s.divergence); break;
    case Panel::Throughput: draw_throughput_panel(d.throughput, s.throughput); break;
    case Panel::Distillation: draw_training_panel(d.training ? *d.training : no_training, s.training); break;
    case Panel::Gallery: draw_gallery_panel(s.gallery); break;
  }
}

}  // namespace

// The probes' settings for the next turn, on one line.
static void probe_controls(ProbeControls& p) {
  ImGui::SameLine();
  ImGui::Checkbox("probes", &p.enabled);
  ImGui::SameLine();
  ImGui::Checkbox("logit lens", &p.logit_lens);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7.5f);
  ImGui::InputTextWithHint("##layers", "layers: default", p.layers, sizeof p.layers);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Captured layers from the next message on, e.g. 0,2,4 (empty: all of a small model, the middle and last of a big one)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7.5f);
  ImGui::InputTextWithHint("##heads", "heads: all", p.heads, sizeof p.heads);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Captured heads, e.g. 0,1 (empty: all)");
}

void draw_workspace(const WorkspaceData& d, WorkspaceState& s) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos({0, 0});
  ImGui::SetNextWindowSize(io.DisplaySize);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("DistilScope explorer", nullptr, flags);
  if (ImGui::BeginTabBar("panels")) {
    for (int i = 0; i < k_panel_count; ++i) {
      Panel p = Panel(i);
      ImGuiTabItemFlags tf = s.select && *s.select == p ? ImGuiTabItemFlags_SetSelected : 0;
      if (ImGui::BeginTabItem(panel_title(p), nullptr, tf)) {
        s.current = p;
        ImGui::EndTabItem();
      }
    }
    s.select.reset();
    ImGui::EndTabBar();
  }
  const bool synthetic = d.synthetic_probes && (s.current == Panel::Attention || s.current == Panel::Activations ||
                                                s.current == Panel::Divergence);
  const bool probe_panel = s.current == Panel::Attention || s.current == Panel::Activations || s.current == Panel::Divergence;
  if (synthetic) ImGui::TextColored({1.0f, 0.75f, 0.3f, 1.0f}, "synthetic demo data (--demo): not the model's");
  else if (probe_panel && !d.status.empty()) ImGui::TextDisabled("%s", d.status.c_str());
  else ImGui::TextDisabled("%s", panel_title(s.current));
  if (probe_panel && d.probes) probe_controls(*d.probes);
  export_buttons(d, s);
  ImGui::BeginChild("panel", {0, 0}, false);
  s.panel_min = ImGui::GetWindowPos();
  s.panel_max = {s.panel_min.x + ImGui::GetWindowSize().x, s.panel_min.y + ImGui::GetWindowSize().y};
  draw_panel(d, s, s.current);
  ImGui::EndChild();
  ImGui::End();
}

}  // namespace ds::ui
