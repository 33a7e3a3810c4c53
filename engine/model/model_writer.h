// Writing models out: a GGUF file (`convert`, `linearize -o X.gguf`) or an Apriel-H1 style Hugging Face
// directory (`linearize -o DIR/`: safetensors + config.json with hybrid_block_layout + tokenizer files), from a
// ModelSource and the tensors that replace or add to its own (new mixers). What is written is driven by the
// output config's tensor list, so layers that became Mamba mixers lose their attention projections.
// Q/K rows are reordered between HF's rotate-half RoPE and GGUF llama's interleaved pairs where the formats
// differ (llama, Mistral, Apriel; qwen2 is rotate-half in both), so both files compute the same model.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "model/dtype.h"
#include "model/mamba_init.h"
#include "model/model_source.h"

namespace ds {

// Tensors that replace or add to the source's, by GGUF name (F32 values, GGUF shape).
using TensorOverrides = std::map<std::string, InitTensor>;

struct GgufWriteOptions {
  // Type of the matrices: F32, F16, BF16, Q8_0 or Q4_0 (a quantized type applies to rows that are a multiple
  // of 32 and F16 to the others); nullopt keeps each matrix's type (HF BF16 stays BF16).
  std::optional<DType> matrix_type = DType::F16;
};

// `config` is what the file describes (e.g. the student's layout); its arch must be llama-family or Apriel's
// hybrid (written as "mistral" + the layout keys). The tokenizer comes along (GGUF keys copied; tokenizer.json
// converted). Written to path.tmp and renamed; one tensor in memory at a time.
void write_gguf_model(const ModelSource& src, const ModelConfig& config, const TensorOverrides& overrides,
                      const std::string& path, const GgufWriteOptions& opts = {});

// An HF directory. config.arch must be an HF family (llama, mistral, qwen2) or apriel_hybrid (Mamba layers;
// linear layers have no HF form). Matrices keep the source's F32/F16/BF16 type (quantized ones become F16);
// vectors and mixer parameters are F32. The tokenizer files are copied (HF source) or written from a byte-level
// BPE vocabulary; returns notes for what could not be written (a SentencePiece vocabulary).
std::vector<std::string> write_hf_model(const ModelSource& src, const ModelConfig& config,
                                        const TensorOverrides& overrides, const std::string& dir,
                                        uint64_t max_shard_bytes = 4ull << 30);

// GGUF row r of a q/k projection of n_heads heads holds HF row hf_row_of_gguf(...)[r] (within each head:
// interleaved pair (2i, 2i+1) <- rotate-half pair (i, i + head_dim/2)).
std::vector<uint32_t> hf_row_of_gguf(int n_heads, int head_dim);

}  // namespace ds
