#version 450
// Softmax normalizer and top-K ids of logits rows, per token: one row (PAIR=0, logit lens) or a
// teacher/student pair (PAIR=1, divergence). Per list the accumulator is (m, z, e, d): running max m,
// z = sum w, e = sum w (l - m), d = sum w (l - l_other), w = exp(l - m); so lse = m + log z,
// entropy = log z - e / z and KL(this || other) = d / z - (lse - lse_other), all stable in F32.
//   FINAL=0: workgroup (chunk c, token t) reduces ids [c * chunk, (c + 1) * chunk) into its partial;
//   FINAL=1: one workgroup per token merges the partials and writes the token's block in the frame:
//     PAIR=0: [n_top ids][n_top probs]
//     PAIR=1: [kl, reverse kl, top-1 agree, top-k overlap, entropy a, entropy b, top-1 a, top-1 b,
//              p_a(token), p_b(token), token, 0][ids a][probs a][ids b][probs b]   (n_top each)
// NaN logits count as -inf. KL and entropies are clamped at 0 (rounding can make them -1e-7).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint K = 5;  // list length: max(n_top, k_overlap), <= 16
#if PAIR
const uint NL = 2;
#else
const uint NL = 1;
#endif
const uint PW = NL * (4 + 2 * K);  // partial words per (token, chunk): accumulators, then K keys + K ids per list
const float MASKED = -1.0e30;
layout(push_constant) uniform Push { ProbeLogitsPush p; };

#if FINAL
#if PAIR
layout(set = 0, binding = 0) readonly buffer A { float la[]; };
layout(set = 0, binding = 1) readonly buffer B { float lb[]; };
layout(set = 0, binding = 2) readonly buffer Tokens { int tokens[]; };
layout(set = 0, binding = 3) readonly buffer Partials { uint part[]; };
layout(set = 0, binding = 4) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 5) writeonly buffer Ring { uint ring[]; };
#else
layout(set = 0, binding = 0) readonly buffer Partials { uint part[]; };
layout(set = 0, binding = 1) readonly buffer Index { uint frame_index[]; };
layout(set = 0, binding = 2) writeonly buffer Ring { uint ring[]; };
#endif
#else
layout(set = 0, binding = 0) readonly buffer A { float la[]; };
#if PAIR
layout(set = 0, binding = 1) readonly buffer B { float lb[]; };
layout(set = 0, binding = 2) writeonly buffer Partials { uint part[]; };
#else
layout(set = 0, binding = 1) writeonly buffer Partials { uint part[]; };
#endif
#endif

#include "reduce.glsl"
#include "probe_topk.glsl"

float clean(float l) { return isnan(l) ? TK_NEG_INF : l; }

vec4 acc_add(vec4 a, float l, float other) {
  if (l == TK_NEG_INF) return a;  // zero weight
  if (l > a.x) {
    const float s = exp(a.x - l);
    a = vec4(l, a.y * s, s * (a.z + (a.x - l) * a.y), a.w * s);
  }
  const float w = exp(l - a.x);
  a.y += w;
  a.z += w * (l - a.x);
  if (w > 0.0) a.w += w * (l - other);
  return a;
}

vec4 acc_merge(vec4 a, vec4 b) {
  const float m = max(a.x, b.x);
  const float sa = exp(a.x - m), sb = exp(b.x - m);
  return vec4(m, a.y * sa + b.y * sb, sa * (a.z + (a.x - m) * a.y) + sb * (b.z + (b.x - m) * b.y),
              (sa > 0.0 ? a.w * sa : 0.0) + (sb > 0.0 ? b.w * sb : 0.0));
}

