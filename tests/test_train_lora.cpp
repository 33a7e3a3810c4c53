// LoRA adapters as a trainable group (issue 6, LoLCATs' second stage). On a tiny hybrid student (attention, linear,
// Mamba) distilled from a tiny teacher: the adapters' and mixers' gradients match finite differences of the
// trainer's loss; training lowers the KL to the teacher while every frozen base tensor stays bit-equal; merging
// (W += s B A) gives the adapted model's logits; the merged export loads as a plain model with those logits. In
// plans: "train": "lora" stages (with or without converted layers) merge before the stage file is written, resume
// from a checkpoint to the same weights as an uninterrupted run, and bad LoRA keys fail naming the stage.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "model/hybrid_config.h"
#include "model/model_source.h"
#include "model/synthetic.h"
#include "support/distill_fixture.h"
#include "support/files.h"
#include "support/gpu.h"
#include "train/checkpoint.h"
#include "train/distill.h"
#include "train/trainer.h"
#include "util/json_parse.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using test::plan_of;

struct Models {
  test::TempDir dir;
  ModelConfig teacher, student;
  std::unique_ptr<ModelSource> teacher_src, student_src;
  Models() {
    teacher = llama_like(3, 32, 4, 2, 64, 300);
    student = teacher;
    set_hybrid_layout(student, {LayerKind::Attention, LayerKind::Linear, LayerKind::Mamba}, 8, 4);
    const std::string t = dir / "teacher.gguf", s = dir / "student.gguf";
    write_synthetic_model(t, {teacher, DType::F32, 3, 0.15f});
    write_synthetic_model(s, {student, DType::F32, 4, 0.15f});
    teacher_src = ModelSource::open(t);
    student_src = ModelSource::open(s);
    teacher = teacher_src->config();
    student = student_src->config();
  }
};

train::TrainerOptions lora_options(const Models& m, int rank) {
  train::TrainerOptions o;
  o.model = m.student;
  o.teacher = m.teacher;
  o.seq_len = 12;
  o.batch_seqs = 4;
  o.micro_batch_seqs = 2;
  o.train = train::TrainGroup::Lora;
  o.lora.rank = rank;
  o.lora.alpha = 8;
  o.weight_decay = 0;
  o.losses = {train::LossTerm{train::LossTerm::KlReverse, 1.0f, 1.0f}};
  return o;
}

// n sequences of seq_len + 1 random tokens.
train::PackedSequences random_sequences(size_t n, int seq_len, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  train::PackedSequences p;
  p.seq_len = seq_len;
  for (size_t i = 0; i < n * size_t(seq_len + 1); ++i) p.tokens.push_back(int32_t(rng() % uint32_t(vocab)));
  return p;
}

train::TokenBatch first(const train::PackedSequences& p, size_t n) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  return train::gather_batch(p, idx);
}

TEST(TrainLora, AdaptersOnFrozenProjectionsOnly) {
  Models m;
  train::Trainer tr(test::device(), lora_options(m, 4));
  const auto& p = tr.params();
  // Attention layer 0: all seven; linear layer 1: its q/k/v/o train themselves, so gate/up/down only; Mamba
  // layer 2: no q/k/v/o, so gate/up/down.
  int pairs = 0;
  for (int l = 0; l < 3; ++l)
    for (int t = 0; t < train::kLoraTargets; ++t) pairs += p.layer(l).lora_a[size_t(t)] != nullptr;
  EXPECT_EQ(pairs, 7 + 3 + 3);
  EXPECT_TRUE(p.layer(0).lora_a[size_t(train::LoraTarget::Q)]);
  EXPECT_FALSE(p.layer(1).lora_a[size_t(train::LoraTarget::Q)]);
  EXPECT_TRUE(p.get("blk.1.attn_q.weight").trainable);
  EXPECT_FALSE(p.get("blk.0.attn_q.weight").trainable);
  EXPECT_FALSE(p.get("blk.2.ffn_up.weight").trainable);
  const auto& a = p.get("blk.0.ffn_down.lora_a");
  EXPECT_EQ(a.ne, (std::vector<uint64_t>{64, 4}));  // [K = ffn, r]
  EXPECT_EQ(p.get("blk.0.ffn_down.lora_b").ne, (std::vector<uint64_t>{4, 32}));
  // Too large a rank names the projection.
  EXPECT_ERROR(train::Trainer(test::device(), lora_options(m, 17)),
               "[train] LoRA rank 17 is larger than blk.0.attn_k.weight (32 x 16)");
}

