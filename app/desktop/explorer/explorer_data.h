// ExplorerData: what the explorer's panels draw, kept on the GUI thread. Throughput is real (from
// the worker's per-token timings); attention, activations and divergence are synthetic stand-ins
// shaped like the loaded model and labelled with the conversation's real tokens, until the
// engine's probes deliver snapshots (setAttention & co. take those when they exist).
#pragma once
#include <QObject>

#include <memory>
#include <optional>
#include <vector>

#include "app/desktop/engine_types.h"
#include "ui/workspace.h"

namespace ds::app {

class ExplorerData : public QObject {
  Q_OBJECT
 public:
  explicit ExplorerData(QObject* parent = nullptr);

  void setModel(const ModelReport& model);
  void setContextTokens(const std::vector<int32_t>& tokens);
  void addThroughput(const ThroughputSample& sample);
  // Real snapshots (from probes) replace the synthetic ones.
  void setAttention(AttentionSnapshot student, std::optional<AttentionSnapshot> teacher);
  void setActivations(ActivationSnapshot snap);
  void setDivergence(std::vector<DivergenceSnapshot> students);

  // Pointers into this object, valid until its next change (the explorer draws on the GUI thread).
  ui::WorkspaceData workspace() const;
  size_t throughput_count() const { return throughput_.size(); }

 private:
  void rebuild_synthetic();

  AttentionSnapshot attention_;
  std::optional<AttentionSnapshot> teacher_;
  ActivationSnapshot activations_;
  std::vector<DivergenceSnapshot> divergence_;
  std::vector<ThroughputSample> throughput_;
  std::shared_ptr<const std::vector<std::string>> vocab_;
  std::vector<std::string> context_labels_;
  std::vector<int32_t> context_ids_;
  int n_layers_ = 4, n_heads_ = 8;
  std::vector<LayerKind> layout_;
  QString model_name_;
  bool synthetic_ = true;
};

}  // namespace ds::app
