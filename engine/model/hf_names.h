// Tensor names and shapes of HF checkpoints <-> the engine's GGUF-style names:
//   model.embed_tokens.weight <-> token_embd.weight, model.layers.{i}.self_attn.q_proj.weight <->
//   blk.{i}.attn_q.weight, model.layers.{i}.mixer.A_log <-> blk.{i}.ssm_a_log, ... (docs/formats.md).
// A PyTorch Linear weight [out, in] (row-major) is exactly GGUF ne = [in, out]: names change, bytes
// do not; every shape here is in safetensors order (slowest first), ne = reversed shape.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/model_config.h"

namespace ds {

class SafetensorsDir;

// nullopt for names outside the mapping (e.g. old checkpoints' rotary_emb.inv_freq).
std::optional<std::string> hf_to_gguf_name(std::string_view hf_name);
std::optional<std::string> gguf_to_hf_name(std::string_view gguf_name);

struct HfTensorSpec {
  std::string hf_name;
  std::string gguf_name;
  std::vector<uint64_t> shape;  // safetensors order
};
// Every tensor a checkpoint of `c` holds (per layer by its kind; biases as configured).
std::vector<HfTensorSpec> hf_tensor_specs(const ModelConfig& c);

// Checks presence, shape and dtype (F32/F16/BF16) of every tensor hf_tensor_specs(c) lists;
// throws naming the directory, the tensor (both names) and the numbers. Returns the names of
// tensors in the directory that the model does not use (HF ignores such tensors too).
std::vector<std::string> check_hf_tensors(const SafetensorsDir& dir, const ModelConfig& c);

}  // namespace ds
