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
    };
    std::vector<Row> rows;
    const uint64_t kv_per_pos = uint64_t(c.n_layers) * 2 * c.kv_dim() * 2;
    // Every matrix is read once per token; an untied token embedding only one row.
    uint64_t weights_read = model->weight_bytes();
    if (!c.tied_embeddings) weights_read -= model->weights().tok_embd.n_bytes() - model->weights().tok_embd.row_bytes();
    for (int depth : o->depths) {
      std::vector<double> per_token;
      for (int r = 0; r < o->reps; ++r) {
        s.reset();
        if (depth > 0) s.prefill(random_tokens(depth));
        int32_t t = tok(rng);
        t = s.decode(t, true);  // warm-up (records the step)
        auto t0 = Clock::now();
        for (int i = 0; i < o->n; ++i) t = s.decode(t, true);
        per_token.push_back(ms_since(t0) / o->n);
      }
      double ms = median(per_token);
      double bytes = double(weights_read) + double(kv_per_pos) * (depth + o->n / 2.0);
      double achieved = bytes / (ms * 1e-3) / 1e9;
      rows.push_back({depth, ms, 1000.0 / ms, bytes, achieved / bw.read_gbs});
    }

    if (o->json) {
      JsonWriter j;
      j.begin_object().field("model", path).field("device", dev->info().name);
      j.field("read_bandwidth_gbs", bw.read_gbs).field("copy_bandwidth_gbs", bw.copy_gbs);
      j.field("weight_bytes", model->weight_bytes()).field("prompt_tokens", o->prompt);
      j.field("prefill_ms", prefill_ms).field("prefill_tokens_per_s", o->prompt * 1000.0 / prefill_ms);
      j.key("decode").begin_array();
      for (auto& r : rows)
        j.begin_object().field("depth", r.depth).field("ms_per_token", r.ms_per_token).field("tokens_per_s", r.tps)
            .field("bytes_per_token", r.bytes_per_token).field("bandwidth_fraction", r.fraction).end_object();
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
    }
    if (o->dev.profile) print_profile(s.last_timings(), "last decode step");
  });
}

}  // namespace ds::cli
