// Graph: a forward pass as a list of op invocations over named tensors, built once per model and
// shape class by an architecture file (model/arch_*.cpp) and then recorded into a command buffer.
// The same list serves inference, probes (capture nodes inserted after named tensors) and, walked
// backwards, training. Every node names its output ("blk.3.attn_q") so tools can find it.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ops/linear_mixer.h"
#include "ops/mamba.h"
#include "ops/matvec_fused.h"
#include "ops/rope.h"
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}

// Capture: a probe callback recorded in place (probe/graph_capture.h inserts them; no tensor output).
enum class OpKind {
  GetRows, RmsNorm, MatMul, Rope, KvStore, RopeStore, Attention, SwiGLU, Add, LinearMixer, MambaMixer, DecodeLayerSmall,
  Capture
};
const char* op_kind_name(OpKind k);

struct OpNode {
  OpKind kind;
  std::string name;          // the output's name, e.g. "blk.3.attn_q"
  std::vector<Tensor> in;    // inputs in the op's argument order
  Tensor out;
  // Parameters (only those of the node's kind are meaningful).
  float eps = 0;             // RmsNorm
  float scale = 0;           // Attention, DecodeLayerSmall
  int n_heads = 0;           // DecodeLayerSmall
  ops::RopeMode rope_mode = ops::RopeMode::Interleaved;
  bool accumulate = false;   // MatMul: out += W x
  Tensor bias;               // MatMul
  Tensor norm_weight;        // MatMul decode fusion: x read as rms_norm(x) * norm_weight (eps above)
  bool glu = false;          // MatMul decode fusion: x read as silu(gate) * up from [gate | up]
  // MatMul decode fusions (ops/matvec_fused.h): RoPE + cache stores in the epilogue (q/k/v), or the attention
  // combine in the prologue (output projection: in[1] is the attention output the fallback writes).
  std::optional<ops::RopeStoreFusion> rope_store;
  std::optional<ops::CombineFusion> combine;
  bool partials_only = false;  // Attention decode: leave the split-K partials for a combine-fused MatMul
  Tensor aux;                // Attention: scratch; Rope: positions; KvStore/Attention/LinearMixer: step;
                             // MatMul: split-K workspace
  // Mixers (inputs in `in`, in the op's argument order; see the builders). The state tensors are written.
  int window = 0;            // LinearMixer: softmax window N
  bool affine = false;       // LinearMixer: affine window/linear factors
  MambaDims mamba;           // MambaMixer
  std::function<void(vk::Recorder&)> capture;  // Capture: records the probe's dispatches
};

class Graph {
 public:
  // Builders: each appends one node and returns its output tensor.
  const Tensor& get_rows(const std::string& name, const Tensor& table, const Tensor& ids, const Tensor& out);
  const Tensor& rms_norm(const std::string& name, const Tensor& x, const Tensor& w, float eps, const Tensor& out);
  // split_scratch: F32 workspace for split-K on the tensor-core path (ops::MatmulOptions::split_scratch).
  const Tensor& matmul(const std::string& name, const Tensor& w, const Tensor& x, const Tensor& out,
                       const Tensor& bias = {}, bool accumulate = false, const Tensor& split_scratch = {});
  // Decode fusions on the mat-vec path: rms_norm(x) * norm_weight as input, or silu(gate) * up.
  const Tensor& matmul_norm(const std::string& name, const Tensor& w, const Tensor& x, const Tensor& norm_weight,
                            float eps, const Tensor& out, const Tensor& bias = {});
  const Tensor& matmul_glu(const std::string& name, const Tensor& w, const Tensor& gate_up, const Tensor& out,
                           bool accumulate);
  // Decode fusion of matmul_norm (q/k/v) with rope_store: qkv = W·norm(x) (+ bias), q and k rotated, k and v
  // stored into the caches, in one dispatch; returns qkv.
  const Tensor& matmul_rope_store(const std::string& name, const Tensor& w, const Tensor& x, const Tensor& norm_weight,
                                  float eps, const Tensor& qkv, const Tensor& bias, const ops::RopeStoreFusion& f);
  // Decode fusion of the attention combine with the output projection: out (+)= W·attn, attn merged from the
  // partials an attention node with partials_only left (ops/matvec_fused.h).
  const Tensor& matmul_combine(const std::string& name, const Tensor& w, const Tensor& attn, const Tensor& out,
                               const Tensor& bias, bool accumulate, const ops::CombineFusion& f);
  // Decode fusion of rope(q), rope(k) + kv_store(k), kv_store(v); returns q (rotated in place).
  const Tensor& rope_store(const std::string& name, const Tensor& q, const Tensor& k, const Tensor& v,
                           const Tensor& positions, const Tensor& inv_freq, ops::RopeMode mode, const Tensor& step,
                           const Tensor& k_cache, const Tensor& v_cache);
  const Tensor& rope(const std::string& name, const Tensor& x, const Tensor& positions, const Tensor& inv_freq,
                     ops::RopeMode mode, const Tensor& out);
  void kv_store(const std::string& name, const Tensor& src, const Tensor& step, const Tensor& cache);
  const Tensor& attention(const std::string& name, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                          const Tensor& step, float scale, const Tensor& out, const Tensor& scratch,
                          bool partials_only = false);
  // A whole small decoder layer for one token in one dispatch (ops/decode_layer.h); returns x.
  // in: {x, wqkv, wo, w_gate_up, w_down, attn_norm, ffn_norm, k_cache, v_cache, step, inv_freq}.
  const Tensor& decode_layer_small(const std::string& name, std::vector<Tensor> in, int n_heads, ops::RopeMode mode,
                                   float eps, float scale);
  const Tensor& swiglu(const std::string& name, const Tensor& gate, const Tensor& up, const Tensor& out);
  // The linear mixer over rotated q, k and v, advancing the layer's state (ops/linear_mixer.h).
  const Tensor& linear_mixer(const std::string& name, const Tensor& q, const Tensor& k, const Tensor& v,
                             const ops::LinearMixerWeights& w, const ops::LinearMixerState& state, const Tensor& step,
                             int window, bool affine, const Tensor& out, const Tensor& scratch);
  // The Mamba mixer core over in_proj's output and the step, advancing the layer's state (ops/mamba.h).
  const Tensor& mamba_mixer(const std::string& name, const Tensor& zxbc, const Tensor& dt, const ops::MambaWeights& w,
                            const ops::MambaState& state, const MambaDims& dims, const Tensor& out,
                            const Tensor& scratch);
  const Tensor& add(const std::string& name, const Tensor& a, const Tensor& b, const Tensor& out);
  void capture(const std::string& name, std::function<void(vk::Recorder&)> record);
  // Appends a node as it is (graph rewriting: probe/graph_capture.h copies nodes into a new graph).
  const Tensor& append(OpNode n) { return push(std::move(n)); }

  const std::vector<OpNode>& nodes() const { return nodes_; }
  // Index of the last node whose output has this name, or -1.
  int find(const std::string& name) const;
  void record(vk::Recorder& rec) const;
  void record(vk::Recorder& rec, size_t first, size_t last) const;  // nodes [first, last)
  static void record_node(vk::Recorder& rec, const OpNode& n);

 private:
  const Tensor& push(OpNode n);
  std::vector<OpNode> nodes_;
};

}  // namespace ds
