// llama-family hyper-parameters (plus the hybrid layout keys) and the tensor checks.
#include "model/llama_config.h"

#include "model/hybrid_config.h"
#include "util/error.h"

namespace ds {

bool is_llama_family(const std::string& arch) { return arch == "llama" || arch == "mistral" || arch == "qwen2"; }

namespace {

// The first layer that has attention projections (attention or linear), or -1.
int first_qkv_layer(const ModelConfig& c) {
  for (int l = 0; l < c.n_layers; ++l)
    if (c.layer_kind(l) != LayerKind::Mamba) return l;
  return -1;
}

}  // namespace

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
  c.sliding_window = int(f.opt_uint(a + "attention.sliding_window").value_or(0));
  read_hybrid_gguf(f, c);

  const auto* emb = f.find_tensor("token_embd.weight");
  if (!emb) fail(f.path(), ": tensor token_embd.weight is missing");
  c.vocab = int(emb->ne.size() > 1 ? emb->ne[1] : 0);
  if (f.has("tokenizer.ggml.tokens")) {
    size_t n_tok = f.get_str_array("tokenizer.ggml.tokens").size();
    DS_CHECK(n_tok <= size_t(c.vocab), f.path(), ": tokenizer has ", n_tok, " tokens but token_embd.weight has ",
             c.vocab, " rows");
  }
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  if (int l = first_qkv_layer(c); l >= 0) {
    const std::string p = "blk." + std::to_string(l) + ".";
    c.qkv_bias = f.find_tensor(p + "attn_q.bias") != nullptr;
    c.attn_out_bias = f.find_tensor(p + "attn_output.bias") != nullptr;
  }
  check_llama_tensors(f, c);
  return c;
}

void write_llama_config(GgufWriter& w, const ModelConfig& c) {
  const std::string a = c.arch + ".";
  w.set_string("general.architecture", c.arch);
  if (!c.name.empty()) w.set_string("general.name", c.name);
  w.set_u32(a + "block_count", uint32_t(c.n_layers));
  w.set_u32(a + "embedding_length", uint32_t(c.d_model));
  w.set_u32(a + "feed_forward_length", uint32_t(c.ffn_dim));
  w.set_u32(a + "attention.head_count", uint32_t(c.n_heads));
  w.set_u32(a + "attention.head_count_kv", uint32_t(c.n_kv_heads));
  w.set_u32(a + "context_length", uint32_t(c.context_train));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", c.norm_eps);
  w.set_f32(a + "rope.freq_base", c.rope.theta);
  w.set_u32(a + "rope.dimension_count", uint32_t(c.head_dim));
  if (c.head_dim != c.d_model / c.n_heads) {
    w.set_u32(a + "attention.key_length", uint32_t(c.head_dim));
    w.set_u32(a + "attention.value_length", uint32_t(c.head_dim));
  }
  if (c.rope.scaling != "none") {
    w.set_string(a + "rope.scaling.type", c.rope.scaling);
    w.set_f32(a + "rope.scaling.factor", c.rope.factor);
    if (c.rope.scaling == "llama3") {
      w.set_f32(a + "rope.scaling.low_freq_factor", c.rope.low_freq_factor);
      w.set_f32(a + "rope.scaling.high_freq_factor", c.rope.high_freq_factor);
      w.set_u32(a + "rope.scaling.original_context_length", uint32_t(c.rope.original_context));
    }
  }
  if (c.sliding_window > 0) w.set_u32(a + "attention.sliding_window", uint32_t(c.sliding_window));
}

