// The CLI as a user meets it: real subprocesses of distilscope-cli. Bad input (missing, truncated,
// corrupt or unsupported files, unknown architecture, a bad device) gives one line on stderr that
// names the file or device, and exit code 1, never a crash.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "model/gguf.h"
#include "model/synthetic.h"
#include "support/cli_run.h"
#include "support/gpu.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using test::expect_clean_error;
using test::run_cli;

fs::path tiny_model(const std::string& name, DType type = DType::F32) {
  fs::path p = fs::temp_directory_path() / "distilscope-cli-test" / (std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p.parent_path());
  SyntheticSpec spec;
  spec.config = llama_like(2, 64, 4, 2, 128, 320);
  spec.type = type;
  write_synthetic_model(p.string(), spec);
  return p;
}

TEST(Cli, HelpListsSubcommands) {
  auto r = run_cli("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"devices", "info", "run", "tokenize", "bench", "synth", "convert", "linearize"})
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
}

TEST(Cli, DevicesListsTheTestDevice) {
  auto r = run_cli("devices");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(test::device().info().name), std::string::npos) << r.out;
}

TEST(Cli, InfoShowsShapesAndJson) {
  auto p = tiny_model("info.gguf", DType::Q8_0);
  auto r = run_cli("info " + p.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layers        2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Q8_0"), std::string::npos) << r.out;
  r = run_cli("info --json " + p.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"d_model\":64"), std::string::npos) << r.out;
}

TEST(Cli, MissingFile) {
  expect_clean_error(run_cli("info /no/such/model.gguf"), {"/no/such/model.gguf", "cannot open"});
  expect_clean_error(run_cli("run /no/such/model.gguf -n 2"), {"/no/such/model.gguf"});
}

TEST(Cli, TruncatedAndCorruptFiles) {
  auto p = tiny_model("trunc.gguf");
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto cut = p.parent_path() / "cut.gguf";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_clean_error(run_cli("info " + cut.string()), {cut.string(), "truncated"});
  expect_clean_error(run_cli("run " + cut.string() + " -n 1"), {cut.string(), "truncated"});
  auto junk = p.parent_path() / "junk.gguf";
  std::ofstream(junk, std::ios::binary) << "this is not a model file at all";
  expect_clean_error(run_cli("info " + junk.string()), {junk.string(), "not a GGUF file"});
}

TEST(Cli, UnknownArchitectureAndUnsupportedType) {
  auto p = tiny_model("arch.gguf");
  GgufFile f(p.string());
  GgufWriter w;
  for (const auto& k : f.key_order()) w.set(k, *f.find(k));
  w.set_string("general.architecture", "rwkv9");
  auto bad = p.parent_path() / "rwkv.gguf";
  w.write(bad.string());
  expect_clean_error(run_cli("info " + bad.string()), {bad.string(), "architecture 'rwkv9' is not supported"});

  // A matrix of an unsupported quantization type (Q4_K = 12): patch one tensor's type field.
  std::ifstream in(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string name = "blk.0.ffn_up.weight";
  size_t at = bytes.find(name);
  ASSERT_NE(at, std::string::npos);
  size_t type_at = at + name.size() + 4 + 2 * 8;
  uint32_t q4k = 12;
  std::memcpy(&bytes[type_at], &q4k, 4);
  auto qk = p.parent_path() / "q4k.gguf";
  std::ofstream(qk, std::ios::binary) << bytes;
  expect_clean_error(run_cli("run " + qk.string() + " -n 1"), {qk.string(), "blk.0.ffn_up.weight", "Q4_K"});
}

TEST(Cli, BadDevice) {
  auto p = tiny_model("dev.gguf");
  expect_clean_error(run_cli("run " + p.string() + " -n 1 --device 42"), {"device index 42 does not exist"});
  expect_clean_error(run_cli("run " + p.string() + " -n 1 --device nonexistent-gpu"), {"nonexistent-gpu"});
}

TEST(Cli, PromptLongerThanContext) {
  auto p = tiny_model("ctx.gguf");
  auto r = run_cli("run " + p.string() + " --ctx 8 -n 4 -p 'a prompt that is much longer than eight tokens'");
  expect_clean_error(r, {"prompt has", "8-token context"});
}

TEST(Cli, RunsAndStreamsDeterministically) {
  auto p = tiny_model("run.gguf", DType::F16);
  auto a = run_cli("run " + p.string() + " -p 'hello' -n 12 --seed 3 --temp 0.9 -q");
  auto b = run_cli("run " + p.string() + " -p 'hello' -n 12 --seed 3 --temp 0.9 -q");
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("hello", 0), 0u) << a.out;
}

