// The HF <-> GGUF name table (global tensors and per-layer suffixes) and the expected tensor list.
#include "model/hf_names.h"

#include <set>

#include "model/safetensors.h"
#include "util/error.h"

namespace ds {

namespace {

struct NamePair {
  const char* hf;
  const char* gguf;
};

const NamePair k_global[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// Suffixes after "model.layers.{i}." <-> after "blk.{i}.".
const NamePair k_layer[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    // Apriel "m2" mixer (Mamba2 with d_xb).
    {"mixer.in_proj.weight", "ssm_in.weight"},
    {"mixer.in_proj.bias", "ssm_in.bias"},
    {"mixer.dt_in_proj.weight", "ssm_dt_in.weight"},
    {"mixer.dt_in_proj.bias", "ssm_dt_in.bias"},
    {"mixer.dt_proj.weight", "ssm_dt.weight"},
    {"mixer.dt_proj.bias", "ssm_dt.bias"},
    {"mixer.conv1d.weight", "ssm_conv1d.weight"},
    {"mixer.conv1d.bias", "ssm_conv1d.bias"},
    {"mixer.A_log", "ssm_a_log"},
    {"mixer.D", "ssm_d"},
    {"mixer.out_proj.weight", "ssm_out.weight"},
    {"mixer.out_proj.bias", "ssm_out.bias"},
};

// Splits "<prefix>{i}.<rest>" into i and rest; false when the name has another form.
bool split_layer(std::string_view name, std::string_view prefix, int& layer, std::string_view& rest) {
  if (name.substr(0, prefix.size()) != prefix) return false;
  name.remove_prefix(prefix.size());
  size_t n = 0;
  while (n < name.size() && name[n] >= '0' && name[n] <= '9') ++n;
  if (n == 0 || n > 6 || (n > 1 && name[0] == '0') || n >= name.size() || name[n] != '.') return false;
  layer = std::stoi(std::string(name.substr(0, n)));
  rest = name.substr(n + 1);
  return true;
}

std::optional<std::string> translate(std::string_view name, bool to_gguf) {
  for (auto& p : k_global)
    if (name == (to_gguf ? p.hf : p.gguf)) return std::string(to_gguf ? p.gguf : p.hf);
  int layer = 0;
  std::string_view rest;
  if (!split_layer(name, to_gguf ? "model.layers." : "blk.", layer, rest)) return std::nullopt;
  for (auto& p : k_layer)
    if (rest == (to_gguf ? p.hf : p.gguf))
      return cat(to_gguf ? "blk." : "model.layers.", layer, ".", to_gguf ? p.gguf : p.hf);
  return std::nullopt;
}

std::string shape_str(const std::vector<uint64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

}  // namespace

std::optional<std::string> hf_to_gguf_name(std::string_view hf_name) { return translate(hf_name, true); }
std::optional<std::string> gguf_to_hf_name(std::string_view gguf_name) { return translate(gguf_name, false); }

std::vector<HfTensorSpec> hf_tensor_specs(const ModelConfig& c) {
  using U = uint64_t;
  std::vector<HfTensorSpec> out;
  auto add = [&](const std::string& hf, std::vector<U> shape) { out.push_back({hf, *hf_to_gguf_name(hf), std::move(shape)}); };
  const U d = U(c.d_model);
  add("model.embed_tokens.weight", {U(c.vocab), d});
  add("model.norm.weight", {d});
  if (!c.tied_embeddings) add("lm_head.weight", {U(c.vocab), d});
  const HybridConfig& h = c.hybrid;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = cat("model.layers.", l, ".");
    add(p + "input_layernorm.weight", {d});
    switch (c.layer_kind(l)) {
      case LayerKind::Attention:
        add(p + "self_attn.q_proj.weight", {U(c.q_dim()), d});
        add(p + "self_attn.k_proj.weight", {U(c.kv_dim()), d});
        add(p + "self_attn.v_proj.weight", {U(c.kv_dim()), d});
        add(p + "self_attn.o_proj.weight", {d, U(c.q_dim())});
        if (c.qkv_bias) {
          add(p + "self_attn.q_proj.bias", {U(c.q_dim())});
          add(p + "self_attn.k_proj.bias", {U(c.kv_dim())});
          add(p + "self_attn.v_proj.bias", {U(c.kv_dim())});
        }
        if (c.attn_out_bias) add(p + "self_attn.o_proj.bias", {d});
        break;
      case LayerKind::Mamba: {
        const U in_out = U(2 * h.d_xb + 2 * h.d_inner), conv_ch = U(h.repeat_kv_before_conv ? h.d_inner : h.d_xb);
        add(p + "mixer.in_proj.weight", {in_out, d});  // rows: z (d_inner), x (d_xb), B (d_xb), C (d_inner)
        add(p + "mixer.dt_in_proj.weight", {U(h.dt_rank), d});
        add(p + "mixer.dt_proj.weight", {U(h.d_inner), U(h.dt_rank)});
        add(p + "mixer.conv1d.weight", {conv_ch, 1, U(h.d_conv)});
        add(p + "mixer.A_log", {U(h.d_inner), U(h.d_state)});
        add(p + "mixer.D", {U(h.d_inner)});
        add(p + "mixer.out_proj.weight", {d, U(h.d_inner)});
        if (h.bias) {
          add(p + "mixer.in_proj.bias", {in_out});
          add(p + "mixer.dt_in_proj.bias", {U(h.dt_rank)});
          add(p + "mixer.out_proj.bias", {d});
        }
        if (h.dt_proj_bias) add(p + "mixer.dt_proj.bias", {U(h.d_inner)});
        if (h.conv_bias) add(p + "mixer.conv1d.bias", {conv_ch});
        break;
      }
      case LayerKind::Linear: fail("[hf] layer ", l, " is a linear mixer, which has no Hugging Face form yet");
    }
    add(p + "post_attention_layernorm.weight", {d});
    add(p + "mlp.gate_proj.weight", {U(c.ffn_dim), d});
    add(p + "mlp.up_proj.weight", {U(c.ffn_dim), d});
    add(p + "mlp.down_proj.weight", {d, U(c.ffn_dim)});
  }
  return out;
}

std::vector<std::string> check_hf_tensors(const SafetensorsDir& dir, const ModelConfig& c) {
  std::set<std::string, std::less<>> expected;
  for (const auto& spec : hf_tensor_specs(c)) {
    expected.insert(spec.hf_name);
    const SafetensorsTensor* t = dir.find(spec.hf_name);
    if (!t) {
      int layer = 0;
      std::string_view rest;
      std::string why = split_layer(spec.hf_name, "model.layers.", layer, rest)
                            ? cat("layer ", layer, " is ", layer_kind_name(c.layer_kind(layer)), " in this ", c.arch, " config")
                            : cat(c.arch, c.tied_embeddings ? "" : " without tied embeddings", " needs it");
      fail("[hf] ", dir.dir(), ": tensor ", spec.hf_name, " (", spec.gguf_name, ") is missing; ", why);
    }
    if (t->shape != spec.shape)
      fail("[hf] ", dir.dir(), ": tensor ", spec.hf_name, " is ", t->shape_str(), ", expected ", shape_str(spec.shape),
           " (d_model ", c.d_model, ", ", c.n_heads, " heads, ", c.n_kv_heads, " kv heads, head_dim ", c.head_dim, ", ffn ",
           c.ffn_dim, ", vocab ", c.vocab, ")");
    if (!t->type || *t->type == DType::I32)
      fail("[hf] ", dir.dir(), ": tensor ", spec.hf_name, " has dtype ", t->dtype, "; weights must be F32, F16 or BF16");
  }
  std::vector<std::string> unused;
  for (auto& n : dir.names())
    if (!expected.count(n)) unused.push_back(n);
  return unused;
}

}  // namespace ds
