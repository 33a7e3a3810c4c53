// GGUF reader/writer: round trip of every metadata type and tensor type, v2 files, alignment, and
// every kind of bad file the issue lists (each gives a ds::Error naming the file and the numbers).
#include <fstream>

#include "model/gguf.h"
#include "model/llama_config.h"
#include "model/synthetic.h"
#include "support/gpu.h"
#include "util/error.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "distilscope-tests";
  fs::create_directories(dir);
  return dir / name;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// Expects a ds::Error whose message contains every fragment.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg << "\nmissing: " << frag;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error should be one line: " << msg;
  }
}

fs::path write_sample(const std::string& name) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.set_u32("u32", 7);
  w.set_i32("i32", -5);
  w.set_u64("u64", 1ull << 40);
  w.set_f32("f32", 1.5f);
  w.set_bool("flag", true);
  GgufValue u8;
  u8.type = GgufType::U8;
  u8.u = 200;
  w.set("u8", u8);
  GgufValue f64;
  f64.type = GgufType::F64;
  f64.f = 2.25;
  w.set("f64", f64);
  w.set_str_array("strs", {"a", "", "ünïcödé"});
  w.set_f32_array("f32s", {1, 2, 3});
  w.set_i32_array("i32s", {-1, 0, 1});
  GgufValue nested;
  nested.type = GgufType::ARRAY;
  nested.elem_type = GgufType::ARRAY;
  GgufValue inner;
  inner.type = GgufType::ARRAY;
  inner.elem_type = GgufType::I32;
  inner.nums = {4, 5};
  nested.items = {inner, inner};
  w.set("nested", nested);
  auto vals = test::random_floats(64, 3);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0})
    w.add_tensor_f32(std::string("t_") + dtype_name(t), t, {32, 2}, vals);
  auto p = temp_path(name);
  w.write(p.string());
  return p;
}

TEST(Gguf, RoundTripsMetadataAndTensors) {
  auto p = write_sample("roundtrip.gguf");
  GgufFile f(p.string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "test");
  EXPECT_EQ(f.get_uint("u32"), 7u);
  EXPECT_EQ(f.find("i32")->i, -5);
  EXPECT_EQ(f.get_uint("u64"), 1ull << 40);
  EXPECT_FLOAT_EQ(float(f.get_float("f32")), 1.5f);
  EXPECT_TRUE(f.get_bool("flag"));
  EXPECT_EQ(f.get_uint("u8"), 200u);
  EXPECT_DOUBLE_EQ(f.get_float("f64"), 2.25);
  EXPECT_EQ(f.get_str_array("strs"), (std::vector<std::string>{"a", "", "ünïcödé"}));
  EXPECT_EQ(f.get_num_array("f32s"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(f.get_num_array("i32s"), (std::vector<double>{-1, 0, 1}));
  ASSERT_EQ(f.find("nested")->items.size(), 2u);
  EXPECT_EQ(f.find("nested")->items[1].nums, (std::vector<double>{4, 5}));
  auto vals = test::random_floats(64, 3);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    const auto& ti = f.tensor(std::string("t_") + dtype_name(t));
    EXPECT_EQ(ti.type, t);
    EXPECT_EQ(ti.ne, (std::vector<uint64_t>{32, 2}));
    EXPECT_EQ(ti.offset % f.alignment(), 0u);
    std::vector<float> back(64);
    to_f32(t, f.data(ti).data(), back.data(), 64);
    double tol = t == DType::F32 ? 0 : t == DType::Q4_0 ? 0.2 : t == DType::Q8_0 ? 0.01 : 0.005;
    for (int i = 0; i < 64; ++i) EXPECT_NEAR(back[i], vals[i], tol) << dtype_name(t) << " element " << i;
  }
}

TEST(Gguf, ReadsVersion2AndCustomAlignment) {
  GgufWriter w;
  w.set_alignment(64);
  w.set_string("general.architecture", "test");
  w.add_tensor_f32("a", DType::F32, {3}, std::vector<float>{1, 2, 3});
  w.add_tensor_f32("b", DType::F32, {5}, std::vector<float>{4, 5, 6, 7, 8});
  auto p = temp_path("v2.gguf");
  w.write(p.string());
  auto bytes = read_bytes(p);
  bytes[4] = 2;  // v2 and v3 share the little-endian layout
  write_bytes(p, bytes);
  GgufFile f(p.string());
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("b").offset % 64, 0u);
  auto d = f.data(f.tensor("b"));
  EXPECT_EQ(reinterpret_cast<const float*>(d.data())[4], 8.0f);
}

