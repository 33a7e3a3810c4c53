// The capture ring end to end: a teacher and a student step recorded once each and replayed for 50 steps
// (n_past 0..49) fill consecutive frames; each student frame, read while the next step runs, parses back to
// what the CPU references compute for that step: attention rows (truncated past max_context), activation
// stats, logit lens (rms_norm + F16 lm head), cosine / JS against the teacher's frame, divergence.
// Overwritten and future frames are refused; a section left unrecorded fails finish().
#include <cmath>
#include <deque>

#include "probe/capturer.h"
#include "ref/matmul.h"
#include "ref/norm.h"
#include "ref/probe.h"
#include "support/probe_util.h"
#include "vk/submit.h"

namespace ds {
namespace {

constexpr int kLayers = 3, kD = 64, kHeads = 4, kKv = 2, kHd = 16, kVocab = 512, kCtx = 64;
constexpr int kSteps = 50, kFrames = 8, kMaxCtx = 40;
const std::vector<int> kCaptured = {0, 2};
const std::vector<int> kAllHeads = {0, 1, 2, 3};

ModelConfig config() {
  ModelConfig c;
  c.arch = "llama";
  c.n_layers = kLayers;
  c.d_model = kD;
  c.n_heads = kHeads;
  c.n_kv_heads = kKv;
  c.head_dim = kHd;
  c.ffn_dim = 128;
  c.vocab = kVocab;
  return c;
}

// One model's capture-hook inputs: device tensors and the host values of the current step.
struct Side {
  std::vector<Tensor> q, k, x, mixer, mlp;                   // per captured layer
  std::vector<std::vector<float>> qh, kh, xh, mixerh, mlph;  // host copies (kh: F16-rounded cache)
  Tensor logits;
  std::vector<float> logitsh;

  explicit Side(const std::string& name) {
    for (size_t i = 0; i < kCaptured.size(); ++i) {
      const std::string p = name + ".blk." + std::to_string(kCaptured[i]) + ".";
      q.push_back(test::empty_tensor(DType::F32, {kHd, kHeads, 1, 1}, p + "q"));
      k.push_back(test::empty_tensor(DType::F16, {kHd, kCtx, kKv, 1}, p + "cache_k"));
      x.push_back(test::empty_tensor(DType::F32, {kD, 1, 1, 1}, p + "x"));
      mixer.push_back(test::empty_tensor(DType::F32, {kD, 1, 1, 1}, p + "attn_out"));
      mlp.push_back(test::empty_tensor(DType::F32, {kD, 1, 1, 1}, p + "ffn_out"));
      kh.emplace_back(size_t(kKv) * kCtx * kHd, 0.0f);
    }
    qh = xh = mixerh = mlph = std::vector<std::vector<float>>(kCaptured.size());
    logits = test::empty_tensor(DType::F32, {kVocab, 1, 1, 1}, name + ".logits");
  }

  // New inputs for step `step`: q, the cache row at position `step`, residual, sublayer outputs, logits.
  void write(int step, uint32_t seed) {
    Device& dev = test::device();
    for (size_t i = 0; i < kCaptured.size(); ++i) {
      const uint32_t s = seed + 100 * uint32_t(step) + 10 * uint32_t(i);
      qh[i] = test::random_floats(size_t(kHd) * kHeads, s, -2, 2);
      auto row = test::random_floats(size_t(kHd) * kKv, s + 1, -2, 2);
      for (int h = 0; h < kKv; ++h)
        for (int d = 0; d < kHd; ++d)
          kh[i][(size_t(h) * kCtx + step) * kHd + d] = f16_to_f32(f32_to_f16(row[size_t(h) * kHd + d]));
      xh[i] = test::random_floats(kD, s + 2, -3, 3);
      mixerh[i] = test::random_floats(kD, s + 3, -1, 1);
      mlph[i] = test::random_floats(kD, s + 4, -1, 1);
      upload_f32(dev, q[i], qh[i]);
      upload_f32(dev, k[i], kh[i]);
      upload_f32(dev, x[i], xh[i]);
      upload_f32(dev, mixer[i], mixerh[i]);
      upload_f32(dev, mlp[i], mlph[i]);
    }
    logitsh = test::random_floats(kVocab, seed + 100 * uint32_t(step) + 7, -4, 4);
    upload_f32(dev, logits, logitsh);
  }

