// Synthetic snapshot generators (deterministic for a seed).
#include "ui/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace ds::ui {

std::vector<std::string> synthetic_token_labels(int n) {
  static const char* words[] = {"<s>",  "Once", "·upon", "·a",    "·time", ",",     "·une",    "·élève",
                                "·au",  "·café", "·dit",  "·«",    "مرحبا", "·بكم", "»",      "↵",
                                "The",  "·naïve", "·arrow", "·⟨0xE2⟩", "⟨0x86⟩⟨0x92⟩", "·was", "·là", "."};
  const int nw = int(sizeof words / sizeof words[0]);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(words[i % nw]);
  return out;
}

namespace {

// One attention row: softmax over keys [0, q] of a pattern's logits.
void attention_row(std::vector<float>& probs, int q, int n_keys, int pattern, float sharp, std::mt19937& rng) {
  std::normal_distribution<float> noise(0.0f, 0.6f);
  std::vector<float> logits(size_t(q) + 1);
  for (int k = 0; k <= q; ++k) {
    float l = noise(rng);
    switch (pattern % 4) {
      case 0: l += k == 0 ? 4.0f : 0.0f; break;                                   // attention sink
      case 1: l += k == q - 1 || (q == 0 && k == 0) ? 5.0f : 0.0f; break;         // previous token
      case 2: l += -0.5f * float((q - k) * (q - k)) / 9.0f; break;                // local window
      default: l += ((k * 7 + pattern) % 11 == 0) ? 3.5f : 0.0f; break;           // content-like peaks
    }
    logits[size_t(k)] = l * sharp;
  }
  float mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (float& l : logits) sum += (l = std::exp(l - mx));
  for (int k = 0; k <= q; ++k) probs[size_t(q) * size_t(n_keys) + size_t(k)] = logits[size_t(k)] / sum;
}

// A mixer's implied weights: exponentially decaying with distance, row-normalized.
void implied_row(std::vector<float>& probs, int q, int n_keys, float decay) {
  float sum = 0;
  for (int k = 0; k <= q; ++k) sum += std::pow(decay, float(q - k));
  for (int k = 0; k <= q; ++k) probs[size_t(q) * size_t(n_keys) + size_t(k)] = std::pow(decay, float(q - k)) / sum;
}

}  // namespace

AttentionSnapshot synthetic_attention(int n_layers, int n_heads, int n_tokens, uint64_t seed,
                                      std::vector<LayerKind> layout, int variant) {
  AttentionSnapshot s;
  s.model = variant == 0 ? "synthetic teacher" : "synthetic student " + std::to_string(variant);
  s.n_layers = n_layers;
  s.n_heads = n_heads;
  s.layout = layout.empty() ? std::vector<LayerKind>(size_t(n_layers), LayerKind::Attention) : layout;
  s.token_labels = synthetic_token_labels(n_tokens);
  for (int l = 0; l < n_layers; ++l)
    for (int h = 0; h < n_heads; ++h) {
      AttentionMap m;
      m.layer = l;
      m.head = h;
      m.kind = s.layout[size_t(l)];
      m.implied = m.kind != LayerKind::Attention;
      m.n_queries = n_tokens;
      m.n_keys = n_tokens;
      m.probs.assign(size_t(n_tokens) * size_t(n_tokens), 0.0f);
      std::mt19937 rng(uint32_t(seed * 7919 + uint64_t(l * 131 + h) + uint64_t(variant) * 100003));
      for (int q = 0; q < n_tokens; ++q) {
        if (m.implied) implied_row(m.probs, q, n_tokens, 0.55f + 0.4f * float(h) / float(std::max(n_heads - 1, 1)));
        else attention_row(m.probs, q, n_tokens, l + h, 1.0f + 0.1f * float(variant), rng);
      }
      s.maps.push_back(std::move(m));
    }
  return s;
}

