#version 450
#extension GL_EXT_control_flow_attributes : require
// Mat-vec for decode, one subgroup per output row: y[n, m] = sum_k w[k, n] x[k, m] (+ bias) (+ y).
// The workgroup first stages its column of x in shared memory (with the decode fusions applied: NORM
// scales by norm_w and, at the end, by 1/rms of the column; GLU reads silu(gate) * up), then each
// subgroup reduces ROWS rows of W: its lanes take consecutive 8-weight chunks (16-byte loads, so a
// subgroup reads 512 contiguous bytes of F16 per step), UNROLL chunks per lane in flight before any
// arithmetic, so many loads are outstanding per lane. No barrier after staging, one subgroupAdd per
// row. Needs K % 8 == 0, 16-byte aligned bindings and K <= KMAX (the host checks; otherwise matvec.comp).
// One column per workgroup (gl_WorkGroupID.z); weight type by -D (see dequant.glsl).
// -DFUSED adds the decode fusions of ops/matvec_fused.h (MatvecFusedPush): ROPE, an epilogue that rotates
// RoPE pairs of a [q | k | v] output and stores k and v into the F16 caches (each subgroup's rows are whole
// pairs), and COMBINE, a prologue that stages the attention output merged from split-K partials.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint ROWS = 2;      // output rows per subgroup
layout(constant_id = 2) const uint KMAX = 8192;   // staged x capacity (floats, multiple of 4)
layout(constant_id = 3) const uint UNROLL = 4;    // 8-weight chunks per lane per step

#ifdef FUSED
layout(push_constant) uniform Push { MatvecFusedPush p; };
#else
layout(push_constant) uniform Push { MatmulPush p; };
#endif

#define W_BINDING 0
#include "dequant.glsl"
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 4) readonly buffer NormW4 { vec4 norm_w4[]; };
#ifdef FUSED
layout(set = 0, binding = 5) readonly buffer Pos { int positions[]; };     // [1]
layout(set = 0, binding = 6) readonly buffer Freq { float inv_freq[]; };   // [head_dim / 2]
layout(set = 0, binding = 7) readonly buffer Step { int step[]; };         // {n_past, 1, 0, 0}
layout(set = 0, binding = 8) writeonly buffer KC { float16_t k_cache[]; }; // [head_dim, n_ctx, n_kv]
layout(set = 0, binding = 9) writeonly buffer VC { float16_t v_cache[]; }; // [head_dim, n_ctx, n_kv]
#include "rope.glsl"
#endif

shared vec4 xs[KMAX / 4];
shared float sg_sums[WG];  // per-subgroup partial sums of squares (NORM); WG >= number of subgroups
#ifdef FUSED
shared float head_max[KMAX / 4], head_inv_l[KMAX / 4];  // COMBINE: per head (n_heads <= K / 4)
#endif

vec4 silu4(vec4 v) { return v / (1.0 + exp(-v)); }

// Output row of the subgroup's slot: the identity, except that with neox RoPE slots 2s and 2s + 1 are the
// rows of pair s, (i, i + head_dim / 2) of its head.
uint out_row(uint slot) {
#ifdef FUSED
  if ((p.flags & MATMUL_ROPE) != 0 && p.neox != 0) {
    const uint half_dim = p.head_dim / 2, pair = slot / 2;
    return (pair / half_dim) * p.head_dim + pair % half_dim + (slot % 2) * half_dim;
  }
#endif
  return slot;
}

#ifdef FUSED
// COMBINE: xs = the attention output, sum_c w_c acc_c / sum_c w_c l_c per head with w_c = exp(m_c - max m),
// over the chunks that hold live keys. First one subgroup per head finds max and 1/sum, then every
// invocation merges its vec4s.
uint base_of_head(uint h) { return h * p.n_chunks * (p.head_dim / 4 + 1); }  // in vec4s

void stage_combined(uint tid, uint lane, uint sg_size) {
  const uint NP = p.head_dim / 4, stride = NP + 1;
  const uint kv_len = min(uint(max(step[0], 0)) + 1, p.n_ctx);
  const uint n_live = (kv_len + p.chunk_keys - 1) / p.chunk_keys;
  for (uint h = gl_SubgroupID; h < p.n_heads; h += gl_NumSubgroups) {
    const uint base = base_of_head(h) + NP;
    float mx = -1.0e30;
    for (uint c = lane; c < n_live; c += sg_size) mx = max(mx, x4[base + c * stride].x);
    mx = subgroupMax(mx);
    float l = 0.0;
    for (uint c = lane; c < n_live; c += sg_size) {
      const vec4 ml = x4[base + c * stride];
      l += exp(ml.x - mx) * ml.y;
    }
    l = subgroupAdd(l);
    if (subgroupElect()) {
      head_max[h] = mx;
      head_inv_l[h] = 1.0 / l;
    }
  }
  barrier();
  for (uint i = tid; i < p.K / 4; i += WG) {
    const uint h = i / NP, piece = base_of_head(h) + i % NP;
    const float mx = head_max[h];
    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    uint c = 0;
    for (; c + 3 < n_live; c += 4)  // four chunks' loads in flight
      [[unroll]] for (uint u = 0; u < 4; ++u) {
        const uint at = piece + (c + u) * stride;
        acc[u] += x4[at] * exp(x4[at - i % NP + NP].x - mx);
      }
    for (; c < n_live; ++c) {
      const uint at = piece + c * stride;
      acc[0] += x4[at] * exp(x4[at - i % NP + NP].x - mx);
    }
    xs[i] = (acc[0] + acc[1] + acc[2] + acc[3]) * head_inv_l[h];
  }
}

