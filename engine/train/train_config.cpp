// Pretraining config: JSON reading with strict keys and ranges, JSON writing, derived configs.
#include "train/train_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "model/llama_config.h"
#include "util/error.h"
#include "util/json.h"
#include "util/json_parse.h"
#include "train/json_section.h"

namespace ds::train {
namespace {

std::string resolve(const std::string& path, const std::string& base) {
  if (path.empty() || std::filesystem::path(path).is_absolute() || base.empty()) return path;
  return (std::filesystem::path(base) / path).lexically_normal().string();
}

const char* type_key(DType t) { return t == DType::F16 ? "f16" : t == DType::BF16 ? "bf16" : "f32"; }

}  // namespace

DType parse_float_type(const std::string& s, const std::string& what) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (l == "f32") return DType::F32;
  if (l == "f16") return DType::F16;
  if (l == "bf16") return DType::BF16;
  fail(what, " is '", s, "', expected f32, f16 or bf16");
}

OptimSpec parse_optim_section(const JsonRef& root) {
  OptimSpec o_;
  Section o(root, "optimizer");
  o.num("lr", o_.lr, 0.0, 10.0);
  o.num("min_lr", o_.min_lr, 0.0, 10.0);
  o.num("warmup_steps", o_.warmup_steps, 0, 1 << 30);
  o.num("beta1", o_.beta1, 0.0, 0.999999);
  o.num("beta2", o_.beta2, 0.0, 0.999999);
  o.num("eps", o_.eps, 0.0, 1.0);
  o.num("weight_decay", o_.weight_decay, 0.0, 10.0);
  o.num("max_grad_norm", o_.max_grad_norm, 0.0, 1e9);
  o.finish();
  return o_;
}

PretrainConfig parse_pretrain_config(const JsonRef& root, const std::string& base_dir) {
  if (!root.is_object()) root.fail_here("is not an object");
  PretrainConfig c;
  const std::set<std::string> sections = {"model", "data", "train", "optimizer", "eval", "output"};
  for (const auto& [k, r] : root.members())
    if (!sections.count(std::string(k)))
      r.fail_here("is not a known section (model, data, train, optimizer, eval, output)");

  Section m(root, "model");
  m.str("name", c.model.name);
  m.num("n_layers", c.model.n_layers, 1, 256);
  m.num("d_model", c.model.d_model, 8, 65536);
  m.num("n_heads", c.model.n_heads, 1, 1024);
  m.num("n_kv_heads", c.model.n_kv_heads, 1, 1024);
  m.num("head_dim", c.model.head_dim, 0, 256);
  m.num("ffn_dim", c.model.ffn_dim, 0, 1 << 20);
  m.num("rope_theta", c.model.rope_theta, 1.0, 1e9);
  m.num("norm_eps", c.model.norm_eps, 1e-12, 1.0);
  m.flag("tied_embeddings", c.model.tied_embeddings);
  m.flag("qkv_bias", c.model.qkv_bias);
  m.num("init_std", c.model.init_std, 1e-6, 1.0);
  m.finish();

  Section d(root, "data");
  d.str("corpus", c.data.corpus);
  d.str("tokenizer", c.data.tokenizer);
  d.str("separator", c.data.separator);
  d.num("min_doc_bytes", c.data.min_doc_bytes, 0, 1e12);
  d.num("validation_fraction", c.data.validation_fraction, 0.0, 0.9);
  d.flag("doc_end_token", c.data.doc_end_token);
  d.finish();

  Section t(root, "train");
  t.num("seq_len", c.train.seq_len, 2, 1 << 16);
  t.num("batch_seqs", c.train.batch_seqs, 1, 1 << 20);
  t.num("micro_batch_seqs", c.train.micro_batch_seqs, 0, 1 << 20);
  t.num("steps", c.train.steps, 1, 1 << 30);
  t.num("seed", c.train.seed, 0, 9.0e15);
  t.type("weights", c.train.weights);
  t.finish();

  c.optim = parse_optim_section(root);

  Section e(root, "eval");
  e.num("interval", c.eval.interval, 0, 1 << 30);
  e.num("sequences", c.eval.sequences, 0, 1 << 30);
  e.finish();

  Section out(root, "output");
  out.str("dir", c.output.dir);
  out.num("checkpoint_interval", c.output.checkpoint_interval, 1, 1 << 30);
  out.num("log_interval", c.output.log_interval, 1, 1 << 30);
  out.type("export_type", c.output.export_type);
  out.str("store", c.output.store);
  out.finish();

  const std::string& doc = root.doc();
  DS_CHECK(c.model.n_heads % c.model.n_kv_heads == 0, doc, ": model.n_heads ", c.model.n_heads,
           " is not a multiple of model.n_kv_heads ", c.model.n_kv_heads);
  DS_CHECK(c.model.head_dim || c.model.d_model % c.model.n_heads == 0, doc, ": model.d_model ", c.model.d_model,
           " is not a multiple of model.n_heads ", c.model.n_heads, " (or give model.head_dim)");
  DS_CHECK(c.train.micro_batch_seqs == 0 || c.train.batch_seqs % c.train.micro_batch_seqs == 0, doc,
           ": train.micro_batch_seqs ", c.train.micro_batch_seqs, " does not divide train.batch_seqs ",
           c.train.batch_seqs);
  DS_CHECK(c.optim.min_lr <= c.optim.lr, doc, ": optimizer.min_lr ", c.optim.min_lr, " is above optimizer.lr ",
           c.optim.lr);
  c.data.corpus = resolve(c.data.corpus, base_dir);
  c.data.tokenizer = resolve(c.data.tokenizer, base_dir);
  c.output.dir = resolve(c.output.dir, base_dir);
  if (c.output.store != "none") c.output.store = resolve(c.output.store, base_dir);
  return c;
}

