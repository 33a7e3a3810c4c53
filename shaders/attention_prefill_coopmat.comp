#version 450
// Prefill attention (n_tokens > 1) on tensor cores (GL_NV_cooperative_matrix, 16x16x16 F16 -> F32); same
// bindings, push constants and results as attention_prefill.comp. A workgroup of 4 subgroups ("warps" of 32)
// owns 64 query rows: heads h0 .. h0 + 64/BT - 1 (all of one kv head) x tokens q0 .. q0 + BT - 1, so each K/V
// tile is staged once for the heads that share it. Each warp owns 16 rows (one head, 16 tokens). Per tile of
// BK = 32 keys, staged in shared memory as F16 (the next tile's loads in flight during this one's work):
//   S  = Q K^T          tensor cores (Q scaled, F16 in shared; K read column-major as K^T), S to shared (F32);
//   softmax online       2 lanes per row, 16 keys each: causal mask, running max m and sum l, P to shared (F16);
//   PV = P V            tensor cores, one 16-column block at a time through a shared staging slot;
//   O  = alpha O + PV   each lane keeps 8 rows x 1 column of every block in registers (NV coopmat v1 gives
//                       no per-element access to accumulators, so rescaling happens outside them).
// Token t sees keys 0 .. n_past + t (n_past from the step buffer). Rows past n_tokens act as the last token
// and are not written. A warp skips tiles that lie wholly past its rows' last key.
// EMULATE_COOPMAT: the same kernel with each tensor-core load / multiply / store done by plain loops that read
// the same fragment offsets, strides and layouts, and the subgroup operations done through shared memory and
// workgroup barriers, so indexing, masking and softmax are tested on devices without tensor cores (any
// subgroup size); slow, tests only.
#if !defined(EMULATE_COOPMAT)
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#endif
#include "common.glsl"
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 128) in;
layout(constant_id = 0) const uint HD = 64;  // head_dim, a multiple of 16
layout(constant_id = 1) const uint BT = 16;  // tokens per workgroup: 64 / heads per workgroup (16, 32 or 64)
layout(push_constant) uniform Push { AttentionPush p; };
layout(set = 0, binding = 0) readonly buffer Q { vec4 q4[]; };       // [head_dim, n_heads, n_tokens] F32
layout(set = 0, binding = 1) readonly buffer K { uvec2 k4[]; };      // [head_dim, n_ctx, n_kv] F16, 4 per uvec2
layout(set = 0, binding = 2) readonly buffer V { uvec2 v4[]; };      // [head_dim, n_ctx, n_kv] F16, 4 per uvec2
layout(set = 0, binding = 3) readonly buffer Step { int step[]; };   // {n_past, ...}
#if defined(OUT_F16)  // the input of prefill's tensor-core output projection
layout(set = 0, binding = 4) writeonly buffer O { float16_t o[]; };  // [head_dim, n_heads, n_tokens] F16
#define OUT(v) float16_t(v)
#else
layout(set = 0, binding = 4) writeonly buffer O { float o[]; };      // [head_dim, n_heads, n_tokens] F32
#define OUT(v) (v)
#endif

const uint ROWS = 64, BK = 32, THREADS = 128;
// F16 tiles in shared memory are uvec4 arrays of 8 halves (as in matmul_coopmat_tiles.comp): 16-byte aligned
// rows and fragment offsets, as the NV loads want. Strides of HD + 8 and BK + 8 halves spread the banks.
const uint HD4 = HD / 4, HD8 = HD / 8;         // 4-half (global) and 8-half (shared) pieces per head vector
const uint RS8 = HD8 + 1;                      // row stride of the Q, K, V tiles in uvec4
const uint SS = BK + 4;                        // row stride of S (and the PV staging slots) in floats
const uint PS8 = BK / 8 + 1;                   // row stride of P in uvec4
const uint KV_CHUNKS = (BK * HD8 + THREADS - 1) / THREADS;  // 8-half pieces of K (and of V) per thread
const uint NB = HD / 16;                       // 16-column blocks of the output
const float MASKED = -1.0e30;

shared uvec4 q_sh[ROWS * RS8];   // [row][dim], scaled
shared uvec4 k_sh[BK * RS8];     // [key][dim]
shared uvec4 v_sh[BK * RS8];     // [key][dim]
// S stays a float array: coopMatStoreNV into float arrays is what both matmul kernels do on the H200. Its size
// and the uvec4 arrays' are multiples of 16 bytes, so declared in this order every array starts 16-aligned.
shared float s_sh[ROWS * SS];    // [row][key] scores; then two 16-column PV slots per row
shared uvec4 p_sh[ROWS * PS8];   // [row][key] probabilities

