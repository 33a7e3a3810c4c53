// `convert SRC DST.gguf [--type f16|q8_0|q4_0|f32|bf16|keep]`: a GGUF file or Hugging Face directory (teacher
// or hybrid student, layout included) written as one GGUF file.
#include "common.h"
#include "model/hybrid_config.h"
#include "model/model_source.h"
#include "model/model_writer.h"
#include "util/error.h"

namespace ds::cli {

void add_convert(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Convert a GGUF file or Hugging Face directory to GGUF (layout included)");
  struct Opts {
    std::string src, dst, type = "f16";
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("src", o->src, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("dst", o->dst, "Output GGUF path")->required();
  cmd->add_option("--type", o->type,
                  "Matrix type: f16, q8_0, q4_0, f32, bf16, or keep (each matrix keeps its type); quantized types "
                  "apply to rows that are a multiple of 32, others are f16. Norms, biases, mixer parameters: f32")
      ->capture_default_str();
  cmd->callback([o] {
    GgufWriteOptions w;
    if (o->type != "keep") {
      auto t = dtype_from_name(o->type);
      if (!t || *t == DType::I32) throw Error("unknown --type '" + o->type + "' (f16, q8_0, q4_0, f32, bf16, keep)");
      w.matrix_type = *t;
    } else {
      w.matrix_type.reset();
    }
    auto src = ModelSource::open(o->src);
    write_gguf_model(*src, src->config(), {}, o->dst, w);
    const ModelConfig& c = src->config();
    std::printf("wrote %s: %s, %d layers%s%s, matrices %s\n", o->dst.c_str(), c.arch.c_str(), c.n_layers,
                c.hybrid.is_hybrid() ? ", hybrid layout " : "", c.hybrid.is_hybrid() ? layout_letters(c).c_str() : "",
                o->type.c_str());
  });
}

}  // namespace ds::cli
