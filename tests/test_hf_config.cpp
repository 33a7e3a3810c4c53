// Hugging Face config.json for llama / mistral / qwen2 / Apriel hybrid (configs modelled on the real
// ones' keys), bad configs with their messages, config.json writing (round trip), the HF <-> GGUF
// name mapping and the tensor check of a written hybrid checkpoint.
#include <filesystem>
#include <functional>

#include "model/hf_config.h"
#include "model/hf_names.h"
#include "model/safetensors.h"
#include "support/files.h"

namespace ds {
namespace {

const char* k_llama = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 131072,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
  "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256
})";

const char* k_mistral = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
  "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000
})";

const char* k_qwen2 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
  "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
  "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
  "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
})";

// A small Apriel-H1-style hybrid (the real one: 50 layers, hidden 5120, d_xb 1024, d_inner 4096).
const char* k_apriel = R"({
  "architectures": ["AprielThinkerSSMHybridForCausalLM"], "model_type": "apriel_ssm_thinker_hybrid",
  "auto_map": {"AutoConfig": "configuration_ssm_hybrid_apriel15b.AprielSSMHybridConfig"},
  "rope_theta": 1000000.0, "hidden_act": "silu", "num_hidden_layers": 4, "hidden_size": 256,
  "num_attention_heads": 8, "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
  "tie_word_embeddings": false, "rms_norm_eps": 1e-05, "head_dim": 32, "rope_scaling": {"rope_type": "default"},
  "max_position_embeddings": 65536, "sliding_window": null,
  "ssm_cfg": {"d_state": 16, "n_v_heads": 32, "n_qk_heads": 32, "expand": 1, "chunk_size": 128, "bias": false,
              "activation": "silu", "dt_rank": "auto", "dt_min": 0.001, "dt_max": 0.1, "dt_init_floor": 0.0001,
              "dt_scale": 1.0, "d_xb": 64, "d_conv": 4, "dt_init": "random", "d_inner": 256},
  "hybrid_block_layout": ["t", "m2", "m2", "t"]
})";

// The text with one key's value replaced ("null" value) or removed (value == nullptr).
std::string with(const std::string& json, const std::string& key, const char* value) {
  JsonValue v = parse_json(json, "base");
  JsonWriter w;
  w.begin_object();
  bool seen = false;
  for (size_t i = 0; i < v.keys.size(); ++i) {
    if (v.keys[i] == key) {
      seen = true;
      if (value) {
        w.key(key);
        write_json(w, parse_json(value, "value"));
      }
      continue;
    }
    w.key(v.keys[i]);
    write_json(w, v.items[i]);
  }
  if (!seen && value) {
    w.key(key);
    write_json(w, parse_json(value, "value"));
  }
  w.end_object();
  return w.str();
}

ModelConfig parse(const std::string& text) {
  JsonValue v = parse_json(text, "config.json");
  return parse_hf_config(JsonRef(v, "config.json"));
}

TEST(HfConfig, Llama) {
  ModelConfig c = parse(k_llama);
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.d_model, 2048);
  EXPECT_EQ(c.n_layers, 16);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.ffn_dim, 8192);
  EXPECT_EQ(c.vocab, 128256);
  EXPECT_EQ(c.context_train, 131072);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_EQ(c.rope.style, RopeStyle::Neox);
  EXPECT_EQ(c.rope.dims, 64);
  EXPECT_FLOAT_EQ(c.rope.theta, 500000.0f);
  EXPECT_EQ(c.rope.scaling, "llama3");
  EXPECT_FLOAT_EQ(c.rope.factor, 32.0f);
  EXPECT_FLOAT_EQ(c.rope.low_freq_factor, 1.0f);
  EXPECT_FLOAT_EQ(c.rope.high_freq_factor, 4.0f);
  EXPECT_EQ(c.rope.original_context, 8192);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_FALSE(c.hybrid.is_hybrid());
  EXPECT_TRUE(c.hybrid.layers.empty());
}

