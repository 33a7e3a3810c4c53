// Push-constant structs, one per shader family: included by the GLSL kernels and by the C++ ops
// (engine/ops/push.h), so both sides share one layout. Scalars only (4 bytes each): the std430
// layout GLSL gives push constants then matches C++ exactly; sizes are static_asserted in C++.
#ifndef DS_PUSH_CONSTANTS_H
#define DS_PUSH_CONSTANTS_H

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w      (x, y: rows x n; w: n)
struct RmsNormPush {
  uint n;
  uint rows;
  float eps;
  uint has_weight;
};

#ifdef __cplusplus
static_assert(sizeof(RmsNormPush) == 16);
#endif

// --- bandwidth probe (ops/bandwidth) ---
// Reads n_vec4 vec4s of src (grid-stride); copy mode also writes them to dst.
struct BandwidthPush {
  uint n_vec4;
  uint copy;
};
#ifdef __cplusplus
static_assert(sizeof(BandwidthPush) == 8);
#endif
// ---- matmul / embed (branch matmul) ----
// matvec.comp and matmul.comp: y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (+ y[n, m])
// (w: K x N in its weight type; x: K x M, y: N x M, F32). flags: MATMUL_BIAS | MATMUL_ACCUMULATE.
#define MATMUL_BIAS 1u
#define MATMUL_ACCUMULATE 2u
// Mat-vec only (decode fusions): NORM reads x as rmsnorm(x) * norm_w (eps below); GLU reads a
// column of 2K values [gate | up] as silu(gate) * up.
#define MATMUL_NORM 4u
#define MATMUL_GLU 8u
struct MatmulPush {
  uint K;
  uint N;
  uint M;
  uint flags;
  float eps;
};

// get_rows.comp: out[:, m] = dequant(table[:, ids[m]]) (table: K x V; ids: M; out: K x M);
// ids outside [0, V) give a zero column.
struct GetRowsPush {
  uint K;
  uint V;
  uint M;
  uint pad;
};

// matvec_rows.comp built with FUSED (ops/matvec_fused.h): MatmulPush's fields, then the head layout.
// ROPE: the output is one token's [q | k | v] (n_heads + 2 n_kv heads of head_dim); each subgroup computes
// whole RoPE pairs, rotates the q and k rows (angle positions[0] * inv_freq[i], neox or interleaved pairs),
// writes all rows to y and the k and v rows into the F16 caches at step[0] (positions >= n_ctx: not stored).
// COMBINE: x is the split-K partials of decode attention ([n_heads][n_chunks][head_dim + 4]) merged into the
// attention output while x is staged (the work of attention_combine.comp; kv_len = min(step[0] + 1, n_ctx)).
#define MATMUL_ROPE 16u
#define MATMUL_COMBINE 32u
struct MatvecFusedPush {
  uint K;
  uint N;
  uint M;
  uint flags;
  float eps;
  uint head_dim;
  uint n_heads;
  uint n_kv;
  uint n_ctx;
  uint neox;
  uint chunk_keys;  // COMBINE: keys per split-K chunk
  uint n_chunks;    // COMBINE: chunks per head in the partials
};

#ifdef __cplusplus
static_assert(sizeof(MatmulPush) == 20);
static_assert(sizeof(MatvecFusedPush) == 48);
static_assert(sizeof(GetRowsPush) == 16);
#endif
// ---- end matmul / embed ----
// ---- sampling (ops/sample, run/sampler) ----
// SampleStep is not a push constant: it heads the sampler's state buffer, which the host rewrites
// before every submit (a decode step is recorded once). After it come ceil(vocab/32) mask words:
// bit (i % 32) of word i / 32 set = id i is in the repetition-penalty window.
struct SampleStep {
  float u;                // uniform in [0, 1) for the inverse CDF
  float inv_temperature;  // 1 / temperature
  uint top_k;             // 0 = off
  float top_p;            // 1 = off
  float min_p;            // 0 = off
  float penalty;          // multiplies penalized logits <= 0
  float inv_penalty;      // 1 / penalty: multiplies penalized logits > 0
  uint use_penalty;       // 0: the mask is not read
};

struct SamplePush {
  uint vocab;
  uint n_partials;  // argmax: workgroups of the first pass
  uint per_group;   // argmax: ids per workgroup in the first pass
  uint chunk;       // full sampler: ids per invocation in the inverse-CDF pass
};

