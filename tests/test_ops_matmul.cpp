// matmul (mat-vec and tiled kernels, every weight type) against the CPU reference applied to the
// same dequantized weights, so only F32 accumulation order separates them; plus shape errors.
#include <algorithm>
#include <string>

#include "ops/matmul.h"
#include "ref/compare.h"
#include "ref/matmul.h"
#include "support/gpu.h"

namespace ds {
namespace {

using ops::MatmulPath;

struct MatmulCase {
  DType type;
  int K, N, M;
  bool bias, accumulate;
  MatmulPath path = MatmulPath::Auto;
  bool vector_loads = true;
  ops::MatvecConfig matvec{};
  ops::CoopMatTile tile = ops::CoopMatTile::Auto;
  bool split_scratch = false;  // pass a split-K workspace (the tensor-core path may split K)
  bool half_x = false;         // x in F16 (prefill activations on tensor-core devices)
};

std::string type_tag(DType t) {
  std::string s = dtype_name(t);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string case_name(const MatmulCase& c) {
  std::string s = type_tag(c.type) + "_K" + std::to_string(c.K) + "_N" + std::to_string(c.N) + "_M" +
                  std::to_string(c.M) + (c.bias ? "_bias" : "") + (c.accumulate ? "_acc" : "");
  if (c.path == MatmulPath::MatVec) s += "_matvec";
  if (c.path == MatmulPath::Tiled) s += "_tiled";
  if (c.path == MatmulPath::CoopMat) s += "_coopmat";
  if (!c.vector_loads) s += "_scalar";
  if (c.matvec.workgroup != ops::MatvecConfig{}.workgroup || c.matvec.rows != ops::MatvecConfig{}.rows ||
      c.matvec.max_cols != ops::MatvecConfig{}.max_cols)
    s += "_wg" + std::to_string(c.matvec.workgroup) + "_r" + std::to_string(c.matvec.rows) + "_c" +
         std::to_string(c.matvec.max_cols);
  if (c.matvec.kernel == ops::MatvecKernel::SubgroupRows) s += "_rows_u" + std::to_string(c.matvec.unroll);
  if (c.tile != ops::CoopMatTile::Auto) s += std::string("_tile_") + ops::coopmat_tile_name(c.tile);
  if (c.split_scratch) s += "_split" + std::to_string(ops::coopmat_split_k(c.K, c.N, c.M));
  if (c.half_x) s += "_x16";
  return s;
}

void PrintTo(const MatmulCase& c, std::ostream* os) { *os << case_name(c); }

// Threshold on nmse. The reference sums in double over the weights the kernel reads (downloaded
// back from the device, i.e. dequantized exactly as stored), and dequantization in the kernel is
// exact in F32 for every type, so what remains is F32 rounding of the sums: about 1e-14 .. 1e-12
// here (max 8e-13 on lavapipe, at K = 2048). 1e-10 leaves a wide margin (longer rows, other
// summation orders) while any indexing or dequantization mistake gives nmse > 1e-3.
constexpr double k_nmse_max = 1e-10;

// Whether this case runs on the tensor-core kernel (forced, or chosen by Auto on a device that has it).
bool takes_coopmat(const MatmulCase& c, const Tensor& w, const Tensor& x) {
  if (c.half_x && c.tile == ops::CoopMatTile::Classic) return false;  // F16 x: the tiled kernel instead
  if (c.path == MatmulPath::CoopMat) return true;
  bool aligned = c.vector_loads && c.K % 8 == 0 && w.buf.offset % 16 == 0 && x.buf.offset % 16 == 0;
  return c.path == MatmulPath::Auto && c.M > int(c.matvec.max_cols) && ops::uses_coopmat(test::device(), w, aligned);
}

struct CaseResult {
  double nmse = 0;
  bool coopmat = false;  // ran on tensor cores (F32 accumulation of F16 products: a looser bound)
  bool skipped = false;
};

CaseResult run_case(const MatmulCase& c) {
  if (c.path == MatmulPath::CoopMat && !test::device().has_coopmat_nv()) return {0, true, true};
  test::arena().reset();
  auto w = test::random_floats(size_t(c.K) * c.N, 1);
  auto x = test::random_floats(size_t(c.K) * c.M, 2);
  if (c.half_x)  // the values an F16 tensor holds, so the reference sees exactly what the kernel reads
    for (auto& v : x) v = f16_to_f32(f32_to_f16(v));
  auto bias = test::random_floats(size_t(c.N), 3);
  auto y0 = test::random_floats(size_t(c.N) * c.M, 4);
  Tensor tw = test::tensor_from(w, c.type, {c.K, c.N, 1, 1}, "w");
  Tensor tx = test::tensor_from(x, c.half_x ? DType::F16 : DType::F32, {c.K, c.M, 1, 1}, "x");
  Tensor ty = test::tensor_from(y0, DType::F32, {c.N, c.M, 1, 1}, "y");
  Tensor tb = c.bias ? test::tensor_from(bias, DType::F32, {c.N, 1, 1, 1}, "bias") : Tensor{};
  ops::MatmulOptions o;
  o.bias = tb;
  o.accumulate = c.accumulate;
  o.path = c.path;
  o.vector_loads = c.vector_loads;
  o.matvec = &c.matvec;
  o.coopmat_tile = c.tile;
  if (c.split_scratch)
    o.split_scratch = test::empty_tensor(
        DType::F32, {int64_t(std::max<size_t>(4, ops::matmul_split_elems(c.K, c.N, c.M))), 1, 1, 1}, "split");
  test::run([&](vk::Recorder& r) { ops::matmul(r, tw, tx, ty, o); });

  std::vector<float> wq = download_f32(test::device(), tw);  // the weights as the kernel sees them
  std::vector<float> xr = x;
  const bool coop = takes_coopmat(c, tw, tx);
  if (coop) {  // tensor cores see x and W rounded to F16
    for (auto& v : wq) v = f16_to_f32(f32_to_f16(v));
    for (auto& v : xr) v = f16_to_f32(f32_to_f16(v));
  }
  std::vector<float> want = y0;
  ref::matmul(wq, xr, c.bias ? std::span<const float>(bias) : std::span<const float>(), want, c.K, c.N, c.M,
              c.accumulate);
  return {ref::nmse(download_f32(test::device(), ty), want), coop, false};
}

class MatmulTest : public testing::TestWithParam<MatmulCase> {};

TEST_P(MatmulTest, MatchesReference) {
  CaseResult r = run_case(GetParam());
  if (r.skipped) GTEST_SKIP() << test::device().info().name << " has no VK_NV_cooperative_matrix (tensor-core path)";
  EXPECT_LT(r.nmse, r.coopmat ? 1e-8 : k_nmse_max);
}

const DType k_types[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};
bool quantized(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }

// Every type x M in {1, 2, 7, 64, 133} x shapes; bias/accumulate rotate through all four
// combinations along (shape, M), so each type sees each combination on several shapes and both paths.
std::vector<MatmulCase> auto_cases() {
  const std::pair<int, int> shapes[] = {{64, 64}, {2048, 512}, {96, 1001}, {64, 129}, {256, 7},
                                        {40, 17} /* K % 32 != 0 */, {70, 33} /* K % 8 != 0 */};
  const int ms[] = {1, 2, 7, 64, 133};
  std::vector<MatmulCase> out;
  for (DType t : k_types)
    for (size_t s = 0; s < std::size(shapes); ++s)
      for (size_t i = 0; i < std::size(ms); ++i) {
        auto [K, N] = shapes[s];
        if (quantized(t) && K % 32 != 0) continue;  // not representable; see RejectsPartialBlocks
        int combo = int(s + i) % 4;
        out.push_back({t, K, N, ms[i], (combo & 1) != 0, (combo & 2) != 0});
      }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Auto, MatmulTest, testing::ValuesIn(auto_cases()),
                         [](const auto& info) { return case_name(info.param); });

// Each kernel outside its usual range of M: tiled with 1-2 columns, mat-vec with many column groups;
// and the one-weight-at-a-time path of both kernels for every type.
std::vector<MatmulCase> forced_cases() {
  std::vector<MatmulCase> out;
  for (DType t : k_types) {
    out.push_back({t, 96, 1001, 1, true, false, MatmulPath::Tiled});
    out.push_back({t, 2048, 130, 2, false, true, MatmulPath::Tiled});
    out.push_back({t, 96, 129, 64, true, true, MatmulPath::MatVec});
    out.push_back({t, 512, 65, 133, false, false, MatmulPath::MatVec});
    out.push_back({t, 96, 129, 3, true, true, MatmulPath::MatVec, false});
    out.push_back({t, 96, 129, 70, true, false, MatmulPath::Tiled, false});
    // Tensor cores (skipped where absent): odd tiles, bias and accumulate, K not a multiple of 32.
    out.push_back({t, 2048, 300, 70, true, true, MatmulPath::CoopMat});
    out.push_back({t, 96, 1001, 130, false, false, MatmulPath::CoopMat});
    out.push_back({t, 64, 129, 9, true, false, MatmulPath::CoopMat});
    if (t != DType::Q8_0 && t != DType::Q4_0) out.push_back({t, 40, 33, 64, false, true, MatmulPath::CoopMat});
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(Forced, MatmulTest, testing::ValuesIn(forced_cases()),
                         [](const auto& info) { return case_name(info.param); });

// The large-tile tensor-core kernels (skipped where absent), each tile forced: M and N not tile multiples,
// bias and accumulate, one K step (K = 32), every non-F32 weight type; then the 1B model's prefill shapes
// (q, k/v, gate/up, down) with the tile Auto picks, and with each tile at the q shape.
std::vector<MatmulCase> tile_cases() {
  using ops::CoopMatTile;
  std::vector<MatmulCase> out;
  for (CoopMatTile tile : {CoopMatTile::Small, CoopMatTile::Medium, CoopMatTile::Large})
    for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
      MatmulCase cases[] = {{t, 2048, 300, 70, true, true}, {t, 96, 1001, 130, false, false},
                            {t, 64, 129, 9, true, false},   {t, 32, 17, 200, false, true},
                            {t, 256, 128, 128, true, true}};
      for (MatmulCase c : cases) {
        c.path = MatmulPath::CoopMat;
        c.tile = tile;
        out.push_back(c);
      }
    }
  MatmulCase model[] = {{DType::F16, 2048, 2048, 512, false, false},  {DType::F16, 2048, 512, 512, false, false},
                        {DType::F16, 2048, 8192, 136, false, false},  {DType::F16, 8192, 2048, 200, false, true},
                        {DType::Q8_0, 2048, 2048, 512, false, true},  {DType::Q8_0, 2048, 8192, 77, false, false},
                        {DType::Q8_0, 8192, 2048, 130, false, true}};
  for (MatmulCase c : model) {
    c.path = MatmulPath::CoopMat;
    out.push_back(c);
  }
  for (CoopMatTile tile : {CoopMatTile::Classic, CoopMatTile::Small, CoopMatTile::Medium, CoopMatTile::Large}) {
    MatmulCase c{DType::F16, 2048, 2048, 512, true, true, MatmulPath::CoopMat};
    c.tile = tile;
    out.push_back(c);
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(CoopMatTiles, MatmulTest, testing::ValuesIn(tile_cases()),
                         [](const auto& info) { return case_name(info.param); });

// Split-K on tensor cores (skipped where absent): the down projection's shape at 512 and 130 tokens (4 slices),
// K 4096 (2 slices) with N and M off the tile grid, every weight type, bias and accumulate summed by the
// second pass.
std::vector<MatmulCase> split_cases() {
  std::vector<MatmulCase> out;
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    MatmulCase cases[] = {{t, 8192, 2048, 512, false, true}, {t, 8192, 2048, 130, true, true},
                          {t, 4096, 300, 70, true, false}, {t, 4096, 96, 17, false, false}};
    for (MatmulCase c : cases) {
      c.path = MatmulPath::CoopMat;
      c.split_scratch = true;
      out.push_back(c);
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(CoopMatSplitK, MatmulTest, testing::ValuesIn(split_cases()),
                         [](const auto& info) { return case_name(info.param); });

// F16 input x on every path (the session's prefill activations on tensor-core devices): mat-vec (strided; the
// subgroup-row kernel stays F32-only), tiled (also the tensor-core path's fallback when the classic kernel would
// run), each tensor-core tile, split-K, and the scalar loads. The tensor-core cases skip where absent.
std::vector<MatmulCase> half_input_cases() {
  using ops::CoopMatTile;
  std::vector<MatmulCase> out;
  for (DType t : k_types) {
    MatmulCase cases[] = {{t, 64, 64, 1, true, false},  {t, 2048, 512, 3, false, true},
                          {t, 96, 1001, 64, true, true}, {t, 256, 129, 133, false, false},
                          {t, 96, 129, 70, true, false, MatmulPath::Tiled, false},
                          {t, 96, 129, 3, false, true, MatmulPath::MatVec, false},
                          {t, 96, 129, 70, true, true, MatmulPath::Tiled}};
    for (MatmulCase c : cases) {
      c.half_x = true;
      out.push_back(c);
    }
    if (t == DType::F32) continue;
    for (CoopMatTile tile : {CoopMatTile::Small, CoopMatTile::Medium, CoopMatTile::Large, CoopMatTile::Classic}) {
      MatmulCase c{t, 2048, 300, 70, true, true, MatmulPath::CoopMat};
      c.tile = tile;
      c.half_x = true;
      out.push_back(c);
    }
    MatmulCase split{t, 8192, 2048, 130, true, true, MatmulPath::CoopMat};
    split.split_scratch = true;
    split.half_x = true;
    out.push_back(split);
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(HalfInput, MatmulTest, testing::ValuesIn(half_input_cases()),
                         [](const auto& info) { return case_name(info.param); });

TEST(CoopMatSplitChoice, SplitsLongKWithFewOutputTiles) {
  EXPECT_EQ(ops::coopmat_split_k(8192, 2048, 512), 4);  // the 1B model's down projection: 128 tiles of 128 x 64
  EXPECT_EQ(ops::coopmat_split_k(4096, 300, 70), 2);
  EXPECT_EQ(ops::coopmat_split_k(2048, 2048, 512), 1);  // short K
  EXPECT_EQ(ops::coopmat_split_k(8192, 8192, 512), 1);  // 512 tiles already
  EXPECT_EQ(ops::coopmat_split_k(8192 + 32, 2048, 512), 1);  // 257 blocks of 32: no equal slices
  EXPECT_EQ(ops::matmul_split_elems(8192, 2048, 512), size_t(4) * 2048 * 512);
  EXPECT_EQ(ops::matmul_split_elems(2048, 2048, 512), 0u);
}

// The tile choice itself (a pure function, so it runs on every device).
TEST(CoopMatTileChoice, PicksByWorkgroupsAndFallsBackToClassic) {
  using ops::CoopMatTile;
  const ops::CoopMatLimits h200{32, 49152};
  // 1B model, 512 tokens: gate/up (N 8192) has 256 workgroups of 128 x 128; q and down (N 2048) only 64,
  // so 128 x 64 (128 workgroups); k/v (N 512) has few of any: the smallest tile, most workgroups.
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 8192, 512, DType::F16, h200), CoopMatTile::Large);
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 2048, 512, DType::F16, h200), CoopMatTile::Medium);
  EXPECT_EQ(ops::choose_coopmat_tile(8192, 2048, 512, DType::Q8_0, h200), CoopMatTile::Medium);
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 512, 512, DType::F16, h200), CoopMatTile::Small);
  // No tile kernel: K not a multiple of 32, F32 weights, 64-lane subgroups, too little shared memory.
  EXPECT_EQ(ops::choose_coopmat_tile(2040, 8192, 512, DType::F16, h200), CoopMatTile::Classic);
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 8192, 512, DType::F32, h200), CoopMatTile::Classic);
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 8192, 512, DType::F16, {64, 65536}), CoopMatTile::Classic);
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 8192, 512, DType::F16, {32, 32768}), CoopMatTile::Small);
  // A forced tile is honoured where it fits, else the classic kernel.
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 512, 512, DType::F16, h200, CoopMatTile::Large), CoopMatTile::Large);
  EXPECT_EQ(ops::choose_coopmat_tile(40, 512, 512, DType::F16, h200, CoopMatTile::Large), CoopMatTile::Classic);
  EXPECT_EQ(ops::choose_coopmat_tile(2048, 512, 512, DType::F16, {32, 40000}, CoopMatTile::Large), CoopMatTile::Classic);
}

