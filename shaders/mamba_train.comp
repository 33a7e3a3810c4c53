#version 450
// Mamba mixer core for training: whole sequences from a zero state (ops/backward/mamba.h has the maths).
//   MODE_FORWARD      invocation (channel c, sequence): the sequential scan writing y, and the state before every
//                     chunk_len-th token into `ckpt` (the checkpoints the backward restarts from).
//   MODE_BACKWARD     workgroup = the channels of WG / d_state heads of one sequence, walking the chunks from the
//                     last: (1) every channel rescans its chunk from the checkpoint, keeping pre-activations,
//                     steps and states in scratch; (2) walks the chunk back in time carrying dh in registers,
//                     writing dz, ddt and the conv's dx per channel, summing the parameter gradients in registers;
//                     (3) the workgroup reduces dC and the per-head share of dB over each head's channels.
//   MODE_REDUCE_ROWS  invocation per (x or B row, token): sums the `repeat` heads reading the row.
// No atomics: every output element has one writer; parameters leave per-sequence partials (summed by sum_rows).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D_STATE = 16;
layout(constant_id = 2) const uint D_CONV = 4;
layout(push_constant) uniform Push { MambaTrainPush p; };
#include "mamba.glsl"

#if defined(MODE_REDUCE_ROWS)
layout(set = 0, binding = 0) readonly buffer Work { float work[]; };   // backward scratch (dB per head, dx per channel)
layout(set = 0, binding = 1) buffer DZxbc { float d_zxbc[]; };       // [rows, n_tokens, n_seqs]

void main() {
  const uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint width = 2u * p.d_xb;
  if (idx >= width * p.n_tokens * p.n_seqs) return;
  const uint i = idx % width, r = idx / width;  // r: token row over all sequences
  const uint part = i < p.d_xb ? p.off_dx : p.off_db, j = i % p.d_xb;  // x rows, then B rows
  const uint first = (j / D_STATE) * p.repeat * D_STATE + j % D_STATE;  // head g*repeat, same offset in the head
  float sum = 0.0;
  for (uint h = 0; h < p.repeat; ++h) sum += work[part + r * p.d_inner + first + h * D_STATE];
  const uint at = r * rows() + p.d_inner + i;
  d_zxbc[at] = (p.flags & MAMBA_TRAIN_ACCUMULATE) != 0 ? d_zxbc[at] + sum : sum;
}

#else
layout(set = 0, binding = 0) readonly buffer Zxbc { float zxbc[]; };     // [rows, n_tokens, n_seqs]
layout(set = 0, binding = 1) readonly buffer Dt { float dt[]; };         // [d_inner, n_tokens, n_seqs]
layout(set = 0, binding = 2) readonly buffer ConvW { float conv_w[]; };  // [d_conv, d_inner]
layout(set = 0, binding = 3) readonly buffer ConvB { float conv_b[]; };  // [d_inner]
layout(set = 0, binding = 4) readonly buffer DtBias { float dt_bias[]; };
layout(set = 0, binding = 5) readonly buffer ALog { float a_log[]; };    // [d_state, d_inner]
layout(set = 0, binding = 6) readonly buffer Skip { float skip_d[]; };   // [d_inner]
#if defined(MODE_FORWARD)
layout(set = 0, binding = 7) writeonly buffer Ckpt { float ckpt[]; };    // [d_inner, d_state, n_chunks, n_seqs]
layout(set = 0, binding = 8) writeonly buffer Y { float y[]; };          // [d_inner, n_tokens, n_seqs]
#else
layout(set = 0, binding = 7) readonly buffer Ckpt { float ckpt[]; };
layout(set = 0, binding = 8) readonly buffer DY { float dy[]; };         // [d_inner, n_tokens, n_seqs]
layout(set = 0, binding = 9) buffer DZxbc { float d_zxbc[]; };
layout(set = 0, binding = 10) buffer DDt { float d_dt[]; };
layout(set = 0, binding = 11) coherent buffer Work { float work[]; };    // scratch (ops/backward/mamba.cpp)
#endif

// The channel's constants, its conv window (inputs of tokens t-D_CONV+1 .. t) and its state.
float A[D_STATE], h[D_STATE], w[D_CONV], win[D_CONV];
float conv_bias, delta_bias, skip;

void load_channel(uint c) {
  for (uint n = 0; n < D_STATE; ++n) A[n] = -exp(a_log[c * D_STATE + n]);
  for (uint k = 0; k < D_CONV; ++k) w[k] = conv_w[c * D_CONV + k];
  conv_bias = (p.flags & MAMBA_TRAIN_CONV_BIAS) != 0 ? conv_b[c] : 0.0;
  delta_bias = (p.flags & MAMBA_TRAIN_DT_BIAS) != 0 ? dt_bias[c] : 0.0;
  skip = skip_d[c];
}

