// ExplorerData: synthetic stand-ins sized like the model, real throughput, token labels.
#include "app/desktop/explorer/explorer_data.h"

#include <algorithm>

#include "ui/synthetic.h"

namespace ds::app {

namespace {
constexpr int k_max_layers = 12, k_max_heads = 16, k_max_tokens = 96;  // bounds the synthetic maps' memory
constexpr size_t k_max_throughput = 4000;
}  // namespace

ExplorerData::ExplorerData(QObject* parent) : QObject(parent) { rebuild_synthetic(); }

void ExplorerData::setModel(const ModelReport& m) {
  vocab_ = m.token_labels;
  n_layers_ = std::max(1, m.n_layers);
  n_heads_ = std::max(1, m.n_heads);
  layout_ = m.layout;
  model_name_ = m.name;
  context_ids_.clear();
  context_labels_.clear();
  rebuild_synthetic();
}

void ExplorerData::setContextTokens(const std::vector<int32_t>& tokens) {
  const size_t n = std::min(tokens.size(), size_t(k_max_tokens));
  context_ids_.assign(tokens.end() - long(n), tokens.end());
  context_labels_.clear();
  for (int32_t id : context_ids_)
    context_labels_.push_back(vocab_ && id >= 0 && size_t(id) < vocab_->size() ? (*vocab_)[size_t(id)]
                                                                                 : "#" + std::to_string(id));
  rebuild_synthetic();
}

void ExplorerData::addThroughput(const ThroughputSample& s) {
  throughput_.push_back(s);
  if (throughput_.size() > k_max_throughput) throughput_.erase(throughput_.begin(), throughput_.begin() + 1000);
}

void ExplorerData::setAttention(AttentionSnapshot student, std::optional<AttentionSnapshot> teacher) {
  attention_ = std::move(student);
  teacher_ = std::move(teacher);
  synthetic_ = false;
}

void ExplorerData::setActivations(ActivationSnapshot snap) {
  activations_ = std::move(snap);
  synthetic_ = false;
}

void ExplorerData::setDivergence(std::vector<DivergenceSnapshot> students) {
  divergence_ = std::move(students);
  synthetic_ = false;
}

void ExplorerData::rebuild_synthetic() {
  if (!synthetic_) return;
  const int layers = std::min(n_layers_, k_max_layers), heads = std::min(n_heads_, k_max_heads);
  const int tokens = context_labels_.empty() ? 32 : int(context_labels_.size());
  std::vector<LayerKind> student_layout(size_t(layers), LayerKind::Attention);
  for (int l = 0; l < layers; ++l)  // a plausible hybrid: every third layer a Mamba mixer
    student_layout[size_t(l)] = l < int(layout_.size()) && layout_[size_t(l)] != LayerKind::Attention
                                    ? layout_[size_t(l)]
                                    : (l % 3 == 1 ? LayerKind::Mamba : LayerKind::Attention);
  attention_ = ui::synthetic_attention(layers, heads, tokens, 7, student_layout, 1);
  teacher_ = ui::synthetic_attention(layers, heads, tokens, 7, {}, 0);
  activations_ = ui::synthetic_activations(layers, tokens, 7);
  divergence_ = {ui::synthetic_divergence("student (synthetic)", student_layout, tokens, 7, 0.7f)};
  const std::string name = model_name_.isEmpty() ? "synthetic" : model_name_.toStdString();
  attention_.model = name + " (student, synthetic)";
  teacher_->model = name + " (teacher, synthetic)";
  if (!context_labels_.empty()) {
    attention_.token_labels = teacher_->token_labels = activations_.token_labels = divergence_[0].token_labels =
        context_labels_;
    for (size_t i = 0; i < activations_.tokens.size() && i < context_ids_.size(); ++i)
      activations_.tokens[i].token = context_ids_[i];
  }
}

ui::WorkspaceData ExplorerData::workspace() const {
  ui::WorkspaceData d;
  d.attention = &attention_;
  d.attention_teacher = teacher_ ? &*teacher_ : nullptr;
  d.activations = &activations_;
  d.divergence = divergence_;
  d.throughput = throughput_;
  d.synthetic_probes = synthetic_;
  auto vocab = vocab_;
  d.token_text = [vocab](int32_t id) {
    return vocab && id >= 0 && size_t(id) < vocab->size() ? (*vocab)[size_t(id)] : "#" + std::to_string(id);
  };
  return d;
}

}  // namespace ds::app