TEST(TrainLora, GradientsMatchFiniteDifferences) {
  Models m;
  train::Trainer tr(test::device(), lora_options(m, 3));
  tr.params().load(*m.student_src);
  tr.teacher().load(*m.teacher_src);
  // B = 0 gives A no gradient: give every B random values first.
  std::mt19937 rng(5);
  std::normal_distribution<double> nd;
  for (const train::TrainParam& p : tr.params().all())
    if (p.name.ends_with(".lora_b")) {
      std::vector<float> v(size_t(p.master.n_elements()));
      for (float& x : v) x = float(0.1 * nd(rng));
      tr.params().upload(p.name, v);
    }
  const auto b = first(random_sequences(4, 12, m.student.vocab, 7), 4);
  const double l0 = tr.gradients(b).loss;
  std::map<std::string, std::vector<float>> grads;  // all at the unperturbed point
  for (const train::TrainParam& p : tr.params().all())
    if (train::is_lora_tensor(p.name)) grads[p.name] = tr.params().download_grad(p.name);
  double worst = 0;
  int checked = 0;
  for (const train::TrainParam& p : tr.params().all()) {
    if (!train::is_lora_tensor(p.name)) continue;  // the mixers' gradients: test_train_hybrid
    std::vector<float> g = grads[p.name];
    for (float& x : g) x /= float(tr.micro_batches());
    const std::vector<float> w = tr.params().download(p.name);
    double gn = 0;
    for (float x : g) gn += double(x) * x;
    gn = std::sqrt(gn);
    ASSERT_GT(gn, 0) << p.name << " has a zero gradient";
    const double h = std::clamp(1e-3 / gn, 2e-3, 1e-2);
    auto loss_at = [&](double sign) {
      std::vector<float> v(w.size());
      for (size_t i = 0; i < w.size(); ++i) v[i] = float(double(w[i]) + sign * h * double(g[i]) / gn);
      tr.params().upload(p.name, v);
      return tr.gradients(b).loss;
    };
    const double fd = (loss_at(1) - loss_at(-1)) / (2 * h);  // derivative along g / |g|: |g|
    tr.params().upload(p.name, w);
    const double err = std::abs(fd - gn) / gn;
    // Truncation (seen: 2.7e-3 at h = 7e-3, falling as h^2) plus the F32 loss's rounding.
    const double bound = 6e-3 + 8 * 1.2e-7 * std::abs(l0) / (2 * h * gn);
    worst = std::max(worst, err);
    ++checked;
    EXPECT_LT(err, bound) << p.name << ": |g| " << gn << ", finite difference " << fd;
  }
  std::printf("%d adapter tensors, worst relative error %.2e\n", checked, worst);
}

