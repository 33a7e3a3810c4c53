// Probe captures inserted into a forward Graph after it was built: the architecture files know nothing
// of probes. insert_captures() copies the graph and adds Capture nodes after the nodes that produce what
// the plan asks for, found by name; with sublayer norms it also rewrites the two residual-accumulating
// mat-muls of a captured layer into "mat-mul into scratch, then add" so their outputs exist as tensors.
// Without a plan nothing is inserted: probes off costs nothing.
//
// Naming contract with model/arch_*.cpp (N = layer):
//   token_embd            GetRows; in[1] = the token ids (frame header)
//   blk.N.attn            Attention; in[0] = post-RoPE q, in[1] = K cache, aux = step  -> attention rows
//   blk.N.attn_out        the mixer's residual-accumulating mat-mul (attention, linear)  -> mixer-out norm
//   blk.N.ssm_out         the same for Mamba layers                                      -> mixer-out norm
//   blk.N.ffn_out         the MLP's residual-accumulating mat-mul, last node of layer N   -> MLP-out norm,
//                         then the residual stream after the layer: stats, logit lens, saved copy, compare
//   logits                the output logits                                              -> divergence
//   blk.N.lin_mix         LinearMixer; in[0] = post-RoPE q, in[1] = k, in[3..5] = feature maps, window factor,
//                         aux = step -> the keys appended to the layer's history, then implied attention rows
//   blk.N.ssm_scan        MambaMixer; in[0] = zxbc, in[1] = dt, in[4] = dt bias, in[5] = A log
//                         -> zxbc and dt appended to the layer's history, then implied attention rows
// Mixer histories (mixer_history.h) must see every pass of a sequence from position 0: a pass recorded
// without captures gets insert_history().
#pragma once
#include <memory>

#include "ops/graph.h"
#include "probe/capturer.h"
#include "probe/mixer_history.h"

namespace ds::probe {

// What a student's captures read from its teacher in the same token step (Pair). The teacher's step has
// finished before the student's is submitted, and both rings advance in lockstep.
struct CaptureLinks {
  const Ring* partner = nullptr;  // layer_compare: the teacher's ring (plan save_residual, attention rows)
  Tensor teacher_logits;          // divergence: F32 [vocab, >= n], the teacher's logits at the same positions
  Tensor tokens;                  // divergence: I32 [>= n], the token emitted at each position
};

// One ring, its capturer, and the scratch of the rewritten mat-muls: what a Session holds per pass shape.
class CaptureSet {
 public:
  // max_rows: the most tokens a pass of this shape runs (sizes the sublayer scratch).
  CaptureSet(Device& dev, const FrameLayout& layout, vk::Arena& scratch, int n_ctx, int max_rows, LensWeights lens,
             const RingOptions& ring = {});
  CaptureSet(const CaptureSet&) = delete;
  CaptureSet& operator=(const CaptureSet&) = delete;

  Ring& ring() { return ring_; }
  const Ring& ring() const { return ring_; }
  Capturer& capturer() { return capturer_; }
  const Tensor& sublayer() const { return sublayer_; }  // F32 [d_model, max_rows], or empty

 private:
  Ring ring_;
  Capturer capturer_;
  Tensor sublayer_;
};

// The graph with the plan's captures inserted (see the naming contract above). Throws ds::Error when the
// plan needs a node the graph lacks, or links it was not given.
// history: the session's mixer histories (needed when the plan captures rows of mixer layers).
Graph insert_captures(const Graph& g, CaptureSet& set, const CaptureLinks& links = {},
                      const MixerHistory* history = nullptr);

// The graph with only the history appends of `history`'s layers (a pass that captures nothing else).
Graph insert_history(const Graph& g, const MixerHistory& history);

}  // namespace ds::probe
