// `synth -o FILE.gguf`: writes a llama-shaped model with random weights (benchmarks, tests), or a hybrid student
// of that shape: --layout AAMLAM... (one letter per layer) or --mixer mamba|linear --replace 0.5 (evenly spread).
#include "common.h"
#include "model/hybrid_config.h"
#include "model/synthetic.h"
#include "util/error.h"

namespace ds::cli {

void add_synth(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a llama-shaped GGUF (teacher or hybrid) with random weights");
  struct Opts {
    std::string out, type = "f16", layout, mixer = "mamba";
    int layers = 16, d_model = 2048, heads = 32, kv_heads = 8, ffn = 8192, vocab = 32000, d_state = 16, window = 64;
    double replace = 0;
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
  cmd->add_option("--layout", o->layout, "Hybrid layout, one letter per layer: A attention, M Mamba, L linear");
  cmd->add_option("--mixer", o->mixer, "With --replace: mamba or linear")->capture_default_str();
  cmd->add_option("--replace", o->replace, "Fraction of layers replaced by --mixer, evenly spread (0.5, 0.75)");
  cmd->add_option("--d-state", o->d_state, "Mamba state per channel")->capture_default_str();
  cmd->add_option("--window", o->window, "Linear mixer window")->capture_default_str();
  cmd->callback([o] {
    SyntheticSpec spec;
    spec.config = llama_like(o->layers, o->d_model, o->heads, o->kv_heads, o->ffn, o->vocab);
    spec.config.tied_embeddings = !o->untied;
    auto t = dtype_from_name(o->type);
    if (!t || *t == DType::I32) throw Error("unknown --type '" + o->type + "' (f32, f16, bf16, q8_0, q4_0)");
    spec.type = *t;
    spec.seed = o->seed;
    if (!o->layout.empty() && o->replace > 0) throw Error("give either --layout or --replace, not both");
    if (!o->layout.empty()) {
      set_hybrid_layout(spec.config, parse_layout_letters(o->layout), o->d_state, o->window);
    } else if (o->replace > 0) {
      if (o->mixer != "mamba" && o->mixer != "linear") throw Error("unknown --mixer '" + o->mixer + "' (mamba, linear)");
      const LayerKind k = o->mixer == "mamba" ? LayerKind::Mamba : LayerKind::Linear;
      set_hybrid_layout(spec.config, spread_layout(o->layers, k, o->replace), o->d_state, o->window);
    }
    write_synthetic_model(o->out, spec);
    std::printf("wrote %s (layout %s)\n", o->out.c_str(), layout_letters(spec.config).c_str());
  });
}

}  // namespace ds::cli
