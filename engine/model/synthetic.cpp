// Random-weight GGUF writer for benchmarks and tests (teachers and hybrid students).
#include "model/synthetic.h"

#include <cmath>
#include <random>
#include <vector>

#include "model/gguf.h"
#include "model/hybrid_config.h"
#include "model/llama_config.h"
#include "model/mamba_init.h"
#include "ops/linear_mixer.h"
#include "text/gguf_tokenizer.h"
#include "text/unicode.h"
#include "util/error.h"

namespace ds {

ModelConfig llama_like(int n_layers, int d_model, int n_heads, int n_kv, int ffn, int vocab) {
  ModelConfig c;
  c.arch = "llama";
  c.name = "synthetic-llama";
  c.n_layers = n_layers;
  c.d_model = d_model;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv;
  c.head_dim = d_model / n_heads;
  c.ffn_dim = ffn;
  c.vocab = vocab;
  c.context_train = 4096;
  c.rope.dims = c.head_dim;
  c.tied_embeddings = true;
  return c;
}

void set_hybrid_layout(ModelConfig& c, const std::vector<LayerKind>& layout, int d_state, int window) {
  DS_CHECK(layout.size() == size_t(c.n_layers), "[synthetic] layout of ", layout.size(), " layers for a model of ",
           c.n_layers);
  HybridConfig& h = c.hybrid;
  h.layers = layout;
  h.d_state = d_state;
  h.d_inner = c.q_dim();
  h.d_xb = c.kv_dim();
  h.d_conv = 4;
  h.dt_rank = (c.d_model + 15) / 16;
  h.bias = c.qkv_bias || c.attn_out_bias;
  h.linear.features = c.head_dim;
  h.linear.window = window;
  h.linear.query_maps = h.linear.key_maps = c.n_heads;
  if (h.count(LayerKind::Mamba) || h.count(LayerKind::Linear)) check_hybrid_config(c, "[synthetic]");
}

std::vector<LayerKind> spread_layout(int n_layers, LayerKind mixer, double fraction) {
  DS_CHECK(fraction >= 0 && fraction <= 1, "[synthetic] fraction ", fraction, " of layers is outside 0..1");
  const int n_mix = int(std::lround(fraction * n_layers));
  std::vector<LayerKind> out(size_t(n_layers), LayerKind::Attention);
  // Mixer k sits at floor((k + 0.5) * n / n_mix) counted from the first layer: even spacing.
  for (int k = 0; k < n_mix; ++k) {
    int l = int(std::floor((k + 0.5) * n_layers / n_mix));
    out[size_t(std::min(l, n_layers - 1))] = mixer;
  }
  return out;
}

namespace {

void write_spm_tokenizer(GgufWriter& w, int vocab) {
  DS_CHECK(vocab >= 259, "[synthetic] vocab ", vocab, " is too small (needs 259 for specials and bytes)");
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  char buf[16];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    scores.push_back(0);
    types.push_back(6);
  }
  for (int i = int(tokens.size()); i < vocab; ++i) {
    tokens.push_back("\xE2\x96\x81w" + std::to_string(i));  // "▁w<i>": never produced from plain text merges
    scores.push_back(-float(i));
    types.push_back(1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_str_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
}

// 256 byte tokens (GPT-2 alphabet), a few merges, two control tokens, unused fillers.
TokenizerData byte_level_tokenizer(int vocab) {
  DS_CHECK(vocab >= 270, "[synthetic] vocab ", vocab, " is too small for the byte-level tokenizer (270)");
  TokenizerData d;
  d.model = "gpt2";
  d.pre = "llama3";
  for (int b = 0; b < 256; ++b) d.tokens.push_back(text::byte_to_unicode(uint8_t(b)));
  const std::string sp = text::byte_to_unicode(' ');
  for (auto [a, b] : {std::pair<std::string, std::string>{sp, "t"}, {"h", "e"}, {sp + "t", "he"}, {"i", "n"}, {"a", "n"},
                      {sp, "a"}, {sp + "a", "n"}, {"o", "n"}, {"e", "r"}}) {
    d.merges.emplace_back(a, b);
    d.tokens.push_back(a + b);
  }
  d.types.assign(d.tokens.size(), TokenType::Normal);
  d.bos = int32_t(d.tokens.size());
  d.tokens.push_back("<|begin_of_text|>");
  d.eos = int32_t(d.tokens.size());
  d.tokens.push_back("<|end_of_text|>");
  d.types.resize(d.tokens.size(), TokenType::Control);
  for (int i = int(d.tokens.size()); i < vocab; ++i) {
    d.tokens.push_back("[PAD" + std::to_string(i) + "]");
    d.types.push_back(TokenType::Unused);
  }
  d.add_bos = true;
  return d;
}

// Mixer tensors of a Mamba layer: initialized from random attention weights, as `linearize` would.
void add_mamba_layer(GgufWriter& w, const SyntheticSpec& spec, int l, std::mt19937_64& rng, float bound) {
  const ModelConfig& c = spec.config;
  std::uniform_real_distribution<float> dist(-bound, bound);
  auto random = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
  };
  const size_t d = size_t(c.d_model);
  auto wq = random(d * c.q_dim()), wk = random(d * c.kv_dim()), wv = random(d * c.kv_dim()), wo = random(d * c.q_dim());
  MambaInitOptions mo;
  mo.seed = spec.seed;
  for (const InitTensor& t : init_mamba_from_attention(c, l, {wq, wk, wv, wo, {}}, mo)) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.end());
    while (ne.size() > 1 && ne.back() == 1) ne.pop_back();
    if (t.name.find("ssm_conv1d.weight") != std::string::npos) ne = {ne[0], 1, ne.back()};
    const bool matrix = ne.size() == 2 && t.name.find("ssm_a_log") == std::string::npos;
    const DType type = matrix && ne[0] % dtype_block_elems(spec.type) == 0 ? spec.type : matrix ? DType::F16 : DType::F32;
    w.add_tensor_f32(t.name, type, ne, t.data);
  }
}

}  // namespace