TEST(TrainLora, LowersKlBaseFrozenMergeIsExact) {
  Models m;
  const auto train_data = random_sequences(32, 12, m.student.vocab, 11);
  const auto valid = random_sequences(8, 12, m.student.vocab, 12);
  train::Trainer tr(test::device(), lora_options(m, 4));
  tr.params().load(*m.student_src);
  tr.teacher().load(*m.teacher_src);
  std::map<std::string, std::vector<float>> start;
  for (const train::TrainParam& p : tr.params().all()) start[p.name] = tr.params().download(p.name);
  // B = 0: the adapted model starts as the base model.
  for (const auto& [name, v] : start)
    if (name.ends_with(".lora_b")) {
      EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float x) { return x == 0; })) << name;
    }
  auto train40 = [&](train::Trainer& t) {
    for (int step = 0; step < 40; ++step) {
      const size_t at = size_t(step % 8) * 4;
      std::vector<size_t> idx{at, at + 1, at + 2, at + 3};
      t.step(train::gather_batch(train_data, idx), 0.01f);
    }
    return t.evaluate_distill(valid, 0);
  };
  const train::DistillEvalStats before = tr.evaluate_distill(valid, 0);
  const train::DistillEvalStats after = train40(tr);
  // The same steps training the mixers alone: the adapters account for part of the gain.
  train::TrainerOptions mixers_only = lora_options(m, 4);
  mixers_only.train = train::TrainGroup::Mixers;
  train::Trainer mix(test::device(), mixers_only);
  mix.params().load(*m.student_src);
  mix.teacher().load(*m.teacher_src);
  const train::DistillEvalStats after_mixers = train40(mix);
  std::printf("40 steps: validation KL to the teacher %.4f -> %.4f (LoRA rank 4 + mixers), %.4f (mixers alone)\n",
              before.kl, after.kl, after_mixers.kl);
  EXPECT_LT(after.kl, 0.8 * before.kl);
  EXPECT_LT(after.kl, 0.95 * after_mixers.kl);

  int moved = 0;
  for (const train::TrainParam& p : tr.params().all()) {
    const std::vector<float> now = tr.params().download(p.name);
    if (!p.trainable) {
      EXPECT_EQ(now, start[p.name]) << p.name << " is frozen but changed";
    } else {
      moved += now != start[p.name];
      EXPECT_TRUE(train::is_lora_tensor(p.name) || train::LlamaParams::is_mixer_tensor(m.student, p.name)) << p.name;
    }
  }
  EXPECT_EQ(uint64_t(moved), std::count_if(tr.params().all().begin(), tr.params().all().end(),
                                           [](const train::TrainParam& p) { return p.trainable; }));

  // Merged: the same logits; B zero again; the frozen projections changed by s B A.
  const auto probe = first(valid, 2);
  const std::vector<float> adapted = tr.logits(probe);
  tr.params().merge_adapters();
  const std::vector<float> merged = tr.logits(probe);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < adapted.size(); ++i) {
    diff = std::max(diff, double(std::abs(adapted[i] - merged[i])));
    scale = std::max(scale, double(std::abs(adapted[i])));
  }
  std::printf("merged vs adapted logits: max |diff| %.3e (max |logit| %.3f)\n", diff, scale);
  EXPECT_LT(diff, 1e-5 * std::max(scale, 1.0));
  EXPECT_NE(tr.params().download("blk.0.attn_q.weight"), start["blk.0.attn_q.weight"]);
  const auto b0 = tr.params().download("blk.2.ffn_up.lora_b");
  EXPECT_TRUE(std::all_of(b0.begin(), b0.end(), [](float x) { return x == 0; }));

  // The export is a plain model (no adapter tensors) computing the same logits without adapters.
  const std::string out = m.dir / "merged.gguf";
  train::export_model(out, tr.params(), m.student_src->tokenizer_data(), DType::F32, {});
  auto merged_src = ModelSource::open(out);
  EXPECT_FALSE(merged_src->find("blk.0.attn_q.lora_a"));
  train::TrainerOptions plain = lora_options(m, 4);
  plain.train = train::TrainGroup::All;
  train::Trainer again(test::device(), plain);
  again.params().load(*merged_src);
  again.teacher().load(*m.teacher_src);
  EXPECT_EQ(again.logits(probe), merged);
}

// ---- plans -------------------------------------------------------------------------------------------------

struct Tiny : test::TinyDistillTeacher {
  std::string plan(const std::string& stages) const {
    return R"({"data": {"corpus": ")" + corpus + R"(", "validation_fraction": 0.2},
      "train": {"seq_len": 16, "batch_seqs": 2}, "eval": {"sequences": 4, "decode_tokens": 0},
      "optimizer": {"lr": 0.01, "warmup_steps": 1, "weight_decay": 0},
      "mixer": {"d_state": 8, "window": 4}, "output": {"store": "none", "checkpoint_interval": 4}, "stages": )" +
           stages + "}";
  }
};

