// The Trainer's recorded step against the CPU reference composition: the gradients of every parameter of the
// tiny model of support/tiny_model.h (one layer, q/k/v biases, GQA, tied and untied, both RoPE conventions)
// computed by Trainer::gradients equal the double-precision CPU composition (whose gradients test_train_block
// checks by finite differences). And gradient accumulation: micro-batches add up to the whole batch, and
// optimizer steps over micro-batches match steps over the whole batch.
#include <cmath>
#include <cstdio>
#include <random>

#include "ref/compare.h"
#include "support/gpu.h"
#include "support/tiny_model.h"
#include "train/trainer.h"

namespace ds {
namespace {

using test::BlockConfig;

std::map<std::string, std::string> gguf_names(bool tied) {
  std::map<std::string, std::string> n = {{"tok_embd", "token_embd.weight"},   {"attn_norm", "blk.0.attn_norm.weight"},
                                          {"wq", "blk.0.attn_q.weight"},       {"wk", "blk.0.attn_k.weight"},
                                          {"wv", "blk.0.attn_v.weight"},       {"bq", "blk.0.attn_q.bias"},
                                          {"bk", "blk.0.attn_k.bias"},         {"bv", "blk.0.attn_v.bias"},
                                          {"wo", "blk.0.attn_output.weight"},  {"ffn_norm", "blk.0.ffn_norm.weight"},
                                          {"w_gate", "blk.0.ffn_gate.weight"}, {"w_up", "blk.0.ffn_up.weight"},
                                          {"w_down", "blk.0.ffn_down.weight"}, {"output_norm", "output_norm.weight"}};
  if (!tied) n["output"] = "output.weight";
  return n;
}

ModelConfig config_of(const BlockConfig& b) {
  ModelConfig c;
  c.arch = "llama";
  c.n_layers = 1;
  c.d_model = b.d;
  c.n_heads = b.n_heads;
  c.n_kv_heads = b.n_kv;
  c.head_dim = b.head_dim;
  c.ffn_dim = b.ffn;
  c.vocab = b.vocab;
  c.rope.style = b.neox ? RopeStyle::Neox : RopeStyle::Interleaved;
  c.rope.dims = b.head_dim;
  c.tied_embeddings = b.tied;
  c.qkv_bias = true;
  return c;
}

class TrainerGradientTest : public testing::TestWithParam<BlockConfig> {};

TEST_P(TrainerGradientTest, GradientsMatchTheCpuComposition) {
  const BlockConfig b = GetParam();
  test::TinyModel m(b);
  m.round_params_to_float();
  const double cpu_loss = m.forward();
  const auto cpu_grads = m.backward();

  train::TrainerOptions o;
  o.model = config_of(b);
  o.seq_len = b.tokens;
  o.batch_seqs = 1;
  train::Trainer trainer(test::device(), o);
  const auto names = gguf_names(b.tied);
  for (const auto& [tiny, gguf] : names) {
    const auto& v = m.p.at(tiny);
    trainer.params().upload(gguf, std::vector<float>(v.begin(), v.end()));
  }
  ASSERT_EQ(names.size(), trainer.params().all().size());
  const train::StepStats s = trainer.gradients({m.ids, m.targets});
  EXPECT_NEAR(s.loss, cpu_loss, 1e-5 * cpu_loss);
  double worst = 0;
  for (const auto& [tiny, gguf] : names) {
    const auto& want = cpu_grads.at(tiny);
    const double e = ref::nmse(trainer.params().download_grad(gguf), std::vector<float>(want.begin(), want.end()));
    EXPECT_LT(e, 1e-9) << gguf;
    worst = std::max(worst, e);
  }
  std::printf("loss %.9f (CPU %.9f), worst gradient nmse %.2e\n", s.loss, cpu_loss, worst);
}

INSTANTIATE_TEST_SUITE_P(Configs, TrainerGradientTest,
                         testing::Values(BlockConfig{}, BlockConfig{64, 4, 2, 16, 96, 300, 33, true, false},
                                         BlockConfig{48, 6, 2, 8, 80, 257, 21, false, true}),
                         [](const auto& i) {
                           return "d" + std::to_string(i.param.d) + (i.param.neox ? "_neox" : "_interleaved") +
                                  (i.param.tied ? "_tied" : "_untied");
                         });

// Two layers, 4 sequences of 16 tokens: one trainer takes them in one micro-batch, the other in four.
struct AccumulationFixture {
  static train::TrainerOptions options(int micro) {
    train::TrainerOptions o;
    o.model = config_of({32, 4, 2, 8, 64, 96, 16, true, false});
    o.model.n_layers = 2;
    o.model.qkv_bias = false;
    o.seq_len = 16;
    o.batch_seqs = 4;
    o.micro_batch_seqs = micro;
    return o;
  }
  static train::TokenBatch batch(uint32_t seed) {
    std::mt19937 rng(seed);
    train::TokenBatch b;
    for (int i = 0; i < 4 * 16; ++i) {
      b.ids.push_back(int32_t(rng() % 96));
      b.targets.push_back(int32_t(rng() % 96));
    }
    return b;
  }
};

TEST(TrainerAccumulation, MicroBatchGradientsAddUpToTheBatch) {
  train::Trainer whole(test::device(), AccumulationFixture::options(4)),
      parts(test::device(), AccumulationFixture::options(1));
  EXPECT_EQ(parts.micro_batches(), 4);
  whole.params().init_random(5, 0.1f);
  parts.params().init_random(5, 0.1f);
  const auto b = AccumulationFixture::batch(1);
  const auto sw = whole.gradients(b), sp = parts.gradients(b);
  EXPECT_NEAR(sw.loss, sp.loss, 1e-6 * sw.loss);
  double worst = 0;
  for (const auto& p : whole.params().all()) {
    auto g = parts.params().download_grad(p.name);
    for (float& x : g) x /= 4.0f;  // each micro-batch's gradient is of its own mean
    const double e = ref::nmse(g, whole.params().download_grad(p.name));
    EXPECT_LT(e, 1e-10) << p.name;
    worst = std::max(worst, e);
  }
  std::printf("worst gradient nmse between 4 micro-batches and 1: %.2e\n", worst);
}

TEST(TrainerAccumulation, StepsOverMicroBatchesMatchWholeBatchSteps) {
  train::Trainer whole(test::device(), AccumulationFixture::options(4)),
      parts(test::device(), AccumulationFixture::options(2));
  whole.params().init_random(6, 0.1f);
  parts.params().init_random(6, 0.1f);
  for (int step = 0; step < 3; ++step) {
    const auto b = AccumulationFixture::batch(10 + uint32_t(step));
    const auto sw = whole.step(b, 1e-2f), sp = parts.step(b, 1e-2f);
    EXPECT_NEAR(sw.loss, sp.loss, 1e-5 * sw.loss) << "step " << step;
    EXPECT_NEAR(sw.grad_norm, sp.grad_norm, 1e-4 * sw.grad_norm) << "step " << step;
  }
  double worst = 0;
  for (const auto& p : whole.params().all()) {
    const double e = ref::nmse(parts.params().download(p.name), whole.params().download(p.name));
    EXPECT_LT(e, 1e-9) << p.name;
    worst = std::max(worst, e);
  }
  std::printf("after 3 steps, worst parameter nmse between 2 micro-batches and 1: %.2e\n", worst);
}

TEST(TrainerAccumulation, HalfWeightsTrainLikeF32) {
  auto o16 = AccumulationFixture::options(4);
  o16.weights = DType::BF16;
  train::Trainer f32(test::device(), AccumulationFixture::options(4)), bf16(test::device(), o16);
  f32.params().init_random(7, 0.1f);
  bf16.params().init_random(7, 0.1f);
  double l32 = 0, l16 = 0;
  for (int step = 0; step < 5; ++step) {
    const auto b = AccumulationFixture::batch(20);
    l32 = f32.step(b, 1e-2f).loss;
    l16 = bf16.step(b, 1e-2f).loss;
  }
  EXPECT_NEAR(l16, l32, 0.02 * l32);
  std::printf("loss after 5 steps: F32 %.5f, BF16 forward %.5f\n", l32, l16);
  // The forward reads the BF16 copy, which the optimizer refreshes from the F32 master after each update.
  const auto& w = bf16.params().get("blk.1.ffn_down.weight");
  ASSERT_TRUE(bool(w.half));
  const auto master = download_f32(test::device(), w.master), half = download_f32(test::device(), w.half);
  EXPECT_LT(ref::nmse(half, master), 1e-4);
}

}  // namespace
}  // namespace ds
