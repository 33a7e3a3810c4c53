// Synthetic snapshots with recognisable structure, for the gallery and for panels whose engine
// probes do not exist yet: attention heads with sink / previous-token / local / content patterns,
// mixer layers with decaying "implied attention", activations with growing residual norms,
// students diverging more on some tokens and layers, and a throughput curve falling with context.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/snapshots.h"

namespace ds::ui {

// Labels that exercise the font: spaces, French accents, Arabic, a newline, split-character bytes.
std::vector<std::string> synthetic_token_labels(int n);

// `layout` empty: all attention. `variant` perturbs the heads (0 = teacher, >0 = students).
AttentionSnapshot synthetic_attention(int n_layers, int n_heads, int n_tokens, uint64_t seed,
                                      std::vector<LayerKind> layout = {}, int variant = 0);
ActivationSnapshot synthetic_activations(int n_layers, int n_tokens, uint64_t seed);
// quality in (0, 1]: higher means closer to the teacher.
DivergenceSnapshot synthetic_divergence(const std::string& student, std::vector<LayerKind> layout, int n_tokens,
                                        uint64_t seed, float quality);
std::vector<ThroughputSample> synthetic_throughput(const std::string& model, int n_samples, uint64_t seed,
                                                   double peak_tokens_per_s);

}  // namespace ds::ui
