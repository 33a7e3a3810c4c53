// get_rows for every table type against the reference on the same dequantized table (a lookup
// copies values, so the result must be exact), out-of-range ids as zero columns, shape errors.
#include <algorithm>
#include <random>
#include <string>

#include "ops/embed.h"
#include "ref/embed.h"
#include "support/gpu.h"

namespace ds {
namespace {

struct EmbedCase {
  DType type;
  int K, V, M;
};

std::string case_name(const EmbedCase& c) {
  std::string s = dtype_name(c.type);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return s + "_K" + std::to_string(c.K) + "_V" + std::to_string(c.V) + "_M" + std::to_string(c.M);
}

void PrintTo(const EmbedCase& c, std::ostream* os) { *os << case_name(c); }

Tensor ids_tensor(const std::vector<int32_t>& ids) {
  Tensor t = test::empty_tensor(DType::I32, {int64_t(ids.size()), 1, 1, 1}, "ids");
  upload(test::device(), t, ids.data());
  return t;
}

// Looks ids up on the device and on the host; returns (gpu, reference).
std::pair<std::vector<float>, std::vector<float>> lookup(DType type, int K, int V, const std::vector<int32_t>& ids) {
  test::arena().reset();
  Tensor table = test::tensor_from(test::random_floats(size_t(K) * V, 7), type, {K, V, 1, 1}, "token_embd");
  Tensor tids = ids_tensor(ids);
  Tensor out = test::empty_tensor(DType::F32, {K, int64_t(ids.size()), 1, 1}, "out");
  test::run([&](vk::Recorder& r) { ops::get_rows(r, table, tids, out); });
  std::vector<float> want(size_t(K) * ids.size());
  ref::get_rows(download_f32(test::device(), table), ids, want, K, V);
  return {download_f32(test::device(), out), want};
}

class GetRowsTest : public testing::TestWithParam<EmbedCase> {};

TEST_P(GetRowsTest, CopiesDequantizedRowsExactly) {
  auto [type, K, V, M] = GetParam();
  std::mt19937 rng(11);
  std::vector<int32_t> ids(static_cast<size_t>(M));
  for (auto& id : ids) id = int32_t(rng() % uint32_t(V));
  ids.back() = V - 1;  // the last row, so an off-by-one in the table's extent shows
  auto [got, want] = lookup(type, K, V, ids);
  // Dequantization is exact in F32 (d * q, half and bf16 widening), so the copy must be bit-exact.
  EXPECT_EQ(got, want);
}

std::vector<EmbedCase> cases() {
  std::vector<EmbedCase> out;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    out.push_back({t, 64, 100, 7});
    out.push_back({t, 2048, 300, 3});
    out.push_back({t, 96, 33, 130});
    out.push_back({t, 32, 1, 1});
    if (t == DType::F32 || t == DType::F16 || t == DType::BF16) {
      out.push_back({t, 40, 9, 5});   // K % 32 != 0
      out.push_back({t, 70, 17, 4});  // K % 8 != 0: one weight per invocation
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Types, GetRowsTest, testing::ValuesIn(cases()),
                         [](const auto& info) { return case_name(info.param); });

TEST(GetRows, OutOfRangeIdsGiveZeroColumns) {
  for (DType t : {DType::F16, DType::Q4_0}) {
    const int K = 64, V = 10;
    std::vector<int32_t> ids = {3, -1, V, 0, V + 1000, V - 1};
    auto [got, want] = lookup(t, K, V, ids);
    EXPECT_EQ(got, want);
    for (int k = 0; k < K; ++k) {
      EXPECT_EQ(got[1 * K + k], 0.0f);
      EXPECT_EQ(got[2 * K + k], 0.0f);
      EXPECT_EQ(got[4 * K + k], 0.0f);
    }
  }
}

TEST(GetRows, RejectsBadShapesAndTypes) {
  test::arena().reset();
  Tensor table = test::empty_tensor(DType::Q8_0, {64, 10, 1, 1}, "token_embd");
  Tensor ids = test::empty_tensor(DType::I32, {3, 1, 1, 1}, "ids");
  auto call = [&](const Tensor& tab, const Tensor& i, const Tensor& out) {
    test::run([&](vk::Recorder& r) { ops::get_rows(r, tab, i, out); });
  };
  EXPECT_THROW(call(table, ids, test::empty_tensor(DType::F32, {63, 3, 1, 1}, "out_k")), Error);
  EXPECT_THROW(call(table, ids, test::empty_tensor(DType::F32, {64, 4, 1, 1}, "out_m")), Error);
  EXPECT_THROW(call(table, ids, test::empty_tensor(DType::F16, {64, 3, 1, 1}, "out_f16")), Error);
  EXPECT_THROW(call(table, test::empty_tensor(DType::F32, {3, 1, 1, 1}, "ids_f32"),
                    test::empty_tensor(DType::F32, {64, 3, 1, 1}, "out")),
               Error);
  EXPECT_THROW(call(test::empty_tensor(DType::I32, {64, 10, 1, 1}, "table_i32"), ids,
                    test::empty_tensor(DType::F32, {64, 3, 1, 1}, "out")),
               Error);
}

}  // namespace
}  // namespace ds