#ifdef __cplusplus
static_assert(sizeof(SampleStep) == 32);
static_assert(sizeof(SamplePush) == 16);
#endif
// ---- end sampling ----
// ---- attn helper: RoPE, KV-cache store, attention, SwiGLU/add (shaders/rope.comp, kv_store.comp,
// attention_*.comp, elementwise.comp) ----

// y[:, h, t] = x[:, h, t] with pairs rotated by positions[t] * inv_freq[i]   (x, y: [head_dim, n_heads, n_tokens])
struct RopePush {
  uint head_dim;
  uint n_heads;
  uint n_tokens;
  uint neox;  // 0: pairs (2i, 2i+1) (GGUF llama); 1: pairs (i, i + head_dim/2) (rotate-half)
};

// cache[:, n_past + t, h] = f16(src[:, h, t]); n_past = step[0] read at run time
struct KvStorePush {
  uint head_dim;
  uint n_kv;
  uint n_tokens;
  uint n_ctx;
};

// Causal GQA attention over the F16 cache (head_dim is a specialization constant of each kernel).
struct AttentionPush {
  uint n_heads;
  uint n_kv;
  uint n_ctx;
  uint n_tokens;
  float scale;
  uint chunk_keys;  // decode: keys per split-K chunk (a multiple of the workgroup size)
  uint n_chunks;    // decode: chunks covering n_ctx; 1 = write the output directly, no combine
  uint pad;
};

// out[i] = silu(a[i]) * b[i]  or  a[i] + b[i], for i < n
struct ElementwisePush {
  uint n;
};

#ifdef __cplusplus
static_assert(sizeof(RopePush) == 16);
static_assert(sizeof(KvStorePush) == 16);
static_assert(sizeof(AttentionPush) == 32);
static_assert(sizeof(ElementwisePush) == 4);
#endif
// ---- end attn helper ----

// rope_store.comp (decode fusion): q rotated in place; rotated k and plain v stored in the F16 caches
// at n_past + t (n_past = step[0]).
struct RopeStorePush {
  uint head_dim;
  uint n_heads;
  uint n_kv;
  uint n_tokens;
  uint n_ctx;
  uint neox;
};
#ifdef __cplusplus
static_assert(sizeof(RopeStorePush) == 24);
#endif

// decode_layer_small.comp: one decoder layer of a small model for one token, in one workgroup.
struct SmallLayerPush {
  uint d_model;
  uint n_heads;
  uint n_kv;
  uint head_dim;
  uint ffn;
  uint n_ctx;
  uint neox;
  float eps;
  float scale;
};
#ifdef __cplusplus
static_assert(sizeof(SmallLayerPush) == 36);
#endif
// ---- linmix helper: `linear` mixer (Hedgehog linear attention + sliding softmax window; shaders/linmix_*.comp,
// ops/linear_mixer) ----
#define LINMIX_WINDOW_FACTOR 1u  // a window-factor tensor (per query head logits) is bound
#define LINMIX_AFFINE 2u         // linear factor = 1 - window factor (else 1)
struct LinearMixerPush {
  uint head_dim;
  uint features;  // F: phi has 2F entries
  uint n_heads;
  uint n_kv;
  uint n_fm_q;    // query feature maps (n_heads or n_kv)
  uint n_state;   // key feature maps = linear-state heads (n_heads or n_kv)
  uint n_tokens;
  uint window;    // N: softmax window; 0 = pure linear
  float scale;    // window score scale
  uint flags;     // LINMIX_*
  uint pad0;
  uint pad1;
};
#ifdef __cplusplus
static_assert(sizeof(LinearMixerPush) == 48);
#endif
// ---- end linmix helper ----
// ---- mamba (branch mamba): Mamba mixer core (shaders/mamba_scan.comp; d_state, d_conv are spec constants) ----
// zxbc: [2*d_inner + 2*d_xb, n_tokens] in_proj output; y: [d_inner, n_tokens]. Prefill in chunks of chunk_len
// tokens (n_chunks of them); scratch holds per chunk the states [d_state, d_inner] then the delta sums [d_inner].
struct MambaPush {
  uint d_inner;
  uint d_xb;
  uint n_tokens;
  uint repeat;         // heads per x/B group: (d_inner / d_state) / (d_xb / d_state)
  uint chunk_len;      // tokens per chunk (the sequential kernel: n_tokens)
  uint n_chunks;
  uint has_conv_bias;  // 0: no conv bias
  uint has_dt_bias;    // 0: no dt bias in the scan
};
// mamba_attention.comp: implied attention maps for query rows row0 .. row0+n_rows-1 over all n_tokens keys.
struct MambaAttentionPush {
  uint d_inner;
  uint d_xb;
  uint n_tokens;
  uint repeat;
  uint row0;
  uint n_rows;
  uint has_dt_bias;
  uint pad;
};
#ifdef __cplusplus
static_assert(sizeof(MambaPush) == 32);
static_assert(sizeof(MambaAttentionPush) == 32);
#endif
// ---- end mamba ----
// ---- probes (engine/probe, shaders/probe_*.comp) ----
// Every probe kernel binds the frame-index buffer (uint {slot, seq, tag, 0}, host-written before each
// submit) and addresses framed words as offset + slot * frame_words (frame_words 0: a plain buffer),
// so a decode step recorded once writes a new ring frame every time it is replayed. Offsets in words.