uint token(uint seq, uint t) { return seq * p.n_tokens + t; }
uint ckpt_at(uint seq, uint j, uint n, uint c) { return ((seq * p.n_chunks + j) * D_STATE + n) * p.d_inner + c; }
// channel c's conv input at token s of the sequence (zero before the start)
float x_in(uint seq, int s, uint c) { return s >= 0 ? zxbc[token(seq, uint(s)) * rows() + x_row(c)] : 0.0; }

// Token t: slides the window, returns the conv output before silu and the step, advances h.
void step_token(uint seq, uint t, uint c, out float pre, out float delta) {
  const uint col = token(seq, t) * rows(), br = b_row(c);
  for (uint k = 0; k + 1 < D_CONV; ++k) win[k] = win[k + 1];
  win[D_CONV - 1] = zxbc[col + x_row(c)];
  pre = conv_bias;
  for (uint k = 0; k < D_CONV; ++k) pre += w[k] * win[k];
  delta = softplus(dt[token(seq, t) * p.d_inner + c] + delta_bias);
  const float du = delta * silu(pre);
  for (uint n = 0; n < D_STATE; ++n) h[n] = exp(delta * A[n]) * h[n] + du * zxbc[col + br + n];
}

#if defined(MODE_FORWARD)

void main() {
  const uint c = gl_GlobalInvocationID.x, seq = gl_WorkGroupID.y;
  if (c >= p.d_inner) return;
  load_channel(c);
  for (uint n = 0; n < D_STATE; ++n) h[n] = 0.0;
  for (uint k = 0; k < D_CONV; ++k) win[k] = 0.0;
  const uint cr = c_row(c);
  for (uint t = 0; t < p.n_tokens; ++t) {
    if (t % p.chunk_len == 0)
      for (uint n = 0; n < D_STATE; ++n) ckpt[ckpt_at(seq, t / p.chunk_len, n, c)] = h[n];
    float pre, delta;
    step_token(seq, t, c, pre, delta);
    const uint col = token(seq, t) * rows();
    float yv = skip * silu(pre);
    for (uint n = 0; n < D_STATE; ++n) yv += zxbc[col + cr + n] * h[n];
    y[token(seq, t) * p.d_inner + c] = yv * silu(zxbc[col + c]);
  }
}

#else  // MODE_BACKWARD

float sigmoid(float v) { return 1.0 / (1.0 + exp(-v)); }
float silu_grad(float v) { const float s = sigmoid(v); return s * (1.0 + v * (1.0 - s)); }
float softplus_grad(float v) { return v > 20.0 ? 1.0 : (v < -15.0 ? exp(v) : sigmoid(v)); }

// Scratch: the chunk's states h_t and their gradients (tl = t - t0), then per-token channel values:
// 0 pre, 1 delta, 2 dypre (the gradient of y before the gate), 3 delta * u.
uint hs_at(uint seq, uint tl, uint n, uint c) { return ((seq * p.chunk_len + tl) * D_STATE + n) * p.d_inner + c; }
uint val_at(uint seq, uint tl, uint which, uint c) {
  return p.off_vals + ((seq * p.chunk_len + tl) * 4u + which) * p.d_inner + c;
}
void write_grad(inout float dst, float v) { dst = (p.flags & MAMBA_TRAIN_ACCUMULATE) != 0 ? dst + v : v; }

float dh[D_STATE], dA[D_STATE], dw[D_CONV], dpre_win[D_CONV];  // dpre_win[i]: dpre of token t + i

