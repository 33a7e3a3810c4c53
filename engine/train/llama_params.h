// The trainable parameters of a llama-architecture model on the device: per tensor an F32 master, an F32
// gradient and, when the forward reads half precision, an F16/BF16 copy refreshed after every update.
// Named as in GGUF ("blk.3.attn_q.weight") so checkpoints and exports need no name mapping. Also the
// seeded initialization (own normal generator over SplitMix64: the same seed gives the same model on every
// machine) and the optimizer's parameter groups (weight decay for matrices and embeddings only).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "ops/tensor.h"
#include "train/optimizer.h"

namespace ds {
class Device;
namespace vk {
class Arena;
class Recorder;
}  // namespace vk
namespace train {

struct TrainParam {
  std::string name;                                               // GGUF name
  std::vector<uint64_t> ne;                                       // GGUF shape (ne[0] fastest)
  Tensor master, grad;                                            // F32
  Tensor half;                                                    // F16/BF16 copy the forward reads, or empty
  bool matrix = false;                                            // 2-D: weight decay applies
  const Tensor& forward() const { return half ? half : master; }  // what the forward pass reads
};

class LlamaParams {
 public:
  struct Layer {
    const TrainParam *attn_norm, *wq, *wk, *wv, *bq, *bk, *bv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
  };

  // Allocates every tensor of `c` (llama family, every layer attention) in `arena`; contents undefined.
  // forward_type: F32 (the forward reads the masters) or F16/BF16 (it reads copies).
  LlamaParams(Device& dev, vk::Arena& arena, const ModelConfig& c, DType forward_type);

  const ModelConfig& config() const { return c_; }
  Device& device() const { return dev_; }
  const std::vector<TrainParam>& all() const { return params_; }
  const TrainParam& get(const std::string& name) const;  // throws naming the unknown tensor
  const TrainParam& tok_embd() const { return params_[0]; }
  const TrainParam& output_norm() const { return params_[1]; }
  const TrainParam& output() const { return params_[output_]; }  // tok_embd when tied
  const Layer& layer(int l) const { return layers_[size_t(l)]; }
  const Tensor& rope_inv_freq() const { return inv_freq_; }
  uint64_t n_elements() const;

  // Seeded initialization: matrices and the embedding ~ N(0, std^2), the residual outputs (wo, w_down)
  // with std / sqrt(2 n_layers), norms 1, biases 0. Uploads and refreshes the half copies.
  void init_random(uint64_t seed, float std);
  // Host values of one master (F32, GGUF element order); upload refreshes its half copy.
  void upload(const std::string& name, const std::vector<float>& values);
  std::vector<float> download(const std::string& name) const;
  std::vector<float> download_grad(const std::string& name) const;
  void record_refresh_half(vk::Recorder& rec) const;  // every half copy from its master
  void refresh_half();                                // the same, submitted and waited for

  // One group "decay" (matrices, embedding; weight_decay) and one "no_decay" (norms, biases).
  std::vector<ParamGroup> groups(float weight_decay) const;

 private:
  Device& dev_;
  ModelConfig c_;
  std::vector<TrainParam> params_;
  size_t output_ = 0;
  std::vector<Layer> layers_;
  Tensor inv_freq_;
};

}  // namespace train
}  // namespace ds
