// `synth -o FILE.gguf`: writes a llama-shaped model with random weights (benchmarks, tests).
#include "common.h"
#include "model/synthetic.h"
#include "util/error.h"

namespace ds::cli {

void add_synth(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a llama-shaped GGUF with random weights (for benchmarks)");
  struct Opts {
    std::string out, type = "f16";
    int layers = 16, d_model = 2048, heads = 32, kv_heads = 8, ffn = 8192, vocab = 32000;
    bool untied = false;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-o,--output", o->out, "Output GGUF path")->required();
  cmd->add_option("--layers", o->layers, "Layers")->capture_default_str();
  cmd->add_option("--d-model", o->d_model, "Model width")->capture_default_str();
  cmd->add_option("--heads", o->heads, "Attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", o->kv_heads, "KV heads (GQA)")->capture_default_str();
  cmd->add_option("--ffn", o->ffn, "Feed-forward width")->capture_default_str();
  cmd->add_option("--vocab", o->vocab, "Vocabulary size (>= 259)")->capture_default_str();
  cmd->add_option("--type", o->type, "Matrix type: f32, f16, bf16, q8_0, q4_0")->capture_default_str();
  cmd->add_flag("--untied", o->untied, "Separate output.weight instead of tied embeddings");
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->callback([o] {
    SyntheticSpec spec;
    spec.config = llama_like(o->layers, o->d_model, o->heads, o->kv_heads, o->ffn, o->vocab);
    spec.config.tied_embeddings = !o->untied;
    auto t = dtype_from_name(o->type);
    if (!t || *t == DType::I32) throw Error("unknown --type '" + o->type + "' (f32, f16, bf16, q8_0, q4_0)");
    spec.type = *t;
    spec.seed = o->seed;
    write_synthetic_model(o->out, spec);
    std::printf("wrote %s\n", o->out.c_str());
  });
}

}  // namespace ds::cli