// Mat-vec launch shapes the H200 tuning may pick (workgroup, rows per workgroup, columns at once).
std::vector<MatmulCase> config_cases() {
  const ops::MatvecConfig configs[] = {{32, 1, 1}, {64, 4, 2}, {256, 1, 8}, {256, 8, 4},
                                       {512, 2, 4}, {96, 3, 5}, {8, 2, 3} /* one subgroup on lavapipe */};
  std::vector<MatmulCase> out;
  for (DType t : {DType::F16, DType::Q8_0, DType::Q4_0})
    for (const auto& cfg : configs) {
      MatmulCase c{t, 2048, 515, 6, true, true, MatmulPath::MatVec};
      c.matvec = cfg;
      out.push_back(c);
    }
  // The subgroup-per-row kernel (one column): workgroups of 1..8 subgroups, unrolled main loop plus
  // remainder (K = 2048: 256 chunks; K = 1000: 125), rows past N.
  const ops::MatvecConfig rows_configs[] = {{32, 1, 8, ops::MatvecKernel::SubgroupRows, 1},
                                            {128, 2, 8, ops::MatvecKernel::SubgroupRows, 4},
                                            {256, 3, 8, ops::MatvecKernel::SubgroupRows, 3}};
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0})
    for (const auto& cfg : rows_configs)
      for (int K : {2048, (t == DType::Q8_0 || t == DType::Q4_0) ? 1024 : 1000}) {
        MatmulCase c{t, K, 515, 1, true, true, MatmulPath::MatVec};
        c.matvec = cfg;
        out.push_back(c);
      }
  return out;
}
INSTANTIATE_TEST_SUITE_P(MatvecConfigs, MatmulTest, testing::ValuesIn(config_cases()),
                         [](const auto& info) { return case_name(info.param); });