uvec4 pack8(vec4 lo, vec4 hi) {
  return uvec4(packHalf2x16(lo.xy), packHalf2x16(lo.zw), packHalf2x16(hi.xy), packHalf2x16(hi.zw));
}
vec4 unpack_lo(uvec4 u) { return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y)); }
vec4 unpack_hi(uvec4 u) { return vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w)); }
float half_at(uvec4 u, uint i) { return unpackHalf2x16(u[i / 2])[i % 2]; }  // half i (< 8) of 8

// Fragment offsets (in array elements: uvec4 for F16 tiles, float for S) and layouts, shared by the tensor-core
// calls and their emulation, so the emulated kernel checks these very arguments.
uint q_frag(uint w, uint d) { return (w * 16) * RS8 + d * 2; }     // A(r, k) = Q[row w*16 + r][dim d*16 + k]
uint kt_frag(uint kb, uint d) { return (kb * 16) * RS8 + d * 2; }  // B(k, n) = K[key kb*16 + n][dim d*16 + k]
uint s_frag(uint w, uint col) { return (w * 16) * SS + col; }      // C(r, n) -> s_sh[row w*16 + r][col + n]
uint p_frag(uint w, uint kk) { return (w * 16) * PS8 + kk * 2; }   // A(r, k) = P[row w*16 + r][key kk*16 + k]
uint v_frag(uint kk, uint cb) { return (kk * 16) * RS8 + cb * 2; } // B(k, n) = V[key kk*16 + k][dim cb*16 + n]
const bool KT_COL_MAJOR = true;  // K^T: column n of B is row n of the K tile; all others row-major

#if defined(EMULATE_COOPMAT)
shared float xch[THREADS];
uint warp_id() { return gl_LocalInvocationID.x / 32; }
uint lane_id() { return gl_LocalInvocationID.x % 32; }
void warp_sync() { memoryBarrierShared(); barrier(); }
float from_lane(float x, uint src) {  // x of lane src of this warp
  xch[gl_LocalInvocationID.x] = x;
  warp_sync();
  const float y = xch[warp_id() * 32 + src];
  warp_sync();
  return y;
}
float pair_other(float x) { return from_lane(x, lane_id() ^ 1u); }
// Element (r, c) of a 16 x 16 F16 matrix loaded as coopMatLoadNV(m, arr, off, stride, col_major) would: the
// offset and stride count uvec4 (8 halves).
uint half_index(uint off, uint stride, bool col_major, uint r, uint c) {
  return off * 8 + (col_major ? c * stride * 8 + r : r * stride * 8 + c);
}
float q_elem(uint off, uint r, uint c) {
  const uint h = half_index(off, RS8, false, r, c);
  return half_at(q_sh[h / 8], h % 8);
}
float kt_elem(uint off, uint r, uint c) {
  const uint h = half_index(off, RS8, KT_COL_MAJOR, r, c);
  return half_at(k_sh[h / 8], h % 8);
}
float p_elem(uint off, uint r, uint c) {
  const uint h = half_index(off, PS8, false, r, c);
  return half_at(p_sh[h / 8], h % 8);
}
float v_elem(uint off, uint r, uint c) {
  const uint h = half_index(off, RS8, false, r, c);
  return half_at(v_sh[h / 8], h % 8);
}
#else
#define FRAG16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
uint warp_id() { return gl_SubgroupID; }
uint lane_id() { return gl_SubgroupInvocationID; }
void warp_sync() { subgroupMemoryBarrierShared(); subgroupBarrier(); }
float from_lane(float x, uint src) { return subgroupShuffle(x, src); }
float pair_other(float x) { return subgroupShuffleXor(x, 1u); }
#endif

