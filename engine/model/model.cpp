// Model loading: GGUF -> checked config -> device weights (mmap -> staging -> device-local).
#include "distilscope/model.h"

#include <map>

#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "model/llama_config.h"
#include "model/weights.h"
#include "ops/rope.h"
#include "util/error.h"
#include "vk/memory.h"

namespace ds {

namespace {

uint64_t device_bytes(const GgufTensorInfo& t) {
  // Vectors are converted to F32 on load.
  return t.ne.size() == 1 ? t.ne[0] * 4 : t.n_bytes;
}

ops::RopeScaling rope_scaling(const RopeConfig& r) {
  ops::RopeScaling s;
  if (r.scaling == "linear") s.kind = ops::RopeScaling::Linear;
  if (r.scaling == "llama3") s.kind = ops::RopeScaling::Llama3;
  s.factor = r.factor;
  s.low_freq_factor = r.low_freq_factor;
  s.high_freq_factor = r.high_freq_factor;
  s.original_context = r.original_context;
  return s;
}

}  // namespace

ModelSummary inspect_model(const std::string& path) {
  GgufFile f(path);
  ModelSummary s;
  s.path = path;
  s.config = read_llama_config(f);
  s.file_bytes = f.file_size();
  std::map<std::string, uint64_t> types;
  for (const auto& t : f.tensors()) {
    if (t.name.starts_with("train.")) continue;  // optimizer state of a training checkpoint: not loaded
    s.weight_bytes += device_bytes(t);
    s.n_params += t.n_elements();
    types[ggml_type_name(t.ggml_type)]++;
  }
  s.type_counts.assign(types.begin(), types.end());
  s.tokenizer_model = f.opt_string("tokenizer.ggml.model").value_or("");
  s.tokenizer_pre = f.opt_string("tokenizer.ggml.pre").value_or("");
  if (f.has("tokenizer.ggml.tokens")) s.tokenizer_tokens = int(f.get_str_array("tokenizer.ggml.tokens").size());
  s.kv_bytes_per_token = uint64_t(s.config.n_layers) * 2 * s.config.kv_dim() * 2;
  return s;
}

std::unique_ptr<Model> Model::load(Device& dev, const std::string& path, const LoadOptions&) {
  GgufFile f(path);
  std::unique_ptr<Model> m(new Model(dev));
  m->path_ = path;
  m->config_ = read_llama_config(f);
  const ModelConfig& c = m->config_;
  m->tokenizer_ = Tokenizer::from_gguf(f);
  DS_CHECK(m->tokenizer_->vocab_size() <= c.vocab, path, ": tokenizer has ", m->tokenizer_->vocab_size(),
           " tokens, the embedding ", c.vocab, " rows");

  // Device limits first, so nothing is uploaded for a model that cannot run.
  const uint64_t max_range = dev.props().limits.maxStorageBufferRange;
  uint64_t total = 0;
  for (const auto& spec : llama_tensor_specs(c)) {
    const auto& t = f.tensor(spec.name);
    total += device_bytes(t);
    if (device_bytes(t) > max_range)
      fail(path, ": tensor ", t.name, " is ", format_bytes(double(device_bytes(t))), "; ", dev.info().name,
           " binds at most ", format_bytes(double(max_range)), " per storage buffer");
  }
  if (total > dev.info().device_local_bytes)
    fail(path, ": weights need ", format_bytes(double(total)), " but ", dev.info().name, " has ",
         format_bytes(double(dev.info().device_local_bytes)), " of device-local memory");

  m->arena_ = std::make_unique<vk::Arena>(dev, "weights", vk::MemoryKind::DeviceLocal);
  m->weights_ = std::make_unique<ModelWeights>();
  auto& w = *m->weights_;
  auto load = [&](const std::string& name) -> Tensor {
    const auto* info = f.find_tensor(name);
    if (!info) return {};
    auto bytes = f.data(*info);
    Tensor t;
    t.name = name;
    if (info->ne.size() == 1) {  // vectors: F32 on the device
      t.type = DType::F32;
      t.ne = {int64_t(info->ne[0]), 1, 1, 1};
      std::vector<float> v(info->ne[0]);
      to_f32(info->type, bytes.data(), v.data(), v.size());
      t.buf = m->arena_->alloc(t.n_bytes(), name);
      upload(dev, t, v.data());
      return t;
    }
    t.type = info->type;
    for (size_t i = 0; i < info->ne.size(); ++i) t.ne[i] = int64_t(info->ne[i]);
    t.buf = m->arena_->alloc(t.n_bytes(), name);
    upload(dev, t, bytes.data());
    return t;
  };
  // Loads tensors of one type back to back in one allocation (each also visible on its own), for the
  // decode mat-vecs that read them as one matrix; returns the joint view, or empty when they differ in
  // type/row length or a part would not start on a binding-aligned offset (then they load separately).
  const uint64_t align = std::max<uint64_t>(16, dev.props().limits.minStorageBufferOffsetAlignment);
  auto load_joint = [&](const std::vector<std::string>& names, std::vector<Tensor*> parts) -> Tensor {
    std::vector<const GgufTensorInfo*> infos;
    for (auto& n : names) infos.push_back(f.find_tensor(n));
    bool ok = infos[0] && infos[0]->ne.size() == 2;
    uint64_t total = 0;
    for (auto* t : infos) {
      ok = ok && t && t->ne.size() == 2 && t->type == infos[0]->type && t->ne[0] == infos[0]->ne[0] && total % align == 0;
      if (t) total += t->n_bytes;
    }
    if (!ok) {
      for (size_t i = 0; i < names.size(); ++i) *parts[i] = load(names[i]);
      return {};
    }
    Tensor joint;
    joint.name = names[0] + "+";
    joint.type = infos[0]->type;
    joint.ne = {int64_t(infos[0]->ne[0]), 0, 1, 1};
    for (auto* t : infos) joint.ne[1] += int64_t(t->ne[1]);
    joint.buf = m->arena_->alloc(total, joint.name);
    uint64_t off = 0;
    for (size_t i = 0; i < infos.size(); ++i) {
      Tensor& part = *parts[i];
      part.name = names[i];
      part.type = infos[i]->type;
      part.ne = {int64_t(infos[i]->ne[0]), int64_t(infos[i]->ne[1]), 1, 1};
      part.buf = joint.buf.sub(off, infos[i]->n_bytes);
      upload(dev, part, f.data(*infos[i]).data());
      off += infos[i]->n_bytes;
    }
    return joint;
  };

  // The three biases as one F32 vector [q | k | v] (small: a copy, not a view).
  auto joint_bias = [&](const Tensor& bq, const Tensor& bk, const Tensor& bv) {
    std::vector<float> all;
    for (const Tensor* b : {&bq, &bk, &bv}) {
      auto v = download_f32(dev, *b);
      all.insert(all.end(), v.begin(), v.end());
    }
    Tensor t;
    t.name = "bqkv";
    t.ne = {int64_t(all.size()), 1, 1, 1};
    t.buf = m->arena_->alloc(all.size() * 4, t.name);
    upload(dev, t, all.data());
    return t;
  };

  w.tok_embd = load("token_embd.weight");
  w.output_norm = load("output_norm.weight");
  w.output = c.tied_embeddings ? w.tok_embd : load("output.weight");
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights L;
    L.attn_norm = load(p + "attn_norm.weight");
    L.wqkv = load_joint({p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"}, {&L.wq, &L.wk, &L.wv});
    L.wo = load(p + "attn_output.weight");
    L.bq = load(p + "attn_q.bias");
    L.bk = load(p + "attn_k.bias");
    L.bv = load(p + "attn_v.bias");
    if (L.wqkv && L.bq) L.bqkv = joint_bias(L.bq, L.bk, L.bv);
    L.ffn_norm = load(p + "ffn_norm.weight");
    L.w_gate_up = load_joint({p + "ffn_gate.weight", p + "ffn_up.weight"}, {&L.w_gate, &L.w_up});
    L.w_down = load(p + "ffn_down.weight");
    w.layers.push_back(std::move(L));
  }
  auto inv_freq = ops::rope_inv_freq(c.head_dim, c.rope.theta, rope_scaling(c.rope));
  if (const auto* ff = f.find_tensor("rope_freqs.weight")) {  // per-dimension frequency divisors (llama 3.x GGUFs)
    DS_CHECK(ff->n_elements() == inv_freq.size(), path, ": rope_freqs.weight has ", ff->n_elements(),
             " values, expected ", inv_freq.size());
    std::vector<float> div(inv_freq.size());
    to_f32(ff->type, f.data(*ff).data(), div.data(), div.size());
    for (size_t i = 0; i < div.size(); ++i) inv_freq[i] /= div[i];
  }
  w.rope_inv_freq.name = "rope_inv_freq";
  w.rope_inv_freq.ne = {int64_t(inv_freq.size()), 1, 1, 1};
  w.rope_inv_freq.buf = m->arena_->alloc(inv_freq.size() * 4, "rope_inv_freq");
  upload(dev, w.rope_inv_freq, inv_freq.data());
  return m;
}

Model::Model(Device& dev) : dev_(dev) {}
Model::~Model() = default;

uint64_t Model::weight_bytes() const { return arena_ ? arena_->used() : 0; }

}  // namespace ds
