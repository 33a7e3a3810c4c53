// Pretraining a llama-architecture model from scratch (`distilscope-cli pretrain --config FILE`): reads the
// tokenizer and the corpus (UTF-8 checked, errors name the file and byte offset), builds the packed
// train/validation sequences, trains with the recorded Trainer step under the warm-up + cosine schedule,
// evaluates validation perplexity, saves checkpoints (output.dir/checkpoint.gguf, F32 with optimizer state)
// and the export (output.dir/model.gguf), and records the run, each step and each evaluation in the store.
// A NaN/Inf loss or gradient norm stops the run (failed in the store) with an error naming the step and the
// last good checkpoint, which is left untouched. `resume` continues from output.dir/checkpoint.gguf with
// bit-identical results to an uninterrupted run (same device).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "train/corpus.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace ds {
class Device;
class Tokenizer;
namespace train {

// The trainer a config describes, for a tokenizer of `vocab` tokens.
TrainerOptions trainer_options(const PretrainConfig& c, int vocab);
// Reads data.corpus, checks it is UTF-8 (the error names the file and the byte offset), splits and packs it.
Corpus load_corpus(const PretrainConfig& c, const Tokenizer& tokenizer);

struct PretrainOptions {
  bool resume = false;
  std::function<void(const std::string&)> log;  // progress lines; default: stdout
  uint64_t memory_budget = 0;                   // TrainerOptions::memory_budget
  // Test hooks: return after this many steps as if the process had been killed there (no checkpoint, the
  // store's run left "running"); make the loss of step nan_at_step NaN (a weight is overwritten with NaN).
  int stop_after_step = -1;
  int nan_at_step = -1;
};

struct PretrainResult {
  int64_t run_id = 0;          // 0 when the store is off
  int steps_done = 0;          // optimizer steps done in total (including before a resume)
  std::vector<double> losses;  // training loss of each step this call ran, in order
  double val_loss = 0;         // the last evaluation's mean cross-entropy
  double tokens_per_s = 0;     // training tokens per second over this call's steps (evaluation excluded)
  int micro_batch_seqs = 0;
  std::string checkpoint, model;  // paths
};

PretrainResult pretrain(Device& dev, const PretrainConfig& config, const PretrainOptions& options = {});

}  // namespace train
}  // namespace ds