// S[w*16 + r][j] = sum_d Q[w*16 + r][d] K[j][d] for the warp's 16 rows and the tile's BK keys.
void scores(uint w) {
  [[unroll]] for (uint kb = 0; kb < BK / 16; ++kb) {
#if defined(EMULATE_COOPMAT)
    for (uint e = lane_id(); e < 256; e += 32) {
      const uint r = e / 16, n = e % 16;
      float acc = 0.0;
      for (uint d = 0; d < NB; ++d)
        for (uint k = 0; k < 16; ++k) acc += q_elem(q_frag(w, d), r, k) * kt_elem(kt_frag(kb, d), k, n);
      s_sh[s_frag(w, kb * 16) + r * SS + n] = acc;
    }
#else
    FRAG32 acc = FRAG32(0.0);
    [[unroll]] for (uint d = 0; d < NB; ++d) {
      FRAG16 a;
      coopMatLoadNV(a, q_sh, q_frag(w, d), RS8, false);
      FRAG16 b;
      coopMatLoadNV(b, k_sh, kt_frag(kb, d), RS8, KT_COL_MAJOR);
      acc = coopMatMulAddNV(a, b, acc);
    }
    coopMatStoreNV(acc, s_sh, s_frag(w, kb * 16), SS, false);
#endif
  }
}

// Slot `slot` (columns slot*16 .. +15 of the warp's rows of s_sh) = P V for output columns cb*16 .. +15.
void pv_block(uint w, uint cb, uint slot) {
#if defined(EMULATE_COOPMAT)
  for (uint e = lane_id(); e < 256; e += 32) {
    const uint r = e / 16, n = e % 16;
    float acc = 0.0;
    for (uint kk = 0; kk < BK / 16; ++kk)
      for (uint k = 0; k < 16; ++k) acc += p_elem(p_frag(w, kk), r, k) * v_elem(v_frag(kk, cb), k, n);
    s_sh[s_frag(w, slot * 16) + r * SS + n] = acc;
  }
#else
  FRAG32 acc = FRAG32(0.0);
  [[unroll]] for (uint kk = 0; kk < BK / 16; ++kk) {
    FRAG16 a;
    coopMatLoadNV(a, p_sh, p_frag(w, kk), PS8, false);
    FRAG16 b;
    coopMatLoadNV(b, v_sh, v_frag(kk, cb), RS8, false);
    acc = coopMatMulAddNV(a, b, acc);
  }
  coopMatStoreNV(acc, s_sh, s_frag(w, slot * 16), SS, false);
#endif
}