TEST(Gguf, MissingFileAndDirectory) {
  expect_error([] { GgufFile f("/nonexistent/model.gguf"); }, {"/nonexistent/model.gguf", "cannot open"});
  expect_error([] { GgufFile f(fs::temp_directory_path().string()); }, {"is a directory"});
}

TEST(Gguf, RejectsBadMagicAndVersion) {
  auto p = write_sample("magic.gguf");
  auto bytes = read_bytes(p);
  auto bad = bytes;
  bad[0] = 'X';
  write_bytes(p, bad);
  expect_error([&] { GgufFile f(p.string()); }, {p.string(), "not a GGUF file", "magic"});
  bad = bytes;
  bad[4] = 1;
  write_bytes(p, bad);
  expect_error([&] { GgufFile f(p.string()); }, {"version 1 is not supported"});
  write_bytes(p, {1, 2, 3});
  expect_error([&] { GgufFile f(p.string()); }, {"3 bytes", "too short"});
}

TEST(Gguf, RejectsTruncationAnywhere) {
  auto p = write_sample("truncated.gguf");
  auto bytes = read_bytes(p);
  // Cut inside the header (metadata), inside the tensor directory, and inside the data section.
  for (size_t keep : {size_t(30), size_t(200), bytes.size() / 2, bytes.size() - 40}) {
    auto cut = fs::path(p.string() + "." + std::to_string(keep));
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(keep)));
    try {
      GgufFile f(cut.string());
      ADD_FAILURE() << "truncation to " << keep << " bytes not detected";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(cut.string()), std::string::npos) << msg;
      EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("left") != std::string::npos) << msg;
    }
  }
}

TEST(Gguf, TensorSizeDisagreeingWithShapeIsCaught) {
  // A tensor whose shape needs more bytes than the file holds: grow its first dimension in place.
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.add_tensor_f32("big", DType::F32, {32, 2}, test::random_floats(64, 1));
  auto p = temp_path("shape.gguf");
  w.write(p.string());
  auto bytes = read_bytes(p);
  // Find the tensor record: name "big" then n_dims (u32 = 2) then ne0 (u64 = 32).
  std::string needle = "big";
  auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  ASSERT_NE(it, bytes.end());
  size_t ne0_at = size_t(it - bytes.begin()) + 3 + 4;
  uint64_t ne0 = 3200;
  std::memcpy(&bytes[ne0_at], &ne0, 8);
  write_bytes(p, bytes);
  expect_error([&] { GgufFile f(p.string()); }, {"truncated or corrupt", "tensor big", "3200x2", "needs 25600 bytes"});
}

TEST(Gguf, UnsupportedTensorTypeIsListedButNotLoadable) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.add_tensor_f32("t", DType::F32, {32}, test::random_floats(32, 1));
  auto p = temp_path("qk.gguf");
  w.write(p.string());
  auto bytes = read_bytes(p);
  std::string needle = "t";
  // type field follows name(1) + n_dims(4) + ne0(8): locate the tensor record by its name length prefix.
  std::vector<uint8_t> rec = {1, 0, 0, 0, 0, 0, 0, 0, 't'};
  auto it = std::search(bytes.begin(), bytes.end(), rec.begin(), rec.end());
  ASSERT_NE(it, bytes.end());
  size_t type_at = size_t(it - bytes.begin()) + 9 + 4 + 8;
  uint32_t q4k = 12;
  std::memcpy(&bytes[type_at], &q4k, 4);
  write_bytes(p, bytes);
  GgufFile f(p.string());
  EXPECT_EQ(f.tensor("t").ggml_type, 12u);
  expect_error([&] { (void)f.data(f.tensor("t")); }, {"tensor t", "Q4_K", "not supported"});
}

