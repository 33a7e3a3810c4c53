// Reads a llama-family ModelConfig (llama, Mistral-style, qwen2) from GGUF metadata and checks every
// tensor the architecture needs against it (presence, shape, supported type), before any upload.
#pragma once
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

// Expected GGUF tensors of one layer / of the whole model: name and shape (ne order).
struct TensorSpec {
  std::string name;
  std::vector<uint64_t> ne;
  bool optional = false;
};
std::vector<TensorSpec> llama_tensor_specs(const ModelConfig& c);
// Throws ds::Error naming the file, the tensor and the numbers for the first problem found.
void check_llama_tensors(const GgufFile& f, const ModelConfig& c);

}  // namespace ds