// This thread's 8-half pieces of the K and V tile at keys tile0 .. tile0 + BK - 1 (zeros past kv_end):
// piece i = tid + THREADS * c is key i / HD8, halves (i % HD8) * 8 .. + 7.
void load_kv(uint tile0, uint kv_end, uint kv_base, out uvec4 kr[KV_CHUNKS], out uvec4 vr[KV_CHUNKS]) {
  [[unroll]] for (uint c = 0; c < KV_CHUNKS; ++c) {
    const uint i = gl_LocalInvocationID.x + THREADS * c, key = tile0 + i / HD8;
    const uint at = kv_base + key * HD4 + (i % HD8) * 2;
    const bool live = i < BK * HD8 && key < kv_end;
    kr[c] = live ? uvec4(k4[at], k4[at + 1]) : uvec4(0);
    vr[c] = live ? uvec4(v4[at], v4[at + 1]) : uvec4(0);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint w = warp_id(), lane = lane_id();
  const uint group = p.n_heads / p.n_kv;
  const uint h0 = gl_WorkGroupID.y * (ROWS / BT);
  const uint kv_base = (h0 / group) * p.n_ctx * HD4;  // uvec2 (4-half) index of key 0 of this kv head
  const uint q0 = gl_WorkGroupID.x * BT;
  const uint n_past = uint(max(step[0], 0));
  const uint kv_end = min(n_past + min(q0 + BT, p.n_tokens), p.n_ctx);  // keys any row here sees

  // Row r of the workgroup: head h0 + r / BT, token q0 + r % BT (clamped to the last token).
  for (uint i = tid; i < ROWS * HD8; i += THREADS) {
    const uint r = i / HD8, c = i % HD8;
    const uint t = min(q0 + r % BT, p.n_tokens - 1), h = h0 + r / BT;
    const uint at = (t * p.n_heads + h) * HD4 + 2 * c;
    q_sh[r * RS8 + c] = pack8(q4[at] * p.scale, q4[at + 1] * p.scale);
  }
  // This warp's 16 rows: head hw, tokens tw0 .. tw0 + 15.
  const uint hw = h0 + (w * 16) / BT, tw0 = q0 + (w * 16) % BT;
  const bool warp_live = tw0 < p.n_tokens;
  const uint warp_last_key = n_past + min(tw0 + 15, p.n_tokens - 1);
  // Softmax role: row srow, keys shalf * 16 .. + 15 of each tile.
  const uint srow = lane / 2, shalf = lane % 2;
  const uint row_last_key = n_past + min(tw0 + srow, p.n_tokens - 1);
  float m_run = MASKED, l_run = 0.0;
  // Output role: rows lane / 16 + 2 i (i < 8), column lane % 16 of every 16-column block cb: acc[cb * 8 + i].
  float acc[NB * 8];
  [[unroll]] for (uint i = 0; i < NB * 8; ++i) acc[i] = 0.0;

  uvec4 kr[KV_CHUNKS], vr[KV_CHUNKS];
  load_kv(0, kv_end, kv_base, kr, vr);
  for (uint tile0 = 0; tile0 < kv_end; tile0 += BK) {
    barrier();  // the previous tile's readers are done (and Q is in place)
    [[unroll]] for (uint c = 0; c < KV_CHUNKS; ++c) {
      const uint i = tid + THREADS * c, at = (i / HD8) * RS8 + i % HD8;
      if (i < BK * HD8) {
        k_sh[at] = kr[c];
        v_sh[at] = vr[c];
      }
    }
    barrier();
    if (tile0 + BK < kv_end) load_kv(tile0 + BK, kv_end, kv_base, kr, vr);  // in flight during this tile
    // A warp skips a tile none of its rows sees. The emulation must keep every warp at every barrier, so it
    // masks the whole tile instead: the same result exactly when the skip is right.
    const bool skipped = !warp_live || tile0 > warp_last_key;
#if !defined(EMULATE_COOPMAT)
    if (skipped) continue;
#endif
    scores(w);
    warp_sync();

    // Online softmax of row srow over this lane's 16 keys; the lane pair shares max and sum.
    const uint s_at = (w * 16 + srow) * SS + shalf * 16;
    float sv[16];
    float mx = MASKED;
    [[unroll]] for (uint j = 0; j < 16; ++j) {
      const uint key = tile0 + shalf * 16 + j;
      sv[j] = (!skipped && key < kv_end && key <= row_last_key) ? s_sh[s_at + j] : MASKED;
      mx = max(mx, sv[j]);
    }
    mx = max(mx, pair_other(mx));
    const float m_new = max(m_run, mx);
    float sum = 0.0;
    [[unroll]] for (uint j8 = 0; j8 < 2; ++j8) {
      vec4 lo, hi;
      [[unroll]] for (uint c = 0; c < 4; ++c) {
        lo[c] = sv[j8 * 8 + c] > MASKED ? exp(sv[j8 * 8 + c] - m_new) : 0.0;
        hi[c] = sv[j8 * 8 + 4 + c] > MASKED ? exp(sv[j8 * 8 + 4 + c] - m_new) : 0.0;
      }
      const uvec4 eh = pack8(lo, hi);
      p_sh[(w * 16 + srow) * PS8 + shalf * 2 + j8] = eh;
      sum += dot(unpack_lo(eh) + unpack_hi(eh), vec4(1.0));  // the sum of what P V multiplies
    }
    sum += pair_other(sum);
    const float alpha = exp(m_run - m_new);
    l_run = l_run * alpha + sum;
    m_run = m_new;
    warp_sync();  // P written; S read (its slots are free for PV)

    float alpha_row[8];
    [[unroll]] for (uint i = 0; i < 8; ++i) alpha_row[i] = from_lane(alpha, 2 * (lane / 16 + 2 * i));
    [[unroll]] for (uint cb = 0; cb < NB; ++cb) {
      // Two slots in turn: slot cb % 2 was last read in block cb - 2, before block cb - 1's warp_sync.
      pv_block(w, cb, cb % 2);
      warp_sync();
      [[unroll]] for (uint i = 0; i < 8; ++i) {
        const uint r = w * 16 + lane / 16 + 2 * i;
        acc[cb * 8 + i] = acc[cb * 8 + i] * alpha_row[i] + s_sh[r * SS + (cb % 2) * 16 + lane % 16];
      }
    }
  }

  [[unroll]] for (uint i = 0; i < 8; ++i) {
    const float l = from_lane(l_run, 2 * (lane / 16 + 2 * i));
    const uint t = tw0 + lane / 16 + 2 * i;
    if (t >= p.n_tokens) continue;
    const uint base = (t * p.n_heads + hw) * HD + lane % 16;
    const float inv_l = 1.0 / l;
    [[unroll]] for (uint cb = 0; cb < NB; ++cb) o[base + cb * 16] = OUT(acc[cb * 8 + i] * inv_l);
  }
}
