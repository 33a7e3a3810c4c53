// Checkpoints of a training run, one GGUF file each: the F32 master weights under their GGUF names with the
// llama metadata and the tokenizer, so the inference engine loads the file as it is (`distilscope-cli run
// checkpoint.gguf`); the AdamW moments as tensors "train.adam_m.<name>" / "train.adam_v.<name>" (which
// inference ignores); and the run's state as "distilscope.train.*" metadata (optimizer steps, seed, store run,
// config). The data order needs nothing more (BatchOrder is a function of seed and step). Written to
// <path>.tmp, fsynced and renamed over <path>: a failed write leaves the previous checkpoint as it was.
// export_model writes the weights alone, matrices in F32/F16/BF16, for shipping (LoRA adapters are left out:
// merge them first). Checkpoints keep LoRA adapters ("blk.N.<proj>.lora_a|b", which inference ignores) and their
// moments like any other trainable tensor.
#pragma once
#include <cstdint>
#include <string>

#include "distilscope/tokenizer.h"
#include "model/dtype.h"

namespace ds {
class GgufFile;
namespace train {

class Trainer;
class LlamaParams;

struct TrainState {
  int step = 0;        // optimizer steps done
  uint64_t seed = 0;   // initialization and data order
  int64_t run_id = 0;  // the store's run this training belongs to (0: none)
  uint64_t tokens_seen = 0;
  std::string config_json;  // the run's configuration
};

void save_checkpoint(const std::string& path, const Trainer& trainer, const TokenizerData& tokenizer,
                     const TrainState& state);
// Loads masters, moments and the step count into a trainer built for the same model (the dimensions are
// checked, naming the first difference) and returns the saved state.
TrainState load_checkpoint(const std::string& path, Trainer& trainer);
// The state alone (no device).
TrainState read_train_state(const GgufFile& f);

void export_model(const std::string& path, const LlamaParams& params, const TokenizerData& tokenizer, DType type,
                  const TrainState& state);

}  // namespace train
}  // namespace ds
