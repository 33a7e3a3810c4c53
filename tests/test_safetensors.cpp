// Safetensors: writer -> reader round trips (single file and sharded directory), and bad files,
// each with its message: oversized or truncated header, offsets outside the file, overlaps, sizes
// disagreeing with shapes, invalid JSON, missing shard, tensor missing from its shard.
#include "model/safetensors.h"

#include <filesystem>

#include "support/files.h"
#include "util/json_parse.h"

namespace ds {
namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

// A file from a literal header: 8-byte length (or a claimed one), the header, `data_bytes` of data.
std::string raw_file(const std::string& header, size_t data_bytes, std::optional<uint64_t> claimed_len = {}) {
  uint64_t n = claimed_len.value_or(header.size());
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char(uint8_t(n >> (8 * i)));
  return s + header + std::string(data_bytes, '\x5a');
}

struct Written {
  std::string name;
  DType type;
  std::vector<uint64_t> shape;
  std::vector<uint8_t> bytes;
};

std::vector<Written> sample_tensors() {
  return {
      {"model.embed_tokens.weight", DType::BF16, {10, 8}, pattern(160, 1)},
      {"model.norm.weight", DType::F32, {8}, pattern(32, 2)},
      {"a.f16", DType::F16, {3, 5}, pattern(30, 3)},
      {"ids", DType::I32, {2, 2, 2}, pattern(32, 4)},
      {"scalar", DType::F32, {}, pattern(4, 5)},
      {"empty", DType::F32, {0, 4}, {}},
      {"odd.bf16", DType::BF16, {7}, pattern(14, 6)},
  };
}

void expect_all_readable(const std::vector<Written>& ts, const auto& reader) {
  for (auto& w : ts) {
    SCOPED_TRACE(w.name);
    const SafetensorsTensor& t = reader.tensor(w.name);
    EXPECT_EQ(t.shape, w.shape);
    ASSERT_TRUE(t.type.has_value());
    EXPECT_EQ(*t.type, w.type);
    auto d = reader.data(w.name);
    EXPECT_EQ(std::vector<uint8_t>(d.begin(), d.end()), w.bytes);
  }
}

TEST(SafetensorsRoundTrip, SingleFile) {
  test::TempDir dir;
  SafetensorsWriter w;
  auto ts = sample_tensors();
  for (auto& t : ts) w.add(t.name, t.type, t.shape, t.bytes);
  w.set_metadata("creator", "distilscope");
  w.write(dir / "m.safetensors");

  SafetensorsFile f(dir / "m.safetensors");
  EXPECT_EQ(f.tensors().size(), ts.size());
  EXPECT_EQ(f.data_offset() % 8, 0u);  // header padded: data starts 8-aligned
  expect_all_readable(ts, f);
  // Packed larger elements first: every tensor is aligned to its element size.
  for (auto& t : f.tensors()) EXPECT_EQ((f.data_offset() + t.begin) % (t.elem_bits / 8), 0u) << t.name;
  EXPECT_EQ(f.tensor("model.embed_tokens.weight").ggml_ne(), (std::vector<uint64_t>{8, 10}));
  EXPECT_EQ(f.tensor("ids").dtype, "I32");
  EXPECT_EQ(f.tensor("empty").n_elements(), 0u);
  auto md = f.metadata();
  EXPECT_EQ(md, (std::vector<std::pair<std::string, std::string>>{{"format", "pt"}, {"creator", "distilscope"}}));
  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_ERROR(f.tensor("nope"), "no tensor named nope (7 tensors in the file)");
}

TEST(SafetensorsRoundTrip, ShardedDirectoryWithIndex) {
  test::TempDir dir;
  SafetensorsWriter w;
  auto ts = sample_tensors();
  for (auto& t : ts) w.add_view(t.name, t.type, t.shape, t.bytes);
  auto files = w.write_dir(dir.path(), 64);  // the 160-byte tensor alone exceeds the limit
  ASSERT_GT(files.size(), 3u);
  EXPECT_EQ(files.back(), "model.safetensors.index.json");
  EXPECT_EQ(files.front(), cat("model-00001-of-0000", files.size() - 1, ".safetensors"));

  SafetensorsDir d(dir.path());
  EXPECT_TRUE(d.sharded());
  EXPECT_EQ(d.files().size(), files.size() - 1);
  EXPECT_EQ(d.names().size(), ts.size());
  expect_all_readable(ts, d);
  for (auto& f : d.files()) {
    uint64_t bytes = 0;
    for (auto& t : f->tensors()) bytes += t.n_bytes();
    EXPECT_TRUE(bytes <= 64 || f->tensors().size() == 1) << f->path();
  }
  JsonDocument index = read_json_file(dir / "model.safetensors.index.json");
  EXPECT_EQ(JsonRef(index).get("metadata").get("total_size").as_int(), int64_t(w.total_bytes()));
  EXPECT_EQ(JsonRef(index).get("weight_map").size(), ts.size());
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors"));

  // Rewriting as one file replaces the index, so the directory reads back as written.
  w.write_dir(dir.path());
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  SafetensorsDir single(dir.path());
  EXPECT_FALSE(single.sharded());
  expect_all_readable(ts, single);
  EXPECT_EQ(single.file_of("ids").path(), dir / "model.safetensors");
  EXPECT_ERROR(single.tensor("missing"), "no tensor named missing (7 tensors in 1 file(s))");
}

TEST(SafetensorsRoundTrip, UnsortedOffsetsAndUnsupportedDtypes) {
  test::TempDir dir;
  // Header order differs from data order; an I64 and an unknown dtype are listed but unreadable.
  std::string h = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},)"
                  R"("a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},)"
                  R"("c":{"dtype":"F9_NEW","shape":[3],"data_offsets":[24,27]}})";
  test::write_bytes(dir / "x.safetensors", raw_file(h, 27));
  SafetensorsFile f(dir / "x.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "b");  // header order is kept
  EXPECT_EQ(f.data("b").size(), 8u);
  EXPECT_FALSE(f.tensor("a").type.has_value());
  EXPECT_ERROR(f.data("a"), "tensor a has dtype I64, which the engine cannot use (F32, F16, BF16, I32 are supported)");
  EXPECT_ERROR(f.data("c"), "tensor c has dtype F9_NEW (unknown to this reader)");
}