// probe_attn_rows.comp: softmax rows of the captured heads (bits of head_mask0..3) over the cache.
struct ProbeAttnPush {
  uint head_dim;
  uint n_heads;
  uint n_kv;
  uint n_ctx;
  uint max_keys;      // keys stored per row (the row stride)
  uint query_stride;  // rows per captured head in the output
  uint chunk_keys;    // keys per workgroup
  uint n_chunks;      // chunks covering max(n_ctx, max_keys)
  float scale;
  uint out_offset;
  uint frame_words;
  uint pad;
  uint head_mask0;
  uint head_mask1;
  uint head_mask2;
  uint head_mask3;
};

// probe_act_stats.comp: per token, the L2 norm into word norm_slot of the block; with `full`, also
// the top-|x| channels and the histogram (bin = floor((x - hist_lo) * hist_scale), clamped).
struct ProbeStatsPush {
  uint d;
  uint norm_slot;
  uint full;
  float hist_lo;
  float hist_scale;
  uint out_offset;
  uint frame_words;
  uint block_words;
};

// probe_logits.comp: softmax normalizer and top-k of one logits row (lens) or of a teacher/student pair
// (divergence), per token; pass 1 per chunk of ids into partials, pass 2 per token into the frame.
struct ProbeLogitsPush {
  uint vocab;
  uint chunk;         // ids per pass-1 workgroup
  uint n_chunks;
  uint n_top;         // alternatives written (<= K)
  uint k_overlap;     // divergence: top-k overlap size (<= K)
  uint out_offset;
  uint frame_words;
  uint block_words;
};

// probe_compare.comp: cosine of rows (n_groups = 1) or mean Jensen-Shannon divergence over groups.
// Row (g, t) of an input starts at offset + g * group_stride + t * n; out of token t at out + t * out_stride.
struct ProbeComparePush {
  uint n;
  uint n_groups;
  uint group_stride;
  uint out_stride;
  uint a_offset;
  uint a_frame;
  uint b_offset;
  uint b_frame;
  uint out_offset;
  uint out_frame;
};

// probe_copy.comp: n words from src to dst. probe_header.comp: the frame header and token ids.
struct ProbeCopyPush {
  uint n;
  uint src_offset;
  uint src_frame;
  uint dst_offset;
  uint dst_frame;
  uint max_queries;  // header: token-id slots after the header
  uint n_ids;        // header: ids in the bound ids buffer
  uint pad;
};

// probe_history.comp: a pass's n_cols columns of `rows` words stored at columns n_past.. (step[0]) of a
// history of `capacity` columns (what a mixer layer's implied-attention rows read; columns past it dropped).
struct ProbeHistoryPush {
  uint rows;
  uint n_cols;
  uint capacity;
  uint pad;
};

// probe_linmix_rows.comp: implied attention of a `linear` mixer layer (captured heads of the mask), for the
// pass's first queries at positions n_past + t, over the post-RoPE key history [head_dim, n_kv, capacity].
struct ProbeLinmixRowsPush {
  uint n_heads;
  uint n_kv;
  uint n_fm_q;
  uint n_state;
  uint window;        // N (0: pure linear attention)
  float scale;        // window score scale
  uint flags;         // LINMIX_WINDOW_FACTOR | LINMIX_AFFINE
  uint capacity;      // columns of the key history
  uint max_keys;      // keys stored per row (the row stride)
  uint query_stride;  // rows per captured head in the output
  uint out_offset;
  uint frame_words;
  uint head_mask0;
  uint head_mask1;
  uint head_mask2;
  uint head_mask3;
  uint chunk_keys;    // keys per workgroup when the grid has several key chunks (z)
  uint pad0;
  uint pad1;
  uint pad2;
};

