// Probe defaults, capture plans and frame conversion for the engine worker.
#include "app/desktop/engine_probes.h"

#include <algorithm>
#include <utility>

#include "probe/frame.h"
#include "util/utf8.h"

namespace ds::app {

namespace {
bool small_model(const ModelConfig& c) { return c.d_model <= 512 && c.n_layers <= 32; }
}  // namespace

std::vector<int> default_probe_layers(const ModelConfig& c) {
  std::vector<int> layers;
  if (small_model(c)) {
    for (int l = 0; l < c.n_layers; ++l) layers.push_back(l);
  } else {
    if (c.n_layers > 1) layers.push_back(c.n_layers / 2);
    layers.push_back(c.n_layers - 1);
  }
  return layers;
}

bool default_logit_lens(const ModelConfig& c) { return small_model(c); }

int probe_batch(const ModelConfig& c, const ProbeSettings& s, int n_ctx) {
  const size_t layers = s.layers.empty() ? default_probe_layers(c).size() : s.layers.size();
  const size_t heads = s.heads.empty() ? size_t(c.n_heads) : s.heads.size();
  // Attention rows of a prefill frame: n_ctx keys x batch queries x heads x layers floats; 2 frames.
  const size_t per_query = 2 * 4 * std::max<size_t>(layers * heads, 1) * size_t(std::max(n_ctx, 1));
  const size_t budget = size_t(256) << 20;
  return int(std::clamp<size_t>(budget / per_query, 16, 512));
}

probe::CapturePlan make_probe_plan(const ModelConfig& c, const ProbeSettings& s, int n_ctx) {
  probe::CapturePlan p;
  p.layers = s.layers.empty() ? default_probe_layers(c) : s.layers;
  p.heads = s.heads;
  p.attention_rows = true;
  p.activation_stats = true;
  p.logit_lens = s.logit_lens && (!s.layers.empty() || default_logit_lens(c));
  p.max_context = n_ctx;
  p.max_queries = probe_batch(c, s, n_ctx);
  return p;
}

std::string plan_key(const probe::CapturePlan& p) {
  std::string k;
  for (int l : p.layers) k += std::to_string(l) + ",";
  k += "|";
  for (int h : p.heads) k += std::to_string(h) + ",";
  k += "|" + std::to_string(p.logit_lens) + "|" + std::to_string(p.max_context) + "|" + std::to_string(p.max_queries);
  return k;
}

ProbeStep to_probe_step(probe::Frame&& f, const std::vector<int32_t>& context, uint64_t request, int role,
                        const ModelReport& model) {
  ProbeStep s;
  s.request = request;
  s.role = role;
  s.model = model.name;
  s.n_layers = model.n_layers;
  s.n_heads = model.n_heads;
  s.layout = model.layout;
  s.first_position = f.n_past;
  for (int q = 0; q < f.n_queries; ++q) {
    const size_t pos = size_t(f.n_past + q);
    const int32_t id = q < int(f.tokens.size()) ? f.tokens[size_t(q)] : -1;
    s.tokens.push_back(pos < context.size() ? context[pos] : id);
  }
  s.maps = std::move(f.maps);
  s.activations = std::move(f.activations);
  return s;
}

std::string Utf8Joiner::push(std::string_view bytes) {
  pending_ += bytes;
  size_t i = 0, complete = 0;
  while (i < pending_.size()) {
    const size_t n = utf8_char_len(pending_, i);
    if (n == 0) {
      // A lead byte whose character is not complete yet waits; a stray byte is released as is.
      const auto c = uint8_t(pending_[i]);
      const size_t want = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (want > 0 && i + want > pending_.size()) break;
      ++i;
    } else {
      i += n;
    }
    complete = i;
  }
  std::string out = pending_.substr(0, complete);
  pending_.erase(0, complete);
  return out;
}

std::string Utf8Joiner::flush() { return std::exchange(pending_, {}); }

}  // namespace ds::app
