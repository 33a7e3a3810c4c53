// Hugging Face config.json <-> ModelConfig for llama, mistral, qwen2 and Apriel-H1's attention/Mamba2
// hybrid (model_type apriel_ssm_thinker_hybrid or apriel_hybrid_ssm), plus finding the files of an
// HF model directory. Missing keys take the defaults of the transformers / Apriel config classes;
// anything the engine cannot run (other rope scalings, mlp biases, other layer codes) is an error.
#pragma once
#include <string>

#include "distilscope/model_config.h"
#include "util/json_parse.h"

namespace ds {

// ModelConfig.arch of the Apriel hybrid; the three attention families keep their model_type.
constexpr const char* k_arch_apriel_hybrid = "apriel_hybrid";

// Apriel hybrid_block_layout codes: "t" = attention, "m2" = Mamba2 mixer. Throws for Linear.
const char* hybrid_layout_code(LayerKind k);

// config.json (already parsed) -> ModelConfig. Errors name the document and the key path:
//   "config.json: key 'ssm_cfg.d_state' is a string ("16"), expected a number".
// RoPE is rotate-half (RopeStyle::Neox) for every HF family: HF checkpoints are not permuted.
ModelConfig parse_hf_config(const JsonRef& root);
ModelConfig read_hf_config(const std::string& path);  // name: from _name_or_path, else the directory

// A config.json for `c`: the Apriel hybrid form (architectures AprielThinkerSSMHybridForCausalLM)
// when c.arch is apriel_hybrid, else the family's own form. `teacher` (a parsed config.json, may be
// null) contributes the keys this layer does not own: token ids, torch_dtype, initializer_range, ...
std::string hf_config_to_json(const ModelConfig& c, const JsonValue* teacher = nullptr);
void write_hf_config(const std::string& path, const ModelConfig& c, const JsonValue* teacher = nullptr);

// The files of a Hugging Face model directory. Weights are opened by SafetensorsDir.
struct HfModelFiles {
  std::string dir;
  std::string config;            // <dir>/config.json (required)
  std::string tokenizer;         // <dir>/tokenizer.json, or empty when absent
  std::string tokenizer_config;  // <dir>/tokenizer_config.json, or empty when absent
};
bool is_hf_model_dir(const std::string& path);        // a directory with config.json
HfModelFiles find_hf_model_files(const std::string& dir);

}  // namespace ds
