// Training attention: the forward (with saved log-sum-exp) and the backward kernels against the CPU
// reference at GQA/MQA/MHA shapes, odd lengths, several sequences and every tile size (head_dim 8..256);
// the reference backward against finite differences of the reference forward; run-to-run determinism.
#include <cmath>

#include "ops/backward/attention.h"
#include "ref/backward/attention.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/gradcheck.h"

namespace ds {
namespace {

struct AttnCase {
  int head_dim, n_heads, n_kv, n_tokens, n_seqs;
};

std::string case_name(const AttnCase& c) {
  return "hd" + std::to_string(c.head_dim) + "_h" + std::to_string(c.n_heads) + "_kv" + std::to_string(c.n_kv) + "_t" +
         std::to_string(c.n_tokens) + "_s" + std::to_string(c.n_seqs);
}

class AttentionTrainTest : public testing::TestWithParam<AttnCase> {};

TEST_P(AttentionTrainTest, ForwardAndBackwardMatchReference) {
  const AttnCase c = GetParam();
  const ref::AttentionShape s{c.head_dim, c.n_heads, c.n_kv, c.n_tokens, c.n_seqs, 1.0 / std::sqrt(c.head_dim)};
  const size_t nq = size_t(c.head_dim) * c.n_heads * c.n_tokens * c.n_seqs;
  const size_t nk = size_t(c.head_dim) * c.n_kv * c.n_tokens * c.n_seqs;
  auto q = test::random_floats(nq, 1, -2, 2), k = test::random_floats(nk, 2, -2, 2), v = test::random_floats(nk, 3);
  auto dout = test::random_floats(nq, 4);
  std::vector<float> out(nq), lse(nq / c.head_dim), dq(nq), dk(nk), dv(nk);
  ref::attention_forward<float>(q, k, v, out, lse, s);
  ref::attention_backward<float>(q, k, v, dout, dq, dk, dv, s);

  const std::array<int64_t, 4> qs{c.head_dim, c.n_heads, c.n_tokens, c.n_seqs},
      ks{c.head_dim, c.n_kv, c.n_tokens, c.n_seqs};
  Tensor tq = test::tensor_from(q, DType::F32, qs, "q"), tk = test::tensor_from(k, DType::F32, ks, "k");
  Tensor tv = test::tensor_from(v, DType::F32, ks, "v"), tdo = test::tensor_from(dout, DType::F32, qs, "d_out");
  Tensor to = test::empty_tensor(DType::F32, qs, "out");
  Tensor tl = test::empty_tensor(DType::F32, {c.n_heads, c.n_tokens, c.n_seqs, 1}, "lse");
  Tensor tdq = test::empty_tensor(DType::F32, qs, "dq"), tdk = test::empty_tensor(DType::F32, ks, "dk");
  Tensor tdv = test::empty_tensor(DType::F32, ks, "dv");
  const float scale = float(s.scale);
  test::run([&](vk::Recorder& r) {
    ops::attention_train(r, tq, tk, tv, scale, to, tl);
    ops::attention_backward(r, tq, tk, tv, to, tl, tdo, scale, tdq, tdk, tdv);
  });
  auto& dev = test::device();
  EXPECT_LT(ref::nmse(download_f32(dev, to), out), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(dev, tl), lse), 1e-10);
  EXPECT_LT(ref::nmse(download_f32(dev, tdq), dq), 1e-9);
  EXPECT_LT(ref::nmse(download_f32(dev, tdk), dk), 1e-9);
  EXPECT_LT(ref::nmse(download_f32(dev, tdv), dv), 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTrainTest,
                         testing::Values(AttnCase{16, 4, 2, 7, 1}, AttnCase{16, 4, 2, 33, 2}, AttnCase{64, 4, 2, 33, 1},
                                         AttnCase{8, 2, 2, 17, 1}, AttnCase{12, 3, 3, 16, 1}, AttnCase{32, 2, 1, 70, 1},
                                         AttnCase{128, 4, 1, 20, 1}, AttnCase{256, 2, 1, 9, 2},
                                         AttnCase{64, 6, 2, 1, 3}),
                         [](const auto& i) { return case_name(i.param); });

TEST(AttentionTrain, BackwardIsDeterministic) {
  const AttnCase c{32, 4, 2, 45, 1};
  const std::array<int64_t, 4> qs{c.head_dim, c.n_heads, c.n_tokens, 1}, ks{c.head_dim, c.n_kv, c.n_tokens, 1};
  const size_t nq = size_t(c.head_dim) * c.n_heads * c.n_tokens, nk = size_t(c.head_dim) * c.n_kv * c.n_tokens;
  Tensor tq = test::tensor_from(test::random_floats(nq, 1), DType::F32, qs, "q");
  Tensor tk = test::tensor_from(test::random_floats(nk, 2), DType::F32, ks, "k");
  Tensor tv = test::tensor_from(test::random_floats(nk, 3), DType::F32, ks, "v");
  Tensor tdo = test::tensor_from(test::random_floats(nq, 4), DType::F32, qs, "d_out");
  Tensor to = test::empty_tensor(DType::F32, qs, "out");
  Tensor tl = test::empty_tensor(DType::F32, {c.n_heads, c.n_tokens, 1, 1}, "lse");
  std::vector<std::vector<float>> runs;
  for (int run = 0; run < 2; ++run) {
    Tensor tdq = test::empty_tensor(DType::F32, qs, "dq"), tdk = test::empty_tensor(DType::F32, ks, "dk");
    Tensor tdv = test::empty_tensor(DType::F32, ks, "dv");
    test::run([&](vk::Recorder& r) {
      ops::attention_train(r, tq, tk, tv, 0.25f, to, tl);
      ops::attention_backward(r, tq, tk, tv, to, tl, tdo, 0.25f, tdq, tdk, tdv);
    });
    auto all = download_f32(test::device(), tdq);
    for (const Tensor* t : {&tdk, &tdv}) {
      auto part = download_f32(test::device(), *t);
      all.insert(all.end(), part.begin(), part.end());
    }
    runs.push_back(std::move(all));
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(AttentionTrain, ReferenceMatchesFiniteDifferences) {
  const ref::AttentionShape s{4, 4, 2, 5, 2, 0.7};
  const size_t nq = size_t(s.head_dim) * s.n_heads * s.n_tokens * s.n_seqs;
  const size_t nk = size_t(s.head_dim) * s.n_kv * s.n_tokens * s.n_seqs;
  auto q = test::random_doubles(nq, 1, -2, 2), k = test::random_doubles(nk, 2, -2, 2), v = test::random_doubles(nk, 3);
  auto r = test::random_doubles(nq, 4);
  std::vector<double> out(nq), dq(nq), dk(nk), dv(nk);
  auto loss = [&] {
    ref::attention_forward<double>(q, k, v, out, {}, s);
    return test::dot(r, out);
  };
  ref::attention_backward<double>(q, k, v, r, dq, dk, dv, s);
  EXPECT_LT(test::rel_max_error(dq, test::finite_diff(q, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(dk, test::finite_diff(k, loss)), test::k_fd_bound);
  EXPECT_LT(test::rel_max_error(dv, test::finite_diff(v, loss)), test::k_fd_bound);
}

TEST(AttentionTrain, RejectsBadHeadCounts) {
  Tensor q = test::empty_tensor(DType::F32, {8, 3, 4, 1}, "q");
  Tensor k = test::empty_tensor(DType::F32, {8, 2, 4, 1}, "k");
  Tensor lse = test::empty_tensor(DType::F32, {3, 4, 1, 1}, "lse");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { ops::attention_train(r, q, k, k, 1.0f, q, lse); }), Error);
}

}  // namespace
}  // namespace ds