void main() {
  const uint tid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x, seq = gl_WorkGroupID.y;
  const uint c = gl_WorkGroupID.x * WG + tid;
  const bool live = c < p.d_inner;
  load_channel(live ? c : 0);
  const uint xr = x_row(c), br = b_row(c), cr = c_row(c);
  for (uint n = 0; n < D_STATE; ++n) dh[n] = dA[n] = 0.0;
  for (uint k = 0; k < D_CONV; ++k) dw[k] = dpre_win[k] = 0.0;
  float d_conv_bias = 0.0, d_delta_bias = 0.0, d_skip = 0.0, delta_next = 0.0;

  for (int j = int(p.n_chunks) - 1; j >= 0; --j) {
    const uint t0 = uint(j) * p.chunk_len, t1 = min(p.n_tokens, t0 + p.chunk_len);
    if (live) {
      // (1) rescan the chunk from its checkpoint
      for (uint n = 0; n < D_STATE; ++n) h[n] = ckpt[ckpt_at(seq, uint(j), n, c)];
      for (uint k = 0; k < D_CONV; ++k) win[k] = x_in(seq, int(t0) - int(D_CONV) + int(k), c);
      for (uint t = t0; t < t1; ++t) {
        float pre, delta;
        step_token(seq, t, c, pre, delta);
        work[val_at(seq, t - t0, 0, c)] = pre;
        work[val_at(seq, t - t0, 1, c)] = delta;
        for (uint n = 0; n < D_STATE; ++n) work[hs_at(seq, t - t0, n, c)] = h[n];
      }
      // (2) back in time
      for (uint t = t1; t-- > t0;) {
        const uint tl = t - t0, col = token(seq, t) * rows(), row = token(seq, t) * p.d_inner + c;
        const float pre = work[val_at(seq, tl, 0, c)], delta = work[val_at(seq, tl, 1, c)], u = silu(pre);
        const float z = zxbc[col + c];
        float ypre = skip * u;
        for (uint n = 0; n < D_STATE; ++n) ypre += zxbc[col + cr + n] * work[hs_at(seq, tl, n, c)];
        write_grad(d_zxbc[col + c], dy[row] * ypre * silu_grad(z));
        const float dypre = dy[row] * silu(z);
        float du = dypre * skip, ddelta = 0.0;
        for (uint n = 0; n < D_STATE; ++n) {
          const float h_prev = tl > 0 ? work[hs_at(seq, tl - 1, n, c)] : ckpt[ckpt_at(seq, uint(j), n, c)];
          const float a = exp(delta * A[n]), b = zxbc[col + br + n];
          dh[n] = exp(delta_next * A[n]) * dh[n] + dypre * zxbc[col + cr + n];
          du += dh[n] * delta * b;
          ddelta += dh[n] * (A[n] * a * h_prev + b * u);
          dA[n] += dh[n] * delta * a * h_prev;
          work[p.off_dh + hs_at(seq, tl, n, c)] = dh[n];
        }
        d_skip += dypre * u;
        const float ddt = ddelta * softplus_grad(dt[row] + delta_bias);
        write_grad(d_dt[row], ddt);
        d_delta_bias += ddt;
        // the conv: pre_t = b + sum_k w[k] x_{t-D_CONV+1+k}
        const float dpre = du * silu_grad(pre);
        for (uint k = D_CONV - 1; k > 0; --k) dpre_win[k] = dpre_win[k - 1];
        dpre_win[0] = dpre;
        float dx = 0.0;
        for (uint k = 0; k < D_CONV; ++k) {
          dx += w[D_CONV - 1 - k] * dpre_win[k];
          dw[k] += dpre * x_in(seq, int(t) - int(D_CONV) + 1 + int(k), c);
        }
        d_conv_bias += dpre;
        work[p.off_dx + row] = dx;
        work[val_at(seq, tl, 2, c)] = dypre;
        work[val_at(seq, tl, 3, c)] = delta * u;
        delta_next = delta;
      }
    }
    memoryBarrierBuffer();
    barrier();
    // (3) dC[k, n] = sum over head k's channels of dypre h_t[n]; dB's share of head k = sum dh_t[n] delta u
    const uint heads_here = WG / D_STATE, n_heads = p.d_inner / D_STATE;
    for (uint item = tid; item < p.chunk_len * WG; item += WG) {
      const uint tl = item / WG, hl = (item % WG) / D_STATE, n = item % D_STATE;
      const uint k = gl_WorkGroupID.x * heads_here + hl, t = t0 + tl;
      if (t >= t1 || k >= n_heads) continue;
      float dc = 0.0, db = 0.0;
      for (uint i = 0; i < D_STATE; ++i) {
        const uint ch = k * D_STATE + i;
        dc += work[val_at(seq, tl, 2, ch)] * work[hs_at(seq, tl, n, ch)];
        db += work[p.off_dh + hs_at(seq, tl, n, ch)] * work[val_at(seq, tl, 3, ch)];
      }
      write_grad(d_zxbc[token(seq, t) * rows() + p.d_inner + 2u * p.d_xb + k * D_STATE + n], dc);
      work[p.off_db + token(seq, t) * p.d_inner + k * D_STATE + n] = db;
    }
    memoryBarrierBuffer();
    barrier();  // the next chunk reuses the scratch
  }

  if (!live) return;
  // parameter partials of this sequence, [n, n_seqs] each
  for (uint k = 0; k < D_CONV; ++k) work[p.off_conv_w + (seq * p.d_inner + c) * D_CONV + k] = dw[k];
  for (uint n = 0; n < D_STATE; ++n) work[p.off_a_log + (seq * p.d_inner + c) * D_STATE + n] = dA[n] * A[n];
  work[p.off_conv_b + seq * p.d_inner + c] = d_conv_bias;
  work[p.off_dt_bias + seq * p.d_inner + c] = d_delta_bias;
  work[p.off_d + seq * p.d_inner + c] = d_skip;
}

#endif
#endif