TEST(HfConfig, LlamaVariants) {
  ModelConfig b = parse(with(k_llama, "attention_bias", "true"));
  EXPECT_TRUE(b.qkv_bias);
  EXPECT_TRUE(b.attn_out_bias);
  ModelConfig lin = parse(with(k_llama, "rope_scaling", R"({"type": "linear", "factor": 2.0})"));  // older key
  EXPECT_EQ(lin.rope.scaling, "linear");
  EXPECT_FLOAT_EQ(lin.rope.factor, 2.0f);
  ModelConfig none = parse(with(with(k_llama, "rope_scaling", "null"), "head_dim", nullptr));
  EXPECT_EQ(none.rope.scaling, "none");
  EXPECT_EQ(none.head_dim, 2048 / 32);
  // transformers >= 5 writes rope_parameters instead of rope_theta + rope_scaling.
  std::string v5 = with(with(k_llama, "rope_scaling", nullptr), "rope_theta", nullptr);
  v5 = with(v5, "rope_parameters", R"({"rope_type": "linear", "factor": 4.0, "rope_theta": 250000.0})");
  ModelConfig p = parse(v5);
  EXPECT_FLOAT_EQ(p.rope.theta, 250000.0f);
  EXPECT_EQ(p.rope.scaling, "linear");
  // Defaults of LlamaConfig for keys left out.
  ModelConfig d = parse(with(with(with(k_llama, "num_key_value_heads", nullptr), "rms_norm_eps", nullptr),
                             "max_position_embeddings", nullptr));
  EXPECT_EQ(d.n_kv_heads, 32);
  EXPECT_FLOAT_EQ(d.norm_eps, 1e-6f);
  EXPECT_EQ(d.context_train, 2048);
}

TEST(HfConfig, Mistral) {
  ModelConfig c = parse(k_mistral);
  EXPECT_EQ(c.arch, "mistral");
  EXPECT_EQ(c.head_dim, 128);  // hidden / heads
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_FLOAT_EQ(c.rope.theta, 10000.0f);
  EXPECT_EQ(c.rope.style, RopeStyle::Neox);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(parse(with(k_mistral, "sliding_window", "null")).sliding_window, 0);
  EXPECT_EQ(parse(with(k_mistral, "sliding_window", nullptr)).sliding_window, 4096);  // MistralConfig default
  EXPECT_EQ(parse(with(k_mistral, "num_key_value_heads", nullptr)).n_kv_heads, 8);
}

TEST(HfConfig, Qwen2) {
  ModelConfig c = parse(k_qwen2);
  EXPECT_EQ(c.arch, "qwen2");
  EXPECT_TRUE(c.qkv_bias);  // always, no key needed
  EXPECT_FALSE(c.attn_out_bias);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_FLOAT_EQ(c.rope.theta, 1e6f);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_EQ(c.sliding_window, 0);  // use_sliding_window false
}

TEST(HfConfig, AprielHybrid) {
  ModelConfig c = parse(k_apriel);
  EXPECT_EQ(c.arch, k_arch_apriel_hybrid);
  EXPECT_EQ(c.n_layers, 4);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.rope.scaling, "none");
  EXPECT_EQ(c.rope.style, RopeStyle::Neox);
  EXPECT_EQ(c.sliding_window, 0);
  const HybridConfig& h = c.hybrid;
  ASSERT_EQ(h.layers.size(), 4u);
  EXPECT_EQ(h.layers, (std::vector<LayerKind>{LayerKind::Attention, LayerKind::Mamba, LayerKind::Mamba, LayerKind::Attention}));
  EXPECT_TRUE(h.is_hybrid());
  EXPECT_EQ(h.count(LayerKind::Mamba), 2);
  EXPECT_EQ(c.layer_kind(1), LayerKind::Mamba);
  EXPECT_EQ(h.d_state, 16);
  EXPECT_EQ(h.d_xb, 64);
  EXPECT_EQ(h.d_inner, 256);
  EXPECT_EQ(h.d_conv, 4);
  EXPECT_EQ(h.dt_rank, 16);  // "auto" = ceil(256 / 16)
  EXPECT_EQ(h.n_xb_heads(), 4);
  EXPECT_EQ(h.n_heads(), 16);
  EXPECT_FALSE(h.bias);
  EXPECT_TRUE(h.conv_bias);
  EXPECT_TRUE(h.dt_proj_bias);
  EXPECT_FLOAT_EQ(h.dt_min, 0.001f);
  EXPECT_FLOAT_EQ(h.dt_init_floor, 1e-4f);
  EXPECT_EQ(h.dt_init, "random");
  // The older model_type of the same layout.
  EXPECT_EQ(parse(with(k_apriel, "model_type", "\"apriel_hybrid_ssm\"")).arch, k_arch_apriel_hybrid);
}

