// Capturer: records the capture nodes of one ring's plan into a forward recording. The graph calls a hook
// at each capture point (after the KV store for attention rows, after each residual add for stats, ...)
// with the live tensors; finish() checks that every section the plan enabled was recorded, then publishes
// the frame. Scratch (row partials, logit-lens logits) comes from the given arena. Hooks record at most
// min(batch rows, max_queries) query tokens: the first ones of the batch.
#pragma once
#include <set>
#include <string>
#include <utility>

#include "ops/linear_mixer.h"
#include "ops/mamba.h"
#include "probe/mixer_rows.h"
#include "probe/ring.h"

namespace ds {
namespace vk {
class Arena;
class Recorder;
}
namespace probe {

// What the logit lens applies to a residual: the model's final norm and lm head.
struct LensWeights {
  Tensor output_norm;  // F32 [d_model]
  Tensor output;       // [d_model, vocab], any matmul weight type
  float eps = 1e-5f;
};

class Capturer {
 public:
  // n_ctx: the session's cache length (sizes the row partials); lens may be empty without logit_lens.
  Capturer(Ring& ring, vk::Arena& scratch, int n_ctx, LensWeights lens = {});

  const Ring& ring() const { return ring_; }
  bool captures(int layer) const { return ring_.layout().find(layer) != nullptr; }  // hooks throw otherwise

  // Start of the step: the frame header. step: I32 {n_past, n_tokens, ..}; ids: I32 [n_tokens] or empty.
  void begin(vk::Recorder& rec, const Tensor& step, const Tensor& ids);
  // After the layer's KV store: q F32 [head_dim, n_heads, n] post-RoPE; k_cache F16 [head_dim, n_ctx, n_kv].
  void attention(vk::Recorder& rec, int layer, const Tensor& q, const Tensor& k_cache, const Tensor& step);
  // After a mixer layer's mixer node, its history appended (mixer_history.h): implied attention rows into the
  // layer's attention-row section. linear: q F32 [head_dim, n_heads, n] post-RoPE of this pass; mamba: n tokens.
  void linear_implied(vk::Recorder& rec, int layer, const Tensor& q, const Tensor& k_history,
                      const ops::LinearMixerWeights& w, int window, bool affine, const Tensor& step);
  void mamba_implied(vk::Recorder& rec, int layer, int64_t n, const Tensor& zxbc_history, const Tensor& dt_history,
                     const Tensor& dt_sums, const ops::MambaWeights& w, const MambaDims& dims, const Tensor& step);
  // The mixer (attention) output and the MLP output added to the residual, F32 [d_model, n]: their norms.
  void mixer_out(vk::Recorder& rec, int layer, const Tensor& out);
  void mlp_out(vk::Recorder& rec, int layer, const Tensor& out);
  // The residual stream after the layer, F32 [d_model, n]: stats, logit lens, saved copy (as planned).
  void residual(vk::Recorder& rec, int layer, const Tensor& x);
  // Teacher-student, recorded in the student's recording after residual() (and attention()) of the layer:
  // cosine of x against the partner's saved residual, JS of the attention rows against the partner's.
  // The partner ring must advance in lockstep (same n_frames, one begin_step per step on both).
  void compare(vk::Recorder& rec, int layer, const Ring& partner, const Tensor& x);
  // teacher, student: F32 [vocab, n] logits; tokens: I32 [n], the token emitted at each row.
  void divergence(vk::Recorder& rec, const Tensor& teacher, const Tensor& student, const Tensor& tokens);
  // End of the step: throws naming any enabled section not recorded; then the publish copy.
  void finish(vk::Recorder& rec);

 private:
  const LayerSections& sections(const char* hook, int layer) const;
  int queries(const char* hook, int64_t rows) const;
  MixerRowsArgs rows_args(const char* hook, int64_t rows) const;
  void mark(int layer, const char* what);

  Ring& ring_;
  LensWeights lens_;
  Tensor row_partials_, lens_norm_, lens_logits_, lens_partials_, div_partials_;
  std::set<std::pair<int, std::string>> done_;
};

}  // namespace probe
}  // namespace ds