ActivationSnapshot synthetic_activations(int n_layers, int n_tokens, uint64_t seed) {
  ActivationSnapshot s;
  s.model = "synthetic";
  s.token_labels = synthetic_token_labels(n_tokens);
  std::mt19937 rng{uint32_t(seed)};
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int t = 0; t < n_tokens; ++t) {
    TokenActivations ta;
    ta.position = t;
    ta.token = 3 + t % 250;
    float norm = 1.0f;
    for (int l = 0; l < n_layers; ++l) {
      LayerActivation a;
      a.mixer_out_norm = 0.5f + 0.3f * std::fabs(g(rng)) + (t == 0 ? 2.0f : 0.0f);
      a.mlp_out_norm = 0.8f + 0.4f * std::fabs(g(rng)) * float(l + 1) / float(n_layers);
      norm = std::sqrt(norm * norm + a.mixer_out_norm * a.mixer_out_norm + a.mlp_out_norm * a.mlp_out_norm);
      a.residual_norm = norm;
      for (int c = 0; c < 8; ++c) a.top_channels.push_back({(c * 37 + l * 11 + t) % 512, (8.0f - float(c)) * (1 + 0.2f * g(rng))});
      a.hist_lo = -4, a.hist_hi = 4;
      a.histogram.assign(32, 0);
      for (int i = 0; i < 2000; ++i) {
        float x = g(rng) * (0.6f + 0.1f * float(l));
        int b = int((x - a.hist_lo) / (a.hist_hi - a.hist_lo) * 32);
        if (b >= 0 && b < 32) a.histogram[size_t(b)]++;
      }
      float p = 0.15f + 0.8f * float(l + 1) / float(n_layers);
      a.logit_lens = {{ta.token + 1, p}, {ta.token + 7, (1 - p) * 0.5f}, {ta.token + 13, (1 - p) * 0.25f}};
      ta.layers.push_back(std::move(a));
    }
    s.tokens.push_back(std::move(ta));
  }
  return s;
}

DivergenceSnapshot synthetic_divergence(const std::string& student, std::vector<LayerKind> layout, int n_tokens,
                                        uint64_t seed, float quality) {
  DivergenceSnapshot s;
  s.teacher = "synthetic teacher";
  s.student = student;
  s.student_layout = layout;
  s.token_labels = synthetic_token_labels(n_tokens);
  std::mt19937 rng{uint32_t(seed)};
  std::exponential_distribution<float> expo(1.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int t = 0; t < n_tokens; ++t) {
    TokenDivergence d;
    d.position = t;
    d.token = 3 + t % 250;
    float hard = (t % 9 == 4) ? 4.0f : 1.0f;  // some positions are hard for every student
    d.kl = expo(rng) * 0.3f * hard * (1.2f - quality);
    d.reverse_kl = d.kl * (0.7f + 0.6f * u(rng));
    d.top1_agree = u(rng) > d.kl * 0.8f;
    d.topk_overlap = std::clamp(1.0f - d.kl * 0.4f, 0.0f, 1.0f);
    d.entropy_teacher = 1.0f + u(rng);
    d.entropy_student = d.entropy_teacher + d.kl * 0.5f;
    d.teacher_top1 = d.token;
    d.student_top1 = d.top1_agree ? d.token : d.token + 5;
    d.p_teacher = 0.6f;
    d.p_student = d.top1_agree ? 0.5f : 0.2f;
    d.teacher_top = {{d.token, 0.6f}, {d.token + 5, 0.2f}, {d.token + 9, 0.1f}};
    d.student_top = {{d.student_top1, d.p_student + 0.1f}, {d.token + 9, 0.15f}};
    for (size_t l = 0; l < layout.size(); ++l) {
      bool mixer = layout[l] != LayerKind::Attention;
      float drift = (mixer ? 0.05f : 0.01f) * float(l + 1) / float(layout.size()) * hard * (1.2f - quality);
      d.layer_cosine.push_back(std::clamp(1.0f - drift - 0.01f * u(rng), -1.0f, 1.0f));
      d.layer_attn_js.push_back(mixer ? NAN : drift * 0.5f);
    }
    s.tokens.push_back(std::move(d));
  }
  return s;
}

std::vector<ThroughputSample> synthetic_throughput(const std::string& model, int n_samples, uint64_t seed,
                                                   double peak_tokens_per_s) {
  std::mt19937 rng{uint32_t(seed)};
  std::normal_distribution<double> noise(0.0, 0.03);
  std::vector<ThroughputSample> out;
  for (int i = 0; i < n_samples; ++i) {
    int ctx = 16 + i * 16;
    out.push_back({model, ctx, peak_tokens_per_s / (1.0 + double(ctx) / 1024.0) * (1.0 + noise(rng))});
  }
  return out;
}

}  // namespace ds::ui
