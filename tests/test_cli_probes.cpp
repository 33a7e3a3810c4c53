// The probe subcommands as a user meets them (real subprocesses): `trace` stores a run and writes JSON,
// CSV and PNG heatmaps (valid PNGs, one per layer/head, rows summing to 1); `sessions` lists the runs;
// `replay` prints them from the store alone, its JSON equal to the live export; `compare` prints per-token
// rows and a per-layer summary (a model against itself: KL 0, 100% agreement); a hybrid's mixer layers show
// implied attention in trace and compare; `bench --probe-layer` prints
// both speeds; bad input is a one-line error. The same on stories260K when ../shared has it.
#include <cmath>
#include <fstream>

#include "model/synthetic.h"
#include "support/cli.h"
#include "support/files.h"
#include "support/gpu.h"
#include "util/json_parse.h"

namespace ds {
namespace {

using test::run_cli;

std::string tiny_model(const test::TempDir& dir, const std::string& name, uint64_t seed, int vocab = 320) {
  SyntheticSpec spec;
  spec.config = llama_like(2, 64, 4, 2, 128, vocab);
  spec.type = DType::F16;
  spec.seed = seed;
  spec.scale = 0.08f;
  write_synthetic_model(dir / name, spec);
  return dir / name;
}

// Width and height from a PNG's IHDR; {0, 0} when the file is not a PNG.
std::pair<uint32_t, uint32_t> png_size(const std::string& path) {
  const std::string b = test::read_bytes(path);
  if (b.size() < 24 || b.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 | uint32_t(uint8_t(b[at + 2])) << 8 |
           uint32_t(uint8_t(b[at + 3]));
  };
  return {be32(16), be32(20)};
}

TEST(CliProbes, TraceStoresExportsAndReplays) {
  test::TempDir dir;
  const std::string model = tiny_model(dir, "tiny.gguf", 1), db = dir / "db.sqlite";
  auto r = run_cli("trace " + model + " -p 'hello there' -n 5 --layers 0,1 --heads 0,2 --lens --db " + db + " --png " +
                   (dir / "png") + " --json " + (dir / "t.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("stored as run 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote 4 heatmaps"), std::string::npos) << r.out;

  const std::string text = test::read_bytes(dir / "t.json");
  const JsonValue doc = parse_json(text, "t.json");
  const JsonRef j(doc, "t.json");
  const size_t n_tokens = j.get("tokens").size();
  EXPECT_GE(n_tokens, 6u);
  ASSERT_EQ(j.get("attention").size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const JsonRef m = j.get("attention").at(i);
    const JsonRef rows = m.get("rows");
    EXPECT_EQ(rows.size(), n_tokens - 1) << "every token but the last sampled one is a query";
    for (size_t q = 0; q < rows.size(); ++q) {
      ASSERT_EQ(rows.at(q).size(), q + 1) << "causal rows";
      double sum = 0;
      for (size_t k = 0; k <= q; ++k) sum += rows.at(q).at(k).as_double();
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
  const JsonRef act = j.get("activations").at(0).get("layers").at(0);
  EXPECT_GT(act.get("residual_norm").as_double(), 0.0);
  EXPECT_EQ(act.get("logit_lens").size(), 5u);
  for (const char* f : {"layer0_head0", "layer0_head2", "layer1_head0", "layer1_head2"}) {
    const auto [w, h] = png_size(dir / ("png/" + std::string(f) + ".png"));
    EXPECT_GT(w, 200u) << f;
    EXPECT_GT(h, 100u) << f;
  }

  auto s = run_cli("sessions --db " + db);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("trace"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("tiny.gguf"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("hello there"), std::string::npos) << s.out;

  auto rep = run_cli("replay 1 --json --db " + db);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(rep.out, text + "\n") << "the replay's JSON is the live export";
  auto rep_png = run_cli("replay 1 --db " + db + " --png " + (dir / "png2"));
  ASSERT_EQ(rep_png.exit_code, 0) << rep_png.err;
  EXPECT_EQ(test::read_bytes(dir / "png2/layer1_head2.png"), test::read_bytes(dir / "png/layer1_head2.png"));
  EXPECT_NE(rep_png.out.find("hello there"), std::string::npos) << rep_png.out;
}

// A hybrid (A L M): the mixer layers' maps are implied attention (JSON "implied", rows summing to 1, heatmaps),
// kept through the store; compare names the student's mixer layers next to their JS.
TEST(CliProbes, HybridTraceAndCompareShowImpliedAttention) {
  test::TempDir dir;
  SyntheticSpec spec;
  spec.config = llama_like(3, 64, 4, 2, 128, 320);
  spec.scale = 0.08f;
  const std::string hybrid = dir / "hybrid.gguf", teacher = dir / "teacher.gguf", db = dir / "db.sqlite";
  write_synthetic_model(teacher, spec);
  set_hybrid_layout(spec.config, {LayerKind::Attention, LayerKind::Linear, LayerKind::Mamba}, 8, 3);
  spec.seed = 2;
  write_synthetic_model(hybrid, spec);
  auto r = run_cli("trace " + hybrid + " -p 'hello there' -n 4 --heads 1 --db " + db + " --png " + (dir / "png") +
                   " --json " + (dir / "t.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 3 heatmaps"), std::string::npos) << r.out;
  const std::string text = test::read_bytes(dir / "t.json");
  const JsonValue doc = parse_json(text, "t.json");
  const JsonRef j(doc, "t.json");
  ASSERT_EQ(j.get("attention").size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const JsonRef m = j.get("attention").at(i);
    EXPECT_EQ(m.get("implied").as_bool(), m.get("layer").as_double() != 0) << "layer " << i;
    const JsonRef rows = m.get("rows");
    for (size_t q = 0; q < rows.size(); ++q) {
      double sum = 0;
      for (size_t k = 0; k < rows.at(q).size(); ++k) sum += rows.at(q).at(k).as_double();
      EXPECT_NEAR(sum, 1.0, 1e-5) << "layer " << i << " query " << q;
    }
  }
  EXPECT_GT(png_size(dir / "png/layer2_head1.png").first, 200u);
  auto rep = run_cli("replay 1 --json --db " + db);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(rep.out, text + "\n") << "implied maps replay as they were";

  auto c = run_cli("compare " + teacher + " " + hybrid + " -p 'hello there' -n 4 --db " + db);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("linear (implied)"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("mamba (implied)"), std::string::npos) << c.out;
}

TEST(CliProbes, TraceCsvAndNoStore) {
  test::TempDir dir;
  const std::string model = tiny_model(dir, "tiny.gguf", 1);
  auto r = run_cli("trace " + model + " -p 'ab' -n 3 --layers 1 --heads 3 --no-store --csv " + (dir / "t.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("stored as run"), std::string::npos) << r.out;
  const std::string csv = test::read_bytes(dir / "t.csv");
  EXPECT_EQ(csv.rfind("layer,head,query,query_token,key,key_token,prob\n", 0), 0u) << csv.substr(0, 80);
  EXPECT_NE(csv.find("\n1,3,0,"), std::string::npos);
  const std::string acts = test::read_bytes(dir / "t.activations.csv");
  EXPECT_EQ(acts.rfind("position,token,layer,residual_norm", 0), 0u) << acts.substr(0, 80);
}

TEST(CliProbes, CompareSelfAndStudent) {
  test::TempDir dir;
  const std::string a = tiny_model(dir, "teacher.gguf", 1), b = tiny_model(dir, "student.gguf", 2);
  const std::string db = dir / "db.sqlite";
  auto self = run_cli("compare " + a + " " + a + " -p 'hello' -n 6 --db " + db);
  ASSERT_EQ(self.exit_code, 0) << self.err;
  EXPECT_NE(self.out.find("6 tokens: mean KL 0.00000 nats, top-1 agreement 100.0%"), std::string::npos) << self.out;
  EXPECT_NE(self.out.find("mean residual cosine"), std::string::npos) << self.out;

  auto r = run_cli("compare " + a + " " + b + " -p 'hello' -n 6 --json --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const JsonValue doc = parse_json(r.out, "compare --json");
  const JsonRef j(doc, "compare --json");
  ASSERT_EQ(j.get("tokens").size(), 6u);
  EXPECT_GT(j.get("summary").get("mean_kl").as_double(), 0.0);
  EXPECT_EQ(j.get("summary").get("layers").size(), 2u);
  EXPECT_EQ(j.get("tokens").at(0).get("layer_cosine").size(), 2u);

  auto s = run_cli("sessions --kind compare --db " + db);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("teacher.gguf > student.gguf"), std::string::npos) << s.out;
  auto rep = run_cli("replay 2 --json --db " + db);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(rep.out, r.out) << "replayed JSON equals the live one";
  auto table = run_cli("replay 2 --db " + db);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("student " + b), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("6 tokens: mean KL"), std::string::npos) << table.out;
}

TEST(CliProbes, BadInputIsAOneLineError) {
  test::TempDir dir;
  const std::string a = tiny_model(dir, "v320.gguf", 1), b = tiny_model(dir, "v384.gguf", 2, 384);
  test::expect_clean_error(run_cli("compare " + a + " " + b + " -n 2 --no-store"),
                           {"v320.gguf", "v384.gguf", "do not share a tokenizer"});
  test::expect_clean_error(run_cli("trace " + a + " -n 2 --no-store --layers 5"),
                           {"layer 5 requested but the model has 2 layers"});
  test::expect_clean_error(run_cli("trace " + a + " -n 2 --no-store --heads x"), {"--heads", "'x'"});
  test::expect_clean_error(run_cli("replay 42 --db " + (dir / "db.sqlite")), {"run 42 is not in"});
}

TEST(CliProbes, BenchPrintsBothSpeeds) {
  test::TempDir dir;
  const std::string a = tiny_model(dir, "bench.gguf", 1);
  // Shallow depths: the default 1k / 8k / 32k would prefill 32 k tokens with probes on lavapipe (minutes).
  auto r = run_cli("bench " + a + " -p 8 -n 4 --reps 1 --depths 16,64 --probe-layer 1 --probe-heads all");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("probes  layer 1, all heads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokens/s with probes"), std::string::npos) << r.out;
}

TEST(CliProbes, Stories260K) {
  DS_REQUIRE_SHARED("models/stories260K.gguf", path);
  test::TempDir dir;
  const std::string m = path.string(), db = dir / "db.sqlite";
  auto r = run_cli("trace " + m + " -p 'Once upon a time' -n 8 --layers 0,4 --heads 3 --db " + db + " --png " +
                   (dir / "png"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time, there was a little girl", 0), 0u) << r.out;
  EXPECT_GT(png_size(dir / "png/layer4_head3.png").first, 200u);
  auto c = run_cli("compare " + m + " " + m + " -p 'Once upon a time' -n 8 --db " + db);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("8 tokens: mean KL 0.00000 nats, top-1 agreement 100.0%"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("there"), std::string::npos) << c.out;
  auto rep = run_cli("replay 1 --db " + db);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("Once upon a time, there was a little girl"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("layout AAAAA"), std::string::npos) << rep.out;
}

}  // namespace
}  // namespace ds