PretrainConfig read_pretrain_config(const std::string& path) {
  const JsonDocument d = read_json_file(path);
  return parse_pretrain_config(d, std::filesystem::path(path).parent_path().string());
}

std::string to_json(const PretrainConfig& c) {
  JsonWriter j;
  j.begin_object();
  j.key("model").begin_object();
  j.field("name", c.model.name).field("n_layers", c.model.n_layers).field("d_model", c.model.d_model);
  j.field("n_heads", c.model.n_heads).field("n_kv_heads", c.model.n_kv_heads).field("head_dim", c.model.head_dim);
  j.field("ffn_dim", c.model.ffn_dim).field("rope_theta", double(c.model.rope_theta));
  j.field("norm_eps", double(c.model.norm_eps)).field("tied_embeddings", c.model.tied_embeddings);
  j.field("qkv_bias", c.model.qkv_bias).field("init_std", double(c.model.init_std));
  j.end_object();
  j.key("data").begin_object();
  j.field("corpus", c.data.corpus).field("tokenizer", c.data.tokenizer).field("separator", c.data.separator);
  j.field("min_doc_bytes", c.data.min_doc_bytes).field("validation_fraction", c.data.validation_fraction);
  j.field("doc_end_token", c.data.doc_end_token);
  j.end_object();
  j.key("train").begin_object();
  j.field("seq_len", c.train.seq_len).field("batch_seqs", c.train.batch_seqs);
  j.field("micro_batch_seqs", c.train.micro_batch_seqs).field("steps", c.train.steps);
  j.field("seed", int64_t(c.train.seed)).field("weights", type_key(c.train.weights));
  j.end_object();
  j.key("optimizer").begin_object();
  j.field("lr", double(c.optim.lr)).field("min_lr", double(c.optim.min_lr));
  j.field("warmup_steps", c.optim.warmup_steps).field("beta1", double(c.optim.beta1));
  j.field("beta2", double(c.optim.beta2)).field("eps", double(c.optim.eps));
  j.field("weight_decay", double(c.optim.weight_decay)).field("max_grad_norm", double(c.optim.max_grad_norm));
  j.end_object();
  j.key("eval").begin_object().field("interval", c.eval.interval).field("sequences", c.eval.sequences).end_object();
  j.key("output").begin_object();
  j.field("dir", c.output.dir).field("checkpoint_interval", c.output.checkpoint_interval);
  j.field("log_interval", c.output.log_interval).field("export_type", type_key(c.output.export_type));
  j.field("store", c.output.store);
  j.end_object();
  j.end_object();
  return j.str();
}

ModelConfig model_config(const ModelSpec& m, int vocab, int context) {
  ModelConfig c;
  c.arch = "llama";
  c.name = m.name;
  c.n_layers = m.n_layers;
  c.d_model = m.d_model;
  c.n_heads = m.n_heads;
  c.n_kv_heads = m.n_kv_heads;
  c.head_dim = m.head_dim ? m.head_dim : m.d_model / m.n_heads;
  c.ffn_dim = m.ffn_dim ? m.ffn_dim : (8 * m.d_model / 3 + 31) / 32 * 32;
  c.vocab = vocab;
  c.context_train = context;
  c.norm_eps = m.norm_eps;
  c.rope.style = RopeStyle::Interleaved;  // GGUF llama convention: what the inference engine applies
  c.rope.theta = m.rope_theta;
  c.rope.dims = c.head_dim;
  c.tied_embeddings = m.tied_embeddings;
  c.qkv_bias = m.qkv_bias;
  DS_CHECK(c.head_dim % 2 == 0 && c.head_dim <= 256, "[train] head dimension ", c.head_dim,
           " is not supported (even, at most 256)");
  return c;
}

LrSchedule lr_schedule(const OptimSpec& o, int steps) { return {o.lr, o.warmup_steps, steps, o.min_lr}; }

AdamWConfig adamw_config(const OptimSpec& o) { return {o.beta1, o.beta2, o.eps, o.max_grad_norm}; }

}  // namespace ds::train
