// Runs and what is recorded for them, round-tripped through the public API on real SQLite files:
// runs and tokens (with alternatives and partial UTF-8), divergence per token and per layer,
// bit-exact compressed blobs, training steps and evaluations, load_run for replay, and the per-token
// divergence of pair-turn chat replies (message_divergence).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "support/store_fixture.h"
#include "util/error.h"

namespace ds {
namespace {

using test::StoreTest;

TEST_F(StoreTest, RunsAndTokens) {
  int64_t teacher = store.add_model({.path = "/t", .sha256 = std::string(64, '1'), .architecture = "llama"});
  int64_t student = store.add_model({.path = "/s", .sha256 = std::string(64, '2'), .layer_layout = "AMAM"});
  ds::Run r{.kind = RunKind::Distill, .prompt = "p", .config_json = R"({"k":8})", .model_id = student,
        .teacher_model_id = teacher};
  int64_t id = store.create_run(r);
  int64_t gen = make_run(RunKind::Generate);
  auto run = store.get_run(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->kind, RunKind::Distill);
  EXPECT_EQ(run->status, RunStatus::Running);
  EXPECT_EQ(run->finished_at, 0);
  EXPECT_EQ(run->config_json, R"({"k":8})");
  EXPECT_EQ(run->teacher_model_id, teacher);
  store.finish_run(id, RunStatus::Failed, "out of memory");
  run = store.get_run(id);
  EXPECT_EQ(run->status, RunStatus::Failed);
  EXPECT_EQ(run->error, "out of memory");
  EXPECT_GT(run->finished_at, 0);
  EXPECT_EQ(store.list_runs().size(), 2u);
  ASSERT_EQ(store.list_runs(RunKind::Generate).size(), 1u);
  EXPECT_EQ(store.list_runs(RunKind::Generate)[0].id, gen);
  EXPECT_EQ(store.list_runs(std::nullopt, 1).size(), 1u);
  EXPECT_THROW(store.finish_run(999, RunStatus::Done), Error);

  std::vector<Token> tokens(3);
  for (int i = 0; i < 3; ++i) tokens[i] = {.run_id = id, .index = i, .token_id = 100 + i, .time_ms = 1.5 * i};
  tokens[0].is_prompt = true;
  tokens[0].piece = "Once";
  tokens[1].piece = std::string("\xe2\x9c", 2);  // first two bytes of a 3-byte UTF-8 character
  tokens[1].prob = 0.25;
  tokens[1].alternatives = {{7, 0.5f, " the"}, {9, 0.125f, ""}, {-1, 0.0f, std::string("\0x", 2)}};
  tokens[2].piece = "\xa8";
  tokens[2].prob = 1.0;
  store.append_tokens(tokens);
  auto back = store.list_run_tokens(id);
  ASSERT_EQ(back.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].run_id, id);
    EXPECT_EQ(back[i].message_id, 0);
    EXPECT_EQ(back[i].index, i);
    EXPECT_EQ(back[i].token_id, 100 + i);
    EXPECT_EQ(back[i].piece, tokens[i].piece);
    EXPECT_EQ(back[i].time_ms, tokens[i].time_ms);
    EXPECT_EQ(back[i].prob, tokens[i].prob);
    EXPECT_EQ(back[i].is_prompt, tokens[i].is_prompt);
    EXPECT_EQ(back[i].alternatives, tokens[i].alternatives);
  }
  EXPECT_THROW(store.append_token({.run_id = id, .index = 1}), Error) << "duplicate index";
  EXPECT_THROW(store.append_token({.run_id = 999, .index = 0}), Error) << "unknown run";
  EXPECT_THROW(store.append_token({.index = 0}), Error) << "no owner";
  EXPECT_THROW(store.append_tokens(std::vector<Token>{{.run_id = gen, .index = 0}, {.run_id = 999}}), Error);
  EXPECT_TRUE(store.list_run_tokens(gen).empty()) << "append_tokens is all or nothing";

  store.delete_run(id);
  EXPECT_FALSE(store.get_run(id));
  EXPECT_TRUE(store.list_run_tokens(id).empty());
}