TEST(HfConfig, AprielSsmCfgDefaults) {
  // Missing keys take ssm_config_default's values; null d_inner / d_xb derive from hidden_size.
  ModelConfig c = parse(with(k_apriel, "ssm_cfg", "{}"));
  EXPECT_EQ(c.hybrid.d_state, 64);
  EXPECT_EQ(c.hybrid.d_inner, 4096);
  EXPECT_EQ(c.hybrid.d_xb, 256);
  EXPECT_EQ(c.hybrid.dt_rank, 16);
  ModelConfig n = parse(with(k_apriel, "ssm_cfg", R"({"d_state": 16, "d_inner": null, "expand": 2, "dt_rank": 8})"));
  EXPECT_EQ(n.hybrid.d_inner, 512);
  EXPECT_EQ(n.hybrid.dt_rank, 8);
  ModelConfig all_t = parse(with(k_apriel, "hybrid_block_layout", R"(["t", "t", "t", "t"])"));
  EXPECT_FALSE(all_t.hybrid.is_hybrid());
}

struct BadConfig {
  const char* name;
  const char* base;
  const char* key;
  const char* value;  // nullptr: remove the key
  const char* message;
};

class HfConfigBad : public testing::TestWithParam<BadConfig> {};

TEST_P(HfConfigBad, ClearMessage) {
  auto& p = GetParam();
  std::string text = with(p.base, p.key, p.value);
  EXPECT_ERROR(parse(text), p.message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HfConfigBad,
    testing::Values(
        BadConfig{"LayoutLength", k_apriel, "hybrid_block_layout", R"(["t", "m2", "t"])",
                  "config.json: key 'hybrid_block_layout' has 3 entries but num_hidden_layers is 4"},
        BadConfig{"UnknownLayoutCode", k_apriel, "hybrid_block_layout", R"(["t", "m2", "x", "t"])",
                  "config.json: key 'hybrid_block_layout[2]' is \"x\"; supported layer codes: \"t\" (attention), \"m2\" (Mamba2 mixer)"},
        BadConfig{"DiscreteMamba", k_apriel, "hybrid_block_layout", R"(["m2d", "m2", "t", "t"])",
                  "'hybrid_block_layout[0]' is \"m2d\"; supported layer codes: \"t\" (attention), \"m2\" (Mamba2 mixer) (\"m2d\", discrete Mamba2, is not supported)"},
        BadConfig{"LayoutNotStrings", k_apriel, "hybrid_block_layout", "[1, 2, 3, 4]", "key 'hybrid_block_layout[0]' is 1, expected a string"},
        BadConfig{"LayoutMissing", k_apriel, "hybrid_block_layout", nullptr, "config.json: required key 'hybrid_block_layout' is missing"},
        BadConfig{"MissingHiddenSize", k_llama, "hidden_size", nullptr, "config.json: required key 'hidden_size' is missing"},
        BadConfig{"MissingVocab", k_qwen2, "vocab_size", nullptr, "config.json: required key 'vocab_size' is missing"},
        BadConfig{"MissingModelType", k_mistral, "model_type", nullptr, "config.json: required key 'model_type' is missing"},
        BadConfig{"RopeYarn", k_qwen2, "rope_scaling", R"({"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768})",
                  "config.json: key 'rope_scaling.type' is \"yarn\"; supported rope scaling: default, linear, llama3"},
        BadConfig{"RopeDynamic", k_llama, "rope_scaling", R"({"rope_type": "dynamic", "factor": 2.0})",
                  "key 'rope_scaling.rope_type' is \"dynamic\"; supported rope scaling"},
        BadConfig{"RopeLinearNoFactor", k_llama, "rope_scaling", R"({"rope_type": "linear"})",
                  "required key 'rope_scaling.factor' is missing"},
        BadConfig{"StringDState", k_apriel, "ssm_cfg", R"({"d_state": "16", "d_inner": 256, "d_xb": 64})",
                  "config.json: key 'ssm_cfg.d_state' is a string (\"16\"), expected a number"},
        BadConfig{"DtRankWord", k_apriel, "ssm_cfg", R"({"d_state": 16, "d_inner": 256, "d_xb": 64, "dt_rank": "big"})",
                  "key 'ssm_cfg.dt_rank' is \"big\", expected \"auto\" or an integer"},
        BadConfig{"DInnerNotMultiple", k_apriel, "ssm_cfg", R"({"d_state": 48, "d_inner": 256, "d_xb": 96})",
                  "config.json: ssm_cfg: d_inner 256 is not a multiple of d_state 48"},
        BadConfig{"HeadsNotGroups", k_apriel, "ssm_cfg", R"({"d_state": 16, "d_inner": 256, "d_xb": 48})",
                  "ssm_cfg: d_inner / d_state = 16 heads is not a multiple of d_xb / d_state = 3 groups"},
        BadConfig{"RepeatAfterConv", k_apriel, "ssm_cfg", R"({"d_state": 16, "d_inner": 256, "d_xb": 64, "repeat_kv_before_conv": false})",
                  "repeat_kv_before_conv false is not supported"},
        BadConfig{"KvHeads", k_mistral, "num_key_value_heads", "12",
                  "config.json: num_attention_heads 32 is not a multiple of num_key_value_heads 12"},
        BadConfig{"KvHeadsTooMany", k_mistral, "num_key_value_heads", "64", "key 'num_key_value_heads' is 64, expected an integer in [1, 32]"},
        BadConfig{"ZeroLayers", k_llama, "num_hidden_layers", "0", "key 'num_hidden_layers' is 0, expected an integer in [1, 4096]"},
        BadConfig{"FloatLayers", k_llama, "num_hidden_layers", "16.5", "key 'num_hidden_layers' is 16.5, expected an integer"},
        BadConfig{"OtherModelType", k_llama, "model_type", "\"gpt2\"",
                  "key 'model_type' is \"gpt2\"; supported: llama, mistral, qwen2, apriel_ssm_thinker_hybrid, apriel_hybrid_ssm"},
        BadConfig{"NotCausalLM", k_llama, "architectures", R"(["LlamaForSequenceClassification"])",
                  "key 'architectures[0]' is \"LlamaForSequenceClassification\"; only *ForCausalLM models can be loaded"},
        BadConfig{"Gelu", k_llama, "hidden_act", "\"gelu\"", "key 'hidden_act' is \"gelu\"; only silu (SwiGLU) is supported"},
        BadConfig{"MlpBias", k_llama, "mlp_bias", "true", "key 'mlp_bias' is true; MLP biases are not supported"},
        BadConfig{"QwenSlidingWindow", k_qwen2, "use_sliding_window", "true", "qwen2 sliding-window layers are not supported"},
        BadConfig{"PartialRotary", k_llama, "partial_rotary_factor", "0.5", "partial rotary embeddings are not supported"},
        BadConfig{"OddHeadDim", k_llama, "head_dim", "63", "head_dim 63 is odd"},
        BadConfig{"IndivisibleHidden", k_mistral, "hidden_size", "4001",
                  "hidden_size 4001 is not a multiple of num_attention_heads 32 and head_dim is not given"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(HfConfig, NotAnObject) { EXPECT_ERROR(parse("[]"), "config.json: the document is an array, expected an object"); }

// ---- writing ----

void expect_same(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.ffn_dim, b.ffn_dim);
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.context_train, b.context_train);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.rope.theta, b.rope.theta);
  EXPECT_EQ(a.rope.scaling, b.rope.scaling);
  EXPECT_EQ(a.rope.factor, b.rope.factor);
  EXPECT_EQ(a.rope.low_freq_factor, b.rope.low_freq_factor);
  EXPECT_EQ(a.rope.high_freq_factor, b.rope.high_freq_factor);
  EXPECT_EQ(a.rope.original_context, b.rope.original_context);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
  EXPECT_EQ(a.qkv_bias, b.qkv_bias);
  EXPECT_EQ(a.attn_out_bias, b.attn_out_bias);
  EXPECT_EQ(a.sliding_window, b.sliding_window);
  const HybridConfig &h = a.hybrid, &g = b.hybrid;
  EXPECT_EQ(h.layers, g.layers);
  EXPECT_EQ(h.d_state, g.d_state);
  EXPECT_EQ(h.d_xb, g.d_xb);
  EXPECT_EQ(h.d_inner, g.d_inner);
  EXPECT_EQ(h.d_conv, g.d_conv);
  EXPECT_EQ(h.dt_rank, g.dt_rank);
  EXPECT_EQ(h.bias, g.bias);
  EXPECT_EQ(h.conv_bias, g.conv_bias);
  EXPECT_EQ(h.dt_proj_bias, g.dt_proj_bias);
  EXPECT_EQ(h.dt_min, g.dt_min);
  EXPECT_EQ(h.dt_max, g.dt_max);
  EXPECT_EQ(h.dt_init_floor, g.dt_init_floor);
}

