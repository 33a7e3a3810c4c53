// Reference Mamba mixer core (Apriel-H1 "m2"), written from the equations with plain loops, one token at a
// time: conv over the repeated x, softplus step, selective scan, skip, gate; and the scan's implied attention.
#pragma once
#include <span>
#include <vector>

#include "ops/mamba_dims.h"

namespace ds::ref {

// The mixer's own parameters (what comes after in_proj and the dt projections). Shapes in GGUF order.
struct MambaParams {
  std::span<const float> conv_w;   // [d_conv, d_inner]: tap k of channel c at c*d_conv + k; k = d_conv-1 is the current token
  std::span<const float> conv_b;   // [d_inner], or empty (no conv bias)
  std::span<const float> dt_bias;  // [d_inner], or empty: dt_proj.bias, added AGAIN before the softplus
  std::span<const float> a_log;    // [d_state, d_inner]: A[c, n] = -exp(a_log[c*d_state + n])
  std::span<const float> d;        // [d_inner]: skip weight
};

// The fixed-size state of one mixer (zeros at the start of a sequence).
struct MambaRefState {
  std::vector<float> conv;  // [d_inner, d_conv-1]: conv[s*d_inner + c] = channel c's conv input s steps into the
                            // window; slot d_conv-2 is the last token seen, slot 0 the oldest
  std::vector<float> ssm;   // [d_state, d_inner]: h[c, n] at c*d_state + n
  explicit MambaRefState(const MambaDims& dims);
};

// What the scan consumes, per channel and token ([d_inner, n_tokens], channel fastest).
struct MambaScanInputs {
  std::vector<float> u;      // silu(conv1d(x repeated) + conv_b): the scan's input (and the skip's)
  std::vector<float> delta;  // softplus(dt + dt_bias): the step
};

// u and delta for n_tokens tokens; the conv reads the history in conv_state and leaves it advanced.
// zxbc: [zxbc_rows, n_tokens] (in_proj output); dt: [d_inner, n_tokens] (dt_proj(dt_in_proj(h)) incl. its bias).
MambaScanInputs mamba_conv_delta(const MambaDims& dims, std::span<const float> zxbc, std::span<const float> dt,
                                 const MambaParams& w, std::vector<float>& conv_state, int n_tokens);

// The selective scan, token by token, from the state in ssm (left advanced):
//   h[c,n] = exp(delta[c,t] A[c,n]) h[c,n] + delta[c,t] B[g,n,t] u[c,t];  y[c,t] = sum_n C[k,n,t] h[c,n] + D[c] u[c,t]
// y: [d_inner, n_tokens], before the gate.
void mamba_scan(const MambaDims& dims, std::span<const float> zxbc, const MambaScanInputs& in,
                std::span<const float> a_log, std::span<const float> d, std::vector<float>& ssm, std::span<float> y,
                int n_tokens);

// The whole core: y = mamba_scan(...) * silu(z). y: [d_inner, n_tokens]. Advances both parts of the state.
void mamba_mixer(const MambaDims& dims, std::span<const float> zxbc, std::span<const float> dt, const MambaParams& w,
                 MambaRefState& state, std::span<float> y, int n_tokens);

// The scan unrolled into token-to-token weights, per channel, for a sequence starting from a zero SSM state:
//   alpha[c, i, j] = sum_n C[k,n,i] (prod_{t=j+1..i} exp(delta[c,t] A[c,n])) B[g,n,j] delta[c,j]   (j <= i; 0 above)
// so that y_before_gate[c, i] = sum_j alpha[c, i, j] u[c, j] + D[c] u[c, i].
// Layout [n_tokens (j), n_tokens (i), d_inner]: alpha[(c*T + i)*T + j].
std::vector<float> mamba_implied_attention_channels(const MambaDims& dims, std::span<const float> zxbc,
                                                    const MambaScanInputs& in, std::span<const float> a_log,
                                                    int n_tokens);

// Per-head attention maps from the per-channel weights: head h covers channels [h*cph, (h+1)*cph)
// (cph = channels_per_head: d_state for the scan's own heads, the teacher's head_dim to compare with its
// attention heads). map[h, i, j] = mean over the head's channels of |alpha[c, i, j]|, then each row i divided
// by its sum over j (a row of zeros stays zero). Layout [n_tokens (j), n_tokens (i), n_heads].
std::vector<float> mamba_implied_attention_heads(const MambaDims& dims, std::span<const float> alpha, int n_tokens,
                                                 int channels_per_head);

}  // namespace ds::ref
