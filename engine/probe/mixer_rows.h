// Implied attention of mixer layers (probes): the rows a `linear` layer's normalized kernel weights and a
// Mamba layer's unrolled scan give each query over earlier tokens, on the same axes as attention rows, and
// the per-layer history they read (the mixers' fixed-size states forget past keys, so probes keep them).
// Rows go into ring frames like attention_rows (row (i, t) at out + (i * query_stride + t) * max_keys).
#pragma once
#include <vector>

#include "ops/linear_mixer.h"
#include "ops/mamba.h"
#include "probe/span.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace probe {

// history[:, n_past + t] = src[:, t] for the pass's columns t (n_past = step[0] on the GPU); columns at or past
// history's capacity are dropped. src: F32, n_cols columns (a linear layer's k [head_dim, n_kv, n], zxbc
// [rows, n]); history: F32 of `capacity` such columns ([head_dim, n_kv, n_ctx], [rows, n_ctx]).
void store_history(vk::Recorder& rec, const Tensor& src, int64_t n_cols, const Tensor& step, const Tensor& history);

struct MixerRowsArgs {
  std::vector<int> heads;  // captured heads, ascending (at most 128 heads)
  int max_keys = 2048;     // keys stored per row (the row stride); later keys still count in the sum
  int n_queries = 1;       // the pass's first n_queries tokens are the queries
  int query_stride = 1;    // rows per captured head in the output (>= n_queries)
  int chunk_keys = 256;    // with partials: keys per workgroup (raised when partials are too small)
};

// `linear` layer: a_j = wf exp(scale q.k_j - m) inside the window (m its max), lf phi_q(q).phi_k(k_j) before it,
// rows a / sum a (ref::linear_mixer_attention). q: F32 [head_dim, n_heads, n] post-RoPE (this pass);
// k_history: F32 [head_dim, n_kv, capacity] post-RoPE keys of positions 0 .. n_past + n - 1 (store_history'd
// before); w, window, affine as the layer's mixer (scale 1 / sqrt(head_dim)). Chunks and `partials` as
// mamba_implied_rows below: without partials one dispatch, a workgroup per (head, query) over every key.
void linear_implied_rows(vk::Recorder& rec, const Tensor& q, const Tensor& k_history, const ops::LinearMixerWeights& w,
                         int window, bool affine, const Tensor& step, const vk::BufferSlice& index,
                         const MixerRowsArgs& args, const Span& out, const Tensor& partials = {});

// Mamba layer: map[h, i, j] = mean over the head's channels of |alpha[c, i, j]|, rows normalized
// (ops::mamba_implied_attention, ref::mamba_implied_attention_heads) with heads of channels_per_head channels.
// zxbc_history: F32 [2 d_inner + 2 d_xb, capacity], dt_history: F32 [d_inner, capacity] of positions
// 0 .. n_past + n_queries - 1; w.dt_bias (or empty) and w.a_log are read. Without `partials`, one dispatch with a
// workgroup per (query, head) walking every key; with F32 scratch `partials`, the keys are split into chunks of
// args.chunk_keys over more workgroups (as many chunks as partials holds: heads x n_queries x chunks floats) and a
// second dispatch normalizes the rows -- what long contexts need to keep the GPU busy.
// dt_sums (F32 [d_inner, chunks], optional with partials): scratch for a pre-pass summing each chunk's deltas, so a
// chunk far from the query does not re-read the dt history of every later token; the chunks are then at most
// dt_sums' column count.
void mamba_implied_rows(vk::Recorder& rec, const Tensor& zxbc_history, const Tensor& dt_history,
                        const ops::MambaWeights& w, const MambaDims& dims, int channels_per_head, const Tensor& step,
                        const vk::BufferSlice& index, const MixerRowsArgs& args, const Span& out,
                        const Tensor& partials = {}, const Tensor& dt_sums = {});

// Columns of the dt_sums scratch the probes allocate per Mamba layer (MixerHistory).
constexpr int k_max_key_chunks = 128;

// Channels per head of a Mamba layer's implied attention compared with n_heads attention heads: d_inner / n_heads;
// 0 when that does not divide or exceeds the kernel's 512.
int mamba_channels_per_head(const MambaDims& dims, int n_heads);

}  // namespace probe
}  // namespace ds
