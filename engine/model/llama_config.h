// Reads a llama-family ModelConfig (llama, Mistral-style, qwen2; hybrids of them, with the layout and mixer
// keys of model/hybrid_config.h) from GGUF metadata and checks every tensor the model needs against it
// (presence, shape, supported type), before any upload. The same checks serve Hugging Face directories.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "model/gguf.h"

namespace ds {

bool is_llama_family(const std::string& arch);
ModelConfig read_llama_config(const GgufFile& f);
// The inverse for writers: general.architecture, general.name and the <arch>.* hyper-parameter keys that
// read_llama_config reads (no rope scaling; vocab comes from the tensors).
void write_llama_config(GgufWriter& w, const ModelConfig& c);

// Expected tensors of the model (GGUF names and ne order), per layer by its kind.
struct TensorSpec {
  std::string name;
  std::vector<uint64_t> ne;
  bool optional = false;
  bool matrix = false;  // read by a matmul / get_rows: any weight type; else loaded as F32 (F32/F16/BF16 only)
};
std::vector<TensorSpec> llama_tensor_specs(const ModelConfig& c);

// Finds a tensor by its GGUF-style name (GGUF files; HF directories after name mapping), or nullptr.
using TensorLookup = std::function<const GgufTensorInfo*(const std::string& name)>;
// How to name a tensor in messages (HF directories add the checkpoint's own name).
using TensorLabel = std::function<std::string(const std::string& name)>;

// Throws ds::Error naming `where`, the tensor and the numbers for the first problem found.
void check_model_tensors(const std::string& where, const ModelConfig& c, const TensorLookup& find,
                         const TensorLabel& label = {});
void check_llama_tensors(const GgufFile& f, const ModelConfig& c);

}  // namespace ds