TEST_F(StoreTest, DivergenceRoundTrip) {
  int64_t run = make_run();
  for (int i = 0; i < 4; ++i) {
    store.append_divergence({run, i, 0.1 * i, 0.2 * i, i % 2 == 0, 0.75, 2.5 + i, 3.25 - i});
    for (int layer = 0; layer < 3; ++layer) {
      std::optional<double> js;
      if (layer != 1) js = 0.01 * (i + layer);  // layer 1 is a Mamba layer
      store.append_layer_divergence({run, i, layer, 1.0 - 0.001 * layer, js});
    }
  }
  auto d = store.list_divergence(run);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[3].index, 3);
  EXPECT_DOUBLE_EQ(d[3].kl, 0.1 * 3);
  EXPECT_DOUBLE_EQ(d[3].reverse_kl, 0.2 * 3);
  EXPECT_FALSE(d[3].top1_agree);
  EXPECT_TRUE(d[2].top1_agree);
  EXPECT_DOUBLE_EQ(d[3].topk_overlap, 0.75);
  EXPECT_DOUBLE_EQ(d[3].teacher_entropy, 5.5);
  EXPECT_DOUBLE_EQ(d[3].student_entropy, 0.25);
  auto l = store.list_layer_divergence(run);
  ASSERT_EQ(l.size(), 12u);
  EXPECT_EQ(l[4].index, 1);
  EXPECT_EQ(l[4].layer, 1);
  EXPECT_FALSE(l[4].attention_js);
  EXPECT_DOUBLE_EQ(*l[5].attention_js, 0.03);
  EXPECT_DOUBLE_EQ(l[5].residual_cosine, 0.998);
  EXPECT_THROW(store.append_divergence({run, 0}), Error) << "one row per token";
}

TEST_F(StoreTest, BlobsRoundTripBitExact) {
  int64_t run = make_run();
  // Attention-like rows: softmax of random logits, plus awkward values.
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> att(8 * 256);
  for (int h = 0; h < 8; ++h) {
    float sum = 0;
    for (int j = 0; j < 256; ++j) sum += att[h * 256 + j] = std::exp(normal(rng));
    for (int j = 0; j < 256; ++j) att[h * 256 + j] /= sum;
  }
  att[0] = -0.0f;
  att[1] = std::numeric_limits<float>::denorm_min();
  att[2] = std::numeric_limits<float>::infinity();
  uint32_t nan_bits = 0x7fc01234;  // a NaN with a payload
  std::memcpy(&att[3], &nan_bits, 4);
  BlobKey key{.run_id = run, .index = 5, .layer = 2, .head = -1, .kind = "attention"};
  store.put_blob(Blob::from_floats(key, {256, 8}, att));

  auto back = store.get_blob(key);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key, key);
  EXPECT_EQ(back->type, BlobType::F32);
  EXPECT_EQ(back->shape, (std::vector<int64_t>{256, 8}));
  std::vector<float> values = back->floats();
  ASSERT_EQ(values.size(), att.size());
  EXPECT_EQ(std::memcmp(values.data(), att.data(), att.size() * 4), 0) << "floats must come back bit for bit";

  auto infos = store.list_blobs(run);
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].codec, "shuffle+zlib");
  EXPECT_EQ(infos[0].raw_bytes, int64_t(att.size() * 4));
  EXPECT_LT(infos[0].stored_bytes, infos[0].raw_bytes);
  std::printf("attention rows 8x256 f32: %lld -> %lld bytes\n", (long long)infos[0].raw_bytes,
              (long long)infos[0].stored_bytes);

  // Other element types, replacement, incompressible data, empty blobs, missing keys, bad shapes.
  Blob u8;
  u8.key = {run, 5, 2, 3, "act_stats"};
  u8.type = BlobType::U8;
  u8.shape = {4};
  u8.bytes = {1, 2, 3, 4};
  store.put_blob(u8);
  u8.bytes = {9, 8, 7, 6};
  store.put_blob(u8);
  EXPECT_EQ(store.get_blob(u8.key)->bytes, u8.bytes);
  Blob noise;
  noise.key = {run, -1, -1, -1, "noise"};
  noise.type = BlobType::F16;
  noise.shape = {512};
  for (int i = 0; i < 1024; ++i) noise.bytes.push_back(uint8_t(rng()));
  store.put_blob(noise);
  EXPECT_EQ(store.get_blob(noise.key)->bytes, noise.bytes);
  Blob empty;
  empty.key = {run, 0, 0, 0, "empty"};
  empty.shape = {0};
  store.put_blob(empty);
  EXPECT_TRUE(store.get_blob(empty.key)->bytes.empty());
  infos = store.list_blobs(run);
  ASSERT_EQ(infos.size(), 4u);
  EXPECT_EQ(infos[0].key.kind, "noise") << "ordered by token index";
  EXPECT_EQ(infos[0].codec, "raw");
  EXPECT_FALSE(store.get_blob({run, 5, 2, 0, "attention"}));
  EXPECT_THROW(store.put_blob(Blob::from_floats(key, {3, 3}, att)), Error);
  EXPECT_THROW(store.put_blob(Blob::from_floats({.run_id = 999, .kind = "x"}, {1}, std::span<const float>(att.data(), 1))),
               Error) << "unknown run";
}