vec4 workgroup_acc(vec4 a) {
  const float m = workgroup_max(a.x);
  const float s = exp(a.x - m);
  return vec4(m, workgroup_sum(a.y * s), workgroup_sum(s * (a.z + (a.x - m) * a.y)),
              workgroup_sum(s > 0.0 ? a.w * s : 0.0));
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  vec4 acc[NL];
  for (uint L = 0; L < NL; ++L) {
    acc[L] = vec4(MASKED, 0.0, 0.0, 0.0);
    tk_clear(L);
  }
#if FINAL
  const uint t = gl_WorkGroupID.x;
  for (uint c = tid; c < p.n_chunks; c += gl_WorkGroupSize.x) {
    const uint base = (t * p.n_chunks + c) * PW;
    for (uint L = 0; L < NL; ++L) {
      const uint a = base + 4 * L, l = base + 4 * NL + 2 * K * L;
      acc[L] = acc_merge(acc[L], uintBitsToFloat(uvec4(part[a], part[a + 1], part[a + 2], part[a + 3])));
      for (uint r = 0; r < K; ++r)
        if (part[l + K + r] != TK_NONE) tk_push(L, uintBitsToFloat(part[l + r]), part[l + K + r]);
    }
  }
  float lse[NL];
  for (uint L = 0; L < NL; ++L) {
    acc[L] = workgroup_acc(acc[L]);
    lse[L] = acc[L].x + log(acc[L].y);
    tk_merge(L);
  }
  if (tid != 0) return;
  const uint block = p.out_offset + frame_index[0] * p.frame_words + t * p.block_words;
  const uint lists = PAIR != 0 ? block + 12 : block;
  for (uint L = 0; L < NL; ++L)
    for (uint r = 0; r < p.n_top; ++r) {
      const uint id = tk_out_id[L][r];
      ring[lists + 2 * p.n_top * L + r] = id;
      ring[lists + 2 * p.n_top * L + p.n_top + r] = floatBitsToUint(id == TK_NONE ? 0.0 : exp(tk_out_key[L][r] - lse[L]));
    }
#if PAIR
  float common_ids = 0.0;
  for (uint i = 0; i < p.k_overlap; ++i)
    for (uint j = 0; j < p.k_overlap; ++j)
      if (tk_out_id[0][i] != TK_NONE && tk_out_id[0][i] == tk_out_id[1][j]) common_ids += 1.0;
  const int tok = tokens[t];
  const bool known = tok >= 0 && uint(tok) < p.vocab;
  float v[12];
  for (uint i = 0; i < 12; ++i) v[i] = 0.0;
  v[0] = max(acc[0].w / acc[0].y - (lse[0] - lse[1]), 0.0);
  v[1] = max(acc[1].w / acc[1].y - (lse[1] - lse[0]), 0.0);
  v[2] = tk_out_id[0][0] == tk_out_id[1][0] ? 1.0 : 0.0;
  v[3] = common_ids / float(p.k_overlap);
  v[4] = max(log(acc[0].y) - acc[0].z / acc[0].y, 0.0);
  v[5] = max(log(acc[1].y) - acc[1].z / acc[1].y, 0.0);
  v[8] = known ? exp(clean(la[t * p.vocab + uint(tok)]) - lse[0]) : 0.0;
  v[9] = known ? exp(clean(lb[t * p.vocab + uint(tok)]) - lse[1]) : 0.0;
  for (uint i = 0; i < 12; ++i) ring[block + i] = floatBitsToUint(v[i]);
  ring[block + 6] = tk_out_id[0][0];
  ring[block + 7] = tk_out_id[1][0];
  ring[block + 10] = uint(tok);
  ring[block + 11] = 0;
#endif
#else
  const uint c = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
  const uint first = c * p.chunk, end = min(p.vocab, first + p.chunk), row = t * p.vocab;
  for (uint i = first + tid; i < end; i += gl_WorkGroupSize.x) {
    const float a = clean(la[row + i]);
#if PAIR
    const float b = clean(lb[row + i]);
    acc[0] = acc_add(acc[0], a, b);
    acc[1] = acc_add(acc[1], b, a);
    tk_push(0, a, i);
    tk_push(1, b, i);
#else
    acc[0] = acc_add(acc[0], a, a);
    tk_push(0, a, i);
#endif
  }
  const uint base = (t * p.n_chunks + c) * PW;
  for (uint L = 0; L < NL; ++L) {
    const vec4 r = workgroup_acc(acc[L]);
    if (tid == 0)
      for (uint i = 0; i < 4; ++i) part[base + 4 * L + i] = floatBitsToUint(r[i]);
    tk_merge(L);
    const uint l = base + 4 * NL + 2 * K * L;
    if (tid < K) {
      part[l + tid] = floatBitsToUint(tk_out_key[L][tid]);
      part[l + K + tid] = tk_out_id[L][tid];
    }
  }
#endif
}
