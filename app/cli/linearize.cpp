// `linearize TEACHER --layers 1,3 --mixer linear|mamba -o STUDENT.gguf | DIR/`: the untrained hybrid student,
// its chosen attention layers replaced by mixers initialized from the teacher's weights (model/linearize.h).
// -o DIR/ (or an existing directory) writes an Apriel-H1 style Hugging Face directory (Mamba mixers only).
#include <filesystem>

#include "common.h"
#include "model/hybrid_config.h"
#include "model/linearize.h"
#include "model/model_writer.h"
#include "util/error.h"

namespace ds::cli {

void add_linearize(CLI::App& app) {
  auto* cmd = app.add_subcommand("linearize", "Make a hybrid student: replace attention layers by mixers initialized "
                                              "from the teacher");
  struct Opts {
    std::string teacher, out, mixer = "mamba", type = "keep";
    std::vector<int> layers;
    int d_state = 16, features = 0, window = 64;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("teacher", o->teacher, "Teacher: GGUF file or Hugging Face directory")->required();
  cmd->add_option("--layers", o->layers, "Layers to replace (comma list, from 0)")->delimiter(',')->required();
  cmd->add_option("--mixer", o->mixer, "mamba (Apriel-H1 m2) or linear (LoLCATs Hedgehog + window)")->capture_default_str();
  cmd->add_option("-o,--output", o->out, "STUDENT.gguf, or DIR/ for a Hugging Face directory (mamba only)")->required();
  cmd->add_option("--d-state", o->d_state, "Mamba state size per channel; must divide the KV width")->capture_default_str();
  cmd->add_option("--features", o->features, "Linear mixer: feature-map width F (0 = head_dim)")->capture_default_str();
  cmd->add_option("--window", o->window, "Linear mixer: softmax window in tokens (0 = none)")->capture_default_str();
  cmd->add_option("--type", o->type, "GGUF matrix type: keep (the teacher's), f16, q8_0, q4_0, f32, bf16")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random parts of the initialization")->capture_default_str();
  cmd->callback([o] {
    std::error_code ec;
    const bool to_dir = (!o->out.empty() && o->out.back() == '/') || std::filesystem::is_directory(o->out, ec);
    LinearizeOptions lo;
    lo.layers = o->layers;
    if (o->mixer == "mamba") lo.mixer = LayerKind::Mamba;
    else if (o->mixer == "linear") lo.mixer = LayerKind::Linear;
    else throw Error("unknown --mixer '" + o->mixer + "' (mamba, linear)");
    if (to_dir && lo.mixer == LayerKind::Linear)
      throw Error("linear mixers have no Hugging Face (Apriel) form; write a .gguf instead");
    lo.d_state = o->d_state;
    lo.features = o->features;
    lo.window = o->window;
    lo.seed = o->seed;
    lo.hf_output = to_dir;
    auto teacher = ModelSource::open(o->teacher);
    Student s = linearize(*teacher, lo);
    if (to_dir) {
      for (const std::string& note : write_hf_model(*teacher, s.config, s.tensors, o->out))
        std::fprintf(stderr, "note: %s\n", note.c_str());
    } else {
      GgufWriteOptions w;
      if (o->type != "keep") {
        auto t = dtype_from_name(o->type);
        if (!t || *t == DType::I32) throw Error("unknown --type '" + o->type + "' (keep, f16, q8_0, q4_0, f32, bf16)");
        w.matrix_type = *t;
      } else {
        w.matrix_type.reset();
      }
      write_gguf_model(*teacher, s.config, s.tensors, o->out, w);
    }
    std::printf("wrote %s: layout %s (%d %s layers), mixer state %s per sequence\n", o->out.c_str(),
                layout_letters(s.config).c_str(), s.config.hybrid.count(lo.mixer), o->mixer.c_str(),
                format_bytes(double(mixer_state_bytes(s.config))).c_str());
  });
}

}  // namespace ds::cli