TEST_F(StoreTest, TrainingStepsAndEvals) {
  int64_t run = make_run(RunKind::Distill);
  for (int stage = 0; stage < 2; ++stage)
    for (int step = 0; step < 5; ++step) {
      TrainStep s{.run_id = run, .stage = stage, .step = step, .loss = 3.0 - 0.1 * step,
                  .losses_json = R"({"kl":1.5})", .lr = 1e-4, .tokens_per_s = 1234.5};
      if (step % 2) s.grad_norm = 0.5;
      store.append_train_step(s);
    }
  store.append_stage_eval({.run_id = run, .stage = 1, .step = 4, .perplexity = 12.5, .kl = 0.25,
                           .top1_agreement = 0.875, .decode_tokens_per_s = 99, .checkpoint_path = "/ck/1.gguf"});
  int64_t e0 = store.append_stage_eval({.run_id = run, .stage = 0, .step = 4, .perplexity = 20});
  auto steps = store.list_train_steps(run);
  ASSERT_EQ(steps.size(), 10u);
  EXPECT_EQ(steps[7].stage, 1);
  EXPECT_EQ(steps[7].step, 2);
  EXPECT_DOUBLE_EQ(steps[7].loss, 2.8);
  EXPECT_EQ(steps[7].losses_json, R"({"kl":1.5})");
  EXPECT_DOUBLE_EQ(steps[7].lr, 1e-4);
  EXPECT_DOUBLE_EQ(steps[7].tokens_per_s, 1234.5);
  EXPECT_FALSE(steps[7].grad_norm);
  EXPECT_EQ(steps[8].grad_norm, 0.5);
  EXPECT_GT(steps[0].created_at, 0);
  EXPECT_EQ(store.list_train_steps(run, 1).size(), 5u);
  EXPECT_THROW(store.append_train_step({.run_id = run, .stage = 0, .step = 0}), Error) << "duplicate step";
  auto evals = store.list_stage_evals(run);
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[0].id, e0) << "ordered by stage";
  EXPECT_EQ(evals[1].checkpoint_path, "/ck/1.gguf");
  EXPECT_DOUBLE_EQ(evals[1].top1_agreement, 0.875);
  EXPECT_DOUBLE_EQ(evals[1].decode_tokens_per_s, 99);
}

TEST_F(StoreTest, LayerImportanceRoundTrip) {
  int64_t run = make_run(RunKind::Distill);
  const std::vector<LayerImportance> stage1 = {
      {.run_id = run, .stage = 1, .layer = 5, .rank = 0, .score = 0.125, .method = "probe", .converted = true},
      {.run_id = run, .stage = 1, .layer = 2, .rank = 1, .score = 0.5, .method = "probe"}};
  const std::vector<LayerImportance> stage0 = {
      {.run_id = run, .stage = 0, .layer = 3, .rank = 0, .score = 0.0625, .method = "leave-one-out", .converted = true},
      {.run_id = run, .stage = 0, .layer = 1, .rank = 1, .score = 0.75, .method = "leave-one-out"}};
  store.put_layer_importance(stage1);
  store.put_layer_importance(stage0);
  auto got = store.list_layer_importance(run);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].stage, 0) << "ordered by stage, then rank";
  EXPECT_EQ(got[0].layer, 3);
  EXPECT_TRUE(got[0].converted);
  EXPECT_DOUBLE_EQ(got[1].score, 0.75);
  EXPECT_FALSE(got[1].converted);
  EXPECT_EQ(got[2].method, "probe");
  EXPECT_EQ(got[2].layer, 5);
  EXPECT_EQ(got[3].rank, 1);
  // A stage scored again (resumed before its layers were kept) replaces its rows.
  LayerImportance again = stage1[1];
  again.score = 0.25;
  store.put_layer_importance(std::vector<LayerImportance>{again});
  EXPECT_DOUBLE_EQ(store.list_layer_importance(run)[3].score, 0.25);
  EXPECT_EQ(store.load_run(run).importance.size(), 4u);
  // Resuming inside stage 0 forgets stage 1's scores, keeps stage 0's.
  store.resume_training_run(run, 0, 3);
  got = store.list_layer_importance(run);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].layer, 1);
  EXPECT_THROW(store.put_layer_importance(std::vector<LayerImportance>{{.run_id = 999, .method = "probe"}}), Error)
      << "unknown run";
  store.delete_run(run);
  EXPECT_TRUE(store.list_layer_importance(run).empty()) << "cascades with the run";
}

