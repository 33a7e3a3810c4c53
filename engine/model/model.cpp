// Model loading: a GGUF file or an HF directory (ModelSource) -> checked config -> device weights, per
// layer by its kind (model/weight_loader.h does the types and uploads). inspect_model: the same without a device.
#include "distilscope/model.h"

#include <map>

#include "distilscope/tokenizer.h"
#include "model/hybrid_config.h"
#include "model/llama_config.h"
#include "model/model_source.h"
#include "model/weight_loader.h"
#include "model/weights.h"
#include "ops/rope.h"
#include "util/error.h"
#include "vk/memory.h"

namespace ds {

namespace {

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

// The three biases as one F32 vector [q | k | v] (small: a copy, not a view).
Tensor joint_bias(Device& dev, vk::Arena& arena, const Tensor& bq, const Tensor& bk, const Tensor& bv) {
  std::vector<float> all;
  for (const Tensor* b : {&bq, &bk, &bv}) {
    auto v = download_f32(dev, *b);
    all.insert(all.end(), v.begin(), v.end());
  }
  Tensor t;
  t.name = "bqkv";
  t.ne = {int64_t(all.size()), 1, 1, 1};
  t.buf = arena.alloc(all.size() * 4, t.name);
  upload(dev, t, all.data());
  return t;
}

LayerWeights load_layer(Device& dev, vk::Arena& arena, WeightLoader& ld, const ModelConfig& c, int l) {
  const std::string p = "blk." + std::to_string(l) + ".";
  const LayerKind kind = c.layer_kind(l);
  LayerWeights L;
  L.attn_norm = ld.load(p + "attn_norm.weight");
  if (kind == LayerKind::Attention || kind == LayerKind::Linear) {
    L.wqkv = ld.load_joint({p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"}, {&L.wq, &L.wk, &L.wv});
    L.wo = ld.load(p + "attn_output.weight");
    L.bq = ld.load(p + "attn_q.bias");
    L.bk = ld.load(p + "attn_k.bias");
    L.bv = ld.load(p + "attn_v.bias");
    L.bo = ld.load(p + "attn_output.bias");
    if (L.wqkv && L.bq) L.bqkv = joint_bias(dev, arena, L.bq, L.bk, L.bv);
  }
  if (kind == LayerKind::Linear) {
    L.lin.fm_q = ld.load(p + "lin_fm_q");
    L.lin.fm_k = ld.load(p + "lin_fm_k");
    L.lin.window_factor = ld.load(p + "lin_window_factor");
  }
  if (kind == LayerKind::Mamba) {
    MambaLayerWeights& m = L.ssm;
    m.in = ld.load(p + "ssm_in.weight");
    m.in_b = ld.load(p + "ssm_in.bias");
    m.dt_in = ld.load(p + "ssm_dt_in.weight");
    m.dt_in_b = ld.load(p + "ssm_dt_in.bias");
    m.dt = ld.load(p + "ssm_dt.weight");
    m.out = ld.load(p + "ssm_out.weight");
    m.out_b = ld.load(p + "ssm_out.bias");
    m.core.conv_w = ld.load(p + "ssm_conv1d.weight");
    m.core.conv_b = ld.load(p + "ssm_conv1d.bias");
    m.core.dt_bias = ld.load(p + "ssm_dt.bias");
    m.core.a_log = ld.load(p + "ssm_a_log");
    m.core.d = ld.load(p + "ssm_d");
  }
  L.ffn_norm = ld.load(p + "ffn_norm.weight");
  L.w_gate_up = ld.load_joint({p + "ffn_gate.weight", p + "ffn_up.weight"}, {&L.w_gate, &L.w_up});
  L.w_down = ld.load(p + "ffn_down.weight");
  return L;
}

}  // namespace

ModelSummary inspect_model(const std::string& path) {
  auto src = ModelSource::open(path);
  ModelSummary s;
  s.path = path;
  s.config = src->config();
  s.format = src->format() == ModelSource::Format::Gguf ? "gguf" : "hf";
  s.file_bytes = src->file_bytes();
  std::map<std::string, uint64_t> types;
  std::map<std::string, bool> used;
  for (const auto& spec : llama_tensor_specs(s.config)) used[spec.name] = spec.matrix;
  for (const auto& t : src->tensors()) {
    if (t.name.starts_with("train.")) continue;  // optimizer state of a training checkpoint: not loaded
    auto it = used.find(t.name);
    if (it == used.end() && t.name != "rope_freqs.weight") continue;  // HF tensors the model does not use
    const bool matrix = it != used.end() && it->second;
    // Device bytes without load options: vectors and mixer parameters F32, HF BF16 matrices F16 (same size).
    s.weight_bytes += matrix ? t.n_bytes : t.n_elements() * 4;
    s.n_params += t.n_elements();
    types[ggml_type_name(t.ggml_type)]++;
  }
  s.type_counts.assign(types.begin(), types.end());
  s.tokenizer_model = src->tokenizer_model;
  s.tokenizer_pre = src->tokenizer_pre;
  s.tokenizer_tokens = src->tokenizer_tokens;
  s.kv_bytes_per_token = kv_bytes_per_token(s.config);
  s.state_bytes = mixer_state_bytes(s.config);
  return s;
}

std::unique_ptr<Model> Model::load(Device& dev, const std::string& path, const LoadOptions& opts) {
  auto src = ModelSource::open(path);
  std::unique_ptr<Model> m(new Model(dev));
  m->path_ = path;
  m->config_ = src->config();
  const ModelConfig& c = m->config_;
  try {
    m->tokenizer_ = Tokenizer::create(src->tokenizer_data());
  } catch (const Error& e) {
    fail(e.what(), " (in ", path, ")");
  }
  DS_CHECK(m->tokenizer_->vocab_size() <= c.vocab, path, ": tokenizer has ", m->tokenizer_->vocab_size(),
           " tokens, the embedding ", c.vocab, " rows");

  m->arena_ = std::make_unique<vk::Arena>(dev, "weights", vk::MemoryKind::DeviceLocal);
  WeightLoader ld(dev, *m->arena_, *src, opts);
  ld.check_device_limits();  // before anything is uploaded
  m->weights_ = std::make_unique<ModelWeights>();
  auto& w = *m->weights_;
  w.tok_embd = ld.load("token_embd.weight");
  w.output_norm = ld.load("output_norm.weight");
  w.output = c.tied_embeddings ? w.tok_embd : ld.load("output.weight");
  for (int l = 0; l < c.n_layers; ++l) w.layers.push_back(load_layer(dev, *m->arena_, ld, c, l));

  auto inv_freq = ops::rope_inv_freq(c.head_dim, c.rope.theta, rope_scaling(c.rope));
  if (src->find("rope_freqs.weight")) {  // per-dimension frequency divisors (llama 3.x GGUFs)
    auto div = src->read_f32("rope_freqs.weight");
    DS_CHECK(div.size() == inv_freq.size(), path, ": rope_freqs.weight has ", div.size(), " values, expected ",
             inv_freq.size());
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