// --- errors ---

// Runs matmul and returns the ds::Error message ("" if none was thrown).
std::string matmul_error(const Tensor& w, const Tensor& x, const Tensor& y, const ops::MatmulOptions& o = {}) {
  try {
    test::run([&](vk::Recorder& r) { ops::matmul(r, w, x, y, o); });
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class MatmulErrors : public testing::Test {
 protected:
  void SetUp() override { test::arena().reset(); }
};

TEST_F(MatmulErrors, RejectsInnerDimensionMismatch) {
  Tensor w = test::empty_tensor(DType::Q8_0, {64, 64, 1, 1}, "blk.0.attn_q");
  Tensor x = test::empty_tensor(DType::F32, {63, 2, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {64, 2, 1, 1}, "y");
  std::string msg = matmul_error(w, x, y);
  EXPECT_NE(msg.find("blk.0.attn_q"), std::string::npos) << msg;
  EXPECT_NE(msg.find("K=63"), std::string::npos) << msg;
}

TEST_F(MatmulErrors, RejectsOutputShape) {
  Tensor w = test::empty_tensor(DType::F16, {64, 32, 1, 1}, "w");
  Tensor x = test::empty_tensor(DType::F32, {64, 3, 1, 1}, "x");
  EXPECT_NE(matmul_error(w, x, test::empty_tensor(DType::F32, {31, 3, 1, 1}, "y_n")), "");
  EXPECT_NE(matmul_error(w, x, test::empty_tensor(DType::F32, {32, 4, 1, 1}, "y_m")), "");
  EXPECT_EQ(matmul_error(w, x, test::empty_tensor(DType::F32, {32, 3, 1, 1}, "y")), "");
}

TEST_F(MatmulErrors, RejectsBiasLength) {
  Tensor w = test::empty_tensor(DType::F32, {64, 32, 1, 1}, "w");
  Tensor x = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {32, 1, 1, 1}, "y");
  ops::MatmulOptions o;
  o.bias = test::empty_tensor(DType::F32, {31, 1, 1, 1}, "b");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::matmul(r, w, x, y, o); }), Error);
}