// A pair-turn reply's divergence: round trip of every field (labels with any bytes), replace, bad
// offsets refused with the message and offsets named, cascade with the message and the conversation.
TEST_F(StoreTest, MessageDivergenceRoundTripAndCascade) {
  const int64_t c = store.create_conversation({.title = "pair"});
  const std::string text = "Once upon a t\xc3\xa9me";  // 17 bytes
  const int64_t m = store.append_message({.conversation_id = c, .role = Role::Assistant, .text = text});
  MessageDivergence d{.message_id = m, .teacher_path = "t.gguf", .student_path = "s.gguf"};
  const int32_t bounds[][2] = {{0, 4}, {4, 5}, {9, 2}, {11, 6}};
  for (int i = 0; i < 4; ++i) {
    MessageTokenDivergence t{.begin = bounds[i][0], .length = bounds[i][1], .token_id = 100 + i,
                             .label = i == 3 ? "\xc3\xa9<&" : "tok", .kl = 0.25f * float(i), .reverse_kl = 0.1f,
                             .p_teacher = 0.9f, .p_student = std::nanf(""), .top1_agree = i != 2,
                             .student_top1 = {7, 0, "seven"}};
    for (int k = 0; k < 5; ++k) {
      t.teacher_top.push_back({100 + k, 0.5f / float(k + 1), "t" + std::to_string(k)});
      t.student_top.push_back({200 + k, 0.4f / float(k + 1), "s" + std::to_string(k)});
    }
    d.tokens.push_back(t);
  }
  store.put_message_divergence(d);
  auto got = store.get_message_divergence(m);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->student_path, "s.gguf");
  EXPECT_EQ(got->teacher_path, "t.gguf");
  ASSERT_EQ(got->tokens.size(), 4u);
  EXPECT_TRUE(std::isnan(got->tokens[0].p_student));
  for (MessageTokenDivergence& t : d.tokens) t.p_student = 0.5f;  // NaN != NaN: compare the rest
  for (MessageTokenDivergence& t : got->tokens) t.p_student = 0.5f;
  EXPECT_EQ(got->tokens, d.tokens);
  EXPECT_EQ(store.list_message_divergence(c).size(), 1u);

  d.tokens.resize(1);  // put again: replaced
  store.put_message_divergence(d);
  EXPECT_EQ(store.get_message_divergence(m)->tokens.size(), 1u);
  d.tokens[0].begin = 15;  // 15 + 4 > 17 bytes
  try {
    store.put_message_divergence(d);
    FAIL() << "a token outside the text was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cat("message ", m, ": divergence token 0 at bytes [15, 19)")), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(store.put_message_divergence({.message_id = 999}), Error);

  const int64_t m2 = store.append_message({.conversation_id = c, .role = Role::Assistant, .text = "ok"});
  store.put_message_divergence({.message_id = m2, .student_path = "s.gguf"});
  store.delete_message(m);
  EXPECT_FALSE(store.get_message_divergence(m));
  EXPECT_TRUE(store.get_message_divergence(m2));
  store.delete_conversation(c);
  EXPECT_FALSE(store.get_message_divergence(m2));
  EXPECT_EQ(store.check_integrity(), "ok");
}

TEST_F(StoreTest, LoadRunHasEverythingForReplay) {
  int64_t teacher = store.add_model({.path = "/t", .sha256 = std::string(64, '1')});
  int64_t student = store.add_model({.path = "/s", .sha256 = std::string(64, '2')});
  int64_t run = store.create_run({.kind = RunKind::Compare, .prompt = "Hello", .model_id = student,
                                  .teacher_model_id = teacher});
  for (int i = 0; i < 3; ++i) {
    store.append_token({.run_id = run, .index = i, .token_id = i, .piece = std::to_string(i), .time_ms = 10.0 + i});
    store.append_divergence({.run_id = run, .index = i, .kl = 0.5});
    store.append_layer_divergence({.run_id = run, .index = i, .layer = 0});
    store.put_blob(Blob::from_floats({run, i, 0, 0, "attention"}, {1}, std::vector<float>{1.0f}));
  }
  store.finish_run(run, RunStatus::Done);
  RunReplay r = store.load_run(run);
  EXPECT_EQ(r.run.prompt, "Hello");
  EXPECT_EQ(r.run.status, RunStatus::Done);
  ASSERT_TRUE(r.model && r.teacher);
  EXPECT_EQ(r.model->path, "/s");
  EXPECT_EQ(r.teacher->path, "/t");
  ASSERT_EQ(r.tokens.size(), 3u);
  EXPECT_EQ(r.tokens[2].piece, "2");
  EXPECT_EQ(r.tokens[2].time_ms, 12.0);
  EXPECT_EQ(r.divergence.size(), 3u);
  EXPECT_EQ(r.layers.size(), 3u);
  ASSERT_EQ(r.blobs.size(), 3u);
  EXPECT_EQ(store.get_blob(r.blobs[1].key)->floats(), std::vector<float>{1.0f});
  EXPECT_THROW(store.load_run(999), Error);
}

}  // namespace
}  // namespace ds