// ---- bad files ----

class SafetensorsBad : public testing::Test {
 protected:
  std::string open_error(const std::string& bytes) {
    test::write_bytes(dir_ / "bad.safetensors", bytes);
    return test::error_of([&] { SafetensorsFile f(dir_ / "bad.safetensors"); });
  }
  test::TempDir dir_;
};

#define EXPECT_OPEN_ERROR(bytes, substr)                                                    \
  do {                                                                                      \
    std::string m_ = open_error(bytes);                                                     \
    EXPECT_NE(m_.find(substr), std::string::npos) << "message: " << m_;                    \
    EXPECT_EQ(m_.rfind("[safetensors] ", 0), 0u) << "message: " << m_;                      \
  } while (0)

const std::string k_one = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";

TEST_F(SafetensorsBad, TooSmall) { EXPECT_OPEN_ERROR("abc", "file is 3 bytes, too small for the 8-byte header length"); }

TEST_F(SafetensorsBad, HeaderLengthOver100MB) {
  EXPECT_OPEN_ERROR(raw_file(k_one, 16, 100'000'001), "header length 100000001 bytes exceeds the limit of 100000000 bytes");
  EXPECT_OPEN_ERROR(raw_file(k_one, 16, ~0ull), "header length 18446744073709551615 bytes exceeds the limit");
}

TEST_F(SafetensorsBad, HeaderPastEndOfFile) {
  EXPECT_OPEN_ERROR(raw_file(k_one, 0, k_one.size() + 5),
                    cat("header of ", k_one.size() + 5, " bytes runs past the end of the file (", k_one.size() + 8, " bytes)"));
}

TEST_F(SafetensorsBad, OffsetsOutOfFile) {
  EXPECT_OPEN_ERROR(raw_file(k_one, 12), "tensor w: data_offsets [0, 16) run past the end of the file (data section is 12 bytes)");
}

TEST_F(SafetensorsBad, EndBeforeBegin) {
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 16),
                    "tensor w: data_offsets [8, 4) end before they begin");
}

TEST_F(SafetensorsBad, OverlappingTensors) {
  std::string h = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},)"
                  R"("c":{"dtype":"F32","shape":[4],"data_offsets":[12,28]}})";
  EXPECT_OPEN_ERROR(raw_file(h, 32), "tensors a [0, 16) and c [12, 28) overlap");
  std::string inside = R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  EXPECT_OPEN_ERROR(raw_file(inside, 32), "tensors a [0, 32) and b [8, 12) overlap");
}

