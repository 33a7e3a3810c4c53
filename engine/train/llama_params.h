// The trainable parameters of a llama-architecture model on the device: per tensor an F32 master, an F32
// gradient and, when the forward reads half precision, an F16/BF16 copy refreshed after every update.
// Named as in GGUF ("blk.3.attn_q.weight") so checkpoints and exports need no name mapping. Also the
// seeded initialization (own normal generator over SplitMix64: the same seed gives the same model on every
// machine) and the optimizer's parameter groups (weight decay for matrices and embeddings only).
// Hybrid students (linear / Mamba layers) have their mixer tensors too; a parameter may be frozen (no
// gradient buffer, left out of the optimizer): `mixers` training freezes everything but the mixers.
// With a LoraSpec, every frozen projection it names gets a trainable adapter pair (train/lora.h).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "ops/tensor.h"
#include "train/lora.h"
#include "train/optimizer.h"

namespace ds {
class Device;
class ModelSource;
namespace vk {
class Arena;
class Recorder;
}  // namespace vk
namespace train {

struct TrainParam {
  std::string name;                                               // GGUF name
  std::vector<uint64_t> ne;                                       // GGUF shape (ne[0] fastest)
  Tensor master, grad;                                            // F32 (grad empty when frozen)
  Tensor half;                                                    // F16/BF16 copy the forward reads, or empty
  bool matrix = false;                                            // read by a matmul: weight decay applies
  bool trainable = true;                                          // false: frozen, no gradient
  const Tensor& forward() const { return half ? half : master; }  // what the forward pass reads
};

class LlamaParams {
 public:
  struct Layer {
    // Attention and linear layers (nullptr elsewhere; biases nullptr when absent).
    const TrainParam *attn_norm, *wq, *wk, *wv, *bq, *bk, *bv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
    const TrainParam *fm_q, *fm_k, *window_factor;  // linear layers
    // Mamba layers: in_proj (z|x|B|C), dt low-rank pair, conv, A_log, D, out_proj (biases may be nullptr).
    const TrainParam *ssm_in, *ssm_in_b, *ssm_dt_in, *ssm_dt_in_b, *ssm_dt, *ssm_dt_b, *conv_w, *conv_b, *a_log,
        *ssm_d, *ssm_out, *ssm_out_b;
    // LoRA adapters by LoraTarget (nullptr: none on that projection).
    std::array<const TrainParam*, kLoraTargets> lora_a{}, lora_b{};
  };
  using Trainable = std::function<bool(const std::string& name)>;

  // Allocates every tensor of `c` (llama family; attention, linear or Mamba layers) in `arena`; contents
  // undefined. forward_type: F32 (the forward reads the masters) or F16/BF16 (it reads copies). trainable:
  // which tensors get a gradient (empty: all). lora.rank > 0: adapters on the frozen projections lora names
  // (trainable, F32, no half copy, no weight decay), after the model's tensors.
  LlamaParams(Device& dev, vk::Arena& arena, const ModelConfig& c, DType forward_type, const Trainable& trainable = {},
              const LoraSpec& lora = {});

  const ModelConfig& config() const { return c_; }
  Device& device() const { return dev_; }
  const std::vector<TrainParam>& all() const { return params_; }
  const TrainParam& get(const std::string& name) const;  // throws naming the unknown tensor
  const TrainParam& tok_embd() const { return params_[0]; }
  const TrainParam& output_norm() const { return params_[1]; }
  const TrainParam& output() const { return params_[output_]; }  // tok_embd when tied
  const Layer& layer(int l) const { return layers_[size_t(l)]; }
  const Tensor& rope_inv_freq() const { return inv_freq_; }
  const LoraSpec& lora() const { return lora_; }
  bool has_adapters() const;
  uint64_t n_elements() const;
  uint64_t n_trainable() const;
  // The lowest layer with a trainable tensor (-1: the embedding trains; n_layers: nothing below the head):
  // the backward walk stops there.
  int lowest_trainable_layer() const;

  // Seeded initialization: matrices and the embedding ~ N(0, std^2), the residual outputs (wo, w_down)
  // with std / sqrt(2 n_layers), norms 1, biases 0. Uploads and refreshes the half copies.
  void init_random(uint64_t seed, float std);
  // Host values of one master (F32, GGUF element order); upload refreshes its half copy.
  void upload(const std::string& name, const std::vector<float>& values);
  std::vector<float> download(const std::string& name) const;
  std::vector<float> download_grad(const std::string& name) const;  // throws for a frozen tensor
  // Every master from a model file (any stored type, dequantized), naming the first missing tensor; adapters
  // are not read but initialized (init_adapters).
  void load(const ModelSource& src);
  // A ~ N(0, 1/K) seeded by lora().seed, B = 0: the adapted model equals the base model.
  void init_adapters();
  // W += s B A for every adapter pair, then B = 0 (the model computes what it computed, adapters idle).
  void merge_adapters();
  void record_refresh_half(vk::Recorder& rec) const;  // every half copy from its master
  void refresh_half();                                // the same, submitted and waited for

  // One group "decay" (trainable matrices, embedding; weight_decay) and one "no_decay" (norms, biases, mixer
  // vectors); frozen tensors are in neither.
  std::vector<ParamGroup> groups(float weight_decay) const;

  // The token mixer of a converted (linear / Mamba) layer: q/k/v/o and feature maps of a linear layer, every
  // ssm_* tensor of a Mamba layer. What `mixers` training trains.
  static bool is_mixer_tensor(const ModelConfig& c, const std::string& name);

 private:
  void add_adapters(vk::Arena& arena);

  Device& dev_;
  ModelConfig c_;
  LoraSpec lora_;
  std::vector<TrainParam> params_;
  size_t output_ = 0;
  std::vector<Layer> layers_;
  Tensor inv_freq_;
};

}  // namespace train
}  // namespace ds
