// TrainGraph: a training forward pass as an ordered list of nodes, each recording its forward ops and
// (when it has parameters or passes a gradient on) its backward ops. The backward pass is the list walked
// in reverse. Which buffer each backward writes (=) or adds into (+=) is decided by the builder
// (llama_train.h), following the residual-gradient convention of docs/training.md: one residual-gradient
// buffer, written by the first op walking back and added into by every op that read the residual.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace ds {
namespace vk {
class Recorder;
}
namespace train {

using RecordFn = std::function<void(vk::Recorder&)>;

struct TrainNode {
  std::string name;  // "blk.3.attn_qkv", "output", "loss"
  RecordFn forward;
  RecordFn backward;  // empty: nothing to do walking back (e.g. the loss, whose forward writes the gradient)
};

class TrainGraph {
 public:
  void add(std::string name, RecordFn forward, RecordFn backward = {}) {
    nodes_.push_back({std::move(name), std::move(forward), std::move(backward)});
  }
  // Every forward, or all but the node named `skip` (e.g. "loss": logits left as they are).
  void record_forward(vk::Recorder& rec, const std::string& skip = {}) const {
    for (const TrainNode& n : nodes_)
      if (n.forward && (skip.empty() || n.name != skip)) n.forward(rec);
  }
  void record_backward(vk::Recorder& rec) const {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
      if (it->backward) it->backward(rec);
  }
  const std::vector<TrainNode>& nodes() const { return nodes_; }

 private:
  std::vector<TrainNode> nodes_;
};

}  // namespace train
}  // namespace ds
