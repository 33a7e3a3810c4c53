// Parsing a ring frame (the words of one token step, laid out by a FrameLayout) into the snapshot structs
// of distilscope/snapshots.h: attention rows, per-layer activations and teacher-student divergence.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "distilscope/snapshots.h"
#include "probe/capture_plan.h"

namespace ds::probe {

struct Frame {
  uint32_t seq = 0;                          // the step's sequence number (Ring::begin_step)
  int n_past = 0, n_tokens = 0;              // the step: positions [n_past, n_past + n_tokens)
  int n_queries = 0;                         // captured query tokens: min(n_tokens, max_queries)
  std::vector<int32_t> tokens;               // their ids (-1 where the recording had no ids)
  std::vector<AttentionMap> maps;            // per captured attention layer (plan order), per head
  std::vector<TokenActivations> activations; // per query; .layers has n_layers entries, captured ones filled
  std::vector<TokenDivergence> divergence;   // per query, with divergence or layer_compare on
};

// Throws ds::Error when the words are not a frame of this layout (magic, tag, size).
Frame parse_frame(const FrameLayout& layout, std::span<const uint32_t> words);

}  // namespace ds::probe
