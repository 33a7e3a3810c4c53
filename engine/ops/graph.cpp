// Graph builders and the node -> op dispatch used when recording.
#include "ops/graph.h"

#include "ops/attention.h"
#include "ops/decode_layer.h"
#include "ops/elementwise.h"
#include "ops/embed.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "vk/recorder.h"

namespace ds {

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::GetRows: return "get_rows";
    case OpKind::RmsNorm: return "rms_norm";
    case OpKind::MatMul: return "matmul";
    case OpKind::Rope: return "rope";
    case OpKind::KvStore: return "kv_store";
    case OpKind::RopeStore: return "rope_store";
    case OpKind::Attention: return "attention";
    case OpKind::SwiGLU: return "swiglu";
    case OpKind::Add: return "add";
    case OpKind::DecodeLayerSmall: return "decode_layer_small";
    case OpKind::LinearMixer: return "linear_mixer";
    case OpKind::MambaMixer: return "mamba_mixer";
    case OpKind::Capture: return "capture";
  }
  return "?";
}

const Tensor& Graph::push(OpNode n) {
  nodes_.push_back(std::move(n));
  return nodes_.back().out;
}

const Tensor& Graph::get_rows(const std::string& name, const Tensor& table, const Tensor& ids, const Tensor& out) {
  return push({OpKind::GetRows, name, {table, ids}, out});
}
const Tensor& Graph::rms_norm(const std::string& name, const Tensor& x, const Tensor& w, float eps, const Tensor& out) {
  OpNode n{OpKind::RmsNorm, name, {x, w}, out};
  n.eps = eps;
  return push(std::move(n));
}
const Tensor& Graph::matmul(const std::string& name, const Tensor& w, const Tensor& x, const Tensor& out,
                            const Tensor& bias, bool accumulate, const Tensor& split_scratch) {
  OpNode n{OpKind::MatMul, name, {w, x}, out};
  n.bias = bias;
  n.accumulate = accumulate;
  n.aux = split_scratch;
  return push(std::move(n));
}
const Tensor& Graph::matmul_norm(const std::string& name, const Tensor& w, const Tensor& x, const Tensor& norm_weight,
                                 float eps, const Tensor& out, const Tensor& bias) {
  OpNode n{OpKind::MatMul, name, {w, x}, out};
  n.bias = bias;
  n.norm_weight = norm_weight;
  n.eps = eps;
  return push(std::move(n));
}
const Tensor& Graph::matmul_glu(const std::string& name, const Tensor& w, const Tensor& gate_up, const Tensor& out,
                                bool accumulate) {
  OpNode n{OpKind::MatMul, name, {w, gate_up}, out};
  n.glu = true;
  n.accumulate = accumulate;
  return push(std::move(n));
}
const Tensor& Graph::matmul_rope_store(const std::string& name, const Tensor& w, const Tensor& x,
                                       const Tensor& norm_weight, float eps, const Tensor& qkv, const Tensor& bias,
                                       const ops::RopeStoreFusion& f) {
  OpNode n{OpKind::MatMul, name, {w, x}, qkv};
  n.bias = bias;
  n.norm_weight = norm_weight;
  n.eps = eps;
  n.rope_store = f;
  return push(std::move(n));
}
const Tensor& Graph::matmul_combine(const std::string& name, const Tensor& w, const Tensor& attn, const Tensor& out,
                                    const Tensor& bias, bool accumulate, const ops::CombineFusion& f) {
  OpNode n{OpKind::MatMul, name, {w, attn}, out};
  n.bias = bias;
  n.accumulate = accumulate;
  n.combine = f;
  return push(std::move(n));
}
const Tensor& Graph::rope_store(const std::string& name, const Tensor& q, const Tensor& k, const Tensor& v,
                                const Tensor& positions, const Tensor& inv_freq, ops::RopeMode mode, const Tensor& step,
                                const Tensor& k_cache, const Tensor& v_cache) {
  OpNode n{OpKind::RopeStore, name, {q, k, v, positions, inv_freq, step, k_cache, v_cache}, q};
  n.rope_mode = mode;
  return push(std::move(n));
}
const Tensor& Graph::rope(const std::string& name, const Tensor& x, const Tensor& positions, const Tensor& inv_freq,
                          ops::RopeMode mode, const Tensor& out) {
  OpNode n{OpKind::Rope, name, {x, inv_freq}, out};
  n.aux = positions;
  n.rope_mode = mode;
  return push(std::move(n));
}
void Graph::kv_store(const std::string& name, const Tensor& src, const Tensor& step, const Tensor& cache) {
  OpNode n{OpKind::KvStore, name, {src}, cache};
  n.aux = step;
  push(std::move(n));
}
const Tensor& Graph::attention(const std::string& name, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                               const Tensor& step, float scale, const Tensor& out, const Tensor& scratch,
                               bool partials_only) {
  OpNode n{OpKind::Attention, name, {q, k_cache, v_cache, scratch}, out};
  n.aux = step;
  n.scale = scale;
  n.partials_only = partials_only;
  return push(std::move(n));
}
const Tensor& Graph::decode_layer_small(const std::string& name, std::vector<Tensor> in, int n_heads,
                                        ops::RopeMode mode, float eps, float scale) {
  OpNode n{OpKind::DecodeLayerSmall, name, std::move(in), {}};
  n.out = n.in[0];
  n.n_heads = n_heads;
  n.rope_mode = mode;
  n.eps = eps;
  n.scale = scale;
  return push(std::move(n));
}
const Tensor& Graph::swiglu(const std::string& name, const Tensor& gate, const Tensor& up, const Tensor& out) {
  return push({OpKind::SwiGLU, name, {gate, up}, out});
}
const Tensor& Graph::add(const std::string& name, const Tensor& a, const Tensor& b, const Tensor& out) {
  return push({OpKind::Add, name, {a, b}, out});
}