TEST_F(SafetensorsBad, SizeDisagreesWithShape) {
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,30]}})", 30),
                    "tensor w: BF16 [4, 4] needs 32 bytes but data_offsets [0, 30) hold 30");
}

TEST_F(SafetensorsBad, InvalidJsonHeader) {
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32" "shape":[1]}})", 4),
                    "invalid JSON header: [json] header:1:21: expected ',' or '}' after object member");
  EXPECT_OPEN_ERROR(raw_file("[1, 2]", 0), "header: the document is an array, expected an object");
}

TEST_F(SafetensorsBad, WrongFieldTypes) {
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4),
                    "header: key 'w.dtype' is 5, expected a string");
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                    "key 'w.shape[0]' is -1, expected an integer in [0,");
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
                    "key 'w.data_offsets' has 1 elements, expected 2 (begin, end)");
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32","shape":[1]}})", 4), "required key 'w.data_offsets' is missing");
  EXPECT_OPEN_ERROR(raw_file(R"({"__metadata__":{"format":1}})", 0), "key '__metadata__.format' is 1, expected a string");
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{}})", 4), "duplicate key \"w\"");
}

TEST_F(SafetensorsBad, ShapeOverflow) {
  EXPECT_OPEN_ERROR(raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
                    "tensor w: shape [4294967296, 4294967296] overflows");
}

// ---- shard directories ----

void write_two_shards(const test::TempDir& dir) {
  SafetensorsWriter w;
  w.add("a", DType::F32, {64}, pattern(256, 1));
  w.add("b", DType::F32, {64}, pattern(256, 2));
  w.write_dir(dir.path(), 300);
}

TEST(SafetensorsDirBad, MissingShard) {
  test::TempDir dir;
  write_two_shards(dir);
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  EXPECT_ERROR(SafetensorsDir d(dir.path()),
               "model.safetensors.index.json: shard model-00002-of-00002.safetensors (holding tensor b) does not exist in");
}

TEST(SafetensorsDirBad, TensorMissingFromItsShard) {
  test::TempDir dir;
  write_two_shards(dir);
  std::string index = test::read_bytes(dir / "model.safetensors.index.json");
  const std::string from = "\"b\":\"model-00002", to = "\"b\":\"model-00001";
  size_t at = index.find(from);
  ASSERT_NE(at, std::string::npos) << index;
  index.replace(at, from.size(), to);
  test::write_bytes(dir / "model.safetensors.index.json", index);
  EXPECT_ERROR(SafetensorsDir d(dir.path()),
               "model.safetensors.index.json: tensor b is mapped to model-00001-of-00002.safetensors, which does not contain it");
}

TEST(SafetensorsDirBad, IndexProblems) {
  test::TempDir dir;
  test::write_bytes(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  EXPECT_ERROR(SafetensorsDir d(dir.path()), "model.safetensors.index.json: required key 'weight_map' is missing");
  test::write_bytes(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "../x.safetensors"}})");
  EXPECT_ERROR(SafetensorsDir d(dir.path()), "key 'weight_map.a' names shard '../x.safetensors', which is not a file inside");
  test::write_bytes(dir / "model.safetensors.index.json", R"({"weight_map": {"a": 3}})");
  EXPECT_ERROR(SafetensorsDir d(dir.path()), "key 'weight_map.a' is 3, expected a string");
}

TEST(SafetensorsDirBad, NoWeights) {
  test::TempDir dir;
  EXPECT_ERROR(SafetensorsDir d(dir.path()), "has neither model.safetensors nor model.safetensors.index.json (not a Hugging Face");
  test::write_bytes(dir / "other.safetensors", raw_file("{}", 0));
  EXPECT_ERROR(SafetensorsDir d(dir.path()), "(found other.safetensors)");
}

// ---- writer misuse ----

TEST(SafetensorsWriterBad, RejectsWhatCannotBeWritten) {
  SafetensorsWriter w;
  auto b = pattern(16, 0);
  EXPECT_ERROR(w.add("x", DType::F32, {3}, b), "tensor x: F32 with 3 elements needs 12 bytes, got 16");
  EXPECT_ERROR(w.add("q", DType::Q8_0, {32}, pattern(34, 0)), "type Q8_0 has no safetensors dtype");
  EXPECT_ERROR(w.add("__metadata__", DType::F32, {4}, b), "invalid tensor name '__metadata__'");
  w.add("x", DType::F32, {4}, b);
  EXPECT_ERROR(w.add("x", DType::F32, {4}, b), "tensor x added twice");
}

}  // namespace
}  // namespace ds
