// ProbeContext: the probe captures of one model over the current conversation context, gathered
// step by step (ProbeStep values from the worker) by position, and turned into the snapshots the
// panels draw: one square attention map per captured (layer, head) over every captured position,
// and per-token activations. A step starting at position p drops what was captured at p and after
// (the context was reset or rewound there), so a chat that re-uses its KV cache keeps the earlier
// turns' captures. Plain C++ on the GUI thread.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/desktop/engine_types.h"

namespace ds::app {

class ProbeContext {
 public:
  void clear();
  void add(const ProbeStep& step);
  bool empty() const { return ids_.empty(); }
  int positions() const { return int(ids_.size()); }
  uint64_t request() const { return request_; }
  const std::string& model() const { return model_; }

  // Snapshots over positions [0, positions()), labelled with `labels` (display text per vocabulary id).
  // Attention maps hold the last `max_queries` query rows (over every key) when the context is longer.
  void build(AttentionSnapshot& attention, ActivationSnapshot& activations,
             const std::vector<std::string>* labels, int max_queries = 1024) const;

 private:
  void truncate(size_t n);

  struct Rows {
    LayerKind kind = LayerKind::Attention;
    bool implied = false;
    std::vector<std::vector<float>> by_position;  // empty rows: not captured
  };
  uint64_t request_ = 0;
  std::string model_;
  int n_layers_ = 0, n_heads_ = 0;
  std::vector<LayerKind> layout_;
  std::vector<int32_t> ids_;  // by position
  std::map<std::pair<int, int>, Rows> rows_;
  std::vector<std::optional<TokenActivations>> activations_;  // by position
};

}  // namespace ds::app
