// Chained dispatches (vk::Recorder chain mode, shaders/chain.glsl): kernels that follow each other without
// pipeline barriers, each workgroup waiting on the GPU for the kernel before it. A chain of dependent mat-vecs
// against the CPU and against the same chain with barriers, the rules for breaking a chain, and whole decode
// steps (every weight type, split-K attention, probes on) giving the same logits chained as with barriers.
// On lavapipe one dispatch runs at a time, so the waits return at once; on a GPU (the H200) the kernels overlap.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/synthetic.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "ref/compare.h"
#include "support/gpu.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

// t_{i+1} = t_{i+1} + W_i t_i, every t_{i+1} starting as b: each mat-vec reads what the one before it wrote,
// and reads its own output too (accumulate).
std::vector<float> run_chain(const std::vector<Tensor>& w, const std::vector<Tensor>& t, const std::vector<float>& x0,
                             const std::vector<float>& b, bool chained, uint32_t* n_chained = nullptr) {
  upload_f32(test::device(), t[0], x0);
  for (size_t i = 1; i < t.size(); ++i) upload_f32(test::device(), t[i], b);
  Tensor slots = test::empty_tensor(DType::I32, {16384, 1, 1, 1}, "chain");
  vk::OneShot cmd(test::device());
  vk::Recorder rec(test::device(), cmd.cmd());
  if (chained) rec.begin_chain(slots.buf);
  ops::MatmulOptions o;
  o.path = ops::MatmulPath::MatVec;
  o.accumulate = true;
  for (size_t i = 0; i < w.size(); ++i) ops::matmul(rec, w[i], t[i], t[i + 1], o);
  if (n_chained) *n_chained = rec.chained_count();
  cmd.submit_and_wait();
  std::vector<float> all;
  for (size_t i = 1; i < t.size(); ++i) {
    const auto v = download_f32(test::device(), t[i]);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

std::vector<double> matvec_ref(const std::vector<float>& w, const std::vector<double>& x, std::vector<double> y) {
  const size_t K = x.size();
  for (size_t n = 0; n < y.size(); ++n)
    for (size_t k = 0; k < K; ++k) y[n] += double(w[n * K + k]) * x[k];
  return y;
}

TEST(DecodeChain, DependentMatvecsMatchTheCpuAndTheBarrierVersion) {
  for (DType type : {DType::F16, DType::Q8_0, DType::F32}) {
    const int K = 512, layers = 12;
    std::vector<std::vector<float>> wv;
    std::vector<Tensor> w, t;
    for (int l = 0; l < layers; ++l) {
      wv.push_back(test::random_floats(size_t(K) * K, 100 + l, -0.04f, 0.04f));
      w.push_back(test::tensor_from(wv.back(), type, {K, K, 1, 1}, "w" + std::to_string(l)));
    }
    for (int l = 0; l <= layers; ++l) t.push_back(test::empty_tensor(DType::F32, {K, 1, 1, 1}, "t"));
    const auto x0 = test::random_floats(size_t(K), 7), b = test::random_floats(size_t(K), 8);
    uint32_t n_chained = 0;
    const auto chained = run_chain(w, t, x0, b, true, &n_chained);
    const auto plain = run_chain(w, t, x0, b, false);
    EXPECT_EQ(n_chained, uint32_t(layers)) << dtype_name(type);
    for (int l = 0; l < layers; ++l) {
      const std::vector<float> c(chained.begin() + l * K, chained.begin() + (l + 1) * K),
          p(plain.begin() + l * K, plain.begin() + (l + 1) * K);
      if (c != p) {
        int n_diff = 0;
        for (int i = 0; i < K; ++i) n_diff += c[size_t(i)] != p[size_t(i)];
        ADD_FAILURE() << dtype_name(type) << ": layer " << l << " differs first (" << n_diff << " of " << K
                      << " values, nmse " << ref::nmse(c, p) << "): same kernels, only the synchronization differs";
        break;
      }
    }
    // The CPU with the weights as stored (rounded to the type).
    std::vector<double> ref(x0.begin(), x0.end());
    for (int l = 0; l < layers; ++l)
      ref = matvec_ref(download_f32(test::device(), w[size_t(l)]), ref, std::vector<double>(b.begin(), b.end()));
    const std::vector<float> last(chained.end() - K, chained.end());
    EXPECT_LT(ref::nmse(last, std::vector<float>(ref.begin(), ref.end())), 1e-9) << dtype_name(type);
    test::reset_arena();
  }
}

// Something unchained between two chained dispatches (here an elementwise add) gets barriers as usual, and
// the next chained dispatch starts after a barrier.
TEST(DecodeChain, AnUnchainedOpBreaksTheChain) {
  const int K = 256;
  const auto wv = test::random_floats(size_t(K) * K, 3, -0.05f, 0.05f);
  Tensor w = test::tensor_from(wv, DType::F32, {K, K, 1, 1}, "w");
  const auto x0 = test::random_floats(size_t(K), 4);
  const std::vector<float> zero(size_t(K), 0.0f);
  Tensor t0 = test::tensor_from(x0, DType::F32, {K, 1, 1, 1}, "t0");
  Tensor t1 = test::tensor_from(zero, DType::F32, {K, 1, 1, 1}, "t1");
  Tensor t2 = test::tensor_from(zero, DType::F32, {K, 1, 1, 1}, "t2");
  Tensor t3 = test::tensor_from(zero, DType::F32, {K, 1, 1, 1}, "t3");
  Tensor slots = test::empty_tensor(DType::I32, {1024, 1, 1, 1}, "chain");
  ops::MatmulOptions o;
  o.path = ops::MatmulPath::MatVec;
  o.accumulate = true;
  vk::OneShot cmd(test::device());
  vk::Recorder rec(test::device(), cmd.cmd());
  rec.begin_chain(slots.buf);
  ops::matmul(rec, w, t0, t1, o);  // t1 = W t0
  ops::add(rec, t1, t1, t2);       // t2 = 2 t1: not chained
  ops::matmul(rec, w, t2, t3, o);  // t3 = W t2
  EXPECT_EQ(rec.chained_count(), 2u);
  cmd.submit_and_wait();
  std::vector<double> x(x0.begin(), x0.end()), z(size_t(K), 0.0);
  auto r1 = matvec_ref(wv, x, z);
  for (auto& v : r1) v *= 2;
  const auto r3 = matvec_ref(wv, r1, z);
  EXPECT_LT(ref::nmse(download_f32(test::device(), t3), std::vector<float>(r3.begin(), r3.end())), 1e-9);
}

fs::path write_model(const char* name, DType type) {
  SyntheticSpec spec;
  spec.config = llama_like(3, 128, 4, 2, 256, 300);
  spec.type = type;
  spec.scale = 0.08f;
  spec.seed = 21;
  auto p = fs::temp_directory_path() / "distilscope-tests" / name;
  fs::create_directories(p.parent_path());
  write_synthetic_model(p.string(), spec);
  return p;
}

class ChainedDecode : public testing::Test {
 protected:
  void TearDown() override {
    unsetenv("DS_DECODE_CHAIN");
    unsetenv("DS_DECODE_FUSE_COMBINE");
  }
};

// Whole decode steps, chained and with barriers: the same logits, bit for bit. A context of 2048 splits
// decode attention into chunks (attention_combine, or the combine fused into the output projection).
std::vector<std::vector<float>> decode_logits(Model& model, bool chained, bool fuse_combine,
                                              const probe::CapturePlan* plan = nullptr) {
  setenv("DS_DECODE_CHAIN", chained ? "1" : "0", 1);
  setenv("DS_DECODE_FUSE_COMBINE", fuse_combine ? "1" : "0", 1);
  SessionOptions o{2048};
  o.small_layers = false;
  Session s(model, o);
  if (plan) s.set_capture_plan(plan);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 300; ++i) prompt.push_back((i * 37) % 300);
  s.prefill(prompt, false);
  std::vector<std::vector<float>> out;
  for (int32_t tok : {7, 250, 3, 99}) {
    s.decode(tok, false);
    out.push_back(s.logits());
  }
  if (plan) s.take_frames();
  return out;
}

TEST_F(ChainedDecode, SameLogitsAsWithBarriers) {
  for (DType type : {DType::F16, DType::Q8_0, DType::F32}) {
    auto model = Model::load(test::device(), write_model("chained_decode.gguf", type).string());
    for (bool combine : {false, true}) {
      const auto plain = decode_logits(*model, false, combine);
      const auto chained = decode_logits(*model, true, combine);
      ASSERT_EQ(chained.size(), plain.size());
      for (size_t i = 0; i < plain.size(); ++i)
        EXPECT_EQ(chained[i], plain[i]) << dtype_name(type) << ", fused combine " << combine << ", step " << i;
    }
  }
}

// Probes insert capture kernels between the ops: they break the chain where they stand, and nothing changes.
TEST_F(ChainedDecode, WithProbesOn) {
  auto model = Model::load(test::device(), write_model("chained_decode_probes.gguf", DType::F16).string());
  probe::CapturePlan plan;
  plan.layers = {0, 2};
  plan.logit_lens = true;
  plan.max_queries = 16;
  const auto plain = decode_logits(*model, false, false, &plan);
  const auto chained = decode_logits(*model, true, false, &plan);
  EXPECT_EQ(chained, plain);
}

}  // namespace
}  // namespace ds
