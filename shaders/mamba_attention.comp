#version 450
// Implied attention of the Mamba scan (probes): for query token i and key j <= i, channel c's weight
//   alpha[c,i,j] = delta[c,j] * sum_n C[k,n,i] (prod_{t=j+1..i} exp(delta[c,t] A[c,n])) B[g,n,j]
// reduced per head (CPH consecutive channels): map[h,i,j] = mean_c |alpha[c,i,j]|, each row normalized to sum 1.
// Workgroup (row r, head h), one invocation per channel of the head: walks j from i down to 0 keeping the decay
// product per state in registers (no differences of long cumulative sums, so no cancellation), and sums
// |alpha| over the head with a workgroup reduction per key. Keys after i get 0.
#include "common.glsl"

layout(local_size_x_id = 0) in;                   // = CPH, channels per head
layout(constant_id = 1) const uint D_STATE = 16;
layout(push_constant) uniform Push { MambaAttentionPush p; };
layout(set = 0, binding = 0) readonly buffer Zxbc { float zxbc[]; };     // [2*d_inner + 2*d_xb, n_tokens]
layout(set = 0, binding = 1) readonly buffer Dt { float dt[]; };         // [d_inner, n_tokens]
layout(set = 0, binding = 2) readonly buffer DtBias { float dt_bias[]; };  // [d_inner]
layout(set = 0, binding = 3) readonly buffer ALog { float a_log[]; };    // [d_state, d_inner]
layout(set = 0, binding = 4) coherent buffer Out { float map[]; };       // [n_tokens, n_rows, n_heads]

#include "reduce.glsl"

float softplus(float v) { return v > 20.0 ? v : (v < -15.0 ? exp(v) : log(1.0 + exp(v))); }

void main() {
  const uint cph = gl_WorkGroupSize.x;
  const uint r = gl_WorkGroupID.x, h = gl_WorkGroupID.y, l = gl_LocalInvocationID.x;
  const uint c = h * cph + l;
  const uint i = p.row0 + r;
  const uint R = 2u * p.d_inner + 2u * p.d_xb;
  const uint k = c / D_STATE, g = k / p.repeat;
  const uint out_row = (h * p.n_rows + r) * p.n_tokens;
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
    if (l == 0) map[out_row + uint(j)] = m;
  }
  for (uint j = i + 1 + l; j < p.n_tokens; j += cph) map[out_row + j] = 0.0;
  memoryBarrierBuffer();
  barrier();
  const float scale = row_sum > 0.0 ? 1.0 / row_sum : 0.0;
  for (uint j = l; j <= i; j += cph) map[out_row + j] *= scale;
}
