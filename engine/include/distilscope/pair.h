// Pair: a teacher and a student model fed the same token stream (the teacher generates greedily, the
// student is teacher-forced), measuring on the GPU at every token how far the student departs from the
// teacher: KL both ways, top-1 agreement, top-k overlap, both entropies, and per layer the cosine of the
// two residual streams and the Jensen-Shannon divergence of attention rows. The results are
// DivergenceSnapshots (snapshots.h) for the UI, the store and the CLI's `compare`.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/snapshots.h"

namespace ds {

class Model;

struct PairOptions {
  int n_ctx = 0;             // context of both sessions; 0 = prompt + max_tokens
  int div_topk = 10;         // k of the top-k overlap, 1 .. 16
  int div_top = 5;           // alternatives listed per model, 1 .. 16
  bool layer_cosine = true;  // per-layer residual cosine (needs equal layer counts and d_model)
  // Per-layer JS of attention rows (all heads; needs equal head counts) between the teacher's and the student's
  // layer, each its attention or, for a mixer layer, its implied attention (linear: normalized kernel weights;
  // mamba: the unrolled scan reduced to the teacher's heads, d_inner / n_heads channels each).
  bool attention_js = true;
};

// One generated token of a pair run: what the teacher emitted and how the student's prediction compared.
struct PairStep {
  int index = 0;        // 0-based among generated tokens
  TokenDivergence div;  // div.token is the teacher's token; div.position the position predicting it
  std::string piece;    // token_piece() of the token: its bytes, or markup text ("</s>")
  double ms = 0;        // wall time of both models' step
};
using PairCallback = std::function<bool(const PairStep&)>;  // return false to stop

// Throws ds::Error naming both model files when their tokenizers differ (kind, vocabulary size, or a
// token's text); a pair needs the same token ids to mean the same text.
void check_same_tokenizer(const Model& teacher, const Model& student);

class Pair {
 public:
  Pair(Model& teacher, Model& student, const PairOptions& opts = {});  // checks the tokenizers

  // Layers compared per token (empty when the shapes differ or layer_cosine is off), and whether
  // attention JS is measured on them.
  const std::vector<int>& compared_layers() const { return layers_; }
  bool measures_js() const { return js_; }

  // The teacher generates up to max_tokens greedily after the prompt (stopping after an end-of-generation
  // token); the student reads the same tokens. One TokenDivergence per generated token, measured at the
  // position that predicts it (the last prompt token predicts the first).
  DivergenceSnapshot run(std::string_view prompt, int max_tokens, bool add_bos = true, const PairCallback& cb = {});
  DivergenceSnapshot run_tokens(std::span<const int32_t> prompt, int max_tokens, const PairCallback& cb = {});

 private:
  Model& teacher_;
  Model& student_;
  PairOptions opts_;
  std::vector<int> layers_;
  bool js_ = false;
};

}  // namespace ds
