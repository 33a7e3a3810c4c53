// `bench TEACHER [--student S]...`: prefill and decode tokens/s at context depths (default 1k, 8k, 32k: those
// that fit the device), decode's fraction of the bandwidth roofline (bytes a decode step must read ÷ this
// device's read bandwidth, measured by a streaming kernel), each student's decode speed-up over the teacher, and
// with --probe-layer the slowdown of decode with every probe on for one layer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "common.h"
#include "distilscope/model.h"
#include "distilscope/sampling.h"
#include "distilscope/session.h"
#include "model/hybrid_config.h"
#include "model/weights.h"
#include "ops/bandwidth.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "profile_print.h"
#include "util/error.h"
#include "util/json.h"

namespace ds::cli {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Opts {
  std::string model, quantize;
  std::vector<std::string> students;
  int prompt = 512, n = 64, reps = 3, ctx = 0;
  std::vector<int> depths{1024, 8192, 32768};
  int probe_layer = -1;
  std::vector<std::string> probe_heads{"all"};
  bool probe_lens = false;
  bool json = false;
  DeviceFlags dev;
};

struct Row {
  int depth;
  double ms_per_token, tps, bytes_per_token, fraction;
  double probe_ms = 0;       // with --probe-layer
  double probe_host_ms = 0;  // of which: reading and parsing the frame on the host (take_frames)
};

struct Result {
  std::string path, layout;
  uint64_t weight_bytes = 0, kv_bytes_per_token = 0, state_bytes = 0;
  double prefill_ms = 0;
  std::vector<Row> rows;
  std::string probes;  // what --probe-layer captured
};

// Depths whose KV cache fits next to the weights (and whose per-layer cache fits one storage binding).
std::vector<int> fitting_depths(Device& dev, const ModelSummary& s, const Opts& o) {
  std::vector<int> out;
  const uint64_t max_range = dev.props().limits.maxStorageBufferRange;
  const uint64_t budget = dev.info().device_local_bytes - std::min<uint64_t>(dev.info().device_local_bytes, s.weight_bytes + (512ull << 20));
  for (int d : o.depths) {
    const uint64_t ctx = uint64_t(d) + o.n + 2;
    const uint64_t layer_cache = uint64_t(s.config.head_dim) * ctx * s.config.n_kv_heads * 2;
    if (ctx * s.kv_bytes_per_token > budget || layer_cache > max_range) {
      std::fprintf(stderr, "note: depth %d skipped: the KV cache (%s) does not fit %s next to the weights\n", d,
                   format_bytes(double(ctx * s.kv_bytes_per_token)).c_str(), dev.info().name.c_str());
      continue;
    }
    out.push_back(d);
  }
  DS_CHECK(!out.empty(), "no depth fits the device");
  return out;
}

Result bench_model(Device& dev, const std::string& path, const Opts& o, const std::vector<int>& depths,
                   const BandwidthResult& bw) {
  LoadOptions lo;
  lo.quantize = o.quantize;
  auto model = Model::load(dev, path, lo);
  const auto& c = model->config();
  const int max_depth = *std::max_element(depths.begin(), depths.end());
  const int ctx = o.ctx > 0 ? o.ctx : std::max(o.prompt, max_depth + o.n + 1) + 1;
  Session s(*model, SessionOptions{ctx, 512});
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> tok(0, c.vocab - 1);
  auto random_tokens = [&](int n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& t : v) t = tok(rng);
    return v;
  };
  Result res;
  res.path = path;
  res.layout = layout_letters(c);
  res.weight_bytes = model->weight_bytes();
  res.kv_bytes_per_token = kv_bytes_per_token(c);
  res.state_bytes = s.state_bytes();

  // Prefill: one pass of `prompt` tokens (batched), median over reps.
  std::vector<double> pre;
  for (int r = 0; r < o.reps + 1; ++r) {
    s.reset();
    auto toks = random_tokens(o.prompt);
    auto t = Clock::now();
    s.prefill(toks);
    if (r > 0) pre.push_back(ms_since(t));
  }
  res.prefill_ms = median(pre);
  if (o.dev.profile) print_profile(s.last_timings(), ("last prefill pass of " + path).c_str());

