// Opt-in timing of the probe ops at 1B-like sizes (DS_BENCH=1): d_model 2048, 32 heads (8 kv), head_dim
// 64, vocab 32000, context 2048, all probes on for one layer, all heads. Prints the GPU time of each op
// (timestamps, median of 20 replays of one recording) and their total, next to the decode attention op of
// the same layer. DS_BENCH_DECODE=1 also times decode of a synthetic 1B llama (F16) at that context, to
// read the overhead against the issue's target (at most 15% slower).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/synthetic.h"
#include "ops/attention.h"
#include "probe/capturer.h"
#include "support/gpu.h"
#include "support/temp_dir.h"
#include "vk/submit.h"

namespace ds {
namespace {

constexpr int kD = 2048, kHeads = 32, kKv = 8, kHd = 64, kVocab = 32000, kCtx = 2048, kReplays = 20;

Tensor random_tensor(Device& dev, vk::Arena& a, DType type, std::array<int64_t, 4> ne, const char* name, uint32_t s) {
  Tensor t = make_tensor(a, type, ne, name);
  upload_f32(dev, t, test::random_floats(size_t(t.n_elements()), s, -1, 1));
  return t;
}

// Replays `rec` (recorded with `prof`) kReplays times; median ms per stamp, in recording order.
std::vector<std::pair<std::string, double>> time_replays(vk::Recording& rec, vk::Profiler& prof,
                                                         const std::vector<probe::Ring*>& rings) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> ms;
  for (int i = 0; i < kReplays; ++i) {
    for (auto* r : rings) r->begin_step();
    rec.submit_and_wait();
    std::map<std::string, int> seen;
    for (const auto& t : prof.read()) {
      const std::string label = t.label + (seen[t.label]++ ? " #" + std::to_string(seen[t.label]) : "");
      if (!ms.count(label)) order.push_back(label);
      ms[label].push_back(t.ms);
    }
  }
  std::vector<std::pair<std::string, double>> out;
  for (const auto& l : order) {
    auto v = ms[l];
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    out.emplace_back(l, v[v.size() / 2]);
  }
  return out;
}

double print_table(const char* title, const std::vector<std::pair<std::string, double>>& rows) {
  std::printf("\n%s\n", title);
  double total = 0;
  for (const auto& [label, ms] : rows) {
    std::printf("  %-34s %9.4f ms\n", label.c_str(), ms);
    total += ms;
  }
  std::printf("  %-34s %9.4f ms\n", "total", total);
  return total;
}

TEST(ProbeBench, OneLayerAllProbesAt1BSizes) {
  if (!std::getenv("DS_BENCH")) GTEST_SKIP() << "timing run: set DS_BENCH=1 (and DS_BENCH_DECODE=1 for decode)";
  DeviceOptions o;
  o.select = std::getenv("DS_DEVICE") ? std::getenv("DS_DEVICE") : "";
  o.profile = true;
  auto dev = Device::open(o);
  std::printf("device: %s (%s)\n", dev->info().name.c_str(), dev->info().driver.c_str());
  vk::Arena arena(*dev, "bench", vk::MemoryKind::DeviceLocal);
  const ModelConfig cfg = llama_like(16, kD, kHeads, kKv, 8192, kVocab);

  Tensor q = random_tensor(*dev, arena, DType::F32, {kHd, kHeads, 1, 1}, "q", 1);
  Tensor k = random_tensor(*dev, arena, DType::F16, {kHd, kCtx, kKv, 1}, "cache_k", 2);
  Tensor v = random_tensor(*dev, arena, DType::F16, {kHd, kCtx, kKv, 1}, "cache_v", 3);
  Tensor x = random_tensor(*dev, arena, DType::F32, {kD, 1, 1, 1}, "x", 4);
  Tensor mixer = random_tensor(*dev, arena, DType::F32, {kD, 1, 1, 1}, "attn_out", 5);
  Tensor mlp = random_tensor(*dev, arena, DType::F32, {kD, 1, 1, 1}, "ffn_out", 6);
  Tensor teacher = random_tensor(*dev, arena, DType::F32, {kVocab, 1, 1, 1}, "teacher_logits", 7);
  Tensor student = random_tensor(*dev, arena, DType::F32, {kVocab, 1, 1, 1}, "student_logits", 8);
  probe::LensWeights lens{random_tensor(*dev, arena, DType::F32, {kD, 1, 1, 1}, "output_norm", 9),
                          random_tensor(*dev, arena, DType::F16, {kD, kVocab, 1, 1}, "output", 10), 1e-5f};
  Tensor step = make_tensor(arena, DType::I32, {4, 1, 1, 1}, "step");
  Tensor ids = make_tensor(arena, DType::I32, {1, 1, 1, 1}, "ids");
  const int32_t step_words[4] = {kCtx - 1, 1, 0, 0}, id = 5;
  upload(*dev, step, step_words);
  upload(*dev, ids, &id);

  probe::CapturePlan tp, sp;
  tp.layers = sp.layers = {3};
  tp.max_context = sp.max_context = kCtx;
  tp.activation_stats = false;
  tp.save_residual = true;
  sp.logit_lens = sp.layer_compare = sp.divergence = true;
  probe::Ring tring(*dev, probe::plan_frame(tp, cfg), {16, false});
  probe::Ring sring(*dev, probe::plan_frame(sp, cfg), {16, false});
  std::printf("student frame: %.1f KiB, ring %u frames, host mirror: %s\n", sring.layout().frame_bytes() / 1024.0,
              sring.n_frames(), sring.mirrored() ? "yes" : "no (host-visible ring)");
  probe::Capturer tcap(tring, arena, kCtx), scap(sring, arena, kCtx, lens);

  // The teacher frame (rows + saved residual) once, so the student's comparison reads real data.
  {
    vk::OneShot cmd(*dev);
    vk::Recorder r(*dev, cmd.cmd());
    tring.begin_step();
    tcap.begin(r, step, ids);
    tcap.attention(r, 3, q, k, step);
    tcap.residual(r, 3, x);
    tcap.finish(r);
    cmd.submit_and_wait();
  }
  vk::Recording rec(*dev);
  vk::Profiler prof(*dev);
  rec.begin();
  prof.reset(rec.cmd(), 64);
  {
    vk::Recorder r(*dev, rec.cmd(), &prof);
    scap.begin(r, step, ids);
    r.barrier();
    scap.attention(r, 3, q, k, step);
    r.barrier();
    scap.mixer_out(r, 3, mixer);
    scap.mlp_out(r, 3, mlp);
    r.barrier();
    scap.residual(r, 3, x);
    r.barrier();
    scap.compare(r, 3, tring, x);
    r.barrier();
    scap.divergence(r, teacher, student, ids);
    r.barrier();
    scap.finish(r);
  }
  rec.end();
  const double probes = print_table("probe ops, one layer, all 32 heads, context 2048 (median GPU ms)",
                                    time_replays(rec, prof, {&tring, &sring}));

  // The layer's own decode attention at the same size, for scale.
  Tensor out = make_tensor(arena, DType::F32, {kHd, kHeads, 1, 1}, "attn");
  Tensor scratch = make_tensor(arena, DType::F32,
                               {int64_t(std::max<size_t>(4, ops::attention_scratch_elems(kHeads, kHd, kCtx, 1))), 1, 1, 1},
                               "scratch");
  rec.begin();
  prof.reset(rec.cmd(), 8);
  {
    vk::Recorder r(*dev, rec.cmd(), &prof);
    ops::attention(r, q, k, v, step, 0.125f, out, scratch);
  }
  rec.end();
  print_table("decode attention of that layer (median GPU ms)", time_replays(rec, prof, {}));

  if (!std::getenv("DS_BENCH_DECODE")) {
    std::printf("\n(DS_BENCH_DECODE=1 also times decode of a synthetic 1B llama at this context)\n");
    return;
  }
  test::TempDir dir;
  SyntheticSpec spec;
  spec.config = cfg;
  write_synthetic_model(dir.file("llama1b.gguf"), spec);
  auto model = Model::load(*dev, dir.file("llama1b.gguf"));
  Session session(*model, {kCtx + 64, 512});
  std::vector<int32_t> prompt(kCtx - 1);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t(3 + (i * 7919) % (kVocab - 3));
  int32_t tok = session.prefill(prompt, true);
  for (int i = 0; i < 4; ++i) tok = session.decode(tok, true);  // warm up
  const int n = 32;
  double gpu = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    tok = session.decode(tok, true);
    for (const auto& t : session.last_timings()) gpu += t.ms;
  }
  const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
  std::printf("\nsynthetic 1B llama (F16) decode at context ~%d: %.3f ms/token wall, %.3f ms GPU (sum of ops)\n", kCtx,
              wall, gpu / n);
  std::printf("probe overhead, one layer all probes (serialized, barriers between hooks): %.1f%% of GPU decode\n",
              100.0 * probes / (gpu / n));
}

}  // namespace
}  // namespace ds
