// Probe data in the store (docs/probes.md, "Storage"): the records a trace or compare run writes step
// by step through a StoreWriter, and the run read back into the same structs without any model file.
//
// Blob kinds (all keyed by run; idx = token position):
//   "attention"   idx = query position, layer, head: F32 [n_keys], the row over positions 0 .. idx
//   "act_stats"   idx, layer (head -1): F32 [5 + 2k]: residual, mixer-out and MLP-out norms, histogram lo, hi,
//                 then k (channel, value) pairs of the top channels (channels are exact in F32 below 2^24)
//   "act_hist"    idx, layer: I32 [bins]
//   "logit_lens"  idx, layer: F32 [2, n]: (token id, probability) pairs, best first
//   "teacher_top" idx (compare runs): F32 [2, n], the teacher's top tokens
//   "token_probs" idx (compare runs): F32 [2], p_teacher and p_student of the emitted token
// Token rows: piece = the token's bytes, or its vocabulary text for markup tokens ("<s>"). In a compare
// run a generated token's prob is the teacher's probability of it, its alternatives the student's top
// tokens (so the student's choice replays with its text), and divergence rows have the token's idx.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/pair.h"
#include "distilscope/store.h"
#include "distilscope/trace.h"

namespace ds {

class Model;
class Tokenizer;

// One letter per layer: A attention, M mamba, L linear ("AAMA").
std::string layer_layout(const ModelConfig& c);
// Registers the model's file (hashed unless unchanged since it was last registered) with its layout.
int64_t register_model(Store& store, const Model& model);

// The run's config_json for a trace: what is captured (empty layer/head lists resolved to all of the model's),
// read back by load_trace.
std::string trace_config_json(const TraceOptions& opts, const ModelConfig& c, const GenerateOptions& gen);
// ... and for a compare run: the pair's options and compared layers.
std::string compare_config_json(const PairOptions& opts, const Pair& pair, int max_tokens);

// Writes of one traced pass: its tokens and, with blobs, its attention rows and activation records.
std::vector<StoreWrite> trace_step_writes(int64_t run_id, const TraceStep& step, bool blobs);
// Writes of a compare run: the prompt's tokens, then per generated token its row, the divergence rows and
// the teacher's top tokens.
std::vector<StoreWrite> prompt_writes(int64_t run_id, std::span<const int32_t> prompt, const Tokenizer& tok);
std::vector<StoreWrite> pair_step_writes(int64_t run_id, const PairStep& step, const Tokenizer& tok);

// Replay (no model): a stored trace's tokens, layers/heads and snapshots (generation: text only), and a
// stored compare run as a DivergenceSnapshot (labels by position; student top lists as stored).
TraceResult load_trace(Store& store, int64_t run_id);
DivergenceSnapshot load_divergence(Store& store, int64_t run_id);

}  // namespace ds