void write_synthetic_model(const std::string& path, const SyntheticSpec& spec) {
  const ModelConfig& c = spec.config;
  DS_CHECK(is_llama_family(c.arch), "[synthetic] architecture ", c.arch, " is not llama-family");
  GgufWriter w;
  write_llama_config(w, c);
  write_hybrid_gguf(w, c);
  if (spec.byte_level_tokenizer) write_tokenizer_gguf(w, byte_level_tokenizer(c.vocab));
  else write_spm_tokenizer(w, c.vocab);

  std::mt19937_64 rng(spec.seed);
  const float bound = spec.scale * std::sqrt(3.0f);
  std::uniform_real_distribution<float> dist(-bound, bound);
  auto random = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
  };
  auto ones = [](size_t n) { return std::vector<float>(n, 1.0f); };
  for (const auto& t : llama_tensor_specs(c)) {
    const bool mamba = t.name.find(".ssm_") != std::string::npos;
    if (mamba) {  // all of the layer's mixer tensors at once, from its first one
      const int l = std::stoi(t.name.substr(4));
      std::mt19937_64 layer_rng(spec.seed * 7919 + uint64_t(l));
      if (t.name.find(".ssm_in.weight") != std::string::npos) add_mamba_layer(w, spec, l, layer_rng, bound);
      continue;
    }
    size_t n = 1;
    for (auto d : t.ne) n *= d;
    if (t.name.find(".lin_") != std::string::npos) {  // identity-like maps with noise; window logits around 0
      uint64_t name_hash = 1469598103934665603ull;  // FNV-1a: a different stream per tensor
      for (char ch : t.name) name_hash = (name_hash ^ uint8_t(ch)) * 1099511628211ull;
      std::mt19937_64 lin_rng(spec.seed * 104729 + name_hash);
      std::normal_distribution<float> noise(0.0f, 0.3f);
      std::vector<float> v(n);
      if (t.ne.size() == 3) {
        auto map = ops::linear_mixer_init(c.head_dim, c.hybrid.linear.features, spec.seed);
        for (size_t i = 0; i < n; ++i) v[i] = map[i % map.size()] + noise(lin_rng);
      } else {
        for (auto& x : v) x = noise(lin_rng) * 3;
      }
      w.add_tensor_f32(t.name, DType::F32, t.ne, v);
      continue;
    }
    bool norm = t.name.find("norm") != std::string::npos;
    auto values = norm ? ones(n) : random(n);
    w.add_tensor_f32(t.name, t.matrix ? spec.type : DType::F32, t.ne, values);
  }
  w.write(path);
}

}  // namespace ds
