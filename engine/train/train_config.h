// The configuration of a pretraining run (`distilscope-cli pretrain --config FILE`): the model's
// dimensions, the data (corpus text, tokenizer GGUF, document split), batch and steps, the optimizer and
// its schedule, evaluation, checkpoints and the output. Read from JSON with strict keys (an unknown key is
// an error naming it), written back as JSON for the store and the checkpoint. docs/training.md lists keys.
#pragma once
#include <cstdint>
#include <string>

#include "distilscope/model_config.h"
#include "model/dtype.h"
#include "train/optimizer.h"

namespace ds {
class JsonRef;
namespace train {

struct ModelSpec {
  std::string name = "distilscope-teacher";
  int n_layers = 6, d_model = 320, n_heads = 8, n_kv_heads = 2;
  int head_dim = 0;  // 0: d_model / n_heads
  int ffn_dim = 0;   // 0: about 8/3 d_model, rounded up to a multiple of 32
  float rope_theta = 10000.0f, norm_eps = 1e-5f;
  bool tied_embeddings = true;
  bool qkv_bias = false;
  float init_std = 0.02f;  // matrices ~ N(0, init_std); wo and w_down scaled by 1/sqrt(2 n_layers)
};

struct DataSpec {
  std::string corpus;     // UTF-8 text file
  std::string tokenizer;  // GGUF with tokenizer.ggml.* (e.g. from `distilscope-cli tokenizer train`)
  std::string separator = "\n\n";
  int64_t min_doc_bytes = 0;
  double validation_fraction = 0.05;
  bool doc_end_token = true;  // the tokenizer's eos after every document
};

struct TrainSpec {
  int seq_len = 512;         // T, also the model's context length
  int batch_seqs = 32;       // sequences per optimizer step
  int micro_batch_seqs = 0;  // sequences per forward/backward pass (divides batch_seqs); 0: automatic
  int steps = 1000;
  uint64_t seed = 1;           // initialization and data order
  DType weights = DType::F32;  // what the forward reads: F32 masters, or F16/BF16 copies of them
};

struct OptimSpec {
  float lr = 1e-3f, min_lr = 1e-4f;
  int warmup_steps = 100;
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weight_decay = 0.1f;  // matrices and embeddings; norms and biases get none
  float max_grad_norm = 1.0f;
};

struct EvalSpec {
  int interval = 200;  // steps between validation runs (and at the end); 0: only at the end
  int sequences = 64;  // validation sequences per evaluation; 0: all
};

struct OutputSpec {
  std::string dir = "pretrain-out";
  int checkpoint_interval = 500;   // steps; the last step always saves
  int log_interval = 10;           // steps between printed lines
  DType export_type = DType::F16;  // model.gguf (checkpoint.gguf always keeps F32 masters)
  std::string store;               // SQLite store path; "" = the default store; "none" = do not record
};

struct PretrainConfig {
  ModelSpec model;
  DataSpec data;
  TrainSpec train;
  OptimSpec optim;
  EvalSpec eval;
  OutputSpec output;
};

// Parses a config document; relative paths (data.corpus, data.tokenizer, output.dir) are resolved
// against base_dir. Throws ds::Error "<doc>: key 'train.steps' ..." for wrong types, ranges, unknown keys.
PretrainConfig parse_pretrain_config(const JsonRef& root, const std::string& base_dir);
PretrainConfig read_pretrain_config(const std::string& path);
std::string to_json(const PretrainConfig& c);
// The "optimizer" object of a document (also used by distillation plans); defaults where absent.
OptimSpec parse_optim_section(const JsonRef& root);

// The ModelConfig of the llama architecture the spec describes, for a vocabulary of `vocab` tokens.
ModelConfig model_config(const ModelSpec& m, int vocab, int context);
LrSchedule lr_schedule(const OptimSpec& o, int steps);
AdamWConfig adamw_config(const OptimSpec& o);

// "f32" | "f16" | "bf16" (case-insensitive).
DType parse_float_type(const std::string& s, const std::string& what);

}  // namespace train
}  // namespace ds