TEST(HfConfigWrite, RoundTripsEveryFamily) {
  for (const char* text : {k_llama, k_mistral, k_qwen2, k_apriel}) {
    ModelConfig c = parse(text);
    SCOPED_TRACE(c.arch);
    expect_same(parse(hf_config_to_json(c)), c);
  }
  ModelConfig b = parse(with(k_llama, "attention_bias", "true"));
  expect_same(parse(hf_config_to_json(b)), b);
}

TEST(HfConfigWrite, HybridStudentFromTeacher) {
  JsonValue teacher = parse_json(k_mistral, "teacher/config.json");
  ModelConfig c = parse(k_mistral);
  c.arch = k_arch_apriel_hybrid;
  c.sliding_window = 0;
  c.hybrid.layers.assign(32, LayerKind::Attention);
  c.hybrid.layers[5] = c.hybrid.layers[30] = LayerKind::Mamba;
  c.hybrid.d_state = 16;
  c.hybrid.d_xb = c.kv_dim();
  c.hybrid.d_inner = c.q_dim();
  c.hybrid.dt_rank = 256;
  std::string text = hf_config_to_json(c, &teacher);
  JsonValue v = parse_json(text, "student");
  JsonRef r(v, "student");
  EXPECT_EQ(r.get("architectures").at(0).as_string(), "AprielThinkerSSMHybridForCausalLM");
  EXPECT_EQ(r.get("model_type").as_string(), "apriel_ssm_thinker_hybrid");
  EXPECT_EQ(r.get("hybrid_block_layout").at(5).as_string(), "m2");
  EXPECT_EQ(r.get("hybrid_block_layout").at(6).as_string(), "t");
  EXPECT_EQ(r.get("ssm_cfg").get("d_xb").as_int(), 1024);
  EXPECT_EQ(r.get("bos_token_id").as_int(), 1);  // taken over from the teacher
  EXPECT_EQ(r.get("torch_dtype").as_string(), "bfloat16");
  EXPECT_TRUE(r.get("sliding_window").is_null());
  EXPECT_NE(text.find("\"rms_norm_eps\":1e-05"), std::string::npos) << text;  // shortest decimal of the float
  expect_same(parse(text), c);

  test::TempDir dir;
  write_hf_config(dir / "config.json", c, &teacher);
  expect_same(read_hf_config(dir / "config.json"), c);
  EXPECT_EQ(read_hf_config(dir / "config.json").name.rfind("ds_test_", 0), 0u);  // the directory's name
}