// Hybrid students from the command line: linearize (GGUF and HF directory), info's layout and state memory,
// convert (layout kept), synth layouts, bench with a student, and the usual clean errors.
TEST(CliHybrid, LinearizeConvertInfoRunAndBench) {
  auto teacher = tiny_model("teacher.gguf", DType::F16);
  const std::string dir = teacher.parent_path().string() + "/" + std::to_string(::getpid()) + "-";
  auto r = run_cli("linearize " + teacher.string() + " --layers 1 --mixer mamba -o " + dir + "m.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("layout AM (1 mamba layers)"), std::string::npos) << r.out;
  r = run_cli("info " + dir + "m.gguf");
  EXPECT_NE(r.out.find("1 attention, 1 mamba, 0 linear   layout AM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mixer state"), std::string::npos) << r.out;
  r = run_cli("info --json " + dir + "m.gguf");
  EXPECT_NE(r.out.find(R"("layout":["attention","mamba"])"), std::string::npos) << r.out;
  r = run_cli("convert " + dir + "m.gguf " + dir + "m8.gguf --type q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("info " + dir + "m8.gguf");
  EXPECT_NE(r.out.find("layout AM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Q8_0"), std::string::npos) << r.out;
  r = run_cli("run " + dir + "m8.gguf -p 'hello' -n 6 --temp 0 -q");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("linearize " + teacher.string() + " --layers 0 --mixer linear --window 4 -o " + dir + "l.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("bench " + teacher.string() + " --student " + dir + "m.gguf --student " + dir +
              "l.gguf --depths 16,48 -n 4 --reps 1 --prompt-len 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ratio student/teacher"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("student LA"), std::string::npos) << r.out;
  // An Apriel-style HF directory (the SentencePiece tokenizer cannot be exported: a note, not an error).
  r = run_cli("linearize " + teacher.string() + " --layers 0 -o " + dir + "hf/");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: tokenizer not written"), std::string::npos) << r.err;
  r = run_cli("info " + dir + "hf");
  EXPECT_NE(r.out.find("Hugging Face directory"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("apriel_hybrid"), std::string::npos) << r.out;
  r = run_cli("synth -o " + dir + "syn.gguf --layers 4 --d-model 64 --heads 4 --kv-heads 2 --ffn 128 --vocab 320 "
              "--mixer linear --replace 0.5");
  EXPECT_NE(r.out.find("layout ALAL"), std::string::npos) << r.out << r.err;
}

TEST(CliHybrid, BadRequestsAreCleanErrors) {
  auto teacher = tiny_model("bad-teacher.gguf");
  const std::string out = teacher.string() + ".out.gguf";
  expect_clean_error(run_cli("linearize " + teacher.string() + " --layers 5 -o " + out), {"layer 5 is outside"});
  expect_clean_error(run_cli("linearize " + teacher.string() + " --layers 1 --mixer gdn -o " + out),
                     {"unknown --mixer 'gdn'"});
  expect_clean_error(run_cli("linearize " + teacher.string() + " --layers 1 --d-state 5 -o " + out),
                     {"--d-state 5 must divide the KV width 32"});
  expect_clean_error(run_cli("linearize " + teacher.string() + " --layers 1 --mixer linear -o " + out + "dir/"),
                     {"linear mixers have no Hugging Face"});
  expect_clean_error(run_cli("convert " + teacher.string() + " " + out + " --type q5_k"), {"unknown --type 'q5_k'"});
  expect_clean_error(run_cli("synth -o " + out + " --layers 2 --layout AX"), {"letter 2 is 'X'"});
  expect_clean_error(run_cli("synth -o " + out + " --layers 2 --layout AAA"), {"layout of 3 layers for a model of 2"});
}

}  // namespace
}  // namespace ds