// ROPE: rows n0, n1 (a RoPE pair of one head) with final values a, b. q and k rows are rotated; all rows go
// to y; k and v rows also into the caches at position step[0].
void rope_store_pair(uint n0, uint n1, float a, float b) {
  const uint hd = p.head_dim, head = n0 / hd, q_heads = p.n_heads;
  const uint i = p.neox != 0 ? n0 % hd : (n0 % hd) / 2;
  if (head < q_heads + p.n_kv) {
    const vec2 r = rope_rotate(vec2(a, b), rope_cos_sin(positions[0], inv_freq[i]));
    a = r.x;
    b = r.y;
  }
  y[n0] = a;
  y[n1] = b;
  const uint pos = uint(max(step[0], 0));
  if (head < q_heads || pos >= p.n_ctx) return;
  const bool is_v = head >= q_heads + p.n_kv;
  const uint kv_head = head - q_heads - (is_v ? p.n_kv : 0);
  const uint dst = (kv_head * p.n_ctx + pos) * hd;
  if (is_v) {
    v_cache[dst + n0 % hd] = float16_t(a);
    v_cache[dst + n1 % hd] = float16_t(b);
  } else {
    k_cache[dst + n0 % hd] = float16_t(a);
    k_cache[dst + n1 % hd] = float16_t(b);
  }
}
#endif

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint lane = gl_SubgroupInvocationID, sg_size = gl_SubgroupSize;
  const bool glu = (p.flags & MATMUL_GLU) != 0;
  const bool norm = (p.flags & MATMUL_NORM) != 0;
  const uint K4 = p.K / 4;
  const uint col = gl_WorkGroupID.z;
  const uint x_base4 = col * (glu ? 2 * K4 : K4);

  // Stage x (fused), and the column's sum of squares for NORM.
  float ss = 0.0;
#ifdef FUSED
  if ((p.flags & MATMUL_COMBINE) != 0) stage_combined(tid, lane, sg_size);
  else
#endif
  for (uint i = tid; i < K4; i += WG) {
    vec4 v = x4[x_base4 + i];
    if (glu) v = silu4(v) * x4[x_base4 + K4 + i];
    if (norm) {
      ss += dot(v, v);
      v *= norm_w4[i];
    }
    xs[i] = v;
  }
  float scale = 1.0;
  if (norm) {
    ss = subgroupAdd(ss);
    if (subgroupElect()) sg_sums[gl_SubgroupID] = ss;
  }
  barrier();
  if (norm) {
    float t = 0.0;
    for (uint s = 0; s < gl_NumSubgroups; ++s) t += sg_sums[s];
    scale = inversesqrt(t / float(p.K) + p.eps);
  }

  const uint wg_index = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  const uint row0 = (wg_index * gl_NumSubgroups + gl_SubgroupID) * ROWS;
  if (row0 >= p.N) return;  // uniform over the subgroup; no barrier follows

  uint row_base[ROWS];
  for (uint r = 0; r < ROWS; ++r) row_base[r] = out_row(min(row0 + r, p.N - 1)) * p.K;  // clamped: dropped
  float acc[ROWS];
  for (uint r = 0; r < ROWS; ++r) acc[r] = 0.0;

  const uint n_chunks = p.K / 8, step = sg_size * UNROLL;
  uint ch = lane;
  // Main loop: UNROLL chunks per lane per row, all loads issued before the dot products.
  for (; ch + (UNROLL - 1) * sg_size < n_chunks; ch += step) {
    vec4 wlo[ROWS * UNROLL], whi[ROWS * UNROLL];
    [[unroll]] for (uint r = 0; r < ROWS; ++r)
      [[unroll]] for (uint u = 0; u < UNROLL; ++u)
        dequant8(row_base[r] + (ch + u * sg_size) * 8, wlo[r * UNROLL + u], whi[r * UNROLL + u]);
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) {
      const uint c = ch + u * sg_size;
      const vec4 xlo = xs[2 * c], xhi = xs[2 * c + 1];
      [[unroll]] for (uint r = 0; r < ROWS; ++r)
        acc[r] += dot(wlo[r * UNROLL + u], xlo) + dot(whi[r * UNROLL + u], xhi);
    }
  }
  // Remainder: fewer than UNROLL chunks per lane left.
  for (; ch < n_chunks; ch += sg_size) {
    const vec4 xlo = xs[2 * ch], xhi = xs[2 * ch + 1];
    [[unroll]] for (uint r = 0; r < ROWS; ++r) {
      vec4 wlo, whi;
      dequant8(row_base[r] + ch * 8, wlo, whi);
      acc[r] += dot(wlo, xlo) + dot(whi, xhi);
    }
  }

  float sums[ROWS];
  for (uint r = 0; r < ROWS; ++r) sums[r] = subgroupAdd(acc[r]);
  if (lane != 0) return;
  for (uint r = 0; r < ROWS; ++r) {
    const uint n = out_row(row0 + r);
    if (row0 + r >= p.N) break;
    float sum = sums[r] * scale;
    if ((p.flags & MATMUL_BIAS) != 0) sum += bias[n];
    const uint dst = col * p.N + n;
    if ((p.flags & MATMUL_ACCUMULATE) != 0) sum += y[dst];
    sums[r] = sum;
#ifdef FUSED
    if ((p.flags & MATMUL_ROPE) != 0) {
      if (r % 2 == 1) rope_store_pair(out_row(row0 + r - 1), n, sums[r - 1], sum);  // ROWS is even
      continue;
    }
#endif
    y[dst] = sum;
  }
}