TEST(HfConfigWrite, RefusesWhatTheFormCannotHold) {
  ModelConfig q = parse(k_qwen2);
  q.arch = k_arch_apriel_hybrid;
  EXPECT_ERROR(hf_config_to_json(q), "apriel_hybrid attention (Mistral's) has no biases; this model has q/k/v biases");
  ModelConfig l = parse(k_apriel);
  l.hybrid.layers[2] = LayerKind::Linear;
  EXPECT_ERROR(hf_config_to_json(l), "layer kind linear has no Apriel hybrid_block_layout code");
  ModelConfig m = parse(k_mistral);
  m.hybrid.layers.assign(32, LayerKind::Mamba);
  EXPECT_ERROR(hf_config_to_json(m), "a mistral config.json cannot describe non-attention layers");
}

// ---- names ----

TEST(HfNames, MapsBothWays) {
  const std::pair<const char*, const char*> pairs[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight"},
      {"model.layers.12.self_attn.q_proj.weight", "blk.12.attn_q.weight"},
      {"model.layers.12.self_attn.k_proj.bias", "blk.12.attn_k.bias"},
      {"model.layers.3.self_attn.v_proj.weight", "blk.3.attn_v.weight"},
      {"model.layers.3.self_attn.o_proj.weight", "blk.3.attn_output.weight"},
      {"model.layers.49.post_attention_layernorm.weight", "blk.49.ffn_norm.weight"},
      {"model.layers.7.mlp.gate_proj.weight", "blk.7.ffn_gate.weight"},
      {"model.layers.7.mlp.up_proj.weight", "blk.7.ffn_up.weight"},
      {"model.layers.7.mlp.down_proj.weight", "blk.7.ffn_down.weight"},
      {"model.layers.20.mixer.in_proj.weight", "blk.20.ssm_in.weight"},
      {"model.layers.20.mixer.dt_in_proj.weight", "blk.20.ssm_dt_in.weight"},
      {"model.layers.20.mixer.dt_proj.weight", "blk.20.ssm_dt.weight"},
      {"model.layers.20.mixer.dt_proj.bias", "blk.20.ssm_dt.bias"},
      {"model.layers.20.mixer.conv1d.weight", "blk.20.ssm_conv1d.weight"},
      {"model.layers.20.mixer.conv1d.bias", "blk.20.ssm_conv1d.bias"},
      {"model.layers.20.mixer.A_log", "blk.20.ssm_a_log"},
      {"model.layers.20.mixer.D", "blk.20.ssm_d"},
      {"model.layers.20.mixer.out_proj.weight", "blk.20.ssm_out.weight"},
  };
  for (auto [hf, gguf] : pairs) {
    EXPECT_EQ(hf_to_gguf_name(hf).value_or("?"), gguf);
    EXPECT_EQ(gguf_to_hf_name(gguf).value_or("?"), hf);
  }
  for (const char* unknown : {"model.layers.3.self_attn.rotary_emb.inv_freq", "model.layers.03.mlp.up_proj.weight",
                              "model.layers.x.mlp.up_proj.weight", "model.layers.3", "model.embed_tokens", "blk.1.attn_q",
                              "model.layers.1.mixer.z_bias", "token_embd.weight.x"})
    EXPECT_FALSE(hf_to_gguf_name(unknown).has_value()) << unknown;
  EXPECT_FALSE(gguf_to_hf_name("blk.01.attn_q.weight").has_value());
}