// probe_rows_final.comp: divides chunked implied-attention rows (query r = workgroup x, captured head slot y) by
// the sum of their chunks' partial sums, partials[(y * n_queries + r) * n_chunks + chunk].
struct ProbeRowsFinalPush {
  uint max_keys;
  uint query_stride;
  uint out_offset;
  uint frame_words;
  uint n_chunks;
  uint pad0;
  uint pad1;
  uint pad2;
};

// mamba_attention.comp with PROBE=1: the same maps for the pass's first queries (positions n_past + t), over the
// zxbc / dt history [.., capacity], heads of channels_per_head channels chosen by the mask, into ring rows.
struct ProbeMambaRowsPush {
  uint d_inner;
  uint d_xb;
  uint repeat;
  uint has_dt_bias;
  uint capacity;      // columns of the zxbc / dt history
  uint max_keys;
  uint query_stride;
  uint out_offset;
  uint frame_words;
  uint chunk_keys;    // keys per workgroup when the grid has several key chunks (z)
  uint has_sums;      // dt_sums holds each whole chunk's sum of delta (probe_mamba_dt_sums.comp)
  uint n_queries;     // probe_mamba_dt_sums: the pass's captured queries (the last one bounds the sums)
  uint head_mask0;
  uint head_mask1;
  uint head_mask2;
  uint head_mask3;
};

#ifdef __cplusplus
static_assert(sizeof(ProbeAttnPush) == 64);
static_assert(sizeof(ProbeHistoryPush) == 16);
static_assert(sizeof(ProbeLinmixRowsPush) == 80);
static_assert(sizeof(ProbeRowsFinalPush) == 32);
static_assert(sizeof(ProbeMambaRowsPush) == 64);
static_assert(sizeof(ProbeStatsPush) == 32);
static_assert(sizeof(ProbeLogitsPush) == 32);
static_assert(sizeof(ProbeComparePush) == 40);
static_assert(sizeof(ProbeCopyPush) == 32);
#endif
// ---- end probes ----
// ---- training (branch train): backward ops, losses, optimizer (shaders/*_backward*.comp, sum_rows.comp,
// matmul_grad_w.comp, attention_train*.comp, loss*.comp, sum_squares.comp, adamw.comp, cast_half.comp,
// scale.comp) ----
#define GRAD_ACCUMULATE 1u  // flags bit: add into the gradient output (+=) instead of overwriting it (=)
#define GRAD_HAS_WEIGHT 2u  // rms_norm_backward: the norm has a weight vector

// embed_backward.comp: dtable[:, ids[m]] += dout[:, m]  (dout: K x M, dtable: K x V; ids outside [0, V) skipped)
struct EmbedBackwardPush {
  uint K;
  uint V;
  uint M;
  uint pad;
};

// rms_norm_backward.comp, one workgroup per row r (x, dy, dx: rows x n):
//   rstd = 1 / sqrt(mean(x^2) + eps), g = dy * w, dx (=|+=) rstd * g - x * rstd^3 * mean(g * x); saves rstd[r].
// sum_rows.comp, one invocation per column i: out[i] (=|+=) sum_r a[r, i]  (SUM)
//   or sum_r a[r, i] * b[r, i] * s[r]  (WEIGHTED: RMSNorm dw = sum_r dy * x * rstd).
struct NormBackwardPush {
  uint n;
  uint rows;
  float eps;
  uint flags;
};

// attention_train.comp / attention_backward_{dq,dkv}.comp: causal GQA attention within each of n_seqs
// sequences of n_tokens (q, out: [head_dim, n_heads, n_tokens, n_seqs]; k, v: [head_dim, n_kv, ...];
// lse: [n_heads, n_tokens, n_seqs]); head_dim and the tile size are specialization constants.
struct AttentionTrainPush {
  uint n_heads;
  uint n_kv;
  uint n_tokens;
  float scale;
};

// loss.comp, one workgroup per token row of n values (rows tokens): cross-entropy (targets), KL with
// temperature (flags LOSS_REVERSE_KL: KL(student || teacher), else KL(teacher || student)), or MSE.
// per_token[r] = the row's loss; grad (=|+=) weight * d(mean loss)/d(row).
#define LOSS_REVERSE_KL 4u
struct LossPush {
  uint n;
  uint rows;
  float temperature;
  float weight;
  uint flags;
  uint pad;
};

// loss_reduce.comp, one workgroup: COUNT: stats[1] = #targets in [0, n); MEAN: stats[0] = sum(per_token) /
// (use_count ? stats[1] : rows), and stats[1] = rows when !use_count.
struct LossReducePush {
  uint rows;
  uint n;
  uint use_count;
  uint pad;
};

