// Session: one conversation's state on the device (KV cache of the attention layers, fixed-size states of
// the mixer layers, positions) over a loaded Model.
// Prefill runs the prompt as batched passes (matmul, not mat-vec loops); decode replays a command
// buffer recorded once, reading the position from a host-written buffer. A Sampler recorded into
// the same submit picks the next token on the GPU, so only 4 bytes come back per token.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "distilscope/model.h"
#include "ops/linear_mixer.h"
#include "ops/mamba.h"
#include "ops/tensor.h"

namespace ds {

class Sampler;
struct SamplerParams;
struct ForwardBuffers;
namespace probe {
struct CapturePlan;
struct CaptureLinks;
struct Frame;
class Ring;
class MixerHistory;
}  // namespace probe
namespace vk {
class Arena;
class Recording;
class Profiler;
struct OpTiming;
}  // namespace vk

struct SessionOptions {
  int n_ctx = 0;        // context length (KV cache positions); 0 = the model's trained context, at most 4096
  int max_batch = 512;  // prefill rows per pass
  // Decode small layers (d_model <= 256) in one dispatch each (ops/decode_layer.h), on CPU devices only
  // (DS_SMALL_LAYER_ANY_DEVICE=1: any device). DS_NO_SMALL_LAYER=1 turns it off too, and so does a capture
  // plan (probes read the per-op tensors).
  bool small_layers = true;
  // Decode RoPE + KV-cache stores inside the q/k/v mat-vec and the attention combine inside the output
  // projection (ops/matvec_fused.h: two dispatches fewer per attention layer). DS_NO_DECODE_FUSION=1 turns it
  // off too (=rope or =combine: that fusion only); the results are the same either way (a test compares the logits).
  bool fuse_decode = true;
  // The attention combine inside the output projection (with fuse_decode): off by default, because every
  // workgroup of the projection repeats the merge: on the H200 it gains 2 % at depth 0 and loses 11 % at
  // depth 8192 (docs/performance.md). DS_DECODE_FUSE_COMBINE=1 turns it on.
  bool fuse_combine = false;
};

class Session {
 public:
  Session(Model& model, const SessionOptions& opts = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Model& model() const { return model_; }
  int n_ctx() const { return n_ctx_; }
  int n_past() const { return n_past_; }
  void reset();  // forgets the context (n_past = 0, mixer states zeroed)

  // The session's sampler (GPU sampling recorded into the same submit as the forward pass).
  Sampler& sampler();
  // New sampling parameters; the decode step is re-recorded only when greedy <-> stochastic changes.
  void set_sampling(const SamplerParams& params);

  // Runs tokens at positions n_past.. (batched, in passes of max_batch). With sample, the session's
  // sampler picks the token following the last one and it is returned (4 bytes read back); without,
  // returns -1 and logits() holds the last position's logits. Throws (changing nothing) when the
  // tokens would overflow the context.
  int32_t prefill(std::span<const int32_t> tokens, bool sample = true);
  // One token through the decode step recorded once; same return convention.
  int32_t decode(int32_t token, bool sample = true);
  // Teacher forcing / evaluation: logits for every token, [n_tokens][vocab].
  std::vector<std::vector<float>> forward_all(std::span<const int32_t> tokens);

  std::vector<float> logits() const;  // logits of the last position run
  uint64_t kv_bytes() const;          // device memory of the KV cache (attention layers only)
  uint64_t state_bytes() const;       // device memory of the mixer layers' states (independent of n_ctx)
  // Per-op GPU times of the last prefill/decode submit (Device opened with profile = true).
  std::vector<vk::OpTiming> last_timings() const;

  // Probes (docs/probes.md). With a plan, every decode step writes one frame into a capture ring, and so
  // does every prefill pass when plan.max_queries > 1 (its first max_queries tokens are the queries).
  // nullptr turns probes off: no capture nodes, no cost. Setting or clearing a plan re-records the decode
  // step once. A plan with rows of mixer layers (implied attention) keeps their history (n_ctx positions per
  // such layer) and must be set at position 0 (or be followed by reset()). links: what a student's captures read from its teacher (Pair); ring_frames: decode frames
  // kept in the ring until take_frames() must have read them.
  void set_capture_plan(const probe::CapturePlan* plan, const probe::CaptureLinks* links = nullptr,
                        uint32_t ring_frames = 64);
  bool capturing() const { return probes_ != nullptr; }
  // Frames of the passes run since the last call, oldest first, read from host-visible memory after the
  // steps' fences (no GPU sync). Decode frames overwritten before this call are counted in frames_lost().
  std::vector<probe::Frame> take_frames();
  uint64_t frames_lost() const;
  const probe::Ring* decode_ring() const;  // null without a plan
  // Device tensors of the decode step, for a partner session's captures: logits F32 [vocab, 1] and the
  // sampled token I32 [1] (valid after a decode(token, true)).
  const Tensor& decode_logits() const;
  const Tensor& sampled_token();

 private:
  std::unique_ptr<ForwardBuffers> allocate(int rows, bool all_logits);
  void check_room(size_t n_tokens) const;
  void zero_states();
  void write_inputs(const ForwardBuffers& b, std::span<const int32_t> tokens);
  int32_t run_batch(std::span<const int32_t> tokens, bool sample, bool all_logits);
  int32_t run_decode(int32_t token, bool sample);
  // Records the decode step (with the sampler or without); creating its pipelines is the costly part on
  // CPU devices, so the constructor records it once ahead of the first token.
  void record_decode(bool sample);
  // The plan's mixer histories (null without mixer rows); throws when they missed tokens (plan set mid-sequence).
  const probe::MixerHistory* check_history() const;

  Model& model_;
  int n_ctx_ = 0;
  int max_batch_ = 0;
  int n_past_ = 0;
  std::unique_ptr<vk::Arena> cache_arena_, state_arena_, io_arena_, scratch_arena_, sampler_arena_;
  std::unique_ptr<Sampler> sampler_;
  std::vector<Tensor> k_cache_, v_cache_;         // per layer (empty for mixer layers)
  std::vector<ops::LinearMixerState> lin_state_;  // per layer (set for linear layers)
  std::vector<ops::MambaState> ssm_state_;        // per layer (set for Mamba layers)
  std::unique_ptr<ForwardBuffers> decode_, batch_, batch_all_;  // 1 row; max_batch rows (last / all logits)
  const ForwardBuffers* last_ = nullptr;          // buffers of the last pass (for logits())
  int last_rows_ = 0;
  std::unique_ptr<vk::Recording> decode_rec_, batch_rec_;
  // With a UI sharing the queue (Device::queue_turns), the decode step is split into chunks so a frame
  // can be drawn between them: decode_lead_ holds all chunks but the last (decode_rec_).
  std::vector<std::unique_ptr<vk::Recording>> decode_lead_;
  int decode_chunks() const;
  void submit_decode();
  std::unique_ptr<vk::Profiler> decode_prof_, batch_prof_;
  bool decode_recorded_ = false;
  bool small_layers_ = true;                      // SessionOptions::small_layers (off while probes are on)
  bool decode_samples_ = false;                   // decode_rec_ includes the sampler
  const vk::Profiler* last_prof_ = nullptr;
  struct Probes;                                  // capture sets and pending frames (session.cpp)
  std::unique_ptr<Probes> probes_;
};

}  // namespace ds