const Tensor& Graph::linear_mixer(const std::string& name, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const ops::LinearMixerWeights& w, const ops::LinearMixerState& state,
                                  const Tensor& step, int window, bool affine, const Tensor& out,
                                  const Tensor& scratch) {
  OpNode n{OpKind::LinearMixer, name,
           {q, k, v, w.fm_q, w.fm_k, w.window_factor, state.s, state.z, state.ring_k, state.ring_v, scratch}, out};
  n.aux = step;
  n.window = window;
  n.affine = affine;
  return push(std::move(n));
}
const Tensor& Graph::mamba_mixer(const std::string& name, const Tensor& zxbc, const Tensor& dt,
                                 const ops::MambaWeights& w, const ops::MambaState& state, const MambaDims& dims,
                                 const Tensor& out, const Tensor& scratch) {
  OpNode n{OpKind::MambaMixer, name,
           {zxbc, dt, w.conv_w, w.conv_b, w.dt_bias, w.a_log, w.d, state.conv, state.ssm, scratch}, out};
  n.mamba = dims;
  return push(std::move(n));
}
void Graph::capture(const std::string& name, std::function<void(vk::Recorder&)> record) {
  OpNode n{OpKind::Capture, name, {}, {}};
  n.capture = std::move(record);
  push(std::move(n));
}

int Graph::find(const std::string& name) const {
  for (int i = int(nodes_.size()) - 1; i >= 0; --i)
    if (nodes_[i].name == name) return i;
  return -1;
}

void Graph::record_node(vk::Recorder& rec, const OpNode& n) {
  switch (n.kind) {
    case OpKind::GetRows: ops::get_rows(rec, n.in[0], n.in[1], n.out); break;
    case OpKind::RmsNorm: ops::rms_norm(rec, n.in[0], n.in[1], n.out, n.eps); break;
    case OpKind::MatMul: {
      ops::MatmulOptions o;
      o.bias = n.bias;
      o.accumulate = n.accumulate;
      o.norm_weight = n.norm_weight;
      o.norm_eps = n.eps;
      o.glu = n.glu;
      o.split_scratch = n.aux;
      if (n.norm_weight || n.glu) o.path = ops::MatmulPath::MatVec;
      if (n.rope_store)
        ops::matvec_rope_store(rec, n.in[0], n.in[1], n.out, o, *n.rope_store);
      else if (n.combine)
        ops::matvec_attn_combine(rec, n.in[0], n.in[1], n.out, o, *n.combine);
      else
        ops::matmul(rec, n.in[0], n.in[1], n.out, o);
      break;
    }
    case OpKind::RopeStore:
      ops::rope_store(rec, n.in[0], n.in[1], n.in[2], n.in[3], n.in[4], n.rope_mode, n.in[5], n.in[6], n.in[7]);
      break;
    case OpKind::Rope: ops::rope(rec, n.in[0], n.aux, n.in[1], n.rope_mode, n.out); break;
    case OpKind::KvStore: ops::kv_store(rec, n.in[0], n.aux, n.out); break;
    case OpKind::Attention:
      ops::attention(rec, n.in[0], n.in[1], n.in[2], n.aux, n.scale, n.out, n.in[3], !n.partials_only);
      break;
    case OpKind::SwiGLU: ops::swiglu(rec, n.in[0], n.in[1], n.out); break;
    case OpKind::Add: ops::add(rec, n.in[0], n.in[1], n.out); break;
    case OpKind::DecodeLayerSmall: {
      ops::SmallLayerWeights w{n.in[1], n.in[2], n.in[3], n.in[4], n.in[5], n.in[6]};
      ops::decode_layer_small(rec, n.in[0], w, n.in[7], n.in[8], n.in[9], n.in[10], n.n_heads,
                              n.rope_mode == ops::RopeMode::Neox, n.eps, n.scale);
      break;
    }
    case OpKind::LinearMixer: {
      ops::LinearMixerOptions o;
      o.affine_factors = n.affine;
      ops::linear_mixer(rec, n.in[0], n.in[1], n.in[2], {n.in[3], n.in[4], n.in[5]}, {n.in[6], n.in[7], n.in[8], n.in[9]},
                        n.aux, n.window, n.out, n.in[10], o);
      break;
    }
    case OpKind::MambaMixer:
      ops::mamba_mixer(rec, n.in[0], n.in[1], {n.in[2], n.in[3], n.in[4], n.in[5], n.in[6]}, {n.in[7], n.in[8]}, n.out,
                       n.mamba, n.in[9]);
      break;
    case OpKind::Capture: n.capture(rec); break;
  }
}

void Graph::record(vk::Recorder& rec) const {
  for (const auto& n : nodes_) record_node(rec, n);
}

void Graph::record(vk::Recorder& rec, size_t first, size_t last) const {
  for (size_t i = first; i < std::min(last, nodes_.size()); ++i) record_node(rec, nodes_[i]);
}

}  // namespace ds