// sum_squares.comp: PARTIAL: partials[offset + g] = sum of x[i]^2 over workgroup g's grid-stride share;
// FINAL (one workgroup): out[0] = sum of partials[0 .. n).
struct SumSquaresPush {
  uint n;
  uint offset;
};

// AdamWStep is not a push constant: the optimizer's step buffer, written by the host before every submit.
struct AdamWStep {
  float lr;                // this step's learning rate (schedule computed on the host)
  float beta1;
  float beta2;
  float eps;
  float bias_correction1;  // 1 - beta1^t
  float bias_correction2;  // 1 - beta2^t
  float max_grad_norm;     // <= 0: no clipping
  float grad_scale;        // multiplies every gradient first (e.g. 1 / accumulation steps)
};

// adamw.comp: one invocation per element of one parameter tensor (F32 master, grad, m, v).
struct AdamWPush {
  uint n;
  float lr_scale;
  float weight_decay;
  uint clip;  // 1: read the global squared gradient norm and clip to max_grad_norm
};

// cast_half.comp: dst[i] = half(src[i]) (F16 or BF16, round to nearest even).
struct CastPush {
  uint n;
};

// scale.comp: out[i] = s * x[i]
struct ScalePush {
  uint n;
  float s;
};

#ifdef __cplusplus
static_assert(sizeof(EmbedBackwardPush) == 16);
static_assert(sizeof(NormBackwardPush) == 16);
static_assert(sizeof(AttentionTrainPush) == 16);
static_assert(sizeof(LossPush) == 24);
static_assert(sizeof(LossReducePush) == 16);
static_assert(sizeof(SumSquaresPush) == 8);
static_assert(sizeof(AdamWStep) == 32);
static_assert(sizeof(AdamWPush) == 16);
static_assert(sizeof(CastPush) == 4);
static_assert(sizeof(ScalePush) == 8);
#endif
// ---- end training ----

// ---- mixgrad (branch mixgrad): training forward/backward of the hybrid mixers (shaders/linmix_train*.comp,
// mamba_train.comp; ops/backward/linear_mixer, ops/backward/mamba) ----
// Linear mixer over whole sequences from position 0: q, out [head_dim, n_heads, n_tokens, n_seqs]; k, v [head_dim,
// n_kv, ...]; flags LINMIX_WINDOW_FACTOR / LINMIX_AFFINE as the inference kernels, LINMIX_TRAIN_ACCUMULATE: the
// dispatch adds into its outputs (GradMode). head_dim, 2F and the tile size are specialization constants.
#define LINMIX_TRAIN_ACCUMULATE 4u
struct LinearMixerTrainPush {
  uint head_dim;
  uint features;  // F: phi has 2F entries
  uint n_heads;
  uint n_kv;
  uint n_fm_q;
  uint n_state;
  uint n_tokens;  // per sequence
  uint n_seqs;
  uint window;    // N; 0 = pure linear attention
  float scale;
  uint flags;
  uint pad;
};
// Mamba core over whole sequences from a zero state: zxbc [2*d_inner + 2*d_xb, n_tokens, n_seqs]; dt, y, dy
// [d_inner, n_tokens, n_seqs]; checkpoints every chunk_len tokens. off_*: F32 offsets of the backward's scratch
// parts (chunk states at 0, their gradients, per-token channel values, per-head dB, per-channel dx, parameter
// partials [n, n_seqs] each). d_state, d_conv are specialization constants.
#define MAMBA_TRAIN_CONV_BIAS 1u
#define MAMBA_TRAIN_DT_BIAS 2u
#define MAMBA_TRAIN_ACCUMULATE 4u  // input gradients are added (GradMode::accumulate_input)
struct MambaTrainPush {
  uint d_inner;
  uint d_xb;
  uint n_tokens;
  uint repeat;
  uint chunk_len;
  uint n_chunks;
  uint n_seqs;
  uint flags;
  uint off_dh;
  uint off_vals;
  uint off_db;
  uint off_dx;
  uint off_conv_w;
  uint off_conv_b;
  uint off_dt_bias;
  uint off_a_log;
  uint off_d;
  uint pad0;
  uint pad1;
  uint pad2;
};
#ifdef __cplusplus
static_assert(sizeof(LinearMixerTrainPush) == 48);
static_assert(sizeof(MambaTrainPush) == 80);
#endif
// ---- end mixgrad ----

#endif
