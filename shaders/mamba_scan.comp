#version 450
// Mamba mixer core (Apriel-H1 "m2"), after in_proj and the dt projections: causal depthwise conv over the
// repeated x (+ bias, silu) -> u; delta = softplus(dt + dt_bias); the selective scan
//   h[c,n] = exp(delta A[c,n]) h[c,n] + delta B[g,n] u;   y = (sum_n C[k,n] h[c,n] + D[c] u) * silu(z)
// One invocation per channel c keeps the channel's d_state states in registers. Variants (defines):
//   MODE_SEQUENTIAL    all tokens in order from ssm_state; writes y, the final state and the conv state.
//                      Decode (one token: dispatch independent of the context) and short prefills.
//   MODE_CHUNK_STATE   invocation (c, chunk j): scans chunk j from a zero state; scratch gets the chunk's
//                      end state and its sum of delta (the chunk decays state n by exp(A[c,n] * sum)).
//   MODE_CHUNK_COMBINE invocation (c, n): walks the chunks in order from ssm_state, replacing each chunk's end
//                      state in scratch by the state the chunk starts from; writes the final state.
//   MODE_CHUNK_OUTPUT  invocation (c, chunk j): scans chunk j from its start state, writing y; chunk 0 then
//                      moves the conv state on (only chunk 0 reads the old conv state: chunks are >= d_conv-1 long).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D_STATE = 16;
layout(constant_id = 2) const uint D_CONV = 4;
layout(push_constant) uniform Push { MambaPush p; };
layout(set = 0, binding = 0) readonly buffer Zxbc { float zxbc[]; };   // [2*d_inner + 2*d_xb, n_tokens]
layout(set = 0, binding = 1) readonly buffer Dt { float dt[]; };       // [d_inner, n_tokens]
layout(set = 0, binding = 2) readonly buffer ConvW { float conv_w[]; };  // [d_conv, d_inner]
layout(set = 0, binding = 3) readonly buffer ConvB { float conv_b[]; };  // [d_inner]
layout(set = 0, binding = 4) readonly buffer DtBias { float dt_bias[]; };  // [d_inner]
layout(set = 0, binding = 5) readonly buffer ALog { float a_log[]; };    // [d_state, d_inner]
layout(set = 0, binding = 6) readonly buffer Skip { float skip_d[]; };   // [d_inner]
layout(set = 0, binding = 7) buffer ConvState { float conv_state[]; };   // [d_inner, d_conv-1], slot 0 oldest
layout(set = 0, binding = 8) buffer SsmState { float ssm[]; };           // [d_state, d_inner]
layout(set = 0, binding = 9) buffer Scratch { float scratch[]; };        // chunk states, then delta sums
layout(set = 0, binding = 10) writeonly buffer Y { float y[]; };         // [d_inner, n_tokens]

#include "mamba.glsl"

// Channel c's conv input at token s (s < 0: from the conv state, written before this batch).
float conv_input(uint c, int s) {
  return s >= 0 ? zxbc[uint(s) * rows() + x_row(c)] : conv_state[uint(int(D_CONV) - 1 + s) * p.d_inner + c];
}

#if defined(MODE_CHUNK_COMBINE)

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.d_inner * D_STATE) return;
  const uint c = i / D_STATE;
  const float A = -exp(a_log[i]);
  const uint n_states = p.d_inner * D_STATE;
  float h = ssm[i];
  for (uint j = 0; j < p.n_chunks; ++j) {
    const float chunk_end = scratch[j * n_states + i];  // the chunk's own contribution (from a zero state)
    scratch[j * n_states + i] = h;                        // now: the state the chunk starts from
    h = exp(A * scratch[p.n_chunks * n_states + j * p.d_inner + c]) * h + chunk_end;
  }
  ssm[i] = h;
}

#else

void main() {
  const uint c = gl_GlobalInvocationID.x;
  const uint j = gl_WorkGroupID.y;  // chunk (0 in the sequential kernel)
  if (c >= p.d_inner) return;
  const uint t0 = j * p.chunk_len, t1 = min(p.n_tokens, t0 + p.chunk_len);
  const uint n_states = p.d_inner * D_STATE;
  const uint R = rows(), xr = x_row(c), br = b_row(c), cr = c_row(c);

  float A[D_STATE], h[D_STATE], w[D_CONV], win[D_CONV];
  for (uint n = 0; n < D_STATE; ++n) {
    A[n] = -exp(a_log[c * D_STATE + n]);
#if defined(MODE_SEQUENTIAL)
    h[n] = ssm[c * D_STATE + n];
#elif defined(MODE_CHUNK_OUTPUT)
    h[n] = scratch[j * n_states + c * D_STATE + n];
#else
    h[n] = 0.0;
#endif
  }
  for (uint k = 0; k < D_CONV; ++k) w[k] = conv_w[c * D_CONV + k];
  // win[k]: conv input at token t - (D_CONV-1) + k; before the first token, the D_CONV-1 inputs ahead of t0
  for (uint k = 1; k < D_CONV; ++k) win[k] = conv_input(c, int(t0) - int(D_CONV) + int(k));
  const float conv_bias = p.has_conv_bias != 0 ? conv_b[c] : 0.0;
  const float delta_bias = p.has_dt_bias != 0 ? dt_bias[c] : 0.0;
#if !defined(MODE_CHUNK_STATE)
  const float skip = skip_d[c];
#endif
  float delta_sum = 0.0;

  for (uint t = t0; t < t1; ++t) {
    const uint col = t * R;
    for (uint k = 0; k + 1 < D_CONV; ++k) win[k] = win[k + 1];
    win[D_CONV - 1] = zxbc[col + xr];
    float acc = conv_bias;
    for (uint k = 0; k < D_CONV; ++k) acc += w[k] * win[k];
    const float u = silu(acc);
    const float delta = softplus(dt[t * p.d_inner + c] + delta_bias);
    const float du = delta * u;
    delta_sum += delta;
    float yv = 0.0;
    for (uint n = 0; n < D_STATE; ++n) {
      h[n] = exp(delta * A[n]) * h[n] + du * zxbc[col + br + n];
#if !defined(MODE_CHUNK_STATE)
      yv += zxbc[col + cr + n] * h[n];
#endif
    }
#if !defined(MODE_CHUNK_STATE)
    y[t * p.d_inner + c] = (yv + skip * u) * silu(zxbc[col + c]);
#endif
  }

#if defined(MODE_CHUNK_STATE)
  for (uint n = 0; n < D_STATE; ++n) scratch[j * n_states + c * D_STATE + n] = h[n];
  scratch[p.n_chunks * n_states + j * p.d_inner + c] = delta_sum;
#else
#if defined(MODE_SEQUENTIAL)
  for (uint n = 0; n < D_STATE; ++n) ssm[c * D_STATE + n] = h[n];
#endif
  if (j == 0) {
    // the last D_CONV-1 inputs; ascending slots read old slots at or above their own (n_tokens >= 1)
    for (uint s = 0; s + 1 < D_CONV; ++s)
      conv_state[s * p.d_inner + c] = conv_input(c, int(p.n_tokens) - int(D_CONV) + 1 + int(s));
  }
#endif
}

#endif
