// The hybrid training step: a tiny 3-layer student (attention, linear, Mamba) distilled from a tiny teacher with
// every loss term at once (reverse KL with temperature, forward KL, CE, hidden MSE). Its gradients are checked by
// central finite differences of the trainer's own F32 loss, one random direction per tensor (directional
// derivative against g . u). Training only the mixers: frozen tensors have no gradient, the mixers' gradients
// equal those of the all-parameter step, and the step lowers the loss.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <random>

#include "model/hybrid_config.h"
#include "model/model_source.h"
#include "model/synthetic.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/temp_dir.h"
#include "train/trainer.h"

namespace ds {
namespace {

struct Models {
  test::TempDir dir;
  ModelConfig teacher, student;
  std::unique_ptr<ModelSource> teacher_src, student_src;
};

void make_models(Models& m) {
  m.teacher = llama_like(3, 32, 4, 2, 64, 300);
  m.teacher.name = "tiny-teacher";
  m.student = m.teacher;
  set_hybrid_layout(m.student, {LayerKind::Attention, LayerKind::Linear, LayerKind::Mamba}, /*d_state=*/8,
                    /*window=*/4);
  const std::string t = m.dir.file("teacher.gguf"), s = m.dir.file("student.gguf");
  write_synthetic_model(t, {m.teacher, DType::F32, 3, 0.15f});
  write_synthetic_model(s, {m.student, DType::F32, 4, 0.15f});
  m.teacher_src = ModelSource::open(t);
  m.student_src = ModelSource::open(s);
  m.student = m.student_src->config();
  m.teacher = m.teacher_src->config();
}

train::TrainerOptions options(const Models& m, train::TrainGroup group) {
  train::TrainerOptions o;
  o.model = m.student;
  o.teacher = m.teacher;
  o.seq_len = 12;
  o.batch_seqs = 2;
  o.micro_batch_seqs = 1;
  o.train = group;
  using T = train::LossTerm;
  o.losses = {T{T::KlReverse, 1.0f, 2.0f}, T{T::KlForward, 0.5f, 1.0f}, T{T::CrossEntropy, 0.3f},
              T{T::HiddenMse, 0.2f, 1.0f, 1}};
  return o;
}

train::TokenBatch batch(int n, int vocab) {
  std::mt19937 rng(7);
  train::TokenBatch b;
  for (int i = 0; i < n; ++i) {
    b.ids.push_back(int32_t(rng() % uint32_t(vocab)));
    b.targets.push_back(int32_t(rng() % uint32_t(vocab)));
  }
  return b;
}

TEST(TrainHybrid, GradientsMatchFiniteDifferences) {
  Models m;
  make_models(m);
  train::Trainer tr(test::device(), options(m, train::TrainGroup::All));
  tr.params().load(*m.student_src);
  tr.teacher().load(*m.teacher_src);
  // Steps dt ~ softplus(0.5 + ...) ~ 1 (the synthetic initialization's are ~0.01): the scan's dt and A
  // gradients are then large enough for F32 finite differences to resolve.
  const auto& dtb = tr.params().get("blk.2.ssm_dt.bias");
  tr.params().upload(dtb.name, std::vector<float>(size_t(dtb.master.n_elements()), 0.5f));
  const auto b = batch(24, m.student.vocab);
  const train::StepStats s0 = tr.gradients(b);
  ASSERT_TRUE(std::isfinite(s0.loss));
  std::printf("loss %.6f (kl_rev %.4f kl_fwd %.4f ce %.4f hidden %.4f)\n", s0.loss, s0.terms[0], s0.terms[1],
              s0.terms[2], s0.terms[3]);
  std::mt19937 rng(11);
  double worst = 0;
  int checked = 0;
  for (const train::TrainParam& p : tr.params().all()) {
    // gradients() sums over the micro-batches; the loss is the mean over them.
    std::vector<float> g = tr.params().download_grad(p.name);
    for (float& x : g) x /= float(tr.micro_batches());
    const std::vector<float> w = tr.params().download(p.name);
    // u = g / |g| + r / |r|: the derivative along u is large (|g|) but not only along g.
    double gn = 0, rn = 0;
    std::vector<double> r(g.size());
    std::normal_distribution<double> nd;
    for (size_t i = 0; i < g.size(); ++i) {
      gn += double(g[i]) * g[i];
      r[i] = nd(rng);
      rn += r[i] * r[i];
    }
    gn = std::sqrt(gn);
    rn = std::sqrt(rn);
    ASSERT_GT(gn, 0) << p.name << " has a zero gradient";
    std::vector<double> u(g.size());
    double gu = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      u[i] = double(g[i]) / gn + r[i] / rn;
      gu += double(g[i]) * u[i];
    }
    // The loss changes by about h |g|: at least 1e-3, far above its F32 rounding (~3e-7).
    const double h = std::clamp(1e-3 / gn, 2e-3, 1e-2);
    auto loss_at = [&](double sign) {
      std::vector<float> v(w.size());
      for (size_t i = 0; i < w.size(); ++i) v[i] = float(double(w[i]) + sign * h * u[i]);
      tr.params().upload(p.name, v);
      return tr.gradients(b).loss;
    };
    const double fd = (loss_at(1) - loss_at(-1)) / (2 * h);
    tr.params().upload(p.name, w);
    const double err = std::abs(fd - gu) / gn;
    // Truncation (2e-2) plus the F32 loss's rounding: a few ulps of |L| over 2 h |g|.
    const double bound = 2e-2 + 8 * 1.2e-7 * std::abs(s0.loss) / (2 * h * gn);
    worst = std::max(worst, err);
    ++checked;
    if (std::getenv("DS_GRAD_PRINT"))
      std::printf("  %-28s |g| %.3e  g.u %+.6e  fd %+.6e  err %.2e (bound %.2e)\n", p.name.c_str(), gn, gu, fd, err,
                  bound);
    EXPECT_LT(err, bound) << p.name << ": g.u " << gu << ", finite difference " << fd;
  }
  std::printf("%d tensors, worst directional error %.2e (relative to |g|)\n", checked, worst);
}

TEST(TrainHybrid, MixersOnlyTrainsTheMixers) {
  Models m;
  make_models(m);
  train::Trainer all(test::device(), options(m, train::TrainGroup::All));
  train::Trainer mix(test::device(), options(m, train::TrainGroup::Mixers));
  for (train::Trainer* t : {&all, &mix}) {
    t->params().load(*m.student_src);
    t->teacher().load(*m.teacher_src);
  }
  EXPECT_EQ(mix.params().lowest_trainable_layer(), 1);
  const auto b = batch(24, m.student.vocab);
  const double l_all = all.gradients(b).loss, l_mix = mix.gradients(b).loss;
  EXPECT_EQ(l_all, l_mix);
  int mixers = 0;
  for (const train::TrainParam& p : mix.params().all()) {
    const bool is_mixer = train::LlamaParams::is_mixer_tensor(m.student, p.name);
    EXPECT_EQ(p.trainable, is_mixer) << p.name;
    if (!is_mixer) {
      EXPECT_FALSE(bool(p.grad)) << p.name;
      continue;
    }
    ++mixers;
    const double e = ref::nmse(mix.params().download_grad(p.name), all.params().download_grad(p.name));
    EXPECT_LT(e, 1e-12) << p.name;
  }
  EXPECT_EQ(mixers, 4 + 3 + 9);  // q k v o + fm_q fm_k window factor; ssm in, dt_in, dt, dt bias, conv w/b, A, D, out
  // A few mixer-only steps lower the loss and leave every frozen tensor as it was.
  const std::vector<float> frozen_before = mix.params().download("blk.0.attn_q.weight");
  double first = 0, last = 0;
  for (int i = 0; i < 8; ++i) {
    const double l = mix.step(b, 1e-2f).loss;
    if (i == 0) first = l;
    last = l;
  }
  std::printf("mixers only: loss %.5f -> %.5f over 8 steps; %llu of %llu parameters train\n", first, last,
              (unsigned long long)mix.params().n_trainable(), (unsigned long long)mix.params().n_elements());
  EXPECT_LT(last, first);
  EXPECT_EQ(mix.params().download("blk.0.attn_q.weight"), frozen_before);
}

}  // namespace
}  // namespace ds