TEST(Gguf, WriterLeavesNoPartialFile) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  expect_error([&] { w.write("/nonexistent-dir/x.gguf"); }, {"/nonexistent-dir/x.gguf.tmp", "cannot create"});
  EXPECT_FALSE(fs::exists("/nonexistent-dir/x.gguf.tmp"));
  // A good file stays intact when a later write of the same path fails before renaming: simulate by
  // writing to a path whose temp name is a directory.
  auto p = temp_path("keep.gguf");
  write_sample("keep.gguf");
  auto before = read_bytes(p);
  fs::create_directories(p.string() + ".tmp");
  expect_error([&] { w.write(p.string()); }, {"keep.gguf.tmp"});
  fs::remove_all(p.string() + ".tmp");
  EXPECT_EQ(read_bytes(p), before);
}

TEST(Gguf, WriterChecksSizes) {
  GgufWriter w;
  std::vector<uint8_t> three(3);
  expect_error([&] { w.add_tensor("x", DType::F32, {2}, three); }, {"tensor x", "needs 8 bytes, got 3"});
  expect_error([&] { w.add_tensor_f32("q", DType::Q8_0, {31}, std::vector<float>(31)); }, {"tensor q"});
}

TEST(LlamaConfig, UnknownArchitectureAndMissingOrMisshapenTensors) {
  SyntheticSpec spec;
  spec.config = llama_like(2, 64, 4, 2, 96, 300);
  auto p = temp_path("tiny.gguf");
  write_synthetic_model(p.string(), spec);
  GgufFile ok(p.string());
  EXPECT_EQ(read_llama_config(ok).n_layers, 2);

  // Unknown architecture: rewrite the architecture string in place ("llama" -> "gptjx", same length).
  auto bytes = read_bytes(p);
  std::string arch_val = "llama";
  std::string key = "general.architecture";
  auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
  ASSERT_NE(it, bytes.end());
  auto v = std::search(it, bytes.end(), arch_val.begin(), arch_val.end());
  auto bad = bytes;
  std::memcpy(&bad[size_t(v - bytes.begin())], "gptjx", 5);
  write_bytes(p, bad);
  expect_error([&] { read_llama_config(GgufFile(p.string())); }, {"architecture 'gptjx' is not supported"});

  write_bytes(p, bytes);
  GgufFile good(p.string());
  // Copies `good`, dropping tensor `drop` and giving tensor `reshape` the shape `ne`.
  auto variant = [&](const std::string& name, const std::string& drop, const std::string& reshape,
                     std::vector<uint64_t> ne) {
    GgufWriter w;
    for (const auto& k : good.key_order()) w.set(k, *good.find(k));
    for (const auto& t : good.tensors()) {
      if (t.name == drop) continue;
      if (t.name == reshape) {
        w.add_tensor_f32(t.name, DType::F32, ne, std::vector<float>(ne[0] * ne[1]));
      } else {
        w.add_tensor(t.name, t.type, t.ne, good.data(t));
      }
    }
    auto out = temp_path(name);
    w.write(out.string());
    return out.string();
  };
  auto missing = variant("missing.gguf", "blk.0.attn_k.weight", "", {});
  expect_error([&] { read_llama_config(GgufFile(missing)); }, {"blk.0.attn_k.weight is missing"});
  auto misshapen = variant("misshapen.gguf", "", "blk.1.ffn_up.weight", {64, 95});
  expect_error([&] { read_llama_config(GgufFile(misshapen)); }, {"blk.1.ffn_up.weight is 64x95, expected 64x96"});
}

}  // namespace
}  // namespace ds
