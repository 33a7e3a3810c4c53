// ExplorerData: probe steps gathered into snapshots, pair divergence, throughput; demo stand-ins.
#include "app/desktop/explorer/explorer_data.h"

#include <algorithm>
#include <cstdio>

#include "distilscope/model_config.h"
#include "ui/synthetic.h"

namespace ds::app {

namespace {
constexpr int k_max_layers = 12, k_max_heads = 16, k_max_tokens = 96;  // bounds the synthetic maps' memory
constexpr size_t k_max_throughput = 4000;
constexpr qint64 k_rebuild_ms = 100;
}  // namespace

ExplorerData::ExplorerData(QObject* parent) : QObject(parent) {
  since_rebuild_.start();
  status_ = "no probe data yet: send a message (probes on)";
}

void ExplorerData::setDemo(bool demo) {
  demo_ = demo;
  if (demo_) rebuild_synthetic();
  else rebuild_real();
}

std::string ExplorerData::label(int32_t id) const {
  return vocab_ && id >= 0 && size_t(id) < vocab_->size() ? (*vocab_)[size_t(id)] : "#" + std::to_string(id);
}

void ExplorerData::setModel(const ModelReport& m) {
  if (m.slot == 1) {  // a student: its captures and divergence start afresh
    probes_[1].clear();
    return;
  }
  vocab_ = m.token_labels;
  n_layers_ = std::max(1, m.n_layers);
  n_heads_ = std::max(1, m.n_heads);
  layout_ = m.layout;
  model_name_ = m.name;
  context_ids_.clear();
  context_labels_.clear();
  probes_[0].clear();
  probes_[1].clear();
  divergence_.clear();
  status_ = "no probe data yet: send a message (probes on)";
  if (demo_) rebuild_synthetic();
  else rebuild_real();
}

void ExplorerData::setContextTokens(const std::vector<int32_t>& tokens) {
  const size_t n = std::min(tokens.size(), size_t(k_max_tokens));
  context_ids_.assign(tokens.end() - long(n), tokens.end());
  context_labels_.clear();
  for (int32_t id : context_ids_) context_labels_.push_back(label(id));
  if (demo_) rebuild_synthetic();
}

void ExplorerData::addThroughput(const ThroughputSample& s) {
  throughput_.push_back(s);
  if (throughput_.size() > k_max_throughput) throughput_.erase(throughput_.begin(), throughput_.begin() + 1000);
}

void ExplorerData::addProbeStep(const ProbeStep& s) {
  const int role = std::clamp(s.role, 0, 1);
  // A turn of one model alone: the student's maps of an earlier pair turn no longer match.
  if (role == 0 && s.request != probes_[0].request() && s.request != pair_request_) probes_[1].clear();
  probes_[role].add(s);
  ++probe_steps_;
  dirty_ = true;
}

void ExplorerData::beginPair(const PairStart& p) {
  pair_request_ = p.request;
  const std::string student = p.student.toStdString();
  auto it = std::find_if(divergence_.begin(), divergence_.end(), [&](const DivergenceSnapshot& d) { return d.student == student; });
  if (it == divergence_.end()) it = divergence_.insert(divergence_.end(), DivergenceSnapshot{});
  *it = DivergenceSnapshot{};
  it->teacher = p.teacher.toStdString();
  it->student = student;
  it->student_layout = p.student_layout;
  for (int32_t id : p.prompt) it->token_labels.push_back(label(id));
  std::rotate(divergence_.begin(), it, it + 1);  // the latest student first (the panel's default)
}

void ExplorerData::addDivergence(uint64_t request, const TokenDivergence& t) {
  if (request != pair_request_ || divergence_.empty()) return;
  DivergenceSnapshot& d = divergence_.front();
  d.tokens.push_back(t);
  d.token_labels.push_back(label(t.token));
}

void ExplorerData::beginComparison(uint64_t request) {
  comparison_request_ = request;
  divergence_.clear();
}

void ExplorerData::addComparedStudent(uint64_t request, DivergenceSnapshot d) {
  if (request != comparison_request_) return;
  auto same = [&](const DivergenceSnapshot& x) { return x.student == d.student; };
  if (auto it = std::find_if(divergence_.begin(), divergence_.end(), same); it != divergence_.end()) *it = std::move(d);
  else divergence_.push_back(std::move(d));
}

void ExplorerData::setAttention(AttentionSnapshot student, std::optional<AttentionSnapshot> teacher) {
  attention_ = std::move(student);
  teacher_ = std::move(teacher);
  dirty_ = false;
}

void ExplorerData::refresh(bool force) {
  if (!dirty_ || demo_) return;
  // At most ~5% of the GUI thread's time goes to rebuilding (long contexts rebuild less often).
  if (!force && since_rebuild_.elapsed() < std::max<qint64>(k_rebuild_ms, 20 * last_rebuild_ms_)) return;
  QElapsedTimer t;
  t.start();
  rebuild_real();
  last_rebuild_ms_ = t.elapsed();
}

void ExplorerData::rebuild_real() {
  dirty_ = false;
  since_rebuild_.restart();
  const std::vector<std::string>* labels = vocab_.get();
  ActivationSnapshot student_act;
  if (!probes_[1].empty() && probes_[1].request() == probes_[0].request()) {
    // After a pair turn: the student's maps beside the teacher's; activations of the teacher.
    AttentionSnapshot teacher;
    probes_[0].build(teacher, activations_, labels);
    probes_[1].build(attention_, student_act, labels);
    attention_.model += " (student)";
    teacher.model += " (teacher)";
    teacher_ = std::move(teacher);
  } else {
    probes_[0].build(attention_, activations_, labels);
    teacher_.reset();
  }
  if (!probes_[0].empty())
    status_ = "probes: " + probes_[0].model() + ", " + std::to_string(probes_[0].positions()) + " tokens, " +
              std::to_string(attention_.maps.size()) + " maps" + (teacher_ ? " (teacher and student)" : "");
}

void ExplorerData::rebuild_synthetic() {
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

void ExplorerData::beginDistill(const QString& status, int total_steps) {
  training_ = {};
  training_.status = status.toStdString();
  training_.total_steps = total_steps;
}

void ExplorerData::addDistillStage(const DistillStageReport& r) {
  if (r.stage < 0 || r.stage > 1000) return;
  if (training_.stages.size() <= size_t(r.stage)) training_.stages.resize(size_t(r.stage) + 1);
  ui::TrainingStageCurve& c = training_.stages[size_t(r.stage)];
  std::string layers;
  for (int l : r.layers) layers += (layers.empty() ? "" : ",") + std::to_string(l);
  c.label = "stage " + std::to_string(r.stage) + ": " + (r.layers.size() == 1 ? "layer " : "layers ") + layers + " -> " +
            layer_kind_name(r.mixer);
  c.done = r.done;
}

void ExplorerData::addDistillStep(const DistillStepReport& r) {
  if (r.stage < 0 || r.stage > 1000) return;
  if (training_.stages.size() <= size_t(r.stage)) training_.stages.resize(size_t(r.stage) + 1);
  ui::TrainingStageCurve& c = training_.stages[size_t(r.stage)];
  if (c.label.empty()) c.label = "stage " + std::to_string(r.stage);
  c.steps.push_back(float(r.global_step));
  c.losses.push_back(float(r.loss));
  char buf[160];
  std::snprintf(buf, sizeof buf, "stage %d of %d, step %d/%d, loss %.4f, %.0f tokens/s", r.stage + 1, r.stages, r.step,
                r.steps, r.loss, r.tokens_per_s);
  training_.status = buf;
}

void ExplorerData::setDistillStatus(const QString& status) { training_.status = status.toStdString(); }

ui::WorkspaceData ExplorerData::workspace() const {
  ui::WorkspaceData d;
  d.attention = &attention_;
  d.attention_teacher = teacher_ ? &*teacher_ : nullptr;
  d.activations = &activations_;
  d.divergence = divergence_;
  d.throughput = throughput_;
  d.training = &training_;
  d.synthetic_probes = demo_;
  d.status = demo_ ? std::string() : status_;
  auto vocab = vocab_;
  d.token_text = [vocab](int32_t id) {
    return vocab && id >= 0 && size_t(id) < vocab->size() ? (*vocab)[size_t(id)] : "#" + std::to_string(id);
  };
  return d;
}

}  // namespace ds::app
