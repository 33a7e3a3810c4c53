// Gallery: every panel and widget on synthetic data, so each can be seen and checked without a
// model or probes (like ImGui's demo window for its widgets). Also a line of text that shows
// whether the font has the glyphs the labels need.
#include "ui/colormap.h"
#include "ui/panels.h"
#include "ui/rtl_text.h"
#include "ui/synthetic.h"

namespace ds::ui {

namespace {
void build(GalleryState& g) {
  const int layers = 6, heads = 8;
  std::vector<LayerKind> hybrid(layers, LayerKind::Attention);
  hybrid[1] = hybrid[4] = LayerKind::Mamba;
  hybrid[3] = LayerKind::Linear;
  g.teacher = synthetic_attention(layers, heads, g.n_tokens, uint64_t(g.seed), {}, 0);
  g.student = synthetic_attention(layers, heads, g.n_tokens, uint64_t(g.seed), hybrid, 1);
  g.activations = synthetic_activations(layers, g.n_tokens, uint64_t(g.seed));
  g.divergence = {synthetic_divergence("student A (2 mamba, 1 linear)", hybrid, g.n_tokens, uint64_t(g.seed), 0.8f),
                  synthetic_divergence("student B (all mamba)", std::vector<LayerKind>(layers, LayerKind::Mamba),
                                       g.n_tokens, uint64_t(g.seed) + 1, 0.4f)};
  g.throughput = synthetic_throughput("synthetic teacher", 40, uint64_t(g.seed), 120.0);
  auto s = synthetic_throughput("synthetic student", 40, uint64_t(g.seed) + 1, 190.0);
  g.throughput.insert(g.throughput.end(), s.begin(), s.end());
  g.built = true;
}

std::string synthetic_token_text(int32_t id) { return "tok" + std::to_string(id); }
}  // namespace

void draw_gallery_panel(GalleryState& g) {
  ImGui::SetNextItemWidth(160);
  bool rebuild = ImGui::SliderInt("tokens", &g.n_tokens, 4, 512);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  rebuild |= ImGui::InputInt("seed", &g.seed);
  if (rebuild || !g.built) build(g);
  ImGui::TextUnformatted(visual_text("Text: café, élève, naïve, œuvre; العربية مرحبا; bytes ⟨0xE2⟩ ↵ ⇥ · ∅ …").c_str());
  color_bar("0", "1", false, 160);
  ImGui::SameLine();
  color_bar("-1", "+1", true, 160);
  const float h = 420;
  if (ImGui::CollapsingHeader("Attention explorer", ImGuiTreeNodeFlags_DefaultOpen)) {
    ImGui::BeginChild("g_attention", {0, h}, true);
    draw_attention_panel(g.student, &g.teacher, g.attention_view);
    ImGui::EndChild();
  }
  if (ImGui::CollapsingHeader("Activations", ImGuiTreeNodeFlags_DefaultOpen)) {
    ImGui::BeginChild("g_activations", {0, h}, true);
    draw_activations_panel(g.activations, synthetic_token_text, g.activations_view);
    ImGui::EndChild();
  }
  if (ImGui::CollapsingHeader("Divergence timeline", ImGuiTreeNodeFlags_DefaultOpen)) {
    ImGui::BeginChild("g_divergence", {0, h + 80}, true);
    draw_divergence_panel(g.divergence, synthetic_token_text, g.divergence_view);
    ImGui::EndChild();
  }
  if (ImGui::CollapsingHeader("Throughput", ImGuiTreeNodeFlags_DefaultOpen)) {
    ImGui::BeginChild("g_throughput", {0, 260}, true);
    draw_throughput_panel(g.throughput, g.throughput_view);
    ImGui::EndChild();
  }
}

}  // namespace ds::ui