TEST(TrainLora, PlanKeysAndErrors) {
  Tiny t;
  const train::DistillPlan p = plan_of(t.plan(R"([{"layers": [1], "train": "lora"},
      {"train": "lora", "lora": {"rank": 2, "alpha": 4, "targets": ["gate", "down"]}}])"));
  ASSERT_EQ(p.stages.size(), 2u);
  EXPECT_EQ(p.stages[0].train, train::TrainGroup::Lora);
  EXPECT_EQ(p.stages[0].lora.rank, 8);
  EXPECT_EQ(p.stages[0].lora.alpha, 16.0f);
  EXPECT_EQ(p.stages[0].lora.targets.size(), 7u);
  EXPECT_TRUE(p.stages[1].layers.empty());
  EXPECT_EQ(p.stages[1].lora.rank, 2);
  using T = train::LoraTarget;
  EXPECT_EQ(p.stages[1].lora.targets, (std::vector<T>{T::Gate, T::Down}));
  const ModelConfig teacher = ModelSource::open(t.teacher)->config();
  EXPECT_NO_THROW(train::check_plan(p, teacher));

  EXPECT_ERROR(plan_of(t.plan(R"([{"layers": [1]}, {"train": "lora", "lora": {"rank": 0}}])")),
               "key 'stages[1].lora.rank'");
  EXPECT_ERROR(plan_of(t.plan(R"([{"train": "lora", "lora": {"targets": ["q", "w_in"]}}])")),
               "key 'stages[0].lora.targets[1]' is 'w_in', expected one of q, k, v, o, gate, up, down");
  EXPECT_ERROR(plan_of(t.plan(R"([{"layers": [1], "lora": {"rank": 4}}])")),
               "key 'stages[0].lora' sets LoRA adapters, but the stage trains 'mixers': "
               "LoRA needs \"train\": \"lora\"");
  EXPECT_ERROR(plan_of(t.plan(R"([{"train": "lora", "lora": {"rank": 4, "dropout": 0.1}}])")),
               "key 'stages[0].lora.dropout' is not a known setting");
  EXPECT_ERROR(plan_of(t.plan(R"([{"train": "mixers"}])")), "key 'stages[0]' has no \"layers\"");
  EXPECT_ERROR(plan_of(t.plan(R"([{"layers": [0], "train": "qlora"}])")), "expected mixers, all or lora");
  // k and v are 32 x 16 in this teacher (2 kv heads of 8).
  EXPECT_ERROR(train::check_plan(plan_of(t.plan(R"([{"layers": [1]}, {"train": "lora", "lora": {"rank": 20}}])")),
                                 teacher),
               "[distill] stage 1: LoRA rank 20 is larger than the projection k (32 x 16)");
}

TEST(TrainLora, StageMergesAndResumesExactly) {
  Tiny t;
  // Stage 0: layer 1 -> linear (mixers train); stage 1: LoRA on everything else, no conversion.
  const train::DistillPlan plan = plan_of(t.plan(R"([{"layers": [1], "mixer": "linear", "steps": 4},
      {"train": "lora", "lora": {"rank": 4, "alpha": 8}, "loss": {"reverse_kl": 1}, "steps": 16, "lr": 0.001}])"));
  train::DistillOptions o;
  o.log = [](const std::string&) {};
  o.out_dir = (t.dir / "straight");
  const train::DistillResult a = train::distill(test::device(), t.teacher, plan, o);
  ASSERT_EQ(a.stages.size(), 2u);
  const train::StageResult& s1 = a.stages[1];
  std::printf("LoRA stage (rank 4, 16 steps): validation KL to the teacher %.4f -> %.4f, top-1 %.3f -> %.3f\n",
              s1.before.kl, s1.after.kl, s1.before.top1, s1.after.top1);
  EXPECT_TRUE(s1.layers.empty());
  EXPECT_LT(s1.after.kl, 0.9 * s1.before.kl);
  auto merged = ModelSource::open(s1.model);
  EXPECT_FALSE(merged->find("blk.0.attn_q.lora_a")) << "the stage file is a plain model";
  EXPECT_EQ(merged->config().layer_kind(1), LayerKind::Linear);

  // Killed after step 6 of stage 1 (its checkpoint, with adapters and moments, after step 4), then resumed.
  o.out_dir = (t.dir / "resumed");
  o.stop_after_step = 4 + 6;
  train::distill(test::device(), t.teacher, plan, o);
  const std::string ckpt = o.out_dir + "/stage-1.checkpoint.gguf";
  ASSERT_TRUE(fs::exists(ckpt));
  EXPECT_TRUE(ModelSource::open(ckpt)->find("blk.0.attn_q.lora_a"));
  EXPECT_TRUE(ModelSource::open(ckpt)->find("train.adam_m.blk.0.attn_q.lora_b"));
  o.stop_after_step = -1;
  o.resume = true;
  const train::DistillResult b = train::distill(test::device(), t.teacher, plan, o);
  ASSERT_EQ(b.stages.size(), 2u);
  auto resumed = ModelSource::open(b.stages[1].model);
  for (const char* name : {"blk.0.attn_q.weight", "blk.2.ffn_down.weight", "blk.1.attn_q.weight"})
    EXPECT_EQ(resumed->read_f32(name), merged->read_f32(name)) << name;
}

}  // namespace
}  // namespace ds
