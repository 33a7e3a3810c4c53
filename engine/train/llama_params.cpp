// Llama parameters on the device (see llama_params.h).
#include "train/llama_params.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "distilscope/device.h"
#include "model/llama_config.h"
#include "model/model_source.h"
#include "ops/optim.h"
#include "ops/rope.h"
#include "run/sampler.h"
#include "util/error.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace ds::train {
namespace {

// N(0, 1) by Box-Muller over SplitMix64 (53-bit uniforms): our own, so initializations do not depend on the
// standard library's distributions.
class NormalGenerator {
 public:
  explicit NormalGenerator(uint64_t seed) : rng_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (double(rng_.next() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(rng_.next() >> 11) * 0x1.0p-53;          // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }

 private:
  SplitMix64 rng_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace

LlamaParams::LlamaParams(Device& dev, vk::Arena& arena, const ModelConfig& c, DType forward_type,
                         const Trainable& trainable, const LoraSpec& lora)
    : dev_(dev), c_(c), lora_(lora) {
  DS_CHECK(is_llama_family(c.arch) || c.arch == "apriel_hybrid", "[train] architecture ", c.arch,
           " has no training graph (llama family, with attention, linear or Mamba layers)");
  DS_CHECK(forward_type == DType::F32 || forward_type == DType::F16 || forward_type == DType::BF16,
           "[train] the forward reads F32, F16 or BF16 weights, not ", dtype_name(forward_type));
  const auto specs = llama_tensor_specs(c);
  params_.reserve(specs.size());
  for (const TensorSpec& s : specs) {
    TrainParam p;
    p.name = s.name;
    p.ne = s.ne;
    p.matrix = s.matrix;
    p.trainable = !trainable || trainable(s.name);
    std::array<int64_t, 4> ne{1, 1, 1, 1};
    for (size_t i = 0; i < s.ne.size(); ++i) ne[i] = int64_t(s.ne[i]);
    p.master = make_tensor(arena, DType::F32, ne, s.name);
    if (p.trainable) p.grad = make_tensor(arena, DType::F32, ne, "grad." + s.name);
    if (forward_type != DType::F32 && p.matrix) p.half = make_tensor(arena, forward_type, ne, "half." + s.name);
    params_.push_back(std::move(p));
  }
  if (lora.rank > 0) add_adapters(arena);
  DS_CHECK(params_[0].name == "token_embd.weight" && params_[1].name == "output_norm.weight",
           "[train] unexpected llama tensor order");
  output_ = c.tied_embeddings ? 0 : 2;
  auto find = [&](const std::string& name) -> const TrainParam* {
    for (const TrainParam& p : params_)
      if (p.name == name) return &p;
    return nullptr;
  };
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    Layer L{find(b + "attn_norm.weight"), find(b + "attn_q.weight"), find(b + "attn_k.weight"),
            find(b + "attn_v.weight"), find(b + "attn_q.bias"), find(b + "attn_k.bias"),
            find(b + "attn_v.bias"), find(b + "attn_output.weight"), find(b + "ffn_norm.weight"),
            find(b + "ffn_gate.weight"), find(b + "ffn_up.weight"), find(b + "ffn_down.weight"),
            find(b + "lin_fm_q"), find(b + "lin_fm_k"), find(b + "lin_window_factor"),
            find(b + "ssm_in.weight"), find(b + "ssm_in.bias"), find(b + "ssm_dt_in.weight"),
            find(b + "ssm_dt_in.bias"), find(b + "ssm_dt.weight"), find(b + "ssm_dt.bias"),
            find(b + "ssm_conv1d.weight"), find(b + "ssm_conv1d.bias"), find(b + "ssm_a_log"),
            find(b + "ssm_d"), find(b + "ssm_out.weight"), find(b + "ssm_out.bias"), {}, {}};
    for (int t = 0; t < kLoraTargets; ++t) {
      L.lora_a[size_t(t)] = find(lora_a_name(l, LoraTarget(t)));
      L.lora_b[size_t(t)] = find(lora_b_name(l, LoraTarget(t)));
    }
    layers_.push_back(L);
  }
  const auto inv = ops::rope_inv_freq(c.head_dim, c.rope.theta, {});
  inv_freq_ = make_tensor(arena, DType::F32, {int64_t(inv.size()), 1, 1, 1}, "rope_inv_freq");
  upload_f32(dev_, inv_freq_, inv);
}

void LlamaParams::add_adapters(vk::Arena& arena) {
  const int r = lora_.rank;
  for (int l = 0; l < c_.n_layers; ++l)
    for (LoraTarget t : lora_.targets) {
      const std::string base = cat("blk.", l, ".", lora_tensor_stem(t), ".weight");
      auto it = std::find_if(params_.begin(), params_.end(), [&](const TrainParam& p) { return p.name == base; });
      if (it == params_.end() || it->trainable) continue;  // absent here (Mamba q/k/v/o) or trained itself
      const int64_t K = int64_t(it->ne[0]), N = int64_t(it->ne[1]);
      DS_CHECK(r <= std::min(K, N), "[train] LoRA rank ", r, " is larger than ", base, " (", K, " x ", N, ")");
      for (const bool is_a : {true, false}) {
        TrainParam p;
        p.name = is_a ? lora_a_name(l, t) : lora_b_name(l, t);
        p.ne = is_a ? std::vector<uint64_t>{uint64_t(K), uint64_t(r)} : std::vector<uint64_t>{uint64_t(r), uint64_t(N)};
        const std::array<int64_t, 4> ne{int64_t(p.ne[0]), int64_t(p.ne[1]), 1, 1};
        p.master = make_tensor(arena, DType::F32, ne, p.name);
        p.grad = make_tensor(arena, DType::F32, ne, "grad." + p.name);
        params_.push_back(std::move(p));
      }
    }
}

bool LlamaParams::has_adapters() const {
  return std::any_of(params_.begin(), params_.end(), [](const TrainParam& p) { return is_lora_tensor(p.name); });
}

void LlamaParams::init_adapters() {
  for (size_t i = 0; i < params_.size(); ++i) {
    const TrainParam& p = params_[i];
    if (!is_lora_tensor(p.name)) continue;
    std::vector<float> v(size_t(p.master.n_elements()), 0.0f);
    if (p.name.ends_with(".lora_a")) {
      NormalGenerator g(lora_.seed * 0x9E3779B97F4A7C15ull + i + 1);
      const double s = 1.0 / std::sqrt(double(p.ne[0]));
      for (float& x : v) x = float(s * g.next());
    }
    upload_f32(dev_, p.master, v);
  }
}

void LlamaParams::merge_adapters() {
  const float s = lora_.scale();
  for (int l = 0; l < c_.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      const TrainParam *a = layers_[size_t(l)].lora_a[size_t(t)], *b = layers_[size_t(l)].lora_b[size_t(t)];
      if (!a) continue;
      const std::string base = cat("blk.", l, ".", lora_tensor_stem(LoraTarget(t)), ".weight");
      std::vector<float> w = download(base);
      merge_lora(w, download(a->name), download(b->name), int64_t(a->ne[0]), int64_t(b->ne[1]), lora_.rank, s);
      upload_f32(dev_, get(base).master, w);
      upload_f32(dev_, b->master, std::vector<float>(size_t(b->master.n_elements()), 0.0f));
    }
  refresh_half();
}

const TrainParam& LlamaParams::get(const std::string& name) const {
  for (const TrainParam& p : params_)
    if (p.name == name) return p;
  fail("[train] the model has no tensor ", name);
}

uint64_t LlamaParams::n_elements() const {
  uint64_t n = 0;
  for (const TrainParam& p : params_) n += uint64_t(p.master.n_elements());
  return n;
}

uint64_t LlamaParams::n_trainable() const {
  uint64_t n = 0;
  for (const TrainParam& p : params_)
    if (p.trainable) n += uint64_t(p.master.n_elements());
  return n;
}

int LlamaParams::lowest_trainable_layer() const {
  int lowest = c_.n_layers;
  for (const TrainParam& p : params_) {
    if (!p.trainable) continue;
    if (!p.name.starts_with("blk.")) {
      if (p.name.starts_with("token_embd")) return -1;  // tied output included
      continue;
    }
    lowest = std::min(lowest, std::stoi(p.name.substr(4)));  // adapters: the layer of their projection
  }
  return lowest;
}

bool LlamaParams::is_mixer_tensor(const ModelConfig& c, const std::string& name) {
  if (!name.starts_with("blk.")) return false;
  const int l = std::stoi(name.substr(4));
  const std::string rest = name.substr(name.find('.', 4) + 1);
  switch (c.layer_kind(l)) {
    case LayerKind::Attention:
      return false;
    case LayerKind::Linear:
      return rest.starts_with("lin_") || rest.starts_with("attn_q.") || rest.starts_with("attn_k.") ||
             rest.starts_with("attn_v.") || rest.starts_with("attn_output.");
    case LayerKind::Mamba:
      return rest.starts_with("ssm_");
  }
  return false;
}

void LlamaParams::load(const ModelSource& src) {
  for (const TrainParam& p : params_) {
    if (is_lora_tensor(p.name)) continue;
    DS_CHECK(src.find(p.name), "[train] ", src.path(), ": tensor ", p.name, " is missing");
    const std::vector<float> v = src.read_f32(p.name);
    DS_CHECK(int64_t(v.size()) == p.master.n_elements(), "[train] ", src.path(), ": tensor ", p.name, " has ",
             v.size(), " values, the model needs ", p.master.n_elements());
    upload_f32(dev_, p.master, v);
  }
  init_adapters();
  refresh_half();
}

void LlamaParams::init_random(uint64_t seed, float std) {
  const double out_std = double(std) / std::sqrt(2.0 * c_.n_layers);
  for (size_t i = 0; i < params_.size(); ++i) {
    const TrainParam& p = params_[i];
    if (is_lora_tensor(p.name)) continue;
    std::vector<float> v(size_t(p.master.n_elements()), 0.0f);
    const bool residual_out = p.name.ends_with("attn_output.weight") || p.name.ends_with("ffn_down.weight");
    if (p.name.ends_with("norm.weight") || p.name.ends_with("ssm_d")) {
      std::fill(v.begin(), v.end(), 1.0f);
    } else if (p.matrix) {
      NormalGenerator g(seed * 0x9E3779B97F4A7C15ull + i + 1);  // one stream per tensor
      const double s = residual_out ? out_std : double(std);
      for (float& x : v) x = float(s * g.next());
    }
    upload_f32(dev_, p.master, v);
  }
  init_adapters();
  refresh_half();
}

void LlamaParams::upload(const std::string& name, const std::vector<float>& values) {
  upload_f32(dev_, get(name).master, values);
  refresh_half();
}

std::vector<float> LlamaParams::download(const std::string& name) const { return download_f32(dev_, get(name).master); }

std::vector<float> LlamaParams::download_grad(const std::string& name) const {
  DS_CHECK(get(name).trainable, "[train] tensor ", name, " is frozen: it has no gradient");
  return download_f32(dev_, get(name).grad);
}

void LlamaParams::record_refresh_half(vk::Recorder& rec) const {
  for (const TrainParam& p : params_)
    if (p.half) ops::cast_half(rec, p.master, p.half);
}

void LlamaParams::refresh_half() {
  vk::OneShot cmd(dev_);
  vk::Recorder rec(dev_, cmd.cmd());
  record_refresh_half(rec);
  cmd.submit_and_wait();
}

std::vector<ParamGroup> LlamaParams::groups(float weight_decay) const {
  ParamGroup decay{"decay", {}, 1.0f, weight_decay, true}, no_decay{"no_decay", {}, 1.0f, 0.0f, true};
  for (const TrainParam& p : params_)
    if (p.trainable) (p.matrix ? decay : no_decay).tensors.push_back({p.master, p.grad, p.half});
  return {decay, no_decay};
}

}  // namespace ds::train