TEST_F(MatmulErrors, RejectsUnsupportedTypes) {
  Tensor x = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {32, 1, 1, 1}, "y");
  Tensor wi = test::empty_tensor(DType::I32, {64, 32, 1, 1}, "w_i32");
  EXPECT_NE(matmul_error(wi, x, y).find("I32"), std::string::npos);
  Tensor w = test::empty_tensor(DType::F16, {64, 32, 1, 1}, "w");
  EXPECT_NE(matmul_error(w, test::empty_tensor(DType::BF16, {64, 1, 1, 1}, "x_bf16"), y), "");
  EXPECT_NE(matmul_error(w, x, test::empty_tensor(DType::F16, {32, 1, 1, 1}, "y16")), "");
  // F16 x: the plain product only.
  const Tensor x16 = test::empty_tensor(DType::F16, {64, 1, 1, 1}, "x16");
  EXPECT_EQ(matmul_error(w, x16, y), "");
  ops::MatmulOptions norm;
  norm.norm_weight = test::empty_tensor(DType::F32, {64, 1, 1, 1}, "norm");
  const std::string msg = matmul_error(w, x16, y, norm);
  EXPECT_NE(msg.find("x16 is F16"), std::string::npos) << msg;
}

TEST_F(MatmulErrors, RejectsPartialBlocks) {
  // A quantized weight whose rows are not whole 32-weight blocks (built by hand: make_tensor refuses).
  Tensor w = test::empty_tensor(DType::Q4_0, {64, 32, 1, 1}, "w_q4");
  w.ne = {70, 4, 1, 1};
  Tensor x = test::empty_tensor(DType::F32, {70, 1, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {4, 1, 1, 1}, "y");
  EXPECT_NE(matmul_error(w, x, y).find("block size"), std::string::npos);
}

TEST_F(MatmulErrors, RejectsWeightOverBindingRange) {
  // 8192 x 8192 F32 = 256 MiB, over lavapipe's 128 MiB (and any device's 4 GiB would take 32768^2).
  Tensor w = test::empty_tensor(DType::F32, {64, 32, 1, 1}, "huge");
  w.ne = {8192, 8192, 1, 1};
  if (w.n_bytes() <= test::device().props().limits.maxStorageBufferRange) GTEST_SKIP() << "device range too large";
  Tensor x = test::empty_tensor(DType::F32, {8192, 1, 1, 1}, "x");
  Tensor y = test::empty_tensor(DType::F32, {8192, 1, 1, 1}, "y");
  EXPECT_NE(matmul_error(w, x, y).find("storage-buffer range"), std::string::npos);
}

TEST_F(MatmulErrors, RejectsAliasedInputAndOutput) {
  Tensor w = test::empty_tensor(DType::F32, {64, 64, 1, 1}, "w");
  Tensor x = test::empty_tensor(DType::F32, {64, 2, 1, 1}, "x");
  EXPECT_NE(matmul_error(w, x, x).find("overlaps"), std::string::npos);
}

}  // namespace
}  // namespace ds
