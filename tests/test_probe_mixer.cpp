// Implied attention of mixer layers (probe kernels) against the CPU references, at default and odd shapes:
// `linear` rows (window + linear part, GQA, shared maps, affine, truncated rows, framed output) match
// ref::linear_mixer_attention and sum to 1; those rows times V reproduce the GPU mixer's own output (prefill and
// decode); Mamba rows over the history match ref::mamba_implied_attention_heads; the history store appends at
// n_past and drops columns past its capacity.
#include <cmath>

#include "ops/linear_mixer.h"
#include "ops/mamba.h"
#include "probe/mixer_rows.h"
#include "ref/compare.h"
#include "ref/linear_mixer.h"
#include "ref/mamba.h"
#include "support/files.h"
#include "support/probe_util.h"
#include "vk/memory.h"

namespace ds {
namespace {

// ---- linear ----
struct LinCase {
  int head_dim, n_heads, n_kv, n_fm_q, n_state, features, window;
  bool window_logits, affine;
  int n_past, n_tokens, n_queries, max_keys, capacity;
  std::vector<int> heads;  // empty = all
  std::string name;
  int chunk_keys = 0;      // > 0: keys split into chunks of this many (partials scratch + normalization pass)
};

// F32 scratch for `chunk_keys` chunks of rows (heads x queries x chunks), or none.
Tensor chunk_partials(size_t n_heads, int n_queries, int span, int chunk_keys) {
  if (chunk_keys <= 0) return {};
  const size_t n = n_heads * size_t(n_queries) * size_t((span + chunk_keys - 1) / chunk_keys);
  return test::tensor_from(std::vector<float>(n, NAN), DType::F32, {int64_t(n), 1, 1, 1}, "partials");
}

struct LinProblem {
  ref::LinearMixerDims d;
  std::vector<float> fm_q, fm_k, logits, q, k, v;  // q: (T, n_heads, hd); k, v: (T, n_kv, hd)
  int T = 0;
};

LinProblem lin_problem(const LinCase& c, int T, uint32_t seed) {
  LinProblem p;
  p.d = {c.head_dim, c.n_heads, c.n_kv, c.n_fm_q, c.n_state, c.features, c.window,
         1.0f / std::sqrt(float(c.head_dim)), c.affine};
  const float w = 3.0f / std::sqrt(float(c.head_dim));
  p.fm_q = test::random_floats(size_t(c.n_fm_q) * c.head_dim * c.features, seed, -w, w);
  p.fm_k = test::random_floats(size_t(c.n_state) * c.head_dim * c.features, seed + 1, -w, w);
  if (c.window_logits) p.logits = test::random_floats(size_t(c.n_heads), seed + 2, -2, 2);
  p.T = T;
  p.q = test::random_floats(size_t(T) * c.n_heads * c.head_dim, seed + 3, -2, 2);
  p.k = test::random_floats(size_t(T) * c.n_kv * c.head_dim, seed + 4, -2, 2);
  p.v = test::random_floats(size_t(T) * c.n_kv * c.head_dim, seed + 5, -1, 1);
  return p;
}

ops::LinearMixerWeights lin_weights(const LinCase& c, const LinProblem& p) {
  ops::LinearMixerWeights w;
  w.fm_q = test::tensor_from(p.fm_q, DType::F32, {c.features, c.head_dim, c.n_fm_q, 1}, "lin_fm_q");
  w.fm_k = test::tensor_from(p.fm_k, DType::F32, {c.features, c.head_dim, c.n_state, 1}, "lin_fm_k");
  if (c.window_logits) w.window_factor = test::tensor_from(p.logits, DType::F32, {c.n_heads, 1, 1, 1}, "lin_wf");
  return w;
}

std::vector<int> all_heads(const std::vector<int>& heads, int n) {
  if (!heads.empty()) return heads;
  std::vector<int> h;
  for (int i = 0; i < n; ++i) h.push_back(i);
  return h;
}

// Rows of `got` (heads, n_queries, max_keys) against full maps (n_heads, T, T): causal, summing to 1 where
// whole, close to the reference.
void expect_rows(const std::vector<float>& got, const std::vector<float>& full, const std::vector<int>& heads,
                 int T, int n_past, int n_queries, int max_keys, double tol_nmse, const std::string& what) {
  std::vector<float> want(got.size(), 0.0f);
  for (size_t i = 0; i < heads.size(); ++i)
    for (int t = 0; t < n_queries; ++t)
      for (int j = 0; j < std::min(T, max_keys); ++j)
        want[(i * n_queries + t) * size_t(max_keys) + j] =
            full[(size_t(heads[i]) * T + size_t(n_past + t)) * T + size_t(j)];
  EXPECT_LT(ref::nmse(got, want), tol_nmse) << what;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - want[i])));
  EXPECT_LT(worst, 2e-5) << what << ": largest absolute error";
  for (size_t i = 0; i < heads.size(); ++i)
    for (int t = 0; t < n_queries; ++t) {
      const int kv_len = n_past + t + 1;
      double sum = 0;
      for (int j = 0; j < max_keys; ++j) {
        const float v = got[(i * n_queries + t) * size_t(max_keys) + j];
        ASSERT_FALSE(std::isnan(v)) << what << ": head " << heads[i] << " query " << t << " key " << j;
        if (j >= kv_len) {
          EXPECT_EQ(v, 0.0f) << what << ": non-causal key " << j;
        }
        EXPECT_GE(v, 0.0f);
        sum += v;
      }
      if (kv_len <= max_keys) {
        EXPECT_NEAR(sum, 1.0, 1e-5) << what << ": head " << heads[i] << " query " << t;
      } else {
        EXPECT_LT(sum, 1.0 + 1e-5) << what;
      }
    }
}

