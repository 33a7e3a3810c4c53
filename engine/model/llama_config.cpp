// llama-family hyper-parameters and tensor checks.
#include "model/llama_config.h"

#include "util/error.h"

namespace ds {

bool is_llama_family(const std::string& arch) { return arch == "llama" || arch == "mistral" || arch == "qwen2"; }

ModelConfig read_llama_config(const GgufFile& f) {
  ModelConfig c;
  c.arch = f.get_string("general.architecture");
  if (!is_llama_family(c.arch))
    fail(f.path(), ": architecture '", c.arch, "' is not supported (supported: llama, mistral, qwen2)");
  const std::string a = c.arch + ".";
  c.name = f.opt_string("general.name").value_or("");
  c.n_layers = int(f.get_uint(a + "block_count"));
  c.d_model = int(f.get_uint(a + "embedding_length"));
  c.ffn_dim = int(f.get_uint(a + "feed_forward_length"));
  c.n_heads = int(f.get_uint(a + "attention.head_count"));
  c.n_kv_heads = int(f.opt_uint(a + "attention.head_count_kv").value_or(uint64_t(c.n_heads)));
  c.context_train = int(f.opt_uint(a + "context_length").value_or(2048));
  c.norm_eps = float(f.opt_float(a + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  DS_CHECK(c.n_layers > 0 && c.d_model > 0 && c.n_heads > 0 && c.n_kv_heads > 0 && c.ffn_dim > 0, f.path(),
           ": implausible hyper-parameters: ", c.n_layers, " layers, d_model ", c.d_model, ", ", c.n_heads, " heads, ",
           c.n_kv_heads, " kv heads, ffn ", c.ffn_dim);
  DS_CHECK(c.n_heads % c.n_kv_heads == 0, f.path(), ": ", c.n_heads, " heads is not a multiple of ", c.n_kv_heads,
           " kv heads");
  c.head_dim = int(f.opt_uint(a + "attention.key_length").value_or(uint64_t(c.d_model / c.n_heads)));
  DS_CHECK(c.head_dim > 0 && c.head_dim <= 256 && c.head_dim % 2 == 0, f.path(), ": head dimension ", c.head_dim,
           " is not supported (even, at most 256)");

  c.rope.style = c.arch == "qwen2" ? RopeStyle::Neox : RopeStyle::Interleaved;
  c.rope.theta = float(f.opt_float(a + "rope.freq_base").value_or(c.arch == "qwen2" ? 1000000.0 : 10000.0));
  c.rope.dims = int(f.opt_uint(a + "rope.dimension_count").value_or(uint64_t(c.head_dim)));
  DS_CHECK(c.rope.dims == c.head_dim, f.path(), ": partial rotary embeddings (", c.rope.dims, " of ", c.head_dim,
           " dims) are not supported");
  std::string scaling = f.opt_string(a + "rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    c.rope.scaling = "linear";
    c.rope.factor = float(f.get_float(a + "rope.scaling.factor"));
  } else if (scaling == "llama3") {
    c.rope.scaling = "llama3";
    c.rope.factor = float(f.get_float(a + "rope.scaling.factor"));
    c.rope.low_freq_factor = float(f.opt_float(a + "rope.scaling.low_freq_factor").value_or(1.0));
    c.rope.high_freq_factor = float(f.opt_float(a + "rope.scaling.high_freq_factor").value_or(4.0));
    c.rope.original_context = int(f.opt_uint(a + "rope.scaling.original_context_length").value_or(8192));
  } else if (scaling != "none") {
    fail(f.path(), ": rope scaling '", scaling, "' is not supported (none, linear, llama3)");
  }

  const auto* emb = f.find_tensor("token_embd.weight");
  if (!emb) fail(f.path(), ": tensor token_embd.weight is missing");
  c.vocab = int(emb->ne.size() > 1 ? emb->ne[1] : 0);
  if (f.has("tokenizer.ggml.tokens")) {
    size_t n_tok = f.get_str_array("tokenizer.ggml.tokens").size();
    DS_CHECK(n_tok <= size_t(c.vocab), f.path(), ": tokenizer has ", n_tok, " tokens but token_embd.weight has ",
             c.vocab, " rows");
  }
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  check_llama_tensors(f, c);
  return c;
}

void write_llama_config(GgufWriter& w, const ModelConfig& c) {
  const std::string a = c.arch + ".";
  w.set_string("general.architecture", c.arch);
  w.set_string("general.name", c.name);
  w.set_u32(a + "block_count", uint32_t(c.n_layers));
  w.set_u32(a + "embedding_length", uint32_t(c.d_model));
  w.set_u32(a + "feed_forward_length", uint32_t(c.ffn_dim));
  w.set_u32(a + "attention.head_count", uint32_t(c.n_heads));
  w.set_u32(a + "attention.head_count_kv", uint32_t(c.n_kv_heads));
  w.set_u32(a + "context_length", uint32_t(c.context_train));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", c.norm_eps);
  w.set_f32(a + "rope.freq_base", c.rope.theta);
  w.set_u32(a + "rope.dimension_count", uint32_t(c.head_dim));
  if (c.head_dim != c.d_model / c.n_heads) w.set_u32(a + "attention.key_length", uint32_t(c.head_dim));
}

std::vector<TensorSpec> llama_tensor_specs(const ModelConfig& c) {
  using U = uint64_t;
  std::vector<TensorSpec> s;
  s.push_back({"token_embd.weight", {U(c.d_model), U(c.vocab)}});
  s.push_back({"output_norm.weight", {U(c.d_model)}});
  if (!c.tied_embeddings) s.push_back({"output.weight", {U(c.d_model), U(c.vocab)}});
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    s.push_back({p + "attn_norm.weight", {U(c.d_model)}});
    s.push_back({p + "attn_q.weight", {U(c.d_model), U(c.q_dim())}});
    s.push_back({p + "attn_k.weight", {U(c.d_model), U(c.kv_dim())}});
    s.push_back({p + "attn_v.weight", {U(c.d_model), U(c.kv_dim())}});
    s.push_back({p + "attn_output.weight", {U(c.q_dim()), U(c.d_model)}});
    if (c.qkv_bias) {
      s.push_back({p + "attn_q.bias", {U(c.q_dim())}});
      s.push_back({p + "attn_k.bias", {U(c.kv_dim())}});
      s.push_back({p + "attn_v.bias", {U(c.kv_dim())}});
    }
    s.push_back({p + "ffn_norm.weight", {U(c.d_model)}});
    s.push_back({p + "ffn_gate.weight", {U(c.d_model), U(c.ffn_dim)}});
    s.push_back({p + "ffn_up.weight", {U(c.d_model), U(c.ffn_dim)}});
    s.push_back({p + "ffn_down.weight", {U(c.ffn_dim), U(c.d_model)}});
  }
  return s;
}

namespace {
std::string shape(const std::vector<uint64_t>& ne) {
  std::string s;
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? "x" : "") + std::to_string(ne[i]);
  return s;
}
}  // namespace

void check_llama_tensors(const GgufFile& f, const ModelConfig& c) {
  for (const auto& spec : llama_tensor_specs(c)) {
    const auto* t = f.find_tensor(spec.name);
    if (!t) {
      if (spec.optional) continue;
      fail(f.path(), ": tensor ", spec.name, " is missing (", c.arch, " with ", c.n_layers, " layers needs it)");
    }
    // 1-D tensors may be stored with trailing 1s.
    std::vector<uint64_t> ne = t->ne;
    while (ne.size() > spec.ne.size() && ne.back() == 1) ne.pop_back();
    if (ne != spec.ne)
      fail(f.path(), ": tensor ", spec.name, " is ", shape(t->ne), ", expected ", shape(spec.ne), " for d_model ",
           c.d_model, ", ", c.n_heads, " heads, ", c.n_kv_heads, " kv heads, head_dim ", c.head_dim, ", ffn ", c.ffn_dim,
           ", vocab ", c.vocab);
    if (!dtype_info(t->ggml_type))
      fail(f.path(), ": tensor ", spec.name, " has type ", ggml_type_name(t->ggml_type), " (", t->ggml_type,
           "), which is not supported (F32, F16, BF16, Q8_0, Q4_0 are)");
    bool is_vector = spec.ne.size() == 1;
    if (is_vector && t->type != DType::F32 && t->type != DType::F16 && t->type != DType::BF16)
      fail(f.path(), ": tensor ", spec.name, " (a norm weight or bias) has type ", dtype_name(t->type),
           "; only F32/F16/BF16 are supported for vectors");
  }
}

}  // namespace ds
