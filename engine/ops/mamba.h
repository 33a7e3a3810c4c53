// Mamba mixer core (Apriel-H1 "m2") on the device: conv over the repeated x, softplus step, selective scan,
// skip and gate, with the fixed-size per-layer state. The projections around it are ordinary matmuls.
#pragma once
#include <cstddef>
#include <string>

#include "ops/mamba_dims.h"
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Arena;
class Recorder;
}  // namespace vk
namespace ops {

// The mixer's own parameters, all F32 (GGUF names blk.{i}.ssm_*).
struct MambaWeights {
  Tensor conv_w;   // ssm_conv1d.weight [d_conv, 1, d_inner] (or [d_conv, d_inner]): taps of a channel contiguous,
                   // tap d_conv-1 multiplies the current token
  Tensor conv_b;   // ssm_conv1d.bias [d_inner], or empty
  Tensor dt_bias;  // ssm_dt.bias [d_inner], or empty: added to dt AGAIN before the softplus (as the reference does)
  Tensor a_log;    // ssm_a_log [d_state, d_inner]: A = -exp(a_log)
  Tensor d;        // ssm_d [d_inner]
};

// Fixed-size state of one mixer layer: zeros at the start of a sequence, the same size at any context length.
struct MambaState {
  Tensor conv;  // F32 [d_inner, d_conv-1]: conv[s*d_inner + c] = channel c's conv input (x after repetition)
                // d_conv-1-s tokens back; slot d_conv-2 = the last token seen, slot 0 the oldest
  Tensor ssm;   // F32 [d_state, d_inner]: h[c, n] at c*d_state + n (the reference's (d_inner, d_state) rows)
};

size_t mamba_state_bytes(const MambaDims& dims);
// Allocates both parts (named "<name>.conv", "<name>.ssm"), uninitialized: reset before the first use.
MambaState make_mamba_state(vk::Arena& arena, const MambaDims& dims, const std::string& name);
// Zeros the state (a new sequence).
void mamba_state_reset(vk::Recorder& rec, const MambaState& state);

struct MambaOptions {
  int chunk_tokens = 0;  // prefill chunk length; 0 = chosen from n_tokens (tests force small chunks)
};

// y = the mixer core for n_tokens tokens continuing from `state` (left advanced past them):
//   u = silu(conv1d_causal(x repeated to d_inner) + conv_b)       (history from state.conv)
//   delta = softplus(dt + dt_bias)
//   h[c,n] = exp(delta A[c,n]) h[c,n] + delta B[g,n] u            (state.ssm; g = channel c's group)
//   y[c] = (sum_n C[k,n] h[c,n] + D[c] u) * silu(z[c])            (k = c / d_state)
// zxbc: F32 [2*d_inner + 2*d_xb, n_tokens], the in_proj output (rows z | x | B | C);
// dt:   F32 [d_inner, n_tokens], dt_proj(dt_in_proj(h)) including dt_proj's bias;
// y:    F32 [d_inner, n_tokens] (then out_proj).
// n_tokens == 1 (decode): one dispatch that depends only on the dims, so a recording can be replayed every token.
// Longer batches whose chunk plan has more than one chunk run a chunked scan in three dispatches that needs
// `scratch` (F32, mamba_scratch_elems() elements).
void mamba_mixer(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w,
                 const MambaState& state, const Tensor& y, const MambaDims& dims, const Tensor& scratch = {},
                 const MambaOptions& opt = {});

// Implied attention of the scan (probes), for a sequence that starts from a zero state: head h's map over
// query rows i = row0 .. row0 + n_rows - 1 and keys j,
//   map[h, i, j] = mean over the head's channels c of |alpha[c, i, j]|, each row divided by its sum over j <= i,
//   alpha[c, i, j] = delta[c, j] sum_n C[k, n, i] (prod_{t=j+1..i} exp(delta[c, t] A[c, n])) B[g, n, j],
// so that the scan's output before the gate is sum_j alpha[c, i, j] u[c, j] + D[c] u[c, i] (ref/mamba.h).
// Heads are channels_per_head consecutive channels (d_state: the scan's own heads; the teacher's head_dim to
// compare with its attention heads; at most 512). zxbc, dt as for mamba_mixer (all n_tokens keys);
// w.dt_bias and w.a_log are read; out: F32 [n_tokens, n_rows, d_inner / channels_per_head] (keys after i: 0).
// Cost: n_rows x (keys up to i) x d_inner x d_state exponentials.
void mamba_implied_attention(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w,
                             const Tensor& out, const MambaDims& dims, int row0, int channels_per_head);

// F32 elements of scratch mamba_mixer needs for n_tokens (0 when it runs without). Never more than
// mamba_scratch_elems_max(dims), which serves every batch size.
size_t mamba_scratch_elems(const MambaDims& dims, int n_tokens, const MambaOptions& opt = {});
size_t mamba_scratch_elems_max(const MambaDims& dims);

}  // namespace ops
}  // namespace ds