  // Decode at each depth (greedy sampling on the GPU, as generation does); each repetition prefills up to the
  // next depth from where the last one stopped.
  SamplerParams greedy;
  greedy.temperature = 0;
  s.set_sampling(greedy);
  // With probes, every step's frame is read back, as the app does.
  std::unique_ptr<probe::CapturePlan> plan;
  if (o.probe_layer >= 0) {
    DS_CHECK(o.probe_layer < c.n_layers, "--probe-layer ", o.probe_layer, ": ", path, " has ", c.n_layers, " layers");
    plan = std::make_unique<probe::CapturePlan>();
    plan->layers = {o.probe_layer};
    plan->heads = parse_index_list(o.probe_heads, "probe-heads");
    plan->logit_lens = o.probe_lens;
    plan->max_context = ctx;
    res.probes = cat("layer ", o.probe_layer, ", ", plan->heads.empty() ? std::string("all") : std::to_string(plan->heads.size()),
                     " heads, rows + stats + sublayer norms", plan->logit_lens ? " + logit lens" : "");
  }
  std::vector<std::vector<double>> host_ms(depths.size());  // take_frames per token, with probes
  auto time_decode = [&](bool probes) {
    std::vector<std::vector<double>> per_token(depths.size());
    s.set_capture_plan(probes ? plan.get() : nullptr);
    for (int r = 0; r < o.reps; ++r) {
      s.reset();
      for (size_t i = 0; i < depths.size(); ++i) {
        if (depths[i] > s.n_past()) s.prefill(random_tokens(depths[i] - s.n_past()));
        int32_t t = s.decode(tok(rng), true);  // warm-up (records the step)
        s.take_frames();
        size_t frames = 0;
        double host = 0;
        auto t0 = Clock::now();
        for (int k = 0; k < o.n; ++k) {
          t = s.decode(t, true);
          if (!probes) continue;
          auto h0 = Clock::now();
          frames += s.take_frames().size();
          host += ms_since(h0);
        }
        per_token[i].push_back(ms_since(t0) / o.n);
        if (probes) host_ms[i].push_back(host / o.n);
        DS_CHECK(!probes || frames == size_t(o.n), "[bench] ", frames, " frames read back for ", o.n, " steps");
      }
    }
    s.set_capture_plan(nullptr);
    return per_token;
  };
  const auto per_token = time_decode(false);
  if (o.dev.profile) print_profile(s.last_timings(), ("last decode step of " + path).c_str());
  const auto per_token_probes = plan ? time_decode(true) : per_token;
  if (o.dev.profile && plan) print_profile(s.last_timings(), ("last decode step with probes of " + path).c_str());
  // Every matrix is read once per token; an untied token embedding only one row; mixer states read and written.
  uint64_t weights_read = model->weight_bytes();
  if (!c.tied_embeddings) weights_read -= model->weights().tok_embd.n_bytes() - model->weights().tok_embd.row_bytes();
  for (size_t i = 0; i < depths.size(); ++i) {
    const double ms = median(per_token[i]);
    const double bytes = double(weights_read) + 2.0 * double(res.state_bytes) +
                         double(res.kv_bytes_per_token) * (depths[i] + o.n / 2.0);
    const double achieved = bytes / (ms * 1e-3) / 1e9;
    res.rows.push_back({depths[i], ms, 1000.0 / ms, bytes, achieved / bw.read_gbs, median(per_token_probes[i]),
                        plan ? median(host_ms[i]) : 0.0});
  }
  return res;
}

void print_text(const Result& r, const Opts& o) {
  std::printf("model   %s (%s weights, layout %s, mixer state %s)\n", r.path.c_str(),
              format_bytes(double(r.weight_bytes)).c_str(), r.layout.c_str(), format_bytes(double(r.state_bytes)).c_str());
  std::printf("prefill %d tokens: %.2f ms, %.1f tokens/s (median of %d)\n", o.prompt, r.prefill_ms,
              o.prompt * 1000.0 / r.prefill_ms, o.reps);
  for (auto& row : r.rows)
    std::printf("decode  depth %6d: %8.3f ms/token, %9.1f tokens/s, %s/token read = %5.1f%% of measured bandwidth\n",
                row.depth, row.ms_per_token, row.tps, format_bytes(row.bytes_per_token).c_str(), 100 * row.fraction);
  if (r.probes.empty()) return;
  std::printf("probes  %s\n", r.probes.c_str());
  for (auto& row : r.rows)
    std::printf("decode  depth %6d: %9.1f tokens/s plain, %9.1f tokens/s with probes: %.3fx the time (%+.1f%%); "
                "host frame reads %.3f ms/token\n",
                row.depth, row.tps, 1000.0 / row.probe_ms, row.probe_ms / row.ms_per_token,
                100 * (row.probe_ms / row.ms_per_token - 1), row.probe_host_ms);
}

