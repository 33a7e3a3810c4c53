// Token sampling: greedy argmax against std::max_element, the full sampler against the CPU reference at
// fixed u, the Sampler class (statistics, seeds, repetition penalty, one recording replayed over steps).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "ops/sample.h"
#include "ref/sample.h"
#include "run/sampler.h"
#include "support/gpu.h"

namespace ds {

void PrintTo(Sampler::HostCopies c, std::ostream* os) {
  *os << (c == Sampler::HostCopies::Auto ? "HostCopies::Auto" : "HostCopies::Always");
}

namespace {

constexpr float k_inf = std::numeric_limits<float>::infinity();

// Runs ops::sample_greedy / sample_full directly, with the state buffer built here (independently of Sampler).
struct OpRig {
  int vocab;
  Tensor logits, state, partials, token;
  explicit OpRig(int v)
      : vocab(v),
        logits(test::empty_tensor(DType::F32, {v, 1, 1, 1}, "logits")),
        state(test::empty_tensor(DType::I32, {ops::sample_state_words(v), 1, 1, 1}, "state")),
        partials(test::empty_tensor(DType::I32, {ops::argmax_partial_words(v), 1, 1, 1}, "partials")),
        token(test::empty_tensor(DType::I32, {1, 1, 1, 1}, "token")) {}

