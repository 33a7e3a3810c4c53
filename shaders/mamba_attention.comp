#version 450
// Implied attention of the Mamba scan (probes): for query token i and key j <= i, channel c's weight
//   alpha[c,i,j] = delta[c,j] * sum_n C[k,n,i] (prod_{t=j+1..i} exp(delta[c,t] A[c,n])) B[g,n,j]
// reduced per head (CPH consecutive channels): map[h,i,j] = mean_c |alpha[c,i,j]|, each row normalized to sum 1.
// Workgroup (row r, head h, key chunk z), one invocation per channel of the head: starts at the chunk's top key
// with the decay product over (top, i] (exp of A times a plain sum of positive deltas -- whole chunks' sums from
// the probe_mamba_dt_sums pre-pass -- no differences of long cumulative sums, so no cancellation), walks down keeping the product per state in registers, and reduces
// |alpha| over the head's channels once per tile of keys through shared memory (two barriers per tile, not per
// key). One chunk (gl_NumWorkGroups.z == 1): the workgroup normalizes its row itself. Several chunks (probes at
// long contexts, to use the whole GPU): each writes its unnormalized part and its sum to `partials`, and
// probe_rows_final.comp normalizes. Keys after i get 0.
// PROBE=0 (ops::mamba_implied_attention): rows row0 + r of a [n_tokens, n_rows, n_heads] map over zxbc / dt of
// the whole sequence, one chunk. PROBE=1 (probe::mamba_implied_rows): rows of the pass's queries t at
// i = n_past + t (step buffer) over the layer's zxbc / dt history, captured heads from the mask, into ring rows of
// max_keys words (keys at or past max_keys not stored but counted in the sum), chunks of p.chunk_keys keys.
#include "common.glsl"

layout(local_size_x_id = 0) in;                   // = CPH, channels per head
layout(constant_id = 1) const uint D_STATE = 16;
const uint TILE_WORDS = 4096;  // shared words of one tile: (keys per tile + 1) * CPH <= TILE_WORDS + CPH
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
layout(set = 0, binding = 7) writeonly buffer Partials { float partials[]; };  // [heads][queries][chunks]
layout(set = 0, binding = 8) readonly buffer DtSums { float dt_sums[]; };     // [chunks][d_inner] (p.has_sums)
#else
layout(set = 0, binding = 4) coherent buffer Out { float map[]; };       // [n_tokens, n_rows, n_heads]
#endif

shared float tile_part[TILE_WORDS + 512];  // [channel][key of the tile], row stride keys + 1

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

  const uint n_chunks = gl_NumWorkGroups.z, chunk = gl_WorkGroupID.z;
#if PROBE
  const uint chunk_keys = n_chunks == 1 ? max(n_stored, i + 1) : p.chunk_keys;
#else
  const uint chunk_keys = max(n_stored, i + 1);
#endif
  const uint lo = chunk * chunk_keys, hi = lo + chunk_keys;  // this workgroup's positions [lo, hi)
  for (uint j = max(lo, i + 1) + l; j < min(hi, n_stored); j += cph) map[out_row + j] = 0.0;

  float my_sum = 0.0;  // of the head-reduced weights this invocation wrote
  if (lo <= i) {
    const uint top = min(hi - 1, i);
    float A[D_STATE], Cq[D_STATE], decay[D_STATE];
    float S = 0.0;  // sum of delta over (top, i]
    uint t0 = top + 1;
#if PROBE
    if (p.has_sums != 0 && top < i) {  // whole chunks between this one and i's from the pre-pass sums
      const uint qi = i / chunk_keys;
      for (uint q2 = chunk + 1; q2 < qi; ++q2) S += dt_sums[q2 * p.d_inner + c];
      t0 = max(t0, qi * chunk_keys);
    }
#endif
    for (uint t = t0; t <= i; ++t) S += softplus(dt[t * p.d_inner + c] + bias);
    for (uint n = 0; n < D_STATE; ++n) {
      A[n] = -exp(a_log[c * D_STATE + n]);
      Cq[n] = zxbc[i * R + p.d_inner + 2u * p.d_xb + k * D_STATE + n];
      decay[n] = exp(A[n] * S);
    }
    const uint tile = max(TILE_WORDS / cph, 1u), stride = tile + 1;
    for (uint base = top + 1; base > lo;) {  // tiles of keys [tlo, base), walking down
      const uint tlo = base - min(tile, base - lo);
      for (uint j = base; j-- > tlo;) {
        const uint col = j * R + p.d_inner + p.d_xb + g * D_STATE;
        const float delta = softplus(dt[j * p.d_inner + c] + bias);
        float a = 0.0;
        for (uint n = 0; n < D_STATE; ++n) {
          a += Cq[n] * decay[n] * zxbc[col + n];
          decay[n] *= exp(delta * A[n]);
        }
        tile_part[l * stride + (j - tlo)] = abs(delta * a);
      }
      barrier();
      for (uint jj = l; jj < base - tlo; jj += cph) {
        float m = 0.0;
        for (uint cc = 0; cc < cph; ++cc) m += tile_part[cc * stride + jj];
        m /= float(cph);
        my_sum += m;
        if (tlo + jj < n_stored) map[out_row + tlo + jj] = m;
      }
      barrier();
      base = tlo;
    }
  }
  const float row_part = workgroup_sum(my_sum);
  if (n_chunks > 1) {
#if PROBE
    if (l == 0) partials[(gl_WorkGroupID.y * gl_NumWorkGroups.x + r) * n_chunks + chunk] = row_part;
#endif
    return;
  }
  memoryBarrierBuffer();
  barrier();
  const float scale = row_part > 0.0 ? 1.0 / row_part : 0.0;
  for (uint j = l; j <= i && j < n_stored; j += cph) map[out_row + j] *= scale;
}