class LinearImpliedRows : public testing::TestWithParam<LinCase> {};

TEST_P(LinearImpliedRows, MatchReferenceAndSumToOne) {
  const LinCase& c = GetParam();
  const int T = c.n_past + c.n_tokens;
  const LinProblem p = lin_problem(c, T, 7);
  const ops::LinearMixerWeights w = lin_weights(c, p);
  const std::vector<int> heads = all_heads(c.heads, c.n_heads);
  // The pass's q; the key history holds positions 0 .. T-1 (the rest stays garbage: NaN, never read).
  const size_t qrow = size_t(c.n_heads) * c.head_dim, krow = size_t(c.n_kv) * c.head_dim;
  const std::vector<float> q(p.q.begin() + ptrdiff_t(c.n_past * qrow), p.q.end());
  std::vector<float> hist(krow * c.capacity, NAN);
  std::copy(p.k.begin(), p.k.end(), hist.begin());
  Tensor tq = test::tensor_from(q, DType::F32, {c.head_dim, c.n_heads, c.n_tokens, 1}, "q");
  Tensor tk = test::tensor_from(hist, DType::F32, {c.head_dim, c.n_kv, c.capacity, 1}, "k_history");
  Tensor step = test::i32_tensor({c.n_past, c.n_tokens, 0, 0}, "step");
  // Framed output: slot 1 of a two-frame span at word offset 32.
  const uint32_t words = uint32_t(heads.size() * c.n_queries * c.max_keys), frame = words + 64;
  Tensor out = test::word_tensor(32 + 2 * size_t(frame), test::k_nan_bits, "ring");
  Tensor index = test::index_tensor(1);
  probe::MixerRowsArgs a{heads, c.max_keys, c.n_queries, c.n_queries};
  if (c.chunk_keys > 0) a.chunk_keys = c.chunk_keys;
  const Tensor partials = chunk_partials(heads.size(), c.n_queries, std::max(c.capacity, c.max_keys), c.chunk_keys);
  test::run([&](vk::Recorder& r) {
    probe::linear_implied_rows(r, tq, tk, w, c.window, c.affine, step, index.buf, a, probe::Span{out.buf, 32, frame},
                               partials);
  });
  const auto ring = test::download_words(out);
  std::vector<float> got(words);
  for (uint32_t i = 0; i < words; ++i) got[i] = test::as_f32(ring[32 + frame + i]);
  EXPECT_EQ(ring[32], test::k_nan_bits) << "slot 0 untouched";
  const auto full = ref::linear_mixer_attention(p.q, p.k, p.d, {p.fm_q, p.fm_k, p.logits}, T);
  expect_rows(got, std::vector<float>(full.begin(), full.end()), heads, T, c.n_past, c.n_queries, c.max_keys, 1e-9,
              c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearImpliedRows,
    testing::Values(
        // default: a 1B-like layer (head_dim 64, F 64, 32/8 heads, window 64), decode deep in the context
        LinCase{64, 32, 8, 32, 32, 64, 64, true, false, 300, 1, 1, 512, 512, {}, "hd64_h32_kv8_decode"},
        LinCase{64, 32, 8, 32, 32, 64, 64, true, false, 40, 24, 24, 64, 80, {0, 7, 31}, "hd64_prefill_three_heads"},
        LinCase{16, 4, 2, 2, 2, 8, 3, false, true, 9, 5, 3, 14, 20, {}, "hd16_kvmaps_affine_capture_3_of_5"},
        LinCase{8, 6, 3, 6, 3, 5, 0, false, false, 0, 11, 11, 11, 11, {1, 4}, "hd8_odd_pure_linear"},
        LinCase{12, 2, 1, 2, 2, 20, 100, true, false, 30, 1, 1, 31, 37, {}, "hd12_window_covers_all"},
        LinCase{32, 4, 4, 4, 4, 16, 8, true, true, 70, 1, 1, 40, 96, {3}, "hd32_truncated_rows"},
        // Key chunks over several workgroups + the normalization pass (long contexts): decode with the window
        // inside the last chunks, prefill, truncated rows.
        LinCase{64, 32, 8, 32, 32, 64, 64, true, false, 300, 1, 1, 512, 512, {}, "hd64_decode_chunks_of_40", 40},
        LinCase{64, 32, 8, 32, 32, 64, 64, true, false, 40, 24, 24, 64, 80, {0, 7, 31}, "hd64_prefill_chunks_of_9", 9},
        LinCase{32, 4, 4, 4, 4, 16, 8, true, true, 70, 1, 1, 40, 96, {3}, "hd32_truncated_rows_chunks_of_16", 16}),
    [](const auto& info) { return info.param.name; });

// The rows are the weights the mixer applies to V: sum_j row_j v_j reproduces the GPU mixer's output per head
// (before the out projection), for a chunked prefill and the decode steps after it.
TEST(LinearImpliedRows, TimesVReproduceTheMixerOutput) {
  const LinCase c{16, 4, 2, 4, 4, 16, 4, true, false, 0, 0, 0, 0, 0, {}, "mixer"};
  const int prefill = 9, decode = 4, T = prefill + decode, cap = 16;
  const LinProblem p = lin_problem(c, T, 21);
  const ops::LinearMixerWeights w = lin_weights(c, p);
  const ops::LinearMixerShape shape{c.head_dim, c.n_heads, c.n_kv, c.n_fm_q, c.n_state, c.features, c.window};
  const ops::LinearMixerState state = ops::make_linear_mixer_state(test::arena(), shape, "blk.0");
  Tensor hist = test::empty_tensor(DType::F32, {c.head_dim, c.n_kv, cap, 1}, "k_history");
  const std::vector<int> heads = all_heads({}, c.n_heads);
  const size_t qrow = size_t(c.n_heads) * c.head_dim, krow = size_t(c.n_kv) * c.head_dim;
  test::run([&](vk::Recorder& r) { ops::linear_mixer_reset(r, state); });
  int n_past = 0;
  for (int n : {prefill, 1, 1, 1, 1}) {
    auto slice = [&](const std::vector<float>& x, size_t row) {
      return std::vector<float>(x.begin() + ptrdiff_t(n_past * row), x.begin() + ptrdiff_t((n_past + n) * row));
    };
    Tensor q = test::tensor_from(slice(p.q, qrow), DType::F32, {c.head_dim, c.n_heads, n, 1}, "q");
    Tensor k = test::tensor_from(slice(p.k, krow), DType::F32, {c.head_dim, c.n_kv, n, 1}, "k");
    Tensor v = test::tensor_from(slice(p.v, krow), DType::F32, {c.head_dim, c.n_kv, n, 1}, "v");
    Tensor out = test::empty_tensor(DType::F32, q.ne, "out");
    Tensor scratch = test::empty_tensor(DType::F32, {int64_t(ops::linear_mixer_scratch_elems(shape, n)), 1, 1, 1},
                                        "scratch");
    Tensor step = test::i32_tensor({n_past, n, 0, 0}, "step");
    Tensor rows = test::word_tensor(heads.size() * n * cap, test::k_nan_bits, "rows");
    Tensor index = test::index_tensor(0);
    test::run([&](vk::Recorder& r) {
      ops::linear_mixer(r, q, k, v, w, state, step, c.window, out, scratch);
      probe::store_history(r, k, n, step, hist);
      r.barrier();
      probe::linear_implied_rows(r, q, hist, w, c.window, false, step, index.buf, {heads, cap, n, n},
                                 probe::Span::plain(rows));
    });
    const auto y = download_f32(test::device(), out);
    const auto a = download_f32(test::device(), rows);
    std::vector<float> av(y.size(), 0.0f);
    for (int h = 0; h < c.n_heads; ++h)
      for (int t = 0; t < n; ++t)
        for (int col = 0; col < c.head_dim; ++col) {
          double s = 0;
          for (int j = 0; j <= n_past + t; ++j)
            s += double(a[(size_t(h) * n + t) * cap + j]) * p.v[(size_t(j) * c.n_kv + h / 2) * c.head_dim + col];
          av[(size_t(t) * c.n_heads + h) * c.head_dim + col] = float(s);
        }
    EXPECT_LT(ref::nmse(av, y), 1e-10) << "pass at " << n_past << " of " << n << " tokens";
    n_past += n;
  }
}

TEST(ProbeHistory, AppendsAtNPastAndDropsPastCapacity) {
  Tensor hist = test::word_tensor(3 * 5, 0, "history");  // 3 rows, 5 columns
  auto pass = [&](int n_past, std::vector<float> cols) {
    const int n = int(cols.size() / 3);
    Tensor src = test::tensor_from(cols, DType::F32, {3, n, 1, 1}, "src");
    Tensor step = test::i32_tensor({n_past, n, 0, 0}, "step");
    test::run([&](vk::Recorder& r) { probe::store_history(r, src, n, step, hist); });
  };
  pass(0, {1, 2, 3, 4, 5, 6});
  pass(2, {7, 8, 9});
  pass(3, {10, 11, 12, 13, 14, 15, 16, 17, 18});  // the third column falls past the capacity
  EXPECT_EQ(download_f32(test::device(), hist),
            (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
  Tensor bad = test::empty_tensor(DType::F32, {7, 2, 1, 1}, "bad");  // columns of 7 in a history of 15 words
  Tensor step = test::i32_tensor({0, 2, 0, 0}, "step");
  EXPECT_ERROR(test::run([&](vk::Recorder& r) { probe::store_history(r, bad, 2, step, hist); }),
               "not 2 columns of the history");
}

// ---- mamba ----
struct MambaCase {
  MambaDims dims;
  int cph, n_past, n_tokens, n_queries, max_keys, capacity;
  std::vector<int> heads;  // empty = all d_inner / cph heads
  std::string name;
  int chunk_keys = 0;      // > 0: keys split into chunks of this many (partials scratch + normalization pass)
};

class MambaImpliedRows : public testing::TestWithParam<MambaCase> {};

TEST_P(MambaImpliedRows, MatchReferenceAndSumToOne) {
  const MambaCase& c = GetParam();
  const MambaDims& m = c.dims;
  const int T = c.n_past + c.n_tokens, R = m.zxbc_rows();
  auto zxbc = test::random_floats(size_t(R) * T, 31, -1, 1);
  auto dt = test::random_floats(size_t(m.d_inner) * T, 32, -3, 1);
  const auto a_log = test::random_floats(size_t(m.d_state) * m.d_inner, 33, -1, 1.5f);
  const auto dt_bias = test::random_floats(size_t(m.d_inner), 34, -1, 0);
  const auto conv_w = test::random_floats(size_t(m.d_conv) * m.d_inner, 35, -0.5f, 0.5f);
  const std::vector<float> d_skip(size_t(m.d_inner), 1.0f);
  std::vector<float> zh(size_t(R) * c.capacity, NAN), dh(size_t(m.d_inner) * c.capacity, NAN);
  std::copy(zxbc.begin(), zxbc.end(), zh.begin());
  std::copy(dt.begin(), dt.end(), dh.begin());
  ops::MambaWeights w;
  w.dt_bias = test::tensor_from(dt_bias, DType::F32, {m.d_inner, 1, 1, 1}, "ssm_dt.bias");
  w.a_log = test::tensor_from(a_log, DType::F32, {m.d_state, m.d_inner, 1, 1}, "ssm_a_log");
  Tensor tz = test::tensor_from(zh, DType::F32, {R, c.capacity, 1, 1}, "zxbc_history");
  Tensor td = test::tensor_from(dh, DType::F32, {m.d_inner, c.capacity, 1, 1}, "dt_history");
  Tensor step = test::i32_tensor({c.n_past, c.n_tokens, 0, 0}, "step");
  const std::vector<int> heads = all_heads(c.heads, m.d_inner / c.cph);
  const uint32_t words = uint32_t(heads.size() * c.n_queries * c.max_keys);
  Tensor out = test::word_tensor(16 + size_t(words), test::k_nan_bits, "ring");
  Tensor index = test::index_tensor(0);
  probe::MixerRowsArgs args{heads, c.max_keys, c.n_queries, c.n_queries};
  if (c.chunk_keys > 0) args.chunk_keys = c.chunk_keys;
  const Tensor partials = chunk_partials(heads.size(), c.n_queries, std::max(c.capacity, c.max_keys), c.chunk_keys);
  // Chunked cases use the pre-pass sums of delta per chunk, except those named "_no_sums".
  Tensor dt_sums;
  if (c.chunk_keys > 0 && c.name.find("_no_sums") == std::string::npos)
    dt_sums = test::tensor_from(std::vector<float>(size_t(m.d_inner) * probe::k_max_key_chunks, NAN), DType::F32,
                                {m.d_inner, probe::k_max_key_chunks, 1, 1}, "dt_sums");
  test::run([&](vk::Recorder& r) {
    probe::mamba_implied_rows(r, tz, td, w, m, c.cph, step, index.buf, args, probe::Span{out.buf, 16, 0}, partials,
                              dt_sums);
  });
  const auto ring = test::download_words(out);
  std::vector<float> got(words);
  for (uint32_t i = 0; i < words; ++i) got[i] = test::as_f32(ring[16 + i]);
  std::vector<float> conv(size_t(m.d_inner) * (m.d_conv - 1), 0.0f);
  const auto in = ref::mamba_conv_delta(m, zxbc, dt, {conv_w, {}, dt_bias, a_log, d_skip}, conv, T);
  const auto alpha = ref::mamba_implied_attention_channels(m, zxbc, in, a_log, T);
  const auto full = ref::mamba_implied_attention_heads(m, alpha, T, c.cph);
  expect_rows(got, full, heads, T, c.n_past, c.n_queries, c.max_keys, 1e-9, c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MambaImpliedRows,
    testing::Values(
        // 1B-like: d_inner 2048 = 32 teacher heads of 64 channels, d_state 16, decode
        MambaCase{{2048, 512, 16, 4}, 64, 200, 1, 1, 256, 256, {}, "di2048_teacher_heads_decode"},
        MambaCase{{64, 32, 16, 4}, 16, 10, 12, 12, 30, 40, {}, "di64_prefill"},
        MambaCase{{48, 24, 8, 3}, 12, 7, 6, 4, 13, 20, {0, 3}, "di48_odd_capture_4_of_6"},
        MambaCase{{40, 8, 8, 4}, 20, 50, 1, 1, 32, 60, {1}, "di40_truncated_rows"},
        // Key chunks over several workgroups + the normalization pass (what long contexts use): decode at a
        // depth spanning many chunks, prefill with chunks shorter than a tile, truncated rows.
        MambaCase{{2048, 512, 16, 4}, 64, 200, 1, 1, 256, 256, {}, "di2048_decode_chunks_of_48", 48},
        MambaCase{{2048, 512, 16, 4}, 64, 200, 1, 1, 256, 256, {}, "di2048_decode_chunks_of_48_no_sums", 48},
        MambaCase{{64, 32, 16, 4}, 16, 10, 12, 12, 30, 40, {}, "di64_prefill_chunks_of_7", 7},
        MambaCase{{40, 8, 8, 4}, 20, 50, 1, 1, 32, 60, {1}, "di40_truncated_rows_chunks_of_16", 16}),
    [](const auto& info) { return info.param.name; });

TEST(MambaImpliedRows, TeacherHeadsMustDivideDInner) {
  EXPECT_EQ(probe::mamba_channels_per_head({2048, 512, 16, 4}, 32), 64);
  EXPECT_EQ(probe::mamba_channels_per_head({48, 24, 8, 4}, 5), 0);
  EXPECT_EQ(probe::mamba_channels_per_head({2048, 512, 16, 4}, 2), 0);  // 1024 channels: over the kernel's 512
}

}  // namespace
}  // namespace ds
