#version 450
// Implied attention of the Mamba scan (probes): for query token i and key j <= i, channel c's weight
//   alpha[c,i,j] = delta[c,j] * sum_n C[k,n,i] (prod_{t=j+1..i} exp(delta[c,t] A[c,n])) B[g,n,j]
// reduced per head (CPH consecutive channels): map[h,i,j] = mean_c |alpha[c,i,j]|, each row normalized to sum 1.
// Workgroup (row r, head h), one invocation per channel of the head: walks j from i down to 0 keeping the decay
// product per state in registers (no differences of long cumulative sums, so no cancellation), and sums
// |alpha| over the head with a workgroup reduction per key. Keys after i get 0.
// PROBE=0 (ops::mamba_implied_attention): rows row0 + r of a [n_tokens, n_rows, n_heads] map over zxbc / dt of
// the whole sequence. PROBE=1 (probe::mamba_implied_rows): rows of the pass's queries t at i = n_past + t
// (step buffer) over the layer's zxbc / dt history, captured heads from the mask, into ring rows of max_keys
// words (keys at or past max_keys not stored but counted in the sum).
#include "common.glsl"

layout(local_size_x_id = 0) in;                   // = CPH, channels per head
layout(constant_id = 1) const uint D_STATE = 16;
#if PROBE
layout(push_constant) uniform Push { ProbeMambaRowsPush p; };
#else
layout(push_constant) uniform Push { MambaAttentionPush p; };
#endif
layout(set = 0, binding = 0) readonly buffer Zxbc { float zxbc[]; };     // [2*d_inner + 2*d_xb, n_tokens]
layout(set = 0, binding = 1) readonly buffer Dt { float dt[]; };         // [d_inner, n_tokens]
layout(set = 0, binding = 2) readonly buffer DtBias { float dt_bias[]; };  // [d_inner]
layout(set = 0, binding = 3) readonly buffer ALog { float a_log[]; };    // [d_state, d_inner]
#if PROBE
layout(set = 0, binding = 4) readonly buffer Step { int step[]; };
layout(set = 0, binding = 5) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 6) coherent buffer Out { float map[]; };       // ring rows
#else
layout(set = 0, binding = 4) coherent buffer Out { float map[]; };       // [n_tokens, n_rows, n_heads]
#endif

#include "reduce.glsl"
#if PROBE
#include "probe_heads.glsl"
#endif

float softplus(float v) { return v > 20.0 ? v : (v < -15.0 ? exp(v) : log(1.0 + exp(v))); }

void main() {
  const uint cph = gl_WorkGroupSize.x;
  const uint r = gl_WorkGroupID.x, l = gl_LocalInvocationID.x;
#if PROBE
  const uint h = captured_head(gl_WorkGroupID.y);
  const uint i = uint(max(step[0], 0)) + r;
  const uint out_row = p.out_offset + frame_index[0] * p.frame_words + (gl_WorkGroupID.y * p.query_stride + r) * p.max_keys;
  const uint n_stored = p.max_keys;
#else
  const uint h = gl_WorkGroupID.y;
  const uint i = p.row0 + r;
  const uint out_row = (h * p.n_rows + r) * p.n_tokens;
  const uint n_stored = p.n_tokens;
#endif
  const uint c = h * cph + l;
  const uint R = 2u * p.d_inner + 2u * p.d_xb;
  const uint k = c / D_STATE, g = k / p.repeat;
  const float bias = p.has_dt_bias != 0 ? dt_bias[c] : 0.0;

  float A[D_STATE], Cq[D_STATE], decay[D_STATE];
  for (uint n = 0; n < D_STATE; ++n) {
    A[n] = -exp(a_log[c * D_STATE + n]);
    Cq[n] = zxbc[i * R + p.d_inner + 2u * p.d_xb + k * D_STATE + n];
    decay[n] = 1.0;
  }
  float row_sum = 0.0;
  for (int j = int(i); j >= 0; --j) {
    const uint col = uint(j) * R + p.d_inner + p.d_xb + g * D_STATE;
    const float delta = softplus(dt[uint(j) * p.d_inner + c] + bias);
    float a = 0.0;
    for (uint n = 0; n < D_STATE; ++n) {
      a += Cq[n] * decay[n] * zxbc[col + n];
      decay[n] *= exp(delta * A[n]);
    }
    const float m = workgroup_sum(abs(delta * a)) / float(cph);
    row_sum += m;
    if (l == 0 && uint(j) < n_stored) map[out_row + uint(j)] = m;
  }
  for (uint j = i + 1 + l; j < n_stored; j += cph) map[out_row + j] = 0.0;
  memoryBarrierBuffer();
  barrier();
  const float scale = row_sum > 0.0 ? 1.0 / row_sum : 0.0;
  for (uint j = l; j <= i && j < n_stored; j += cph) map[out_row + j] *= scale;
}
