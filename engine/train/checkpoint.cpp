// Checkpoint files (see checkpoint.h).
#include "train/checkpoint.h"

#include <cstring>

#include "distilscope/device.h"
#include "model/gguf.h"
#include "model/hybrid_config.h"
#include "model/llama_config.h"
#include "text/gguf_tokenizer.h"
#include "train/trainer.h"
#include "util/error.h"

namespace ds::train {
namespace {

constexpr const char* kStep = "distilscope.train.step";
constexpr const char* kSeed = "distilscope.train.seed";
constexpr const char* kRun = "distilscope.train.run_id";
constexpr const char* kTokens = "distilscope.train.tokens_seen";
constexpr const char* kConfig = "distilscope.train.config";

std::vector<uint8_t> bytes_of(Device& dev, const Tensor& t) {
  std::vector<uint8_t> b(t.n_bytes());
  dev.staging().download(t.buf, b.data(), b.size());
  return b;
}

void write_header(GgufWriter& w, const LlamaParams& p, const TokenizerData& tok, const TrainState& s) {
  write_llama_config(w, p.config());
  write_hybrid_gguf(w, p.config());
  write_tokenizer_gguf(w, tok);
  w.set_u32(kStep, uint32_t(s.step));
  w.set_u64(kSeed, s.seed);
  w.set_u64(kRun, uint64_t(s.run_id));
  w.set_u64(kTokens, s.tokens_seen);
  w.set_string(kConfig, s.config_json);
}

void check_same_model(const ModelConfig& want, const ModelConfig& got, const std::string& path) {
  auto check = [&](const char* what, int a, int b) {
    DS_CHECK(a == b, path, ": the checkpoint's ", what, " is ", b, ", the run's configuration says ", a);
  };
  check("layer count", want.n_layers, got.n_layers);
  check("d_model", want.d_model, got.d_model);
  check("head count", want.n_heads, got.n_heads);
  check("kv head count", want.n_kv_heads, got.n_kv_heads);
  check("head dimension", want.head_dim, got.head_dim);
  check("ffn dimension", want.ffn_dim, got.ffn_dim);
  check("vocabulary", want.vocab, got.vocab);
  check("tied embeddings", want.tied_embeddings, got.tied_embeddings);
  check("qkv bias", want.qkv_bias, got.qkv_bias);
  DS_CHECK(layout_letters(want) == layout_letters(got), path, ": the checkpoint's layer layout is ",
           layout_letters(got), ", the run's model has ", layout_letters(want));
}

void read_f32(const GgufFile& f, const std::string& name, const Tensor& dst, Device& dev) {
  const GgufTensorInfo* t = f.find_tensor(name);
  DS_CHECK(t, f.path(), ": tensor ", name, " is missing (not a training checkpoint?)");
  DS_CHECK(t->type == DType::F32 && int64_t(t->n_elements()) == dst.n_elements(), f.path(), ": tensor ", name, " is ",
           t->shape_str(), " ", dtype_name(t->type), ", expected ", dst.n_elements(), " F32 values");
  const auto bytes = f.data(*t);
  dev.staging().upload(dst.buf, bytes.data(), bytes.size());
}

}  // namespace

void save_checkpoint(const std::string& path, const Trainer& trainer, const TokenizerData& tokenizer,
                     const TrainState& state) {
  const LlamaParams& p = trainer.params();
  const AdamW& opt = trainer.optimizer();
  Device& dev = p.device();
  GgufWriter w;
  write_header(w, p, tokenizer, state);
  for (const TrainParam& t : p.all()) w.add_tensor(t.name, DType::F32, t.ne, bytes_of(dev, t.master));
  for (size_t gi = 0; gi < opt.groups().size(); ++gi) {
    const ParamGroup& g = opt.groups()[gi];
    if (!g.trainable) continue;
    for (size_t ti = 0; ti < g.tensors.size(); ++ti) {
      const std::string& name = g.tensors[ti].param.name;
      const std::vector<uint64_t> ne{uint64_t(g.tensors[ti].param.n_elements())};
      w.add_tensor("train.adam_m." + name, DType::F32, ne, bytes_of(dev, opt.moment_m(gi, ti)));
      w.add_tensor("train.adam_v." + name, DType::F32, ne, bytes_of(dev, opt.moment_v(gi, ti)));
    }
  }
  w.write(path);
}

TrainState read_train_state(const GgufFile& f) {
  DS_CHECK(f.has(kStep), f.path(), ": no ", kStep, " key: not a DistilScope training checkpoint");
  TrainState s;
  s.step = int(f.get_uint(kStep));
  s.seed = f.opt_uint(kSeed).value_or(0);
  s.run_id = int64_t(f.opt_uint(kRun).value_or(0));
  s.tokens_seen = f.opt_uint(kTokens).value_or(0);
  s.config_json = f.opt_string(kConfig).value_or("{}");
  return s;
}

TrainState load_checkpoint(const std::string& path, Trainer& trainer) {
  GgufFile f(path);
  const TrainState s = read_train_state(f);
  LlamaParams& p = trainer.params();
  AdamW& opt = trainer.optimizer();
  Device& dev = p.device();
  check_same_model(p.config(), read_llama_config(f), path);
  for (const TrainParam& t : p.all()) read_f32(f, t.name, t.master, dev);
  p.refresh_half();
  for (size_t gi = 0; gi < opt.groups().size(); ++gi) {
    const ParamGroup& g = opt.groups()[gi];
    if (!g.trainable) continue;
    for (size_t ti = 0; ti < g.tensors.size(); ++ti) {
      const std::string& name = g.tensors[ti].param.name;
      read_f32(f, "train.adam_m." + name, opt.moment_m(gi, ti), dev);
      read_f32(f, "train.adam_v." + name, opt.moment_v(gi, ti), dev);
    }
  }
  opt.set_steps(s.step);
  return s;
}

void export_model(const std::string& path, const LlamaParams& p, const TokenizerData& tokenizer, DType type,
                  const TrainState& state) {
  GgufWriter w;
  write_header(w, p, tokenizer, state);
  for (const TrainParam& t : p.all()) {
    if (is_lora_tensor(t.name)) continue;  // merged first (LlamaParams::merge_adapters) or left out
    const auto values = download_f32(p.device(), t.master);
    w.add_tensor_f32(t.name, t.matrix ? type : DType::F32, t.ne, values);
  }
  w.write(path);
}

}  // namespace ds::train