TEST(HfNames, HybridSpecs) {
  ModelConfig c = parse(k_apriel);
  auto specs = hf_tensor_specs(c);
  auto find = [&](const std::string& n) -> std::vector<uint64_t> {
    for (auto& s : specs)
      if (s.hf_name == n) return s.shape;
    return {999};
  };
  EXPECT_EQ(specs.size(), 3u + 2 * 9 + 2 * 14);  // globals, attention layers, mamba layers (+ dt/conv biases)
  EXPECT_EQ(find("model.layers.1.mixer.in_proj.weight"), (std::vector<uint64_t>{2 * 64 + 2 * 256, 256}));
  EXPECT_EQ(find("model.layers.1.mixer.dt_in_proj.weight"), (std::vector<uint64_t>{16, 256}));
  EXPECT_EQ(find("model.layers.1.mixer.dt_proj.weight"), (std::vector<uint64_t>{256, 16}));
  EXPECT_EQ(find("model.layers.1.mixer.conv1d.weight"), (std::vector<uint64_t>{256, 1, 4}));
  EXPECT_EQ(find("model.layers.1.mixer.A_log"), (std::vector<uint64_t>{256, 16}));
  EXPECT_EQ(find("model.layers.2.mixer.out_proj.weight"), (std::vector<uint64_t>{256, 256}));
  EXPECT_EQ(find("model.layers.0.self_attn.k_proj.weight"), (std::vector<uint64_t>{64, 256}));
  EXPECT_EQ(find("model.layers.1.self_attn.q_proj.weight"), (std::vector<uint64_t>{999}));  // a mamba layer
  EXPECT_EQ(find("lm_head.weight"), (std::vector<uint64_t>{1000, 256}));
}

