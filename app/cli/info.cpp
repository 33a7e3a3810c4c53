// `info MODEL`: architecture, dimensions, layer layout, tokenizer, tensor types and memory needed (KV cache of
// the attention layers, fixed-size state of the mixer layers); no GPU needed. MODEL: GGUF file or HF directory.
#include "common.h"
#include "distilscope/model.h"
#include "model/hybrid_config.h"
#include "util/error.h"
#include "util/json.h"

namespace ds::cli {

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show a model's architecture, sizes, tokenizer and memory needs");
  struct Opts {
    std::string model;
    bool json = false;
    int ctx = 4096;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF file or Hugging Face directory (default: the embedded default model)");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_option("--ctx", o->ctx, "Context length for the KV-cache estimate")->capture_default_str();
  cmd->callback([o] {
    const int ctx = o->ctx;
    auto s = inspect_model(resolve_model(o->model));
    const auto& c = s.config;
    uint64_t kv = s.kv_bytes_per_token * uint64_t(ctx);
    if (o->json) {
      JsonWriter j;
      j.begin_object().field("path", s.path).field("architecture", c.arch).field("name", c.name);
      j.field("layers", c.n_layers).field("d_model", c.d_model).field("heads", c.n_heads);
      j.field("kv_heads", c.n_kv_heads).field("head_dim", c.head_dim).field("ffn", c.ffn_dim);
      j.field("vocab", c.vocab).field("context_train", c.context_train);
      j.field("rope", c.rope.style == RopeStyle::Neox ? "neox" : "interleaved").field("rope_theta", double(c.rope.theta));
      j.field("rope_scaling", c.rope.scaling).field("tied_embeddings", c.tied_embeddings).field("qkv_bias", c.qkv_bias);
      j.key("layout").begin_array();
      for (int l = 0; l < c.n_layers; ++l) j.value(layer_kind_name(c.layer_kind(l)));
      j.end_array();
      const HybridConfig& h = c.hybrid;
      if (h.count(LayerKind::Mamba))
        j.key("mamba").begin_object().field("d_state", h.d_state).field("d_inner", h.d_inner).field("d_xb", h.d_xb)
            .field("d_conv", h.d_conv).field("dt_rank", h.dt_rank).end_object();
      if (h.count(LayerKind::Linear))
        j.key("linear").begin_object().field("features", h.linear.features).field("window", h.linear.window)
            .field("query_maps", h.linear.query_maps).field("key_maps", h.linear.key_maps)
            .field("affine", h.linear.affine).end_object();
      j.field("format", s.format).field("state_bytes", s.state_bytes);
      j.field("parameters", s.n_params).field("file_bytes", s.file_bytes).field("weight_bytes", s.weight_bytes);
      j.field("kv_bytes_per_token", s.kv_bytes_per_token).field("kv_bytes_at_ctx", kv).field("ctx", ctx);
      j.key("tensor_types").begin_object();
      for (auto& [t, n] : s.type_counts) j.field(t, n);
      j.end_object();
      j.key("tokenizer").begin_object().field("model", s.tokenizer_model).field("pre", s.tokenizer_pre);
      j.field("tokens", s.tokenizer_tokens).end_object();
      j.end_object();
      std::printf("%s\n", j.str().c_str());
      return;
    }
    std::printf("%s (%s)\n", s.path.c_str(), s.format == "hf" ? "Hugging Face directory" : "GGUF");
    std::printf("  architecture  %s%s%s\n", c.arch.c_str(), c.name.empty() ? "" : "  name ", c.name.c_str());
    if (!c.hybrid.is_hybrid()) {
      std::printf("  layers        %d (all attention)\n", c.n_layers);
    } else {
      const HybridConfig& h = c.hybrid;
      std::printf("  layers        %d: %d attention, %d mamba, %d linear   layout %s\n", c.n_layers,
                  h.count(LayerKind::Attention), h.count(LayerKind::Mamba), h.count(LayerKind::Linear),
                  layout_letters(c).c_str());
      if (h.count(LayerKind::Mamba))
        std::printf("  mamba         d_state %d, d_inner %d, d_xb %d, d_conv %d, dt_rank %d\n", h.d_state, h.d_inner,
                    h.d_xb, h.d_conv, h.dt_rank);
      if (h.count(LayerKind::Linear))
        std::printf("  linear        %d features, window %d, %d query / %d key maps%s\n", h.linear.features,
                    h.linear.window, h.linear.query_maps, h.linear.key_maps, h.linear.affine ? ", affine" : "");
    }
    std::printf("  d_model       %d   heads %d   kv heads %d   head_dim %d   ffn %d\n", c.d_model, c.n_heads,
                c.n_kv_heads, c.head_dim, c.ffn_dim);
    std::printf("  vocab         %d   trained context %d\n", c.vocab, c.context_train);
    std::printf("  rope          %s, theta %g, scaling %s\n", c.rope.style == RopeStyle::Neox ? "rotate-half" : "interleaved",
                double(c.rope.theta), c.rope.scaling.c_str());
    std::printf("  lm head       %s%s\n", c.tied_embeddings ? "tied to token_embd" : "output.weight",
                c.qkv_bias ? "   (QKV bias)" : "");
    std::printf("  tokenizer     %s%s%s, %d tokens\n", s.tokenizer_model.c_str(), s.tokenizer_pre.empty() ? "" : " / ",
                s.tokenizer_pre.c_str(), s.tokenizer_tokens);
    std::printf("  tensor types ");
    for (auto& [t, n] : s.type_counts) std::printf(" %s x%llu", t.c_str(), (unsigned long long)n);
    std::printf("\n  parameters    %.3f M\n", double(s.n_params) / 1e6);
    std::printf("  memory        weights %s, KV cache %s at %d tokens (%s per token)\n",
                format_bytes(double(s.weight_bytes)).c_str(), format_bytes(double(kv)).c_str(), ctx,
                format_bytes(double(s.kv_bytes_per_token)).c_str());
    if (c.hybrid.is_hybrid())
      std::printf("                mixer state %s per sequence, the same at any context length\n",
                  format_bytes(double(s.state_bytes)).c_str());
  });
}

}  // namespace ds::cli
