// Random-weight GGUF writer for benchmarks and tests.
#include "model/synthetic.h"

#include <cmath>
#include <random>
#include <vector>

#include "model/gguf.h"
#include "model/llama_config.h"
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

namespace {

void write_tokenizer(GgufWriter& w, int vocab) {
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

}  // namespace

void write_synthetic_model(const std::string& path, const SyntheticSpec& spec) {
  const ModelConfig& c = spec.config;
  DS_CHECK(is_llama_family(c.arch), "[synthetic] architecture ", c.arch, " is not llama-family");
  GgufWriter w;
  write_llama_config(w, c);
  write_tokenizer(w, c.vocab);

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
    size_t n = 1;
    for (auto d : t.ne) n *= d;
    bool vector = t.ne.size() == 1;
    bool norm = t.name.find("norm") != std::string::npos;
    auto values = norm ? ones(n) : random(n);
    w.add_tensor_f32(t.name, vector ? DType::F32 : spec.type, t.ne, values);
  }
  w.write(path);
}

}  // namespace ds
