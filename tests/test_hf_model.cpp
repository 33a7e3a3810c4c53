// Hugging Face directories as models: llama / mistral / qwen2 teachers and an Apriel-style hybrid written from
// tiny random GGUFs load to the same logits as the GGUF (bit for bit where both use the same RoPE pairing) and
// match the CPU reference; sharded weights; BF16 -> F16 on load and quantize = q8_0; the older Apriel layout
// with dt_in_proj folded into in_proj; GGUF -> HF -> GGUF round trip; and bad input at the model level:
// config.json disagreeing with the weights, bad layouts, missing or misshapen mixer tensors, corrupt safetensors
// headers (overlapping / out-of-file offsets, a header over 100 MB), no tokenizer.json.
#include <filesystem>

#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/hf_config.h"
#include "model/hybrid_config.h"
#include "model/model_source.h"
#include "model/model_writer.h"
#include "model/safetensors.h"
#include "model/synthetic.h"
#include "model/weights.h"
#include "ref/compare.h"
#include "ref/forward.h"
#include "support/files.h"
#include "support/gpu.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

struct Tiny {
  std::string gguf, dir;
};

// A random model (byte-level tokenizer) as GGUF and as an HF directory written from it.
Tiny make_tiny(const test::TempDir& tmp, const std::string& name, const std::string& arch, const std::string& layout,
               DType type = DType::F16, uint64_t max_shard = 4ull << 30) {
  SyntheticSpec spec;
  spec.config = llama_like(int(layout.size()), 64, 4, 2, 96, 300);
  spec.config.arch = arch;
  spec.config.qkv_bias = arch == "qwen2";
  spec.config.tied_embeddings = arch != "mistral";
  if (layout.find_first_not_of('A') != std::string::npos) set_hybrid_layout(spec.config, parse_layout_letters(layout));
  spec.type = type;
  spec.scale = 0.08f;
  spec.seed = 5;
  spec.byte_level_tokenizer = true;
  Tiny t{tmp / (name + ".gguf"), tmp / name};
  write_synthetic_model(t.gguf, spec);
  auto src = open_gguf_source(t.gguf);
  ModelConfig c = src->config();
  if (c.hybrid.is_hybrid()) c.arch = k_arch_apriel_hybrid;
  EXPECT_TRUE(write_hf_model(*src, c, {}, t.dir, max_shard).empty());
  return t;
}

std::vector<int32_t> prompt() {
  std::vector<int32_t> p;
  for (int i = 0; i < 23; ++i) p.push_back((i * 37 + 5) % 300);
  return p;
}

// Logits of every prompt position, then of three decode steps.
std::vector<std::vector<float>> run(Model& m) {
  Session s(m, SessionOptions{64, 8});
  auto out = s.forward_all(prompt());
  for (int32_t t : {7, 250, 31}) {
    s.decode(t, false);
    out.push_back(s.logits());
  }
  return out;
}

double worst_nmse(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, ref::nmse(a[i], b[i]));
  return worst;
}

struct Family {
  std::string arch, layout;
};

class HfFamily : public testing::TestWithParam<Family> {};

// GGUF llama/mistral files pair RoPE dims (2i, 2i+1) with permuted q/k rows, HF files (i, i+d/2) with the
// original rows: the same model, summed in another order (agreement to rounding). qwen2 pairs alike in both:
// bit-identical.
TEST_P(HfFamily, LoadsToTheLogitsOfItsGguf) {
  test::TempDir tmp;
  const Family& f = GetParam();
  Tiny t = make_tiny(tmp, f.arch + "_" + f.layout, f.arch, f.layout);
  auto from_gguf = Model::load(test::device(), t.gguf);
  auto from_hf = Model::load(test::device(), t.dir);
  EXPECT_EQ(from_hf->config().rope.style, RopeStyle::Neox);
  EXPECT_EQ(layout_letters(from_hf->config()), f.layout);
  EXPECT_EQ(from_hf->tokenizer().encode("hello there", true, false), from_gguf->tokenizer().encode("hello there", true, false));
  auto a = run(*from_gguf), b = run(*from_hf);
  if (f.arch == "qwen2") EXPECT_EQ(a, b);
  else EXPECT_LT(worst_nmse(a, b), 1e-9);  // F16 cache rounding can flip where the sums differ in the last bit
  // The HF directory against the CPU reference read from it.
  ref::ReferenceModel cpu(*ModelSource::open(t.dir), 64);
  Session s(*from_hf, SessionOptions{64, 8});
  EXPECT_LT(worst_nmse(s.forward_all(prompt()), cpu.forward(prompt())), 1e-8);
  // HF -> GGUF (convert, types kept) gives back the original file's logits exactly.
  write_gguf_model(*ModelSource::open(t.dir), ModelSource::open(t.dir)->config(), {}, tmp / "back.gguf", {std::nullopt});
  EXPECT_EQ(run(*Model::load(test::device(), tmp / "back.gguf")), a);
}

