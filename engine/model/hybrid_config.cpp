// GGUF hybrid keys (layout, Mamba ssm_cfg-equivalent, linear mixer), their checks and state sizes.
#include "model/hybrid_config.h"

#include <cctype>

#include "model/gguf.h"
#include "ops/mamba.h"
#include "util/error.h"

namespace ds {

namespace {

constexpr const char* k_ssm = "distilscope.ssm.";
constexpr const char* k_lin = "distilscope.linear.";

LayerKind kind_from_code(const std::string& code, const std::string& path, size_t layer) {
  if (code == "t") return LayerKind::Attention;
  if (code == "m2") return LayerKind::Mamba;
  if (code == "lin") return LayerKind::Linear;
  fail(path, ": ", k_key_block_layout, "[", layer, "] is \"", code,
       "\"; known layer codes: \"t\" (attention), \"m2\" (Mamba mixer), \"lin\" (linear mixer)");
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out(1);
  for (char ch : s) {
    if (ch == ',') out.emplace_back();
    else if (!std::isspace(static_cast<unsigned char>(ch))) out.back() += ch;
  }
  return out;
}

}  // namespace

const char* gguf_layout_code(LayerKind k) {
  return k == LayerKind::Attention ? "t" : k == LayerKind::Mamba ? "m2" : "lin";
}

std::vector<LayerKind> parse_layout_letters(const std::string& letters) {
  std::vector<LayerKind> out;
  for (size_t i = 0; i < letters.size(); ++i) {
    switch (std::toupper(static_cast<unsigned char>(letters[i]))) {
      case 'A': out.push_back(LayerKind::Attention); break;
      case 'M': out.push_back(LayerKind::Mamba); break;
      case 'L': out.push_back(LayerKind::Linear); break;
      default:
        fail("layout \"", letters, "\": letter ", i + 1, " is '", letters[i],
             "'; use A (attention), M (Mamba mixer) or L (linear mixer), one per layer");
    }
  }
  return out;
}

std::string layout_letters(const ModelConfig& c) {
  std::string s;
  for (int l = 0; l < c.n_layers; ++l) {
    LayerKind k = c.layer_kind(l);
    s += k == LayerKind::Attention ? 'A' : k == LayerKind::Mamba ? 'M' : 'L';
  }
  return s;
}

void read_hybrid_gguf(const GgufFile& f, ModelConfig& c) {
  const GgufValue* layout = f.find(k_key_block_layout);
  if (!layout) return;
  std::vector<std::string> codes;
  if (layout->type == GgufType::STRING) {
    codes = split_commas(layout->s);
  } else {
    DS_CHECK(layout->type == GgufType::ARRAY && layout->elem_type == GgufType::STRING, f.path(), ": ",
             k_key_block_layout, " is ", gguf_type_name(layout->type), ", expected an array of strings");
    codes = layout->strs;
  }
  DS_CHECK(codes.size() == size_t(c.n_layers), f.path(), ": ", k_key_block_layout, " has ", codes.size(),
           " entries but the model has ", c.n_layers, " layers (", c.arch, ".block_count)");
  HybridConfig& h = c.hybrid;
  h.layers.clear();
  for (size_t i = 0; i < codes.size(); ++i) h.layers.push_back(kind_from_code(codes[i], f.path(), i));

  auto req_uint = [&](const char* prefix, const char* name) {
    const std::string key = std::string(prefix) + name;
    DS_CHECK(f.has(key), f.path(), ": ", key, " is missing (the layout has ", prefix == k_ssm ? "Mamba" : "linear",
             " layers)");
    return int(f.get_uint(key));
  };
  auto opt_uint = [&](const char* prefix, const char* name, int d) {
    return int(f.opt_uint(std::string(prefix) + name).value_or(uint64_t(d)));
  };
  auto opt_bool = [&](const char* prefix, const char* name, bool d) {
    const std::string key = std::string(prefix) + name;
    return f.has(key) ? f.get_bool(key) : d;
  };
  auto opt_float = [&](const char* name, float d) {
    return float(f.opt_float(std::string(k_ssm) + name).value_or(double(d)));
  };
  if (h.count(LayerKind::Mamba)) {
    h.d_state = req_uint(k_ssm, "d_state");
    h.d_xb = req_uint(k_ssm, "d_xb");
    h.d_inner = req_uint(k_ssm, "d_inner");
    h.dt_rank = req_uint(k_ssm, "dt_rank");
    h.d_conv = opt_uint(k_ssm, "d_conv", 4);
    h.expand = opt_uint(k_ssm, "expand", 1);
    h.bias = opt_bool(k_ssm, "bias", false);
    h.conv_bias = opt_bool(k_ssm, "conv_bias", true);
    h.dt_proj_bias = opt_bool(k_ssm, "dt_proj_bias", true);
    h.dt_min = opt_float("dt_min", h.dt_min);
    h.dt_max = opt_float("dt_max", h.dt_max);
    h.dt_scale = opt_float("dt_scale", h.dt_scale);
    h.dt_init_floor = opt_float("dt_init_floor", h.dt_init_floor);
    h.dt_init = f.opt_string(std::string(k_ssm) + "dt_init").value_or(h.dt_init);
  }
  if (h.count(LayerKind::Linear)) {
    h.linear.features = req_uint(k_lin, "features");
    h.linear.window = req_uint(k_lin, "window");
    h.linear.query_maps = opt_uint(k_lin, "query_maps", c.n_heads);
    h.linear.key_maps = opt_uint(k_lin, "key_maps", c.n_heads);
    h.linear.affine = opt_bool(k_lin, "affine", false);
  }
  check_hybrid_config(c, f.path());
}

void write_hybrid_gguf(GgufWriter& w, const ModelConfig& c) {
  const HybridConfig& h = c.hybrid;
  if (h.layers.empty()) return;
  std::vector<std::string> codes;
  for (int l = 0; l < c.n_layers; ++l) codes.push_back(gguf_layout_code(c.layer_kind(l)));
  w.set_str_array(k_key_block_layout, codes);
  auto key = [](const char* prefix, const char* name) { return std::string(prefix) + name; };
  if (h.count(LayerKind::Mamba)) {
    w.set_u32(key(k_ssm, "d_state"), uint32_t(h.d_state));
    w.set_u32(key(k_ssm, "d_xb"), uint32_t(h.d_xb));
    w.set_u32(key(k_ssm, "d_inner"), uint32_t(h.d_inner));
    w.set_u32(key(k_ssm, "dt_rank"), uint32_t(h.dt_rank));
    w.set_u32(key(k_ssm, "d_conv"), uint32_t(h.d_conv));
    w.set_u32(key(k_ssm, "expand"), uint32_t(h.expand));
    w.set_bool(key(k_ssm, "bias"), h.bias);
    w.set_bool(key(k_ssm, "conv_bias"), h.conv_bias);
    w.set_bool(key(k_ssm, "dt_proj_bias"), h.dt_proj_bias);
    w.set_f32(key(k_ssm, "dt_min"), h.dt_min);
    w.set_f32(key(k_ssm, "dt_max"), h.dt_max);
    w.set_f32(key(k_ssm, "dt_scale"), h.dt_scale);
    w.set_f32(key(k_ssm, "dt_init_floor"), h.dt_init_floor);
    w.set_string(key(k_ssm, "dt_init"), h.dt_init);
  }
  if (h.count(LayerKind::Linear)) {
    w.set_u32(key(k_lin, "features"), uint32_t(h.linear.features));
    w.set_u32(key(k_lin, "window"), uint32_t(h.linear.window));
    w.set_u32(key(k_lin, "query_maps"), uint32_t(h.linear.query_maps));
    w.set_u32(key(k_lin, "key_maps"), uint32_t(h.linear.key_maps));
    w.set_bool(key(k_lin, "affine"), h.linear.affine);
  }
}

void check_hybrid_config(const ModelConfig& c, const std::string& where) {
  const HybridConfig& h = c.hybrid;
  if (h.layers.empty()) return;
  DS_CHECK(h.layers.size() == size_t(c.n_layers), where, ": the layout has ", h.layers.size(),
           " layers but the model has ", c.n_layers);
  if (h.count(LayerKind::Mamba)) {
    const std::string what = where + ": Mamba mixer";
    mamba_dims(c).check(what.c_str());
    DS_CHECK(h.dt_rank >= 1 && h.dt_rank <= (1 << 20), where, ": Mamba dt_rank ", h.dt_rank, " is out of range");
    DS_CHECK(h.dt_init == "random" || h.dt_init == "constant", where, ": Mamba dt_init \"", h.dt_init,
             "\" is not random or constant");
  }
  if (h.count(LayerKind::Linear)) {
    const LinearMixerConfig& L = h.linear;
    DS_CHECK(L.features >= 1 && L.features <= 1024, where, ": linear mixer features ", L.features,
             " is outside 1..1024");
    DS_CHECK(L.window >= 0 && L.window <= (1 << 20), where, ": linear mixer window ", L.window, " is out of range");
    auto maps_ok = [&](int n) { return n >= 1 && c.n_heads % n == 0 && n % c.n_kv_heads == 0; };
    DS_CHECK(maps_ok(L.query_maps) && maps_ok(L.key_maps), where, ": linear mixer feature maps (", L.query_maps,
             " query, ", L.key_maps, " key) must divide ", c.n_heads, " heads and be multiples of ", c.n_kv_heads,
             " kv heads");
  }
}

ops::LinearMixerShape linear_mixer_shape(const ModelConfig& c) {
  ops::LinearMixerShape s;
  s.head_dim = c.head_dim;
  s.n_heads = c.n_heads;
  s.n_kv = c.n_kv_heads;
  s.n_fm_q = c.hybrid.linear.query_maps;
  s.n_state = c.hybrid.linear.key_maps;
  s.features = c.hybrid.linear.features;
  s.window = c.hybrid.linear.window;
  return s;
}

MambaDims mamba_dims(const ModelConfig& c) { return MambaDims::from(c.hybrid); }

uint64_t kv_bytes_per_token(const ModelConfig& c) {
  const int n_attn = c.hybrid.layers.empty() ? c.n_layers : c.hybrid.count(LayerKind::Attention);
  return uint64_t(n_attn) * 2 * uint64_t(c.kv_dim()) * 2;
}

uint64_t mixer_state_bytes(const ModelConfig& c) {
  const HybridConfig& h = c.hybrid;
  uint64_t total = 0;
  if (int n = h.count(LayerKind::Linear)) total += uint64_t(n) * ops::linear_mixer_state_layout(linear_mixer_shape(c)).bytes;
  if (int n = h.count(LayerKind::Mamba)) total += uint64_t(n) * ops::mamba_state_bytes(mamba_dims(c));
  return total;
}

}  // namespace ds
