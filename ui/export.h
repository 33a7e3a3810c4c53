// Exports of a panel's data as CSV (one row per value, long format) or JSON (the snapshot's
// structure). Plain strings; the app decides where they go. PNG exports are a readback of the
// drawn panel (ui/vk_renderer.h).
#pragma once
#include <span>
#include <string>

#include "distilscope/snapshots.h"

namespace ds::ui {

// One (layer, head) map: query,key,query_token,key_token,value rows / {layer, head, ..., probs}.
std::string attention_csv(const AttentionSnapshot& snap, int layer, int head);
std::string attention_json(const AttentionSnapshot& snap, int layer, int head);
std::string activations_csv(const ActivationSnapshot& snap);
std::string activations_json(const ActivationSnapshot& snap);
std::string divergence_csv(std::span<const DivergenceSnapshot> students);
std::string divergence_json(std::span<const DivergenceSnapshot> students);
std::string throughput_csv(std::span<const ThroughputSample> samples);
std::string throughput_json(std::span<const ThroughputSample> samples);

std::string csv_field(const std::string& s);    // quoted when it holds , " or a line break
std::string json_string(const std::string& s);  // with quotes and escapes

}  // namespace ds::ui