std::vector<TensorSpec> llama_tensor_specs(const ModelConfig& c) {
  using U = uint64_t;
  std::vector<TensorSpec> s;
  auto matrix = [&](const std::string& name, std::vector<U> ne) { s.push_back({name, std::move(ne), false, true}); };
  auto param = [&](const std::string& name, std::vector<U> ne, bool optional = false) {
    s.push_back({name, std::move(ne), optional, false});
  };
  const U d = U(c.d_model);
  matrix("token_embd.weight", {d, U(c.vocab)});
  param("output_norm.weight", {d});
  if (!c.tied_embeddings) matrix("output.weight", {d, U(c.vocab)});
  const HybridConfig& h = c.hybrid;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const LayerKind kind = c.layer_kind(l);
    param(p + "attn_norm.weight", {d});
    if (kind == LayerKind::Attention || kind == LayerKind::Linear) {
      matrix(p + "attn_q.weight", {d, U(c.q_dim())});
      matrix(p + "attn_k.weight", {d, U(c.kv_dim())});
      matrix(p + "attn_v.weight", {d, U(c.kv_dim())});
      matrix(p + "attn_output.weight", {U(c.q_dim()), d});
      if (c.qkv_bias) {
        param(p + "attn_q.bias", {U(c.q_dim())});
        param(p + "attn_k.bias", {U(c.kv_dim())});
        param(p + "attn_v.bias", {U(c.kv_dim())});
      }
      if (c.attn_out_bias) param(p + "attn_output.bias", {d});
    }
    if (kind == LayerKind::Linear) {
      const U F = U(h.linear.features), hd = U(c.head_dim);
      param(p + "lin_fm_q", {F, hd, U(h.linear.query_maps)});
      param(p + "lin_fm_k", {F, hd, U(h.linear.key_maps)});
      param(p + "lin_window_factor", {U(c.n_heads)}, /*optional=*/true);
    }
    if (kind == LayerKind::Mamba) {
      const U di = U(h.d_inner), rank = U(h.dt_rank);
      matrix(p + "ssm_in.weight", {d, U(2 * h.d_inner + 2 * h.d_xb)});  // rows z | x | B | C
      matrix(p + "ssm_dt_in.weight", {d, rank});
      matrix(p + "ssm_dt.weight", {rank, di});
      param(p + "ssm_conv1d.weight", {U(h.d_conv), 1, di});
      param(p + "ssm_a_log", {U(h.d_state), di});
      param(p + "ssm_d", {di});
      matrix(p + "ssm_out.weight", {di, d});
      if (h.dt_proj_bias) param(p + "ssm_dt.bias", {di});
      if (h.conv_bias) param(p + "ssm_conv1d.bias", {di});
      if (h.bias) {
        param(p + "ssm_in.bias", {U(2 * h.d_inner + 2 * h.d_xb)});
        param(p + "ssm_dt_in.bias", {rank});
        param(p + "ssm_out.bias", {d});
      }
    }
    param(p + "ffn_norm.weight", {d});
    matrix(p + "ffn_gate.weight", {d, U(c.ffn_dim)});
    matrix(p + "ffn_up.weight", {d, U(c.ffn_dim)});
    matrix(p + "ffn_down.weight", {U(c.ffn_dim), d});
  }
  return s;
}

namespace {
std::string shape(const std::vector<uint64_t>& ne) {
  std::string s;
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? "x" : "") + std::to_string(ne[i]);
  return s;
}
// Sizes without the 1s (a [d_conv, 1, d_inner] conv may be stored as [d_conv, d_inner], a vector as [n, 1]).
std::vector<uint64_t> squeezed(const std::vector<uint64_t>& ne) {
  std::vector<uint64_t> out;
  for (auto n : ne)
    if (n != 1) out.push_back(n);
  return out;
}
// The dims that determine a tensor's expected shape, for the message.
std::string dims_note(const ModelConfig& c, const std::string& name) {
  const HybridConfig& h = c.hybrid;
  if (name.find(".ssm_") != std::string::npos)
    return cat("d_model ", c.d_model, ", Mamba d_inner ", h.d_inner, ", d_xb ", h.d_xb, ", d_state ", h.d_state,
               ", d_conv ", h.d_conv, ", dt_rank ", h.dt_rank);
  if (name.find(".lin_") != std::string::npos)
    return cat("head_dim ", c.head_dim, ", ", c.n_heads, " heads, linear mixer features ", h.linear.features, ", ",
               h.linear.query_maps, " query / ", h.linear.key_maps, " key maps");
  return cat("d_model ", c.d_model, ", ", c.n_heads, " heads, ", c.n_kv_heads, " kv heads, head_dim ", c.head_dim,
             ", ffn ", c.ffn_dim, ", vocab ", c.vocab);
}
}  // namespace

void check_model_tensors(const std::string& where, const ModelConfig& c, const TensorLookup& find,
                         const TensorLabel& label) {
  auto named = [&](const std::string& n) { return label ? label(n) : n; };
  for (const auto& spec : llama_tensor_specs(c)) {
    const auto* t = find(spec.name);
    if (!t) {
      if (spec.optional) continue;
      std::string why = cat(c.arch, " with ", c.n_layers, " layers needs it");
      if (spec.name.rfind("blk.", 0) == 0) {
        const int layer = std::stoi(spec.name.substr(4));
        if (c.hybrid.is_hybrid()) why = cat("layer ", layer, " is ", layer_kind_name(c.layer_kind(layer)), " in the layout");
      }
      fail(where, ": tensor ", named(spec.name), " is missing (", why, ")");
    }
    if (squeezed(t->ne) != squeezed(spec.ne))
      fail(where, ": tensor ", named(spec.name), " is ", shape(t->ne), ", expected ", shape(spec.ne), " for ",
           dims_note(c, spec.name));
    if (!dtype_info(t->ggml_type))
      fail(where, ": tensor ", named(spec.name), " has type ", ggml_type_name(t->ggml_type), " (", t->ggml_type,
           "), which is not supported (F32, F16, BF16, Q8_0, Q4_0 are)");
    if (!spec.matrix && t->type != DType::F32 && t->type != DType::F16 && t->type != DType::BF16)
      fail(where, ": tensor ", named(spec.name), " (", spec.ne.size() == 1 ? "a norm weight or bias" : "a mixer parameter",
           ") has type ", dtype_name(t->type), "; only F32/F16/BF16 are supported here");
  }
}

void check_llama_tensors(const GgufFile& f, const ModelConfig& c) {
  check_model_tensors(f.path(), c, [&](const std::string& n) { return f.find_tensor(n); });
}

}  // namespace ds