// Writes a BF16 zero checkpoint for `c` (+ `extra` tensors), with a hook to change one spec.
void write_checkpoint(const std::string& dir, const ModelConfig& c, const std::function<void(HfTensorSpec&)>& edit = {}) {
  SafetensorsWriter w;
  for (auto s : hf_tensor_specs(c)) {
    if (edit) edit(s);
    if (s.hf_name.empty()) continue;
    uint64_t n = 1;
    for (auto d : s.shape) n *= d;
    w.add(s.hf_name, DType::BF16, s.shape, std::vector<uint8_t>(n * 2, 0));
  }
  w.add("model.layers.0.self_attn.rotary_emb.inv_freq", DType::F32, {16}, std::vector<uint8_t>(64, 0));
  w.write_dir(dir, 200'000);
}

TEST(HfNames, ChecksAWrittenHybridCheckpoint) {
  ModelConfig c = parse(k_apriel);
  test::TempDir dir;
  write_checkpoint(dir.path(), c);
  SafetensorsDir d(dir.path());
  EXPECT_TRUE(d.sharded());
  auto unused = check_hf_tensors(d, c);
  EXPECT_EQ(unused, (std::vector<std::string>{"model.layers.0.self_attn.rotary_emb.inv_freq"}));

  test::TempDir missing;
  write_checkpoint(missing.path(), c, [](HfTensorSpec& s) {
    if (s.hf_name == "model.layers.2.mixer.A_log") s.hf_name.clear();
  });
  EXPECT_ERROR(check_hf_tensors(SafetensorsDir(missing.path()), c),
               "tensor model.layers.2.mixer.A_log (blk.2.ssm_a_log) is missing; layer 2 is mamba in this apriel_hybrid config");

  test::TempDir shape;
  write_checkpoint(shape.path(), c, [](HfTensorSpec& s) {
    if (s.hf_name == "model.layers.0.self_attn.v_proj.weight") s.shape = {256, 256};
  });
  EXPECT_ERROR(check_hf_tensors(SafetensorsDir(shape.path()), c),
               "tensor model.layers.0.self_attn.v_proj.weight is [256, 256], expected [64, 256] (d_model 256, 8 heads, 2 kv heads");

  ModelConfig untied = c;
  untied.tied_embeddings = true;  // the checkpoint has lm_head.weight: unused, not an error
  EXPECT_EQ(check_hf_tensors(d, untied).size(), 2u);
  ModelConfig all_t = c;
  all_t.hybrid.layers.assign(4, LayerKind::Attention);
  EXPECT_ERROR(check_hf_tensors(d, all_t), "tensor model.layers.1.self_attn.q_proj.weight (blk.1.attn_q.weight) is missing; layer 1 is attention");
}

TEST(HfFiles, FindsTheDirectoryFiles) {
  test::TempDir dir;
  EXPECT_FALSE(is_hf_model_dir(dir.path()));
  EXPECT_ERROR(find_hf_model_files(dir.path()), "no config.json (not a Hugging Face model directory?)");
  test::write_bytes(dir / "config.json", k_qwen2);
  test::write_bytes(dir / "tokenizer.json", "{}");
  EXPECT_TRUE(is_hf_model_dir(dir.path()));
  HfModelFiles f = find_hf_model_files(dir.path());
  EXPECT_EQ(f.config, dir / "config.json");
  EXPECT_EQ(f.tokenizer, dir / "tokenizer.json");
  EXPECT_EQ(f.tokenizer_config, "");
  EXPECT_EQ(read_hf_config(f.config).arch, "qwen2");
  EXPECT_ERROR(find_hf_model_files(dir / "config.json"), "not a directory");
}

}  // namespace
}  // namespace ds