  std::vector<float> rows(size_t i, int step) const {  // (heads, 1, kMaxCtx)
    return ref::attention_rows(qh[i], kh[i], kAllHeads, kHd, kHeads, kKv, kCtx, step, 1, kMaxCtx,
                               1.0f / std::sqrt(float(kHd)));
  }
};

struct Lens {
  std::vector<float> norm_w, out_w;  // (kD), (kVocab, kD) F16-rounded
  probe::LensWeights weights;
  Lens() {
    norm_w = test::random_floats(kD, 901, 0.5f, 1.5f);
    out_w = test::random_floats(size_t(kD) * kVocab, 902, -1, 1);
    weights.output_norm = test::tensor_from(norm_w, DType::F32, {kD, 1, 1, 1}, "output_norm");
    weights.output = test::tensor_from(out_w, DType::F16, {kD, kVocab, 1, 1}, "output");
    out_w = download_f32(test::device(), weights.output);
  }
  std::vector<std::pair<int32_t, float>> top(const std::vector<float>& x) const {
    std::vector<float> xn(kD), logits(kVocab);
    ref::rms_norm(x, norm_w, xn, kD, 1, weights.eps);
    ref::matmul(out_w, xn, {}, logits, kD, kVocab, 1, false);
    return ref::logits_top(logits, 5);
  }
};

// What the student's frame of one step must parse back to.
struct Expected {
  int step = 0;
  int32_t token = 0;
  std::vector<std::vector<float>> rows;  // per captured layer (heads, 1, kMaxCtx)
  std::vector<ref::ActivationStats> stats;
  std::vector<float> mixer_norm, mlp_norm, cosine, js;
  std::vector<std::vector<std::pair<int32_t, float>>> lens;
  TokenDivergence div;
};

void check_frame(const probe::Frame& f, const Expected& e, uint32_t seq) {
  SCOPED_TRACE("step " + std::to_string(e.step));
  EXPECT_EQ(f.seq, seq);
  EXPECT_EQ(f.n_past, e.step);
  ASSERT_EQ(f.n_queries, 1);
  EXPECT_EQ(f.tokens, std::vector<int32_t>{e.token});
  const int n_keys = std::min(e.step + 1, kMaxCtx);
  ASSERT_EQ(f.maps.size(), kCaptured.size() * kHeads);
  for (size_t i = 0; i < kCaptured.size(); ++i)
    for (int h = 0; h < kHeads; ++h) {
      const AttentionMap& m = f.maps[i * kHeads + size_t(h)];
      EXPECT_EQ(m.layer, kCaptured[i]);
      EXPECT_EQ(m.head, h);
      EXPECT_EQ(m.query_begin, e.step);
      ASSERT_EQ(m.n_keys, n_keys);
      double sum = 0;
      for (int k = 0; k < n_keys; ++k) {
        EXPECT_NEAR(m.at(0, k), e.rows[i][size_t(h) * kMaxCtx + k], 1e-5) << "layer " << m.layer << " head " << h;
        sum += m.at(0, k);
      }
      if (e.step < kMaxCtx) {
        EXPECT_NEAR(sum, 1.0, 1e-5);
      }
    }
  ASSERT_EQ(f.activations.size(), 1u);
  ASSERT_EQ(f.activations[0].layers.size(), size_t(kLayers));
  EXPECT_EQ(f.activations[0].position, e.step);
  EXPECT_TRUE(f.activations[0].layers[1].histogram.empty()) << "layer 1 is not captured";
  for (size_t i = 0; i < kCaptured.size(); ++i) {
    const LayerActivation& a = f.activations[0].layers[size_t(kCaptured[i])];
    EXPECT_NEAR(a.residual_norm, e.stats[i].norm, 1e-5 * e.stats[i].norm);
    EXPECT_NEAR(a.mixer_out_norm, e.mixer_norm[i], 1e-5 * e.mixer_norm[i]);
    EXPECT_NEAR(a.mlp_out_norm, e.mlp_norm[i], 1e-5 * e.mlp_norm[i]);
    EXPECT_EQ(a.top_channels, e.stats[i].top);
    EXPECT_EQ(a.histogram, e.stats[i].histogram);
    EXPECT_EQ(a.hist_lo, -2.0f);
    ASSERT_EQ(a.logit_lens.size(), e.lens[i].size());
    for (size_t r = 0; r < a.logit_lens.size(); ++r) {
      EXPECT_EQ(a.logit_lens[r].first, e.lens[i][r].first) << "lens rank " << r;
      EXPECT_NEAR(a.logit_lens[r].second, e.lens[i][r].second, 1e-4 * e.lens[i][r].second);
    }
  }
  ASSERT_EQ(f.divergence.size(), 1u);
  const TokenDivergence& d = f.divergence[0];
  EXPECT_EQ(d.token, e.token);
  EXPECT_NEAR(d.kl, e.div.kl, 2e-5 + 1e-4 * e.div.kl);
  EXPECT_NEAR(d.reverse_kl, e.div.reverse_kl, 2e-5 + 1e-4 * e.div.reverse_kl);
  EXPECT_NEAR(d.entropy_teacher, e.div.entropy_teacher, 2e-5 + 1e-4 * e.div.entropy_teacher);
  EXPECT_EQ(d.teacher_top1, e.div.teacher_top1);
  EXPECT_EQ(d.student_top1, e.div.student_top1);
  EXPECT_EQ(d.top1_agree, e.div.top1_agree);
  EXPECT_EQ(d.topk_overlap, e.div.topk_overlap);
  EXPECT_NEAR(d.p_student, e.div.p_student, 1e-6 + 1e-4 * e.div.p_student);
  ASSERT_EQ(d.student_top.size(), 5u);
  EXPECT_EQ(d.student_top[4].first, e.div.student_top[4].first);
  ASSERT_EQ(d.layer_cosine.size(), size_t(kLayers));
  EXPECT_TRUE(std::isnan(d.layer_cosine[1]) && std::isnan(d.layer_attn_js[1])) << "layer 1 is not compared";
  for (size_t i = 0; i < kCaptured.size(); ++i) {
    EXPECT_NEAR(d.layer_cosine[size_t(kCaptured[i])], e.cosine[i], 1e-5);
    EXPECT_NEAR(d.layer_attn_js[size_t(kCaptured[i])], e.js[i], 1e-5);
  }
}

class CaptureRing : public testing::Test {
 protected:
  Device& dev = test::device();
  Tensor step = test::i32_tensor({0, 1, 0, 0}, "step");
  Tensor ids = test::i32_tensor({0}, "ids");
  probe::CapturePlan teacher_plan() {
    probe::CapturePlan p;
    p.layers = kCaptured;
    p.activation_stats = false;
    p.save_residual = true;
    p.max_context = kMaxCtx;
    return p;
  }
  probe::CapturePlan student_plan() {
    probe::CapturePlan p;
    p.layers = kCaptured;
    p.logit_lens = p.layer_compare = p.divergence = true;
    p.max_context = kMaxCtx;
    p.hist_bins = 16;
    p.hist_range = 2;
    return p;
  }
};

TEST_F(CaptureRing, FiftyReplayedStepsParseBackToTheReference) {
  Side teacher("teacher"), student("student");
  Lens lens;
  probe::Ring tring(dev, probe::plan_frame(teacher_plan(), config()), {kFrames, false});
  probe::Ring sring(dev, probe::plan_frame(student_plan(), config()), {kFrames, true});
  ASSERT_TRUE(sring.mirrored());
  probe::Capturer tcap(tring, test::arena(), kCtx), scap(sring, test::arena(), kCtx, lens.weights);

  vk::Recording trec(dev), srec(dev);
  trec.begin();
  {
    vk::Recorder r(dev, trec.cmd());
    tcap.begin(r, step, ids);
    for (size_t i = 0; i < kCaptured.size(); ++i) {
      tcap.attention(r, kCaptured[i], teacher.q[i], teacher.k[i], step);
      tcap.residual(r, kCaptured[i], teacher.x[i]);
    }
    tcap.finish(r);
  }
  trec.end();
  srec.begin();
  {
    vk::Recorder r(dev, srec.cmd());
    scap.begin(r, step, ids);
    for (size_t i = 0; i < kCaptured.size(); ++i) {
      const int l = kCaptured[i];
      scap.attention(r, l, student.q[i], student.k[i], step);
      scap.mixer_out(r, l, student.mixer[i]);
      scap.mlp_out(r, l, student.mlp[i]);
      scap.residual(r, l, student.x[i]);
      scap.compare(r, l, tring, student.x[i]);
    }
    scap.divergence(r, teacher.logits, student.logits, ids);
    scap.finish(r);
  }
  srec.end();

  std::deque<std::pair<uint32_t, Expected>> pending;  // frames submitted but not yet checked
  auto check_oldest = [&] {
    auto [seq, e] = pending.front();
    pending.pop_front();
    auto frame = sring.frame(seq);
    ASSERT_TRUE(frame) << "frame " << seq << " not readable";
    check_frame(*frame, e, seq);
  };
  for (int s = 0; s < kSteps; ++s) {
    srec.wait();  // step s-1 done: its inputs may be overwritten
    const int32_t token = (s * 37 + 1) % kVocab;
    const int32_t step_words[4] = {s, 1, 0, 0};
    upload(dev, step, step_words);
    upload(dev, ids, &token);
    teacher.write(s, 1000);
    student.write(s, 2000);
    Expected e;
    e.step = s;
    e.token = token;
    e.div = ref::divergence(teacher.logitsh, student.logitsh, token, 10, 5);
    for (size_t i = 0; i < kCaptured.size(); ++i) {
      e.rows.push_back(student.rows(i, s));
      const auto trows = teacher.rows(i, s);
      double js = 0;
      for (int h = 0; h < kHeads; ++h)
        js += ref::js_divergence(std::span<const float>(trows).subspan(size_t(h) * kMaxCtx, kMaxCtx),
                                 std::span<const float>(e.rows.back()).subspan(size_t(h) * kMaxCtx, kMaxCtx)) / kHeads;
      e.js.push_back(float(js));
      e.cosine.push_back(float(ref::cosine(teacher.xh[i], student.xh[i])));
      e.stats.push_back(ref::activation_stats(student.xh[i], 8, 16, -2, 2));
      e.mixer_norm.push_back(ref::activation_stats(student.mixerh[i], 1, 1, -1, 1).norm);
      e.mlp_norm.push_back(ref::activation_stats(student.mlph[i], 1, 1, -1, 1).norm);
      e.lens.push_back(lens.top(student.xh[i]));
    }
    const uint32_t tseq = tring.begin_step(), sseq = sring.begin_step();
    ASSERT_EQ(tseq, sseq) << "rings in lockstep";
    trec.submit_and_wait();  // the student's comparison reads the teacher's frame
    srec.submit();
    pending.emplace_back(sseq, std::move(e));
    if (pending.size() > 1) check_oldest();  // frame s-1, read while step s runs
    if (HasFatalFailure()) return;
  }
  srec.wait();
  check_oldest();

  EXPECT_FALSE(sring.frame(kSteps - kFrames)) << "overwritten by a later step";
  EXPECT_TRUE(sring.frame(kSteps - kFrames + 1));
  EXPECT_FALSE(sring.frame(kSteps + 1)) << "not written yet";
  EXPECT_FALSE(sring.frame(0));
  auto tframe = tring.frame(kSteps);  // the teacher's frames parse too (rows only)
  ASSERT_TRUE(tframe);
  EXPECT_EQ(tframe->maps.size(), kCaptured.size() * kHeads);
  EXPECT_TRUE(tframe->activations.empty());
}

TEST_F(CaptureRing, FinishNamesAnUnrecordedSection) {
  Side student("student");
  Lens lens;
  probe::CapturePlan p = student_plan();
  p.layer_compare = p.divergence = false;
  probe::Ring ring(dev, probe::plan_frame(p, config()), {4, false});
  probe::Capturer cap(ring, test::arena(), kCtx, lens.weights);
  vk::OneShot cmd(dev);
  vk::Recorder r(dev, cmd.cmd());
  cap.begin(r, step, ids);
  for (size_t i = 0; i < kCaptured.size(); ++i) {
    cap.attention(r, kCaptured[i], student.q[i], student.k[i], step);
    cap.residual(r, kCaptured[i], student.x[i]);
    cap.mlp_out(r, kCaptured[i], student.mlp[i]);
  }
  try {
    cap.finish(r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "[capture] the plan's sections were not all recorded this step: layer 0: mixer-out norm; "
              "layer 2: mixer-out norm");
  }
  EXPECT_THROW(cap.attention(r, 1, student.q[0], student.k[0], step), Error) << "layer 1 is not in the plan";
  cmd.submit_and_wait();
}

}  // namespace
}  // namespace ds