INSTANTIATE_TEST_SUITE_P(Families, HfFamily,
                         testing::Values(Family{"llama", "AAA"}, Family{"mistral", "AAA"}, Family{"qwen2", "AAA"},
                                         Family{"mistral", "AMAM"}, Family{"llama", "MMA"}),
                         [](const auto& info) { return info.param.arch + "_" + info.param.layout; });

TEST(HfModel, ShardedWeightsLoadTheSame) {
  test::TempDir tmp;
  Tiny one = make_tiny(tmp, "one", "mistral", "AMA");
  Tiny sharded = make_tiny(tmp, "sharded", "mistral", "AMA", DType::F16, 40000);
  EXPECT_TRUE(fs::exists(sharded.dir + "/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(sharded.dir + "/model.safetensors"));
  EXPECT_EQ(run(*Model::load(test::device(), one.dir)), run(*Model::load(test::device(), sharded.dir)));
}

TEST(HfModel, Bf16BecomesF16AndQuantizeGivesQ8_0) {
  test::TempDir tmp;
  Tiny t = make_tiny(tmp, "bf16", "mistral", "AMA", DType::BF16);
  EXPECT_EQ(ModelSource::open(t.dir)->find("blk.0.attn_q.weight")->type, DType::BF16);
  auto m = Model::load(test::device(), t.dir);
  EXPECT_EQ(m->weights().layers[0].wq.type, DType::F16);
  EXPECT_EQ(m->weights().layers[1].ssm.in.type, DType::F16);
  EXPECT_EQ(m->weights().layers[1].ssm.core.a_log.type, DType::F32);
  // BF16 -> F16 is exact in F16's normal range: the reference on the BF16 values agrees to rounding.
  ref::ReferenceModel cpu(*ModelSource::open(t.dir), 64);
  Session s(*m, SessionOptions{64, 8});
  EXPECT_LT(worst_nmse(s.forward_all(prompt()), cpu.forward(prompt())), 1e-7);
  // Q8_0 on load = the same weights quantized by `convert --type q8_0` (to the rounding of the RoPE pairing).
  LoadOptions q8;
  q8.quantize = "q8_0";
  auto mq = Model::load(test::device(), t.dir, q8);
  EXPECT_EQ(mq->weights().layers[0].wq.type, DType::Q8_0);
  EXPECT_EQ(mq->weights().layers[1].ssm.dt.type, DType::F16);  // rows of dt_rank 4: too short for Q8_0 blocks
  EXPECT_LT(mq->weight_bytes(), m->weight_bytes());
  write_gguf_model(*ModelSource::open(t.dir), ModelSource::open(t.dir)->config(), {}, tmp / "q8.gguf", {DType::Q8_0});
  auto q8_gguf = Model::load(test::device(), tmp / "q8.gguf");
  EXPECT_EQ(q8_gguf->weights().layers[0].wq.type, DType::Q8_0);
  EXPECT_LT(worst_nmse(run(*mq), run(*q8_gguf)), 1e-9);
  LoadOptions bad;
  bad.quantize = "q5_k";
  EXPECT_ERROR(Model::load(test::device(), t.dir, bad), "[load] quantize 'q5_k' is not supported (q8_0, or nothing)");
}

// Rewrites dir/model.safetensors through `edit(name, tensor, bytes, writer)`.
template <class Edit>
void rewrite_weights(const std::string& dir, Edit edit) {
  const std::string path = dir + "/model.safetensors";
  std::vector<std::pair<std::string, std::vector<uint8_t>>> keep;
  SafetensorsWriter w;
  {
    SafetensorsFile f(path);
    for (const auto& t : f.tensors()) {
      auto bytes = f.data(t);
      edit(f, t, std::vector<uint8_t>(bytes.begin(), bytes.end()), w);
    }
  }
  w.write(path);
}

TEST(HfModel, FoldedDtInProjLayoutLoadsTheSame) {
  test::TempDir tmp;
  Tiny t = make_tiny(tmp, "apriel", "mistral", "MAM");
  auto want = run(*Model::load(test::device(), t.dir));
  rewrite_weights(t.dir, [&](const SafetensorsFile& f, const SafetensorsTensor& st, std::vector<uint8_t> bytes,
                             SafetensorsWriter& w) {
    if (st.name.find("mixer.dt_in_proj.weight") != std::string::npos) return;  // folded into in_proj below
    std::vector<uint64_t> shape = st.shape;
    if (st.name.find("mixer.in_proj.weight") != std::string::npos) {
      const std::string dt_in = st.name.substr(0, st.name.find("in_proj")) + "dt_in_proj.weight";
      auto extra = f.data(dt_in);
      bytes.insert(bytes.end(), extra.begin(), extra.end());
      shape[0] += f.tensor(dt_in).shape[0];
    }
    w.add(st.name, *st.type, shape, bytes);
  });
  auto src = ModelSource::open(t.dir);
  EXPECT_EQ(src->find("blk.0.ssm_in.weight")->ne, (std::vector<uint64_t>{64, 192}));
  EXPECT_EQ(src->find("blk.0.ssm_dt_in.weight")->ne, (std::vector<uint64_t>{64, 4}));
  EXPECT_EQ(run(*Model::load(test::device(), t.dir)), want);
}

// A raw safetensors file: 8-byte header length (or a claimed one), the header, `data_bytes` bytes.
std::string raw_safetensors(const std::string& header, size_t data_bytes, std::optional<uint64_t> claimed = {}) {
  const uint64_t n = claimed.value_or(header.size());
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char(uint8_t(n >> (8 * i)));
  return s + header + std::string(data_bytes, '\x11');
}

void edit_config(const std::string& dir, const std::string& from, const std::string& to) {
  std::string json = test::read_bytes(dir + "/config.json");
  const size_t at = json.find(from);
  ASSERT_NE(at, std::string::npos) << from << " in " << json;
  json.replace(at, from.size(), to);
  test::write_bytes(dir + "/config.json", json);
}

TEST(HfModelBadInput, ConfigDisagreeingWithTheWeights) {
  test::TempDir tmp;
  Tiny t = make_tiny(tmp, "cfg", "mistral", "AMA");
  const std::string good = test::read_bytes(t.dir + "/config.json");
  edit_config(t.dir, R"("hidden_size":64)", R"("hidden_size":96)");
  EXPECT_ERROR(Model::load(test::device(), t.dir),
               "config.json disagrees with the weights: tensor model.embed_tokens.weight (token_embd.weight) is 64x300, "
               "expected 96x300");
  test::write_bytes(t.dir + "/config.json", good);
  edit_config(t.dir, R"("d_state":16)", R"("d_state":8)");
  EXPECT_ERROR(Model::load(test::device(), t.dir),
               "tensor model.layers.1.mixer.A_log (blk.1.ssm_a_log) is 16x64, expected 8x64 for d_model 64, Mamba d_inner 64");
  test::write_bytes(t.dir + "/config.json", good);
  edit_config(t.dir, R"("hybrid_block_layout":["t","m2","t"])", R"("hybrid_block_layout":["t","m2"])");
  EXPECT_ERROR(Model::load(test::device(), t.dir), "key 'hybrid_block_layout' has 2 entries but num_hidden_layers is 3");
  test::write_bytes(t.dir + "/config.json", good);
  edit_config(t.dir, R"("hybrid_block_layout":["t","m2","t"])", R"("hybrid_block_layout":["t","m2d","t"])");
  EXPECT_ERROR(Model::load(test::device(), t.dir), "key 'hybrid_block_layout[1]' is \"m2d\"; supported layer codes");
  test::write_bytes(t.dir + "/config.json", good);
  edit_config(t.dir, R"("hybrid_block_layout":["t","m2","t"])", R"("hybrid_block_layout":["m2","t","t"])");
  EXPECT_ERROR(Model::load(test::device(), t.dir),
               "tensor model.layers.0.mixer.in_proj.weight (blk.0.ssm_in.weight) is missing (layer 0 is mamba in the layout)");
}

TEST(HfModelBadInput, MissingOrMisshapenMixerTensors) {
  test::TempDir tmp;
  Tiny t = make_tiny(tmp, "mixer", "mistral", "AMA");
  rewrite_weights(t.dir, [](const SafetensorsFile&, const SafetensorsTensor& st, std::vector<uint8_t> bytes,
                            SafetensorsWriter& w) {
    if (st.name != "model.layers.1.mixer.D") w.add(st.name, *st.type, st.shape, bytes);
  });
  EXPECT_ERROR(Model::load(test::device(), t.dir), "tensor model.layers.1.mixer.D (blk.1.ssm_d) is missing");
  Tiny u = make_tiny(tmp, "mixer2", "mistral", "AMA");
  rewrite_weights(u.dir, [](const SafetensorsFile&, const SafetensorsTensor& st, std::vector<uint8_t> bytes,
                            SafetensorsWriter& w) {
    std::vector<uint64_t> shape = st.shape;
    if (st.name == "model.layers.1.mixer.conv1d.weight") {  // one tap fewer
      shape.back() -= 1;
      bytes.resize(bytes.size() / 4 * 3);
    }
    w.add(st.name, *st.type, shape, bytes);
  });
  EXPECT_ERROR(Model::load(test::device(), u.dir),
               "tensor model.layers.1.mixer.conv1d.weight (blk.1.ssm_conv1d.weight) is 3x1x64, expected 4x1x64");
}

TEST(HfModelBadInput, CorruptSafetensorsHeadersSurfaceAtLoad) {
  test::TempDir tmp;
  Tiny t = make_tiny(tmp, "corrupt", "llama", "AA");
  const std::string st = t.dir + "/model.safetensors";
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
  test::write_bytes(st, raw_safetensors(overlap, 24));
  EXPECT_ERROR(Model::load(test::device(), t.dir), "tensors a [0, 16) and b [8, 24) overlap");
  const std::string one = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  test::write_bytes(st, raw_safetensors(one, 12));
  EXPECT_ERROR(Model::load(test::device(), t.dir), "data_offsets [0, 16) run past the end of the file");
  test::write_bytes(st, raw_safetensors(one, 16, 100'000'001));
  EXPECT_ERROR(Model::load(test::device(), t.dir), "header length 100000001 bytes exceeds the limit of 100000000 bytes");
  EXPECT_ERROR(inspect_model(t.dir), "header length 100000001 bytes exceeds the limit");
}

TEST(HfModelBadInput, WeightsOfAnUnusableDtypeAndNoTokenizer) {
  test::TempDir tmp;
  Tiny t = make_tiny(tmp, "dtype", "llama", "AA");
  rewrite_weights(t.dir, [](const SafetensorsFile&, const SafetensorsTensor& st, std::vector<uint8_t> bytes,
                            SafetensorsWriter& w) {
    if (st.name == "model.norm.weight") w.add(st.name, DType::I32, st.shape, bytes);  // F32 bytes relabelled
    else w.add(st.name, *st.type, st.shape, bytes);
  });
  EXPECT_ERROR(Model::load(test::device(), t.dir), "tensor model.norm.weight has dtype I32; weights must be F32, F16 or BF16");
  Tiny u = make_tiny(tmp, "notok", "llama", "AA");
  fs::remove(u.dir + "/tokenizer.json");
  EXPECT_ERROR(Model::load(test::device(), u.dir), "no tokenizer.json");
  EXPECT_EQ(inspect_model(u.dir).tokenizer_tokens, 0);  // info still works
  EXPECT_ERROR(Model::load(test::device(), tmp.path()), "a directory without config.json");
}

}  // namespace
}  // namespace ds
