// Model: a loaded model on a Device: its config, tokenizer and device weights. Load checks the
// whole file (architecture, every tensor's presence, shape and type, device limits) before
// uploading anything, and a failed load leaves nothing behind.
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

struct LoadOptions {};

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
  uint64_t kv_bytes_per_token = 0;                    // KV cache bytes per context position (F16)
};
ModelSummary inspect_model(const std::string& path);

class Model {
 public:
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
