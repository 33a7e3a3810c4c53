// trace(): one generation with probes on. Attention rows of chosen layers and heads, activation
// statistics and optionally the logit lens are captured on the GPU during the prompt's prefill and every
// decode step, streamed step by step (e.g. into the store, probe_store.h) and gathered into the snapshots
// the UI draws and the CLI exports.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/generate.h"
#include "distilscope/snapshots.h"

namespace ds {

class Tokenizer;

struct TraceOptions {
  std::vector<int> layers;  // captured layers; empty = all
  std::vector<int> heads;   // captured heads; empty = all
  bool attention = true;    // attention rows (prompt queries and every generated token)
  bool activations = true;  // residual / mixer-out / MLP-out norms, top channels, histogram
  bool logit_lens = false;  // top tokens of each captured layer's residual (reads the lm head per layer)
  int top_channels = 8;     // 1 .. 16
  int hist_bins = 64;       // 1 .. 1024
  float hist_range = 8.0f;  // histogram over [-hist_range, hist_range]
  int lens_top = 5;         // 1 .. 16
};

// A token of a traced sequence, by position (prompt tokens first).
struct TracedToken {
  int position = 0;
  int32_t id = 0;
  std::string piece;  // token_piece(): its bytes (maybe part of a UTF-8 character), or markup text
  double ms = 0;      // time to produce it (prompt tokens: their share of the prefill)
  bool prompt = false;
};

// What one forward pass added: its new tokens (the prompt's, then the token it sampled) and the captures
// of its query positions.
struct TraceStep {
  std::vector<TracedToken> tokens;
  std::vector<AttentionMap> maps;             // rows of this pass's queries, per captured (layer, head)
  std::vector<TokenActivations> activations;  // per query of this pass
};

struct TraceResult {
  GenerateResult generation;
  std::vector<TracedToken> tokens;  // prompt and generated, by position
  std::vector<int> layers, heads;   // what was captured
  AttentionSnapshot attention;      // per (layer, head): every traced query over every earlier token
  ActivationSnapshot activations;   // per traced query
};

// Runs generate() on s with the probes of `opts` (s must be fresh: n_past 0), then turns them off again.
// on_step is called after each forward pass with what it added.
TraceResult trace(Session& s, std::string_view prompt, const GenerateOptions& gen, const TraceOptions& opts,
                  const std::function<void(const TraceStep&)>& on_step = {});

// A token's bytes, or for markup tokens (no bytes) their vocabulary text ("<s>"): what traces and the
// store keep per token, so that a replay needs no tokenizer.
std::string token_piece(const Tokenizer& tok, int32_t id);

// A token as a short label for plots: its text with spaces as '·' and newlines as '↵', bytes that are not a
// whole UTF-8 character as "<E2>"; markup tokens by their vocabulary text ("<s>"). The second form takes a
// token_piece().
std::string token_label(const Tokenizer& tok, int32_t id);
std::string token_label(std::string_view piece);

}  // namespace ds