  int32_t run(const std::vector<float>& l, std::span<const int32_t> recent, const SamplerParams& p, float u) {
    upload_f32(test::device(), logits, l);
    std::vector<uint32_t> words(size_t(state.n_elements()), 0);
    auto step = ops::sample_step(p, u);
    std::memcpy(words.data(), &step, sizeof step);
    size_t n = std::min(recent.size(), size_t(p.repeat_last_n));
    for (int32_t id : recent.subspan(recent.size() - n)) words[sizeof step / 4 + size_t(id) / 32] |= 1u << (id % 32);
    upload(test::device(), state, words.data());
    test::run([&](vk::Recorder& r) {
      if (ops::is_greedy(p))
        ops::sample_greedy(r, logits, state, partials, token);
      else
        ops::sample_full(r, logits, state, token);
    });
    int32_t id = -1;
    test::device().staging().download(token.buf, &id, 4);
    return id;
  }
};

// Distinct logits: a shuffled ramp over [lo, hi] plus a little jitter (gaps stay far above f32 rounding).
std::vector<float> distinct_logits(int vocab, uint32_t seed, float lo = -6, float hi = 6) {
  std::vector<int> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  auto jitter = test::random_floats(size_t(vocab), seed + 1, 0.0f, 0.25f);
  std::vector<float> l(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; ++i) l[size_t(i)] = lo + (hi - lo) * (order[size_t(i)] + jitter[size_t(i)]) / vocab;
  return l;
}

// How close u falls to a boundary of the reference's cumulative distribution (in probability).
double u_margin(const std::vector<double>& probs, float u) {
  double cum = 0, margin = 1;
  for (double q : probs) {
    if (q == 0) continue;
    cum += q;
    margin = std::min(margin, std::abs(cum - double(u)));
  }
  return margin;
}

// How close the top-p target falls to a step of the cumulative mass of the sorted weights (relative).
double top_p_margin(const std::vector<float>& l, std::span<const int32_t> recent, const SamplerParams& p) {
  if (p.top_p >= 1 || p.temperature <= 0) return 1;
  SamplerParams flat = p;  // everything kept: the weights e / sum e come back as probabilities
  flat.top_k = 0, flat.top_p = 1, flat.min_p = 0;
  auto q = ref::sample_probs(l, recent, flat);
  std::sort(q.begin(), q.end(), std::greater<double>());
  double cum = 0, margin = 1;
  for (double x : q) {
    cum += x;
    margin = std::min(margin, std::abs(cum - double(p.top_p)));
  }
  return margin;
}

// ---- greedy ----

class GreedyTest : public testing::TestWithParam<int> {};

TEST_P(GreedyTest, MatchesMaxElement) {
  int vocab = GetParam();
  OpRig rig(vocab);
  SamplerParams p;
  p.temperature = 0;
  auto check = [&](const std::vector<float>& l, const char* what) {
    int32_t want = int32_t(std::max_element(l.begin(), l.end()) - l.begin());
    EXPECT_EQ(rig.run(l, {}, p, 0.5f), want) << what;
  };
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    auto l = test::random_floats(size_t(vocab), seed, -10, 10);
    check(l, "random");
    // ties: the max copied to a lower and a higher id; the lowest must win
    auto tied = l;
    size_t top = size_t(std::max_element(l.begin(), l.end()) - l.begin());
    tied[size_t(vocab) - 1] = tied[top];
    tied[(top + size_t(vocab) / 2) % size_t(vocab)] = tied[top];
    tied[top / 3] = tied[top];
    check(tied, "three-way tie");
  }
  check(std::vector<float>(size_t(vocab), 0.25f), "all equal");
  check(std::vector<float>(size_t(vocab), -k_inf), "all -inf");
  auto last = std::vector<float>(size_t(vocab), -1.0f);
  last.back() = 0.0f;
  check(last, "max at the last id");
}

INSTANTIATE_TEST_SUITE_P(Vocab, GreedyTest, testing::Values(512, 1001, 32000, 151936),
                         [](const auto& info) { return "vocab" + std::to_string(info.param); });

TEST(SampleGreedy, NanCountsAsMinusInfinity) {
  OpRig rig(100);
  std::vector<float> l(100, -3.0f);
  l[5] = std::nanf("");
  l[70] = -2.0f;
  SamplerParams p;
  p.temperature = 0;
  EXPECT_EQ(rig.run(l, {}, p, 0), 70);
  EXPECT_EQ(ref::sample(l, {}, p, 0), 70);
}

// ---- full sampler against the reference ----

class FullTest : public testing::TestWithParam<int> {};

TEST_P(FullTest, MatchesReference) {
  int vocab = GetParam();
  OpRig rig(vocab);
  std::mt19937 rng{uint32_t(vocab)};
  const float temps[] = {0.4f, 1.0f, 1.8f};
  const int top_ks[] = {0, 1, 7, 40, 300};
  const float top_ps[] = {1.0f, 0.95f, 0.6f, 0.2f};
  const float min_ps[] = {0.0f, 0.02f, 0.1f, 0.5f};
  const float penalties[] = {1.0f, 1.3f, 0.7f};
  int cases = vocab > 100000 ? 8 : 40, checked = 0;
  for (int c = 0; c < cases; ++c) {
    SamplerParams p;
    p.temperature = temps[rng() % 3];
    p.top_k = top_ks[rng() % 5];
    p.top_p = top_ps[rng() % 4];
    p.min_p = min_ps[rng() % 4];
    p.repeat_penalty = penalties[rng() % 3];
    p.repeat_last_n = 32;
    auto l = distinct_logits(vocab, uint32_t(c + 1), -6.0f + float(rng() % 5), 6.0f);
    // the window: some of the strongest ids (so the penalty matters) and some random ones
    std::vector<int32_t> order(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    int strong = std::min(vocab, 12);
    std::partial_sort(order.begin(), order.begin() + strong, order.end(),
                      [&](int32_t a, int32_t b) { return l[size_t(a)] > l[size_t(b)]; });
    std::vector<int32_t> recent(order.begin() + 1, order.begin() + strong);
    for (int i = 0; i < 30; ++i) recent.push_back(int32_t(rng() % uint32_t(vocab)));
    if (top_p_margin(l, recent, p) < 1e-6) continue;  // ambiguous in f32: not a fair comparison
    auto probs = ref::sample_probs(l, recent, p);
    for (float u : {0.0f, 0.3f, 0.77f, 0.999f}) {
      if (u_margin(probs, u) < 1e-6) continue;
      SCOPED_TRACE(testing::Message() << "T=" << p.temperature << " top_k=" << p.top_k << " top_p=" << p.top_p
                                      << " min_p=" << p.min_p << " penalty=" << p.repeat_penalty << " u=" << u);
      int32_t want = ref::sample(l, recent, p, u);
      ASSERT_GT(probs[size_t(want)], 0.0);
      EXPECT_EQ(rig.run(l, recent, p, u), want);
      ++checked;
    }
  }
  // cases too close to call in f32 (margins above) are skipped; at least one per parameter set on average
  EXPECT_GE(checked, cases) << "too many cases skipped as ambiguous";
  std::printf("[ sample ] vocab %d: %d of %d (params, u) cases compared\n", vocab, checked, cases * 4);
}

INSTANTIATE_TEST_SUITE_P(Vocab, FullTest, testing::Values(8, 1001, 32000, 151936),
                         [](const auto& info) { return "vocab" + std::to_string(info.param); });

TEST(SampleFull, TiesAtTheCutAreAllKept) {
  // ids 100, 200, 300 tie for 4th place: top_k = 5 keeps all 6; with top_p the tie is kept or dropped whole.
  int vocab = 1001;
  OpRig rig(vocab);
  std::vector<float> l(size_t(vocab), -4.0f);
  l[50] = 3.0f, l[900] = 2.5f, l[7] = 2.0f;
  l[100] = l[200] = l[300] = 1.5f;
  SamplerParams p;
  p.temperature = 1.0f, p.top_k = 5, p.top_p = 1.0f, p.min_p = 0.0f;
  auto probs = ref::sample_probs(l, {}, p);
  EXPECT_EQ(std::count_if(probs.begin(), probs.end(), [](double q) { return q > 0; }), 6);
  EXPECT_EQ(probs[100], probs[300]);
  for (float u = 0.01f; u < 1.0f; u += 0.05f) EXPECT_EQ(rig.run(l, {}, p, u), ref::sample(l, {}, p, u)) << u;
  EXPECT_EQ(rig.run(l, {}, p, 0.999f), 900);  // the last kept id in id order
  p.top_k = 0, p.top_p = 0.9f;
  for (float u = 0.01f; u < 1.0f; u += 0.05f) EXPECT_EQ(rig.run(l, {}, p, u), ref::sample(l, {}, p, u)) << u;
}

// Informational: GPU time of both paths at a large vocab (timestamps around each dispatch).
TEST(SampleFull, LargeVocabTiming) {
  int vocab = 151936;
  OpRig rig(vocab);
  auto l = distinct_logits(vocab, 5);
  SamplerParams p;  // defaults: T 0.8, top_k 40, top_p 0.95, min_p 0.05
  EXPECT_EQ(rig.run(l, {}, p, 0.5f), ref::sample(l, {}, p, 0.5f));  // also creates the pipelines
  SamplerParams greedy = p;
  greedy.temperature = 0;
  rig.run(l, {}, greedy, 0.5f);
  vk::Profiler profiler(test::device());
  for (const SamplerParams& q : {greedy, p}) {
    rig.run(l, {}, q, 0.5f);  // writes q's state
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      vk::OneShot cmd(test::device());
      profiler.reset(cmd.cmd(), 4);
      vk::Recorder rec(test::device(), cmd.cmd(), &profiler);
      if (ops::is_greedy(q))
        ops::sample_greedy(rec, rig.logits, rig.state, rig.partials, rig.token);
      else
        ops::sample_full(rec, rig.logits, rig.state, rig.token);
      cmd.submit_and_wait();
      double ms = 0;
      for (auto& t : profiler.read()) ms += t.ms;
      best = std::min(best, ms);
    }
    std::printf("[ sample ] %s, vocab %d: %.3f ms GPU on %s\n", ops::is_greedy(q) ? "greedy" : "full (defaults)",
                vocab, best, test::device().info().name.c_str());
  }
}

// ---- Sampler class ----

// A Sampler recorded once into a reusable command buffer; step() = prepare, submit, wait, read, accept.
struct SamplerRig {
  Tensor logits;
  Sampler sampler;
  vk::Recording recording;
  SamplerRig(int vocab, const SamplerParams& p, Sampler::HostCopies copies = Sampler::HostCopies::Auto)
      : logits(test::empty_tensor(DType::F32, {vocab, 1, 1, 1}, "logits")),
        sampler(test::device(), test::arena(), vocab, p, copies),
        recording(test::device()) {
    record();
  }
  void record() {
    recording.begin();
    vk::Recorder rec(test::device(), recording.cmd());
    sampler.record(rec, logits);
    recording.end();
  }
  int32_t step() {
    sampler.prepare_step();
    recording.submit_and_wait();
    int32_t id = sampler.token();
    sampler.accept(id);
    return id;
  }
};

TEST(Sampler, FrequenciesMatchProbabilities) {
  const std::vector<float> l = {1.0f, 0.5f, 2.0f, -1.0f, 0.0f, 1.5f, -0.5f, 0.8f};
  SamplerParams all;  // nothing filtered: a plain softmax at T = 1.2
  all.temperature = 1.2f, all.top_k = 0, all.top_p = 1.0f, all.min_p = 0.0f, all.seed = 7;
  SamplerParams filtered = all;  // top-p and min-p drop some ids
  filtered.top_p = 0.85f, filtered.min_p = 0.15f;
  // the reference's softmax equals one computed here in double
  auto want_all = ref::sample_probs(l, {}, all);
  double z = 0;
  for (float x : l) z += std::exp(double(x) / 1.2);
  for (size_t i = 0; i < l.size(); ++i) EXPECT_NEAR(want_all[i], std::exp(double(l[i]) / 1.2) / z, 1e-6);

  const double chi2_999[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32};  // 99.9% quantiles by dof
  for (const SamplerParams& p : {all, filtered}) {
    SamplerRig rig(int(l.size()), p);
    upload_f32(test::device(), rig.logits, l);
    auto want = ref::sample_probs(l, {}, p);
    const int draws = 4000;
    std::vector<int> counts(l.size(), 0);
    for (int d = 0; d < draws; ++d) ++counts[size_t(rig.step())];
    double chi2 = 0;
    int kept = 0;
    for (size_t i = 0; i < l.size(); ++i) {
      if (want[i] == 0) {
        EXPECT_EQ(counts[i], 0) << "id " << i << " was filtered out";
        continue;
      }
      ++kept;
      double expect = want[i] * draws;
      chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
    }
    ASSERT_GE(kept, 2);
    EXPECT_LT(chi2, chi2_999[kept - 1]) << "kept " << kept << " ids, top_p " << p.top_p;
  }
}

TEST(Sampler, SeedReproducesSequence) {
  int vocab = 300;
  auto l = distinct_logits(vocab, 3, -2, 2);
  auto draw = [&](uint64_t seed) {
    SamplerParams p;
    p.temperature = 1.0f, p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f, p.seed = seed;
    SamplerRig rig(vocab, p);
    upload_f32(test::device(), rig.logits, l);
    std::vector<int32_t> ids;
    for (int i = 0; i < 60; ++i) ids.push_back(rig.step());
    rig.sampler.reset({});  // restarts the PRNG: the same sequence again
    for (int i = 0; i < 60; ++i) EXPECT_EQ(rig.step(), ids[size_t(i)]) << "after reset, step " << i;
    return ids;
  };
  auto a = draw(42), b = draw(42), c = draw(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Sampler, RepetitionPenaltyChangesGreedyChoice) {
  int vocab = 1001;
  auto l = test::random_floats(size_t(vocab), 9, -1, 1);
  l[10] = 3.0f, l[20] = 2.5f;
  SamplerParams p;
  p.temperature = 0, p.repeat_penalty = 1.5f, p.repeat_last_n = 4;
  SamplerRig rig(vocab, p);
  upload_f32(test::device(), rig.logits, l);
  EXPECT_EQ(rig.step(), 10);  // window empty; 10 is accepted into it
  EXPECT_EQ(rig.step(), 20);  // 3.0 / 1.5 = 2.0 < 2.5
  EXPECT_EQ(rig.step(), 10);  // both penalized: 2.0 vs 1.67
  for (int i = 0; i < 4; ++i) rig.sampler.accept(500);  // pushes 10 and 20 out of the 4-token window
  EXPECT_EQ(rig.sampler.window(), (std::vector<int32_t>{500, 500, 500, 500}));
  EXPECT_EQ(rig.step(), 10);
  p.repeat_penalty = 1.1f;  // 3.0 / 1.1 = 2.73 > 2.5: the penalty is too weak to change the choice
  EXPECT_FALSE(rig.sampler.set_params(p));
  rig.sampler.reset(std::vector<int32_t>{10});
  EXPECT_EQ(rig.step(), 10);
  // negative logits are multiplied: -0.5 * 1.5 = -0.75 < -0.6
  std::vector<float> neg(static_cast<size_t>(vocab), -2.0f);
  neg[10] = -0.5f, neg[20] = -0.6f;
  upload_f32(test::device(), rig.logits, neg);
  p.repeat_penalty = 1.5f;
  rig.sampler.set_params(p);
  rig.sampler.reset(std::vector<int32_t>{10});
  EXPECT_EQ(rig.step(), 20);
  EXPECT_EQ(ref::sample(neg, std::vector<int32_t>{10}, p, 0), 20);
}

// One recording, many steps: only the logits (as the model would) and the sampler's host buffers change.
// HostCopies::Always exercises the path taken when the arena is not host-visible (copies in the recording).
class ReplayTest : public testing::TestWithParam<Sampler::HostCopies> {};

TEST_P(ReplayTest, MatchesReferenceEachStep) {
  int vocab = 2000;
  SamplerParams stochastic;
  stochastic.temperature = 0.9f, stochastic.top_k = 50, stochastic.top_p = 0.9f, stochastic.min_p = 0.02f;
  stochastic.repeat_penalty = 1.3f, stochastic.repeat_last_n = 8, stochastic.seed = 11;
  SamplerParams greedy = stochastic;
  greedy.temperature = 0;
  for (const SamplerParams& p : {stochastic, greedy}) {
    SamplerRig rig(vocab, p, GetParam());
    std::vector<int32_t> prompt = {1, 2, 3, 1999};
    rig.sampler.reset(prompt);
    int differs_from_unpenalized = 0;
    for (int s = 0; s < 40; ++s) {
      // logits that favour the ids just sampled, so the penalty has something to do
      auto l = distinct_logits(vocab, uint32_t(100 + s), -4, 4);
      for (int32_t id : rig.sampler.window()) l[size_t(id)] += 1.0f;
      upload_f32(test::device(), rig.logits, l);
      auto window = rig.sampler.window();
      int32_t got = rig.step();
      float u = rig.sampler.last_u();
      EXPECT_EQ(got, ref::sample(l, window, p, u)) << "step " << s << " u " << u;
      SamplerParams off = p;
      off.repeat_penalty = 1.0f;
      differs_from_unpenalized += ref::sample(l, window, off, u) != got;
    }
    EXPECT_GT(differs_from_unpenalized, 0) << "the penalty never mattered: the test is too weak";
  }
}

INSTANTIATE_TEST_SUITE_P(Sampler, ReplayTest,
                         testing::Values(Sampler::HostCopies::Auto, Sampler::HostCopies::Always),
                         [](const auto& info) {
                           return info.param == Sampler::HostCopies::Auto ? std::string("in_place")
                                                                          : std::string("host_copies");
                         });

TEST(Sampler, SwitchingGreedyNeedsRecordingAgain) {
  SamplerParams p;
  p.temperature = 0.8f;
  SamplerRig rig(64, p);
  upload_f32(test::device(), rig.logits, distinct_logits(64, 1));
  rig.step();
  p.temperature = 0;
  EXPECT_TRUE(rig.sampler.set_params(p));
  EXPECT_THROW(rig.sampler.prepare_step(), Error);
  rig.record();
  EXPECT_EQ(rig.step(), ref::sample(distinct_logits(64, 1), rig.sampler.window(), p, 0));
}

TEST(Sampler, RejectsBadParams) {
  auto bad = [](auto edit) {
    SamplerParams p;
    edit(p);
    EXPECT_THROW(ops::validate(p), Error);
    EXPECT_THROW(Sampler(test::device(), test::arena(), 100, p), Error);
  };
  bad([](SamplerParams& p) { p.top_p = 0.0f; });
  bad([](SamplerParams& p) { p.top_p = 1.5f; });
  bad([](SamplerParams& p) { p.min_p = 1.0f; });
  bad([](SamplerParams& p) { p.min_p = -0.1f; });
  bad([](SamplerParams& p) { p.repeat_penalty = 0.0f; });
  bad([](SamplerParams& p) { p.top_k = -1; });
  bad([](SamplerParams& p) { p.repeat_last_n = -1; });
  try {
    SamplerParams p;
    p.top_p = 2;
    ops::validate(p);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p 2"), std::string::npos) << e.what();
  }
  Sampler s(test::device(), test::arena(), 100, SamplerParams{});
  Tensor wrong = test::empty_tensor(DType::F32, {99, 1, 1, 1}, "logits");
  EXPECT_THROW(test::run([&](vk::Recorder& r) { s.record(r, wrong); }), Error);
  EXPECT_THROW(s.accept(100), Error);
}

}  // namespace
}  // namespace ds
