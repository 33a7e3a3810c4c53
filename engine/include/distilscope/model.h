// Model: a loaded model on a Device: its config, tokenizer and device weights, from a GGUF file or a
// Hugging Face directory. Load checks the whole model (architecture, layout, every tensor's presence,
// shape and type, device limits) before uploading anything, and a failed load leaves nothing behind.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "distilscope/device.h"
#include "distilscope/model_config.h"

namespace ds {

class Tokenizer;
class GgufFile;
struct ModelWeights;
namespace vk {
class Arena;
}

struct LoadOptions {
  // "" keeps every weight's type (HF BF16 matrices become F16); "q8_0" quantizes F32/F16/BF16 matrices whose
  // rows are a multiple of 32 to Q8_0 on load (a 15B model in 16 GB instead of 30).
  std::string quantize;
};

// What `info` shows: readable without a device.
struct ModelSummary {
  std::string path;
  ModelConfig config;
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;                          // device memory for the weights
  uint64_t n_params = 0;
  std::vector<std::pair<std::string, uint64_t>> type_counts;  // tensor type -> number of tensors
  std::string tokenizer_model, tokenizer_pre;
  int tokenizer_tokens = 0;
  uint64_t kv_bytes_per_token = 0;                    // KV cache bytes per context position (F16, attention layers)
  uint64_t state_bytes = 0;                           // mixer layers' fixed-size state (any context length)
  std::string format;                                 // "gguf" or "hf"
};
// A .gguf file or a Hugging Face model directory.
ModelSummary inspect_model(const std::string& path);

class Model {
 public:
  // path: a .gguf file or a Hugging Face model directory (config.json, safetensors, tokenizer.json).
  static std::unique_ptr<Model> load(Device& dev, const std::string& path, const LoadOptions& opts = {});
  ~Model();

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  Device& device() const { return dev_; }
  const std::string& path() const { return path_; }
  uint64_t weight_bytes() const;
  const ModelWeights& weights() const { return *weights_; }

 private:
  explicit Model(Device& dev);
  Device& dev_;
  std::string path_;
  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<vk::Arena> arena_;
  std::unique_ptr<ModelWeights> weights_;
};

}  // namespace ds
