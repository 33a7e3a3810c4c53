// ModelSource: a model on disk, whatever its form (a GGUF file or a Hugging Face directory), seen the same
// way: a checked ModelConfig, tensors under GGUF names with GGUF shapes (ne[0] fastest), their bytes, and
// the tokenizer. Model::load, inspect_model, `convert` and `linearize` read every model through it.
// HF directories: names mapped by model/hf_names.h (no data moves: a Linear [out, in] is ne [in, out]);
// Apriel checkpoints that fold dt_in_proj into in_proj's last dt_rank rows are split into two views.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "distilscope/tokenizer.h"
#include "model/gguf.h"

namespace ds {

struct JsonValue;

class ModelSource {
 public:
  enum class Format { Gguf, HuggingFace };
  // A .gguf file or an HF model directory (with config.json). Checks the config against every tensor.
  static std::unique_ptr<ModelSource> open(const std::string& path);
  virtual ~ModelSource();

  Format format() const { return format_; }
  const std::string& path() const { return path_; }
  const ModelConfig& config() const { return config_; }
  uint64_t file_bytes() const { return file_bytes_; }

  // Every tensor the source maps to an engine name (HF: tensors outside the mapping are left out; type is
  // the dtype's GGUF number). Only what llama_tensor_specs(config()) lists is used by the model.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find(const std::string& name) const;
  const GgufTensorInfo& tensor(const std::string& name) const;  // throws naming the source
  virtual std::span<const uint8_t> data(const GgufTensorInfo& t) const = 0;
  std::vector<float> read_f32(const std::string& name) const;   // dequantized copy; throws when missing
  // "blk.0.attn_q.weight" for GGUF; "model.layers.0.self_attn.q_proj.weight (blk.0.attn_q.weight)" for HF.
  virtual std::string label(const std::string& name) const { return name; }

  virtual bool has_tokenizer() const = 0;
  virtual TokenizerData tokenizer_data() const = 0;  // throws naming the file when there is none
  std::string tokenizer_model, tokenizer_pre;       // for `info` (empty without a tokenizer)
  int tokenizer_tokens = 0;

  virtual const GgufFile* gguf() const { return nullptr; }        // the GGUF file (GGUF sources)
  virtual const JsonValue* hf_config() const { return nullptr; }  // the parsed config.json (HF sources)
  virtual std::string hf_file(const char* name) const;            // <dir>/name when it exists (HF), else ""

 protected:
  ModelSource(Format format, std::string path) : format_(format), path_(std::move(path)) {}
  Format format_;
  std::string path_;
  ModelConfig config_;
  uint64_t file_bytes_ = 0;
  std::vector<GgufTensorInfo> tensors_;
};

std::unique_ptr<ModelSource> open_gguf_source(const std::string& path);
std::unique_ptr<ModelSource> open_hf_source(const std::string& dir);

}  // namespace ds