void json_rows(JsonWriter& j, const Result& r) {
  j.field("model", r.path).field("layout", r.layout).field("weight_bytes", r.weight_bytes);
  j.field("state_bytes", r.state_bytes).field("kv_bytes_per_token", r.kv_bytes_per_token);
  j.field("prefill_ms", r.prefill_ms);
  j.key("decode").begin_array();
  for (auto& row : r.rows) {
    j.begin_object().field("depth", row.depth).field("ms_per_token", row.ms_per_token).field("tokens_per_s", row.tps)
        .field("bytes_per_token", row.bytes_per_token).field("bandwidth_fraction", row.fraction);
    if (!r.probes.empty())
      j.field("probes", r.probes).field("probe_ms_per_token", row.probe_ms).field("probe_tokens_per_s", 1000.0 / row.probe_ms)
          .field("probe_slowdown", row.probe_ms / row.ms_per_token).field("probe_host_ms_per_token", row.probe_host_ms);
    j.end_object();
  }
  j.end_array();
}

}  // namespace

void add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prefill and decode speed (teacher and students) against the bandwidth");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "Teacher: GGUF file or HF directory (default: the embedded default model)");
  cmd->add_option("--student,-s", o->students, "A student to compare with the teacher (repeatable)");
  cmd->add_option("--prompt-len,-p", o->prompt, "Prefill length in tokens")->capture_default_str();
  cmd->add_option("-n", o->n, "Decode steps timed per depth")->capture_default_str();
  cmd->add_option("--depths", o->depths, "Context depths at which to time decode (comma list; those that do not fit "
                                         "the device are skipped)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--reps", o->reps, "Repetitions (medians are reported)")->capture_default_str();
  cmd->add_option("--ctx", o->ctx, "Context length (default: enough for the largest depth)");
  cmd->add_option("--quantize", o->quantize, "Quantize 16/32-bit weights on load: q8_0");
  cmd->add_option("--probe-layer", o->probe_layer,
                  "Also time decode with every probe on for this layer (attention rows, activation stats and "
                  "sublayer norms; frames read back each token) and print the slowdown");
  cmd->add_option("--probe-heads", o->probe_heads, "Heads captured with --probe-layer: comma list or 'all'")
      ->delimiter(',')->capture_default_str();
  cmd->add_flag("--probe-lens", o->probe_lens, "With --probe-layer: the logit lens too (reads the lm head)");
  cmd->add_flag("--json", o->json, "Print JSON");
  o->dev.add(cmd);
  cmd->callback([o] {
    std::string path = resolve_model(o->model);
    auto dev = o->dev.open();
    const std::vector<int> depths = fitting_depths(*dev, inspect_model(path), *o);
    BandwidthResult bw = measure_bandwidth(*dev, 1ull << 30);
    Result teacher = bench_model(*dev, path, *o, depths, bw);
    std::vector<Result> students;
    for (const std::string& s : o->students) students.push_back(bench_model(*dev, s, *o, depths, bw));

    if (o->json) {
      JsonWriter j;
      j.begin_object().field("device", dev->info().name);
      j.field("read_bandwidth_gbs", bw.read_gbs).field("copy_bandwidth_gbs", bw.copy_gbs);
      j.field("prompt_tokens", o->prompt).field("prefill_tokens_per_s", o->prompt * 1000.0 / teacher.prefill_ms);
      json_rows(j, teacher);
      j.key("students").begin_array();
      for (const Result& s : students) {
        j.begin_object();
        json_rows(j, s);
        j.key("ratio").begin_array();
        for (size_t i = 0; i < depths.size(); ++i)
          j.begin_object().field("depth", depths[i]).field("decode_speedup", s.rows[i].tps / teacher.rows[i].tps).end_object();
        j.end_array().end_object();
      }
      j.end_array().end_object();
      std::printf("%s\n", j.str().c_str());
      return;
    }
    std::printf("device  %s: read %.1f GB/s, copy %.1f GB/s (streaming kernel, %s)\n", dev->info().name.c_str(),
                bw.read_gbs, bw.copy_gbs, format_bytes(double(bw.bytes)).c_str());
    print_text(teacher, *o);
    for (const Result& s : students) print_text(s, *o);
    if (students.empty()) return;
    std::printf("\ndecode tokens/s        ");
    for (int d : depths) std::printf("  depth %6d", d);
    std::printf("\n%-22s", ("teacher " + teacher.layout.substr(0, 12)).c_str());
    for (auto& row : teacher.rows) std::printf("  %12.1f", row.tps);
    for (const Result& s : students) {
      std::printf("\n%-22s", ("student " + s.layout.substr(0, 12)).c_str());
      for (auto& row : s.rows) std::printf("  %12.1f", row.tps);
      std::printf("\n%-22s", "  ratio student/teacher");
      for (size_t i = 0; i < depths.size(); ++i) std::printf("  %11.2fx", s.rows[i].tps / teacher.rows[i].tps);
    }
    std::printf("\n");
  });
}

}  // namespace ds::cli
