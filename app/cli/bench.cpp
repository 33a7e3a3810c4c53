// `bench [MODEL]`: prefill and decode tokens/s, and decode's fraction of the bandwidth roofline
// (bytes a decode step must read ÷ this device's read bandwidth, measured by a streaming kernel).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "common.h"
#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/weights.h"
#include "ops/bandwidth.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "profile_print.h"
#include "distilscope/sampling.h"
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

}  // namespace

void add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prefill and decode speed against the device's bandwidth");
  struct Opts {
    std::string model;
    int prompt = 512, n = 64, reps = 3, ctx = 0;
    std::vector<int> depths{0};
    int probe_layer = -1;
    std::vector<std::string> probe_heads{"all"};
    bool probe_lens = false;
    bool json = false;
    DeviceFlags dev;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF file (default: the embedded default model)");
  cmd->add_option("--prompt-len,-p", o->prompt, "Prefill length in tokens")->capture_default_str();
  cmd->add_option("-n", o->n, "Decode steps timed per depth")->capture_default_str();
  cmd->add_option("--depths", o->depths, "Context depths at which to time decode (comma list)")->delimiter(',');
  cmd->add_option("--reps", o->reps, "Repetitions (medians are reported)")->capture_default_str();
  cmd->add_option("--ctx", o->ctx, "Context length (default: enough for the largest depth)");
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
    auto model = Model::load(*dev, path);
    const auto& c = model->config();
    int max_depth = *std::max_element(o->depths.begin(), o->depths.end());
    int ctx = o->ctx > 0 ? o->ctx : std::max(o->prompt, max_depth + o->n) + 1;
    Session s(*model, SessionOptions{ctx, 512});
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> tok(0, c.vocab - 1);
    auto random_tokens = [&](int n) {
      std::vector<int32_t> v(static_cast<size_t>(n));
      for (auto& t : v) t = tok(rng);
      return v;
    };
    BandwidthResult bw = measure_bandwidth(*dev, 1ull << 30);

    // Prefill: one pass of `prompt` tokens (batched), median over reps.
    std::vector<double> pre;
    for (int r = 0; r < o->reps + 1; ++r) {
      s.reset();
      auto toks = random_tokens(o->prompt);
      auto t = Clock::now();
      s.prefill(toks);
      if (r > 0) pre.push_back(ms_since(t));
    }
    double prefill_ms = median(pre);
    if (o->dev.profile) print_profile(s.last_timings(), "last prefill pass");

    // Decode at each depth: greedy sampling on the GPU, as generation does.
    SamplerParams greedy;
    greedy.temperature = 0;
    s.set_sampling(greedy);
    struct Row {
      int depth;
      double ms_per_token, tps, bytes_per_token, fraction;
      double probe_ms = 0;  // with --probe-layer
    };
    std::unique_ptr<probe::CapturePlan> plan;
    if (o->probe_layer >= 0) {
      plan = std::make_unique<probe::CapturePlan>();
      plan->layers = {o->probe_layer};
      plan->heads = parse_index_list(o->probe_heads, "probe-heads");
      plan->logit_lens = o->probe_lens;
      plan->max_context = ctx;
    }
    std::vector<vk::OpTiming> plain_timings, probe_timings;  // the last decode step of each (--profile)
    // Median ms per decode step at `depth`; with probes, every step's frame is read back (as a UI would).
    auto time_decode = [&](int depth, bool probes) {
      std::vector<double> per_token;
      s.set_capture_plan(probes ? plan.get() : nullptr);
      for (int r = 0; r < o->reps; ++r) {
        s.reset();
        if (depth > 0) s.prefill(random_tokens(depth));
        int32_t t = tok(rng);
        t = s.decode(t, true);  // warm-up (records the step)
        s.take_frames();
        size_t frames = 0;
        auto t0 = Clock::now();
        for (int i = 0; i < o->n; ++i) {
          t = s.decode(t, true);
          if (probes) frames += s.take_frames().size();
        }
        per_token.push_back(ms_since(t0) / o->n);
        DS_CHECK(!probes || frames == size_t(o->n), "[bench] ", frames, " frames read back for ", o->n, " steps");
      }
      (probes ? probe_timings : plain_timings) = s.last_timings();
      s.set_capture_plan(nullptr);
      return median(per_token);
    };
    std::vector<Row> rows;
    const uint64_t kv_per_pos = uint64_t(c.n_layers) * 2 * c.kv_dim() * 2;
    // Every matrix is read once per token; an untied token embedding only one row.
    uint64_t weights_read = model->weight_bytes();
    if (!c.tied_embeddings) weights_read -= model->weights().tok_embd.n_bytes() - model->weights().tok_embd.row_bytes();
    for (int depth : o->depths) {
      double ms = time_decode(depth, false);
      double bytes = double(weights_read) + double(kv_per_pos) * (depth + o->n / 2.0);
      double achieved = bytes / (ms * 1e-3) / 1e9;
      rows.push_back({depth, ms, 1000.0 / ms, bytes, achieved / bw.read_gbs});
      if (plan) rows.back().probe_ms = time_decode(depth, true);
    }
    std::string probe_what;
    if (plan)
      probe_what = cat("layer ", o->probe_layer, ", ", plan->heads.empty() ? std::string("all") : std::to_string(plan->heads.size()),
                       " heads, rows + stats + sublayer norms", plan->logit_lens ? " + logit lens" : "");

    if (o->json) {
      JsonWriter j;
      j.begin_object().field("model", path).field("device", dev->info().name);
      j.field("read_bandwidth_gbs", bw.read_gbs).field("copy_bandwidth_gbs", bw.copy_gbs);
      j.field("weight_bytes", model->weight_bytes()).field("prompt_tokens", o->prompt);
      j.field("prefill_ms", prefill_ms).field("prefill_tokens_per_s", o->prompt * 1000.0 / prefill_ms);
      j.key("decode").begin_array();
      for (auto& r : rows) {
        j.begin_object().field("depth", r.depth).field("ms_per_token", r.ms_per_token).field("tokens_per_s", r.tps)
            .field("bytes_per_token", r.bytes_per_token).field("bandwidth_fraction", r.fraction);
        if (plan)
          j.field("probes", probe_what).field("probe_ms_per_token", r.probe_ms)
              .field("probe_tokens_per_s", 1000.0 / r.probe_ms).field("probe_slowdown", r.probe_ms / r.ms_per_token);
        j.end_object();
      }
      j.end_array().end_object();
      std::printf("%s\n", j.str().c_str());
    } else {
      std::printf("model   %s (%s weights)\n", path.c_str(), format_bytes(double(model->weight_bytes())).c_str());
      std::printf("device  %s: read %.1f GB/s, copy %.1f GB/s (streaming kernel, %s)\n", dev->info().name.c_str(),
                  bw.read_gbs, bw.copy_gbs, format_bytes(double(bw.bytes)).c_str());
      std::printf("prefill %d tokens: %.2f ms, %.1f tokens/s (median of %d)\n", o->prompt, prefill_ms,
                  o->prompt * 1000.0 / prefill_ms, o->reps);
      for (auto& r : rows)
        std::printf("decode  depth %6d: %8.3f ms/token, %9.1f tokens/s, %s/token read = %5.1f%% of measured bandwidth\n",
                    r.depth, r.ms_per_token, r.tps, format_bytes(r.bytes_per_token).c_str(), 100 * r.fraction);
      if (plan) {
        std::printf("probes  %s\n", probe_what.c_str());
        for (auto& r : rows)
          std::printf("decode  depth %6d: %9.1f tokens/s plain, %9.1f tokens/s with probes: %.3fx the time (%+.1f%%)\n",
                      r.depth, r.tps, 1000.0 / r.probe_ms, r.probe_ms / r.ms_per_token,
                      100 * (r.probe_ms / r.ms_per_token - 1));
      }
    }
    if (o->dev.profile) print_profile(plain_timings, "last decode step");
    if (o->dev.profile && plan) print_profile(probe_timings, "last decode step with probes");
  });
}

}  // namespace ds::cli
