// ExplorerData: what the explorer's panels draw, kept on the GUI thread. Real data from the
// engine: probe steps of the answering model (and, after a pair turn, of the student) gathered per
// conversation context (ProbeContext), the divergence of each student's last pair turn, per-token
// throughput, the loss curves of a staged distillation. Snapshots are rebuilt from the gathered captures at most every 100 ms while steps
// stream in (less often when a
// rebuild takes long, so the frame rate holds). Synthetic stand-ins only in demo mode (`--demo`), labelled as such.
#pragma once
#include <QElapsedTimer>
#include <QObject>

#include <memory>
#include <optional>
#include <vector>

#include "app/desktop/engine_types.h"
#include "app/desktop/explorer/probe_context.h"
#include "ui/workspace.h"

namespace ds::app {

class ExplorerData : public QObject {
  Q_OBJECT
 public:
  explicit ExplorerData(QObject* parent = nullptr);

  void setDemo(bool demo);  // synthetic stand-ins shaped like the model (the gallery always is)
  bool demo() const { return demo_; }
  void setModel(const ModelReport& model);
  void setContextTokens(const std::vector<int32_t>& tokens);  // labels of the demo data
  void addThroughput(const ThroughputSample& sample);
  void addProbeStep(const ProbeStep& step);
  void beginPair(const PairStart& start);
  void addDivergence(uint64_t request, const TokenDivergence& token);
  // A distillation's loss curves (one per stage): a new run clears them; steps and stages append.
  void beginDistill(const QString& status, int total_steps);
  void addDistillStep(const DistillStepReport& step);
  void addDistillStage(const DistillStageReport& stage);
  void setDistillStatus(const QString& status);
  const ui::TrainingSnapshot& training() const { return training_; }
  // A comparison of several students (Chat > Compare students...): the timeline shows them alone,
  // in the comparison's order, as their results come.
  void beginComparison(uint64_t request);
  void addComparedStudent(uint64_t request, DivergenceSnapshot divergence);
  // Snapshots drawn as they are until the next probe step (the end-to-end test's large maps).
  void setAttention(AttentionSnapshot student, std::optional<AttentionSnapshot> teacher);

  // Rebuilds the snapshots from new probe steps (throttled; `force` now). Call before workspace().
  void refresh(bool force = false);
  // Pointers into this object, valid until its next change (the explorer draws on the GUI thread).
  ui::WorkspaceData workspace() const;
  size_t throughput_count() const { return throughput_.size(); }
  // For tests and the status line.
  const AttentionSnapshot& attention() const { return attention_; }
  const std::optional<AttentionSnapshot>& teacherAttention() const { return teacher_; }
  const ActivationSnapshot& activations() const { return activations_; }
  const std::vector<DivergenceSnapshot>& divergence() const { return divergence_; }
  uint64_t probeSteps() const { return probe_steps_; }

 private:
  void rebuild_synthetic();
  void rebuild_real();
  std::string label(int32_t id) const;

  ProbeContext probes_[2];  // 0: the answering model (the teacher in a pair), 1: the pair's student
  uint64_t pair_request_ = 0;
  uint64_t comparison_request_ = 0;
  AttentionSnapshot attention_;
  std::optional<AttentionSnapshot> teacher_;
  ActivationSnapshot activations_;
  std::vector<DivergenceSnapshot> divergence_;  // one per student (its last pair turn)
  std::vector<ThroughputSample> throughput_;
  ui::TrainingSnapshot training_;
  std::shared_ptr<const std::vector<std::string>> vocab_;
  std::vector<std::string> context_labels_;
  std::vector<int32_t> context_ids_;
  int n_layers_ = 4, n_heads_ = 8;
  std::vector<LayerKind> layout_;
  QString model_name_;
  std::string status_;
  bool demo_ = false;
  bool dirty_ = false;
  uint64_t probe_steps_ = 0;
  QElapsedTimer since_rebuild_;
  qint64 last_rebuild_ms_ = 0;
};

}  // namespace ds::app
