// config.json parsing (per-family defaults, rope scaling, Apriel hybrid layout + ssm_cfg), the
// config.json writer for students, and HF model directory discovery.
#include "model/hf_config.h"

#include <charconv>
#include <cmath>
#include <filesystem>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json.h"

namespace ds {

namespace fs = std::filesystem;

namespace {

// Defaults of the transformers config classes for keys a config.json may leave out.
struct Family {
  const char* model_type;
  const char* arch;
  const char* hf_class;     // architectures[0] when writing
  int max_position;         // max_position_embeddings
  int kv_heads;             // num_key_value_heads (0: = num_attention_heads)
  int sliding_window;       // when the key is absent (MistralConfig: 4096)
  bool qkv_bias;            // q/k/v biases always present (qwen2)
};
const Family k_families[] = {
    {"llama", "llama", "LlamaForCausalLM", 2048, 0, 0, false},
    {"mistral", "mistral", "MistralForCausalLM", 131072, 8, 4096, false},
    {"qwen2", "qwen2", "Qwen2ForCausalLM", 32768, 32, 0, true},
    {"apriel_ssm_thinker_hybrid", k_arch_apriel_hybrid, "AprielThinkerSSMHybridForCausalLM", 131072, 8, 4096, false},
    {"apriel_hybrid_ssm", k_arch_apriel_hybrid, "AprielHybridSSMForCausalLM", 131072, 8, 4096, false},
};

const Family* family_by_type(const std::string& t) {
  for (auto& f : k_families)
    if (t == f.model_type) return &f;
  return nullptr;
}

const Family* family_by_arch(const std::string& a) {
  for (auto& f : k_families)
    if (a == f.arch) return &f;  // the first apriel entry is the form we write
  return nullptr;
}

void parse_rope(const JsonRef& root, ModelConfig& c) {
  c.rope.style = RopeStyle::Neox;  // HF q/k weights are not permuted: rotate-half pairs (i, i + d/2)
  c.rope.dims = c.head_dim;
  if (double f = root.double_or("partial_rotary_factor", 1.0); f != 1.0)
    root.get("partial_rotary_factor").fail_here(cat("is ", f, "; partial rotary embeddings are not supported"));
  std::optional<JsonRef> params = root.opt("rope_parameters");  // transformers >= 5 keeps theta and scaling here
  double theta = root.double_or("rope_theta", 10000.0);
  if (params) theta = params->double_or("rope_theta", theta);
  if (!(theta > 0)) root.fail_here(cat("has rope_theta ", theta, ", expected a positive number"));
  c.rope.theta = float(theta);
  std::optional<JsonRef> rs = params ? params : root.opt("rope_scaling");
  if (!rs) return;
  const char* type_key = rs->has("rope_type") ? "rope_type" : "type";
  std::string type = rs->string_or(type_key, "default");
  if (type == "default") return;
  if (type != "linear" && type != "llama3")
    rs->get(type_key).fail_here(cat("is \"", type, "\"; supported rope scaling: default, linear, llama3"));
  c.rope.scaling = type;
  c.rope.factor = float(rs->get("factor").as_double());
  if (!(c.rope.factor > 0)) rs->get("factor").fail_here(cat("is ", c.rope.factor, ", expected a positive number"));
  if (type == "llama3") {
    c.rope.low_freq_factor = float(rs->double_or("low_freq_factor", 1.0));
    c.rope.high_freq_factor = float(rs->double_or("high_freq_factor", 4.0));
    c.rope.original_context = int(rs->int_or("original_max_position_embeddings", 8192));
    if (!(c.rope.high_freq_factor > c.rope.low_freq_factor))
      rs->fail_here(cat("has high_freq_factor ", c.rope.high_freq_factor, " <= low_freq_factor ", c.rope.low_freq_factor));
  }
}

void parse_sliding_window(const JsonRef& root, const Family& fam, ModelConfig& c) {
  if (fam.qkv_bias) {  // qwen2: per-layer windows only with use_sliding_window
    if (root.bool_or("use_sliding_window", false))
      root.get("use_sliding_window").fail_here("is true; qwen2 sliding-window layers are not supported");
    return;
  }
  if (!root.has("sliding_window")) {
    c.sliding_window = fam.sliding_window;
  } else if (auto w = root.opt("sliding_window")) {
    c.sliding_window = int(w->as_int(1, INT32_MAX));
  }
}

LayerKind layout_kind(const JsonRef& code_ref) {
  const std::string& code = code_ref.as_string();
  if (code == "t") return LayerKind::Attention;
  if (code == "m2") return LayerKind::Mamba;
  const char* note = code == "m2d" ? " (\"m2d\", discrete Mamba2, is not supported)"
                     : code == "i"  ? " (\"i\", an identity layer, is not supported)"
                     : (code == "swa" || code == "gdn" || code == "kl") ? " (this newer Apriel layer code is not supported)"
                                                                        : "";
  code_ref.fail_here(cat("is \"", code, "\"; supported layer codes: \"t\" (attention), \"m2\" (Mamba2 mixer)", note));
}

// ssm_cfg as Apriel's config class fills it: missing keys take ssm_config_default's values.
void parse_hybrid(const JsonRef& root, ModelConfig& c) {
  JsonRef layout = root.get("hybrid_block_layout");
  if (layout.size() != size_t(c.n_layers))
    layout.fail_here(cat("has ", layout.size(), " entries but num_hidden_layers is ", c.n_layers));
  HybridConfig& h = c.hybrid;
  for (size_t i = 0; i < layout.size(); ++i) h.layers.push_back(layout_kind(layout.at(i)));

  std::optional<JsonRef> ssm = root.opt("ssm_cfg");
  auto num = [&](const char* k, int64_t d, int64_t hi) -> int {
    auto v = ssm ? ssm->opt(k) : std::nullopt;
    return v ? int(v->as_int(1, hi)) : int(d);
  };
  auto flag = [&](const char* k, bool d) { return ssm ? ssm->bool_or(k, d) : d; };
  auto real = [&](const char* k, double d) { return float(ssm ? ssm->double_or(k, d) : d); };
  h.d_state = num("d_state", 64, 1 << 16);
  h.expand = num("expand", 1, 64);
  h.d_conv = num("d_conv", 4, 64);
  // d_inner / d_xb: absent -> the default dict's value; explicit null -> derived from d_model.
  h.d_inner = ssm && ssm->has("d_inner") ? num("d_inner", int64_t(h.expand) * c.d_model, 1 << 24) : 32 * 128;
  h.d_xb = num("d_xb", c.d_model, 1 << 24);
  auto rank = ssm ? ssm->opt("dt_rank") : std::nullopt;
  if (rank && rank->is_string() && rank->as_string() != "auto") rank->fail_here(cat("is \"", rank->as_string(), "\", expected \"auto\" or an integer"));
  h.dt_rank = rank && !rank->is_string() ? int(rank->as_int(1, 1 << 20)) : (c.d_model + 15) / 16;  // "auto": ceil(d_model / 16)
  h.bias = flag("bias", false);
  h.conv_bias = flag("conv_bias", true);
  h.dt_proj_bias = flag("dt_proj_bias", true);
  h.repeat_kv_before_conv = flag("repeat_kv_before_conv", true);
  h.dt_min = real("dt_min", 0.001);
  h.dt_max = real("dt_max", 0.1);
  h.dt_scale = real("dt_scale", 1.0);
  h.dt_init_floor = real("dt_init_floor", 1e-4);
  h.dt_init = ssm ? ssm->string_or("dt_init", "random") : "random";

  if (h.count(LayerKind::Mamba) == 0) return;
  auto bad = [&](const auto&... parts) { fail(root.doc(), ": ssm_cfg: ", parts...); };
  if (!h.repeat_kv_before_conv) bad("repeat_kv_before_conv false is not supported (the reference supports only true)");
  if (h.d_inner % h.d_state) bad("d_inner ", h.d_inner, " is not a multiple of d_state ", h.d_state);
  if (h.d_xb % h.d_state) bad("d_xb ", h.d_xb, " is not a multiple of d_state ", h.d_state);
  if (h.n_heads() % h.n_xb_heads())
    bad("d_inner / d_state = ", h.n_heads(), " heads is not a multiple of d_xb / d_state = ", h.n_xb_heads(), " groups");
  if (h.dt_init != "random" && h.dt_init != "constant") bad("dt_init \"", h.dt_init, "\" is not random or constant");
}

// A float as the shortest decimal that reads back as it (1e-5f -> 1e-05, not 9.99999975e-06).
double decimal(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

}  // namespace

const char* hybrid_layout_code(LayerKind k) {
  switch (k) {
    case LayerKind::Attention: return "t";
    case LayerKind::Mamba: return "m2";
    case LayerKind::Linear: break;
  }
  fail("[hf] layer kind linear has no Apriel hybrid_block_layout code (t = attention, m2 = Mamba2)");
}

ModelConfig parse_hf_config(const JsonRef& root) {
  if (!root.is_object()) root.fail_here(cat("is ", json_type_name(root.type()), ", expected an object"));
  JsonRef type_ref = root.get("model_type");
  const Family* fam = family_by_type(type_ref.as_string());
  if (!fam)
    type_ref.fail_here(cat("is \"", type_ref.as_string(),
                           "\"; supported: llama, mistral, qwen2, apriel_ssm_thinker_hybrid, apriel_hybrid_ssm"));
  if (auto archs = root.opt("architectures")) {
    for (size_t i = 0; i < archs->size(); ++i) {
      const std::string& a = archs->at(i).as_string();
      if (a.size() < 11 || a.compare(a.size() - 11, 11, "ForCausalLM") != 0)
        archs->at(i).fail_here(cat("is \"", a, "\"; only *ForCausalLM models can be loaded"));
    }
  }
  ModelConfig c;
  c.arch = fam->arch;
  c.name = root.string_or("_name_or_path", "");
  c.d_model = int(root.get("hidden_size").as_int(1, 1 << 20));
  c.n_layers = int(root.get("num_hidden_layers").as_int(1, 4096));
  c.n_heads = int(root.get("num_attention_heads").as_int(1, 4096));
  auto kv = root.opt("num_key_value_heads");
  c.n_kv_heads = kv ? int(kv->as_int(1, c.n_heads)) : fam->kv_heads ? fam->kv_heads : c.n_heads;
  if (c.n_heads % c.n_kv_heads)
    fail(root.doc(), ": num_attention_heads ", c.n_heads, " is not a multiple of num_key_value_heads ", c.n_kv_heads);
  if (auto hd = root.opt("head_dim")) {
    c.head_dim = int(hd->as_int(1, 1 << 16));
  } else {
    if (c.d_model % c.n_heads)
      fail(root.doc(), ": hidden_size ", c.d_model, " is not a multiple of num_attention_heads ", c.n_heads,
           " and head_dim is not given");
    c.head_dim = c.d_model / c.n_heads;
  }
  if (c.head_dim % 2) fail(root.doc(), ": head_dim ", c.head_dim, " is odd; rotary embeddings need an even head size");
  c.ffn_dim = int(root.get("intermediate_size").as_int(1, 1 << 24));
  c.vocab = int(root.get("vocab_size").as_int(1, 1 << 26));
  auto max_pos = root.opt("max_position_embeddings");
  c.context_train = max_pos ? int(max_pos->as_int(1, INT32_MAX)) : fam->max_position;
  c.norm_eps = float(root.double_or("rms_norm_eps", 1e-6));
  if (!(c.norm_eps > 0)) root.get("rms_norm_eps").fail_here(cat("is ", c.norm_eps, ", expected a positive number"));
  std::string act = root.string_or("hidden_act", "silu");
  if (act != "silu" && act != "swish") root.get("hidden_act").fail_here(cat("is \"", act, "\"; only silu (SwiGLU) is supported"));
  if (root.bool_or("mlp_bias", false)) root.get("mlp_bias").fail_here("is true; MLP biases are not supported");
  c.tied_embeddings = root.bool_or("tie_word_embeddings", false);
  c.qkv_bias = fam->qkv_bias;
  if (c.arch == std::string("llama") && root.bool_or("attention_bias", false)) c.qkv_bias = c.attn_out_bias = true;
  parse_rope(root, c);
  parse_sliding_window(root, *fam, c);
  if (c.arch == std::string(k_arch_apriel_hybrid)) parse_hybrid(root, c);
  return c;
}

ModelConfig read_hf_config(const std::string& path) {
  JsonDocument doc = read_json_file(path);
  ModelConfig c = parse_hf_config(doc);
  if (c.name.empty()) c.name = fs::path(path).parent_path().filename().string();
  return c;
}

std::string hf_config_to_json(const ModelConfig& c, const JsonValue* teacher) {
  const Family* fam = family_by_arch(c.arch);
  DS_CHECK(fam, "[hf] cannot write a config.json for architecture '", c.arch, "' (llama, mistral, qwen2, ",
           k_arch_apriel_hybrid, ")");
  const bool hybrid = c.arch == std::string(k_arch_apriel_hybrid);
  const bool mistral_attention = hybrid || c.arch == std::string("mistral");
  if (mistral_attention)
    DS_CHECK(!c.qkv_bias && !c.attn_out_bias, "[hf] ", c.arch, " attention (Mistral's) has no biases; this ",
             "model has q/k/v", c.attn_out_bias ? "/o" : "", " biases and cannot be written in that form");
  if (c.arch == std::string("qwen2"))
    DS_CHECK(c.qkv_bias && !c.attn_out_bias, "[hf] qwen2 attention has q/k/v biases and no o_proj bias; this model differs");
  if (c.arch == std::string("llama"))
    DS_CHECK(c.qkv_bias == c.attn_out_bias, "[hf] llama's attention_bias covers q/k/v and o_proj together; this model has ",
             "q/k/v biases ", c.qkv_bias ? "but no" : "without", " o_proj bias");
  DS_CHECK(c.hybrid.layers.empty() || c.hybrid.layers.size() == size_t(c.n_layers), "[hf] hybrid layout has ",
           c.hybrid.layers.size(), " layers but the model has ", c.n_layers);
  DS_CHECK(hybrid || !c.hybrid.is_hybrid(), "[hf] a ", c.arch, " config.json cannot describe non-attention layers");
  DS_CHECK(c.rope.scaling == "none" || c.rope.scaling == "linear" || c.rope.scaling == "llama3", "[hf] rope scaling '",
           c.rope.scaling, "' cannot be written");

  JsonWriter w;
  w.begin_object();
  w.key("architectures").begin_array().value(fam->hf_class).end_array();
  w.field("model_type", fam->model_type);
  if (hybrid) {
    w.key("auto_map").begin_object();
    w.field("AutoConfig", "configuration_ssm_hybrid_apriel15b.AprielSSMHybridConfig");
    w.field("AutoModel", "modeling_ssm_hybrid_apriel15b.AprielThinkerSSMHybridModel");
    w.field("AutoModelForCausalLM", "modeling_ssm_hybrid_apriel15b.AprielThinkerSSMHybridForCausalLM");
    w.end_object();
  }
  if (!c.name.empty()) w.field("_name_or_path", std::string_view(c.name));
  w.field("hidden_size", c.d_model).field("intermediate_size", c.ffn_dim);
  w.field("num_hidden_layers", c.n_layers).field("num_attention_heads", c.n_heads);
  w.field("num_key_value_heads", c.n_kv_heads).field("head_dim", c.head_dim);
  w.field("hidden_act", "silu").field("max_position_embeddings", c.context_train);
  w.field("rms_norm_eps", decimal(c.norm_eps)).field("rope_theta", decimal(c.rope.theta));
  w.key("rope_scaling");
  if (c.rope.scaling == "none") {
    w.null();
  } else {
    w.begin_object().field("rope_type", std::string_view(c.rope.scaling)).field("factor", decimal(c.rope.factor));
    if (c.rope.scaling == "llama3")
      w.field("low_freq_factor", decimal(c.rope.low_freq_factor))
          .field("high_freq_factor", decimal(c.rope.high_freq_factor))
          .field("original_max_position_embeddings", c.rope.original_context);
    w.end_object();
  }
  w.field("tie_word_embeddings", c.tied_embeddings).field("vocab_size", c.vocab);
  if (c.arch == std::string("llama")) w.field("attention_bias", c.qkv_bias).field("mlp_bias", false);
  if (c.arch == std::string("qwen2")) w.field("use_sliding_window", false);
  if (mistral_attention) {
    w.key("sliding_window");
    if (c.sliding_window) w.value(c.sliding_window);
    else w.null();
  }
  if (hybrid) {
    const HybridConfig& h = c.hybrid;
    w.key("ssm_cfg").begin_object();
    w.field("d_state", h.d_state).field("d_xb", h.d_xb).field("d_inner", h.d_inner).field("d_conv", h.d_conv);
    w.field("dt_rank", h.dt_rank).field("expand", h.expand).field("bias", h.bias).field("conv_bias", h.conv_bias);
    w.field("dt_proj_bias", h.dt_proj_bias).field("repeat_kv_before_conv", h.repeat_kv_before_conv);
    w.field("activation", "silu").field("dt_init", std::string_view(h.dt_init));
    w.field("dt_min", decimal(h.dt_min)).field("dt_max", decimal(h.dt_max)).field("dt_scale", decimal(h.dt_scale));
    w.field("dt_init_floor", decimal(h.dt_init_floor));
    w.end_object();
    w.key("hybrid_block_layout").begin_array();
    for (int l = 0; l < c.n_layers; ++l) w.value(hybrid_layout_code(c.layer_kind(l)));
    w.end_array();
  }
  // Keys this layer does not model, taken over from the teacher's config.json.
  if (teacher && teacher->type == JsonType::Object) {
    for (const char* k : {"bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "initializer_range",
                          "attention_dropout", "use_cache", "transformers_version"}) {
      if (const JsonValue* v = teacher->find(k)) {
        w.key(k);
        write_json(w, *v);
      }
    }
  }
  w.end_object();
  return w.str() + "\n";
}

void write_hf_config(const std::string& path, const ModelConfig& c, const JsonValue* teacher) {
  write_file_atomic(path, hf_config_to_json(c, teacher));
}

bool is_hf_model_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

HfModelFiles find_hf_model_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("[hf] ", dir, ": not a directory");
  HfModelFiles f;
  f.dir = dir;
  f.config = (fs::path(dir) / "config.json").string();
  if (!fs::is_regular_file(f.config, ec)) fail("[hf] ", dir, ": no config.json (not a Hugging Face model directory?)");
  auto optional_file = [&](const char* name) {
    fs::path p = fs::path(dir) / name;
    return fs::is_regular_file(p, ec) ? p.string() : std::string();
  };
  f.tokenizer = optional_file("tokenizer.json");
  f.tokenizer_config = optional_file("tokenizer_config.json");
  return f;
}

}  // namespace ds
