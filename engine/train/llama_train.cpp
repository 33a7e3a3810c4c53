// The llama training graph (see llama_train.h). Forward per layer, with the tensors kept for the backward:
//   xn1 = rms_norm(x) ; q, k, v = W xn1 (+ b) ; rope(q), rope(k) ; att, lse = attention_train(q, k, v)
//   h = x + Wo att ; xn2 = rms_norm(h) ; gate, up = W xn2 ; act = silu(gate) up ; x' = h + Wd act
// Backward per layer (d_res holds dL/dx' on entry, dL/dx on exit; the adds need no kernel):
//   d_act = Wd^T d_res ; d_gate, d_up = swiglu' (over gate, up) ; d_xn = Wg^T d_gate + Wu^T d_up
//   d_res += rms_norm'(h; d_xn) ; d_att = Wo^T d_res ; d_q, d_k, d_v = attention' ; rope^T(d_q), rope^T(d_k)
//   d_xn = Wq^T d_q + Wk^T d_k + Wv^T d_v ; d_res += rms_norm'(x; d_xn)
// with every parameter gradient added (+=) into its buffer. A linear layer runs linear_mixer_train in place of
// attention_train; a Mamba layer replaces everything between attn_norm and the residual add:
//   zxbc = Win xn1 ; dt = Wdt (Wdt_in xn1) + b_dt ; y = mamba_train(zxbc, dt) ; h = x + Wout y
// Frozen tensors get no gradient (empty gradient tensors: the ops skip them); layers below the lowest trainable
// one have no backward at all.
#include "train/llama_train.h"

#include <cmath>

#include "distilscope/device.h"
#include "ops/backward/attention.h"
#include "model/hybrid_config.h"
#include "ops/backward/embed.h"
#include "ops/backward/linear_mixer.h"
#include "ops/backward/lora.h"
#include "ops/backward/mamba.h"
#include "ops/backward/matmul.h"
#include "ops/backward/norm.h"
#include "ops/backward/rope.h"
#include "ops/backward/swiglu.h"
#include "ops/elementwise.h"
#include "ops/embed.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "util/error.h"
#include "vk/recorder.h"

namespace ds::train {
namespace {

// F32 floats of one layer's kept activations, of the head's, and of the backward scratch, for S x T tokens.
int64_t layer_floats(const ModelConfig& c, int l, int64_t T, int64_t S) {
  const int64_t M = T * S, d = c.d_model, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim;
  int64_t n = M * (4 * d + 3 * f);
  switch (c.layer_kind(l)) {
    case LayerKind::Attention:
      return n + M * (2 * q + 2 * kv + c.n_heads);
    case LayerKind::Linear:
      return n + M * (2 * q + 2 * kv) +
             int64_t(ops::linear_mixer_train_saved_elems(linear_mixer_shape(c), int(T), int(S)));
    case LayerKind::Mamba: {
      const MambaDims md = mamba_dims(c);
      return n + M * (md.zxbc_rows() + c.hybrid.dt_rank + 2 * md.d_inner) +
             int64_t(ops::mamba_train_saved_elems(md, int(T), int(S)));
    }
  }
  return n;
}
int64_t head_floats(const ModelConfig& c, int64_t M) { return M * (2 * c.d_model + 2 * int64_t(c.vocab)); }
int64_t scratch_floats(const ModelConfig& c, int64_t T, int64_t S) {
  const int64_t M = T * S, d = c.d_model, q = c.q_dim(), kv = c.kv_dim();
  int64_t n = M * (2 * d + 1 + c.ffn_dim);
  const HybridConfig& h = c.hybrid;
  if (h.count(LayerKind::Attention) || h.count(LayerKind::Linear) || h.layers.empty()) n += M * (2 * q + 2 * kv);
  if (h.count(LayerKind::Linear))
    n += int64_t(ops::linear_mixer_backward_scratch_elems(linear_mixer_shape(c), int(T), int(S)));
  if (h.count(LayerKind::Mamba)) {
    const MambaDims md = mamba_dims(c);
    n += M * (md.zxbc_rows() + h.dt_rank + 2 * md.d_inner) + int64_t(ops::mamba_backward_scratch_elems(md, int(T), int(S)));
  }
  return n;
}

// Parameter gradients always add up (the step zeroes them once, micro-batches accumulate).
constexpr ops::GradMode kWrite{false, true}, kAdd{true, true};

}  // namespace

uint64_t llama_activation_bytes(const ModelConfig& c, int n_seqs, int seq_len, bool backward) {
  int64_t n = head_floats(c, int64_t(n_seqs) * seq_len) + (backward ? scratch_floats(c, seq_len, n_seqs) : 0);
  for (int l = 0; l < c.n_layers; ++l) n += layer_floats(c, l, seq_len, n_seqs);
  return uint64_t(n * 4);
}

uint64_t llama_largest_activation(const ModelConfig& c, int n_seqs, int seq_len) {
  const int64_t m = int64_t(n_seqs) * seq_len;
  int64_t rows = std::max<int64_t>({c.vocab, c.ffn_dim, c.q_dim(), c.d_model});
  int64_t n = m * rows;
  if (c.hybrid.count(LayerKind::Linear)) {
    const auto sh = linear_mixer_shape(c);
    n = std::max<int64_t>({n, int64_t(ops::linear_mixer_train_saved_elems(sh, seq_len, n_seqs)),
                           int64_t(ops::linear_mixer_backward_scratch_elems(sh, seq_len, n_seqs))});
  }
  if (c.hybrid.count(LayerKind::Mamba)) {
    const MambaDims md = mamba_dims(c);
    n = std::max<int64_t>({n, m * md.zxbc_rows(), int64_t(ops::mamba_train_saved_elems(md, seq_len, n_seqs)),
                           int64_t(ops::mamba_backward_scratch_elems(md, seq_len, n_seqs))});
  }
  return uint64_t(n * 4);
}

uint64_t lora_activation_bytes(const ModelConfig& c, const LoraSpec& lora, int n_seqs, int seq_len) {
  if (lora.rank <= 0) return 0;
  const int64_t M = int64_t(n_seqs) * seq_len;
  return uint64_t((int64_t(c.n_layers) * int64_t(lora.targets.size()) + 1) * lora.rank * M * 4);
}

LlamaActivations allocate_llama_activations(Device& dev, vk::Arena& arena, const ModelConfig& c, int n_seqs,
                                            int seq_len, bool backward, bool separate_logits_grad,
                                            const LlamaParams* adapters) {
  LlamaActivations a;
  a.n_seqs = n_seqs;
  a.seq_len = seq_len;
  const int64_t M = int64_t(n_seqs) * seq_len, d = c.d_model, hd = c.head_dim, T = seq_len, S = n_seqs;
  auto f32 = [&](std::array<int64_t, 4> ne, const std::string& name) {
    return make_tensor(arena, DType::F32, ne, name);
  };
  a.positions = make_tensor(arena, DType::I32, {M, 1, 1, 1}, "positions");
  std::vector<int32_t> pos(static_cast<size_t>(M));
  for (int64_t i = 0; i < M; ++i) pos[size_t(i)] = int32_t(i % T);
  upload(dev, a.positions, pos.data());
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LlamaActivations::Layer L;
    L.x = f32({d, M, 1, 1}, b + "x");
    L.xn1 = f32({d, M, 1, 1}, b + "attn_norm");
    L.h = f32({d, M, 1, 1}, b + "h");
    L.xn2 = f32({d, M, 1, 1}, b + "ffn_norm");
    const LayerKind kind = c.layer_kind(l);
    if (kind != LayerKind::Mamba) {
      L.q = f32({hd, c.n_heads, T, S}, b + "q");
      L.att = f32({hd, c.n_heads, T, S}, b + "att");
      L.k = f32({hd, c.n_kv_heads, T, S}, b + "k");
      L.v = f32({hd, c.n_kv_heads, T, S}, b + "v");
    }
    if (kind == LayerKind::Attention) L.lse = f32({c.n_heads, T, S, 1}, b + "lse");
    if (kind == LayerKind::Linear)
      L.saved = f32({int64_t(ops::linear_mixer_train_saved_elems(linear_mixer_shape(c), int(T), int(S))), 1, 1, 1},
                    b + "lin_saved");
    if (kind == LayerKind::Mamba) {
      const MambaDims md = mamba_dims(c);
      L.zxbc = f32({md.zxbc_rows(), T, S, 1}, b + "zxbc");
      L.dt_low = f32({c.hybrid.dt_rank, M, 1, 1}, b + "dt_low");
      L.dt = f32({md.d_inner, T, S, 1}, b + "dt");
      L.y = f32({md.d_inner, T, S, 1}, b + "ssm_y");
      L.saved = f32({int64_t(ops::mamba_train_saved_elems(md, int(T), int(S))), 1, 1, 1}, b + "ssm_saved");
    }
    L.gate = f32({c.ffn_dim, M, 1, 1}, b + "gate");
    L.up = f32({c.ffn_dim, M, 1, 1}, b + "up");
    L.act = f32({c.ffn_dim, M, 1, 1}, b + "act");
    if (adapters)
      for (int t = 0; t < kLoraTargets; ++t)
        if (adapters->layer(l).lora_a[size_t(t)])
          L.lora_u[size_t(t)] = f32({adapters->lora().rank, M, 1, 1}, b + lora_tensor_stem(LoraTarget(t)) + ".lora_u");
    a.layers.push_back(std::move(L));
  }
  a.x_out = f32({d, M, 1, 1}, "x_out");
  a.xf = f32({d, M, 1, 1}, "output_norm");
  a.logits = f32({c.vocab, M, 1, 1}, "logits");
  a.dlogits = separate_logits_grad ? f32({c.vocab, M, 1, 1}, "d_logits") : a.logits;
  if (backward) {
    a.d_res = f32({d, M, 1, 1}, "d_residual");
    a.d_xn = f32({d, M, 1, 1}, "d_xn");
    a.rstd = f32({M, 1, 1, 1}, "rstd");
    a.d_att = f32({hd, c.n_heads, T, S}, "d_att");
    a.d_q = f32({hd, c.n_heads, T, S}, "d_q");
    a.d_k = f32({hd, c.n_kv_heads, T, S}, "d_k");
    a.d_v = f32({hd, c.n_kv_heads, T, S}, "d_v");
    a.d_act = f32({c.ffn_dim, M, 1, 1}, "d_act");
    const HybridConfig& h = c.hybrid;
    if (h.count(LayerKind::Linear))
      a.lin_scratch = f32(
          {int64_t(ops::linear_mixer_backward_scratch_elems(linear_mixer_shape(c), int(T), int(S))), 1, 1, 1},
          "lin_scratch");
    if (h.count(LayerKind::Mamba)) {
      const MambaDims md = mamba_dims(c);
      a.d_zxbc = f32({md.zxbc_rows(), T, S, 1}, "d_zxbc");
      a.d_dt = f32({md.d_inner, T, S, 1}, "d_dt");
      a.d_dt_low = f32({h.dt_rank, M, 1, 1}, "d_dt_low");
      a.d_y = f32({md.d_inner, T, S, 1}, "d_ssm_y");
      a.mamba_scratch = f32({int64_t(ops::mamba_backward_scratch_elems(md, int(T), int(S))), 1, 1, 1}, "ssm_scratch");
    }
    if (adapters && adapters->has_adapters()) a.d_lora_u = f32({adapters->lora().rank, M, 1, 1}, "d_lora_u");
  }
  return a;
}

namespace {

const Tensor& value_of(const TrainParam* t) {
  static const Tensor none;
  return t ? t->master : none;
}
// The gradient of a trainable tensor, or empty (absent or frozen: the backward ops skip it).
const Tensor& grad_of(const TrainParam* t) {
  static const Tensor none;
  return t && t->trainable ? t->grad : none;
}

// One projection y = W x (+ bias / accumulate) of a layer, through its LoRA adapter when it has one.
struct Projection {
  const TrainParam *w, *bias;
  const TrainParam *a = nullptr, *b = nullptr;  // the adapter (frozen w), or none
  Tensor u, du;                                 // the adapter's saved s A x and its gradient scratch
  float s = 0;

  void forward(vk::Recorder& r, const Tensor& x, const Tensor& y, bool accumulate = false) const {
    const ops::MatmulOptions o{value_of(bias), accumulate};
    if (a) ops::lora_forward(r, w->forward(), a->master, b->master, s, x, u, y, o);
    else ops::matmul(r, w->forward(), x, y, o);
  }
  // dx (+)= W^T dy (+ the adapter's share); parameter gradients added.
  void backward(vk::Recorder& r, const Tensor& x, const Tensor& dy, const Tensor& dx, const ops::GradMode& mode) const {
    if (a) ops::lora_backward(r, w->forward(), a->master, b->master, s, x, u, dy, dx, a->grad, b->grad, du, mode);
    else ops::matmul_backward(r, w->forward(), x, dy, dx, grad_of(w), grad_of(bias), mode);
  }
};

// What one layer's nodes need, captured by value into the node closures.
struct LayerCtx {
  const LlamaParams* P;
  const LlamaActivations* A;
  const LlamaActivations::Layer* L;
  LlamaParams::Layer w;
  Tensor x_next;
  int64_t M;
  float eps;
  bool backward;  // false below the lowest trainable layer: nothing walks back there

  Projection proj(const TrainParam* weight, const TrainParam* bias, LoraTarget t) const {
    Projection p{weight, bias};
    const size_t i = size_t(t);
    if (w.lora_a[i]) {
      DS_CHECK(!weight->trainable, "[train] ", weight->name, " trains and has a LoRA adapter");
      p.a = w.lora_a[i];
      p.b = w.lora_b[i];
      p.u = L->lora_u[i];
      p.du = A->d_lora_u;
      p.s = P->lora().scale();
    }
    return p;
  }
};

Tensor flat(const Tensor& t) { return t.reshaped({t.ne[0] * t.ne[1], t.ne[2] * t.ne[3], 1, 1}); }
Tensor rows(const Tensor& t, int64_t M) { return t.reshaped({t.ne[0], M, 1, 1}); }  // [rows, T, S] as [rows, M]

RecordFn when(bool on, RecordFn f) { return on ? std::move(f) : RecordFn{}; }

// q, k, v projections, RoPE, the mixer (softmax attention or linear), the output projection + residual.
void add_qkv_mixer(TrainGraph& g, const std::string& b, const LayerCtx& x, bool linear) {
  const ModelConfig& c = x.P->config();
  const auto* L = x.L;
  const auto* A = x.A;
  const auto* P = x.P;
  const LlamaParams::Layer w = x.w;
  const int64_t M = x.M;
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  const auto mode = c.rope.style == RopeStyle::Neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  auto tokens = [M](const Tensor& t) { return t.reshaped({t.ne[0], t.ne[1], M, 1}); };  // [hd, heads, M]
  const Projection pq = x.proj(w.wq, w.bq, LoraTarget::Q), pk = x.proj(w.wk, w.bk, LoraTarget::K),
                   pv = x.proj(w.wv, w.bv, LoraTarget::V), po = x.proj(w.wo, nullptr, LoraTarget::O);
  g.add(
      b + "attn_qkv",
      [=](vk::Recorder& r) {
        pq.forward(r, L->xn1, flat(L->q));
        pk.forward(r, L->xn1, flat(L->k));
        pv.forward(r, L->xn1, flat(L->v));
      },
      when(x.backward, [=](vk::Recorder& r) {
        pq.backward(r, L->xn1, flat(A->d_q), A->d_xn, kWrite);
        pk.backward(r, L->xn1, flat(A->d_k), A->d_xn, kAdd);
        pv.backward(r, L->xn1, flat(A->d_v), A->d_xn, kAdd);
      }));
  // RoPE over [head_dim, heads, M] views: positions restart in every sequence.
  g.add(
      b + "rope",
      [=](vk::Recorder& r) {
        ops::rope(r, tokens(L->q), A->positions, P->rope_inv_freq(), mode, tokens(L->q));
        ops::rope(r, tokens(L->k), A->positions, P->rope_inv_freq(), mode, tokens(L->k));
      },
      when(x.backward, [=](vk::Recorder& r) {
        ops::rope_backward(r, tokens(A->d_q), A->positions, P->rope_inv_freq(), mode, tokens(A->d_q));
        ops::rope_backward(r, tokens(A->d_k), A->positions, P->rope_inv_freq(), mode, tokens(A->d_k));
      }));
  if (linear) {
    const ops::LinearMixerWeights lw{value_of(w.fm_q), value_of(w.fm_k), value_of(w.window_factor)};
    const ops::LinearMixerWeights dw{grad_of(w.fm_q), grad_of(w.fm_k), grad_of(w.window_factor)};
    const ops::LinearMixerOptions lo{0.0f, c.hybrid.linear.affine};
    const int window = c.hybrid.linear.window;
    g.add(
        b + "linear_mixer",
        [=](vk::Recorder& r) { ops::linear_mixer_train(r, L->q, L->k, L->v, lw, window, L->att, L->saved, lo); },
        when(x.backward, [=](vk::Recorder& r) {
          ops::linear_mixer_backward(r, L->q, L->k, L->v, lw, window, L->att, L->saved, A->d_att, A->d_q, A->d_k,
                                     A->d_v, dw, A->lin_scratch, lo, kWrite);
        }));
  } else {
    g.add(
        b + "attention", [=](vk::Recorder& r) { ops::attention_train(r, L->q, L->k, L->v, scale, L->att, L->lse); },
        when(x.backward, [=](vk::Recorder& r) {
          ops::attention_backward(r, L->q, L->k, L->v, L->att, L->lse, A->d_att, scale, A->d_q, A->d_k, A->d_v);
        }));
  }
  g.add(
      b + "attn_out",
      [=](vk::Recorder& r) {
        r.copy(L->x.buf, L->h.buf);
        po.forward(r, flat(L->att), L->h, true);
      },
      when(x.backward, [=](vk::Recorder& r) { po.backward(r, flat(L->att), A->d_res, flat(A->d_att), kWrite); }));
}

// in_proj, the dt pair, the Mamba core, out_proj + residual.
void add_mamba(TrainGraph& g, const std::string& b, const LayerCtx& x) {
  const ModelConfig& c = x.P->config();
  const auto* L = x.L;
  const auto* A = x.A;
  const LlamaParams::Layer w = x.w;
  const int64_t M = x.M;
  const MambaDims dims = mamba_dims(c);
  const ops::MambaWeights mw{value_of(w.conv_w), value_of(w.conv_b), value_of(w.ssm_dt_b), value_of(w.a_log),
                             value_of(w.ssm_d)};
  const ops::MambaWeights dw{grad_of(w.conv_w), grad_of(w.conv_b), grad_of(w.ssm_dt_b), grad_of(w.a_log),
                             grad_of(w.ssm_d)};
  g.add(
      b + "ssm_in", [=](vk::Recorder& r) { ops::matmul(r, w.ssm_in->forward(), L->xn1, rows(L->zxbc, M), {value_of(w.ssm_in_b)}); },
      when(x.backward, [=](vk::Recorder& r) {  // after ssm_dt's backward wrote d_xn
        ops::matmul_backward(r, w.ssm_in->forward(), L->xn1, rows(A->d_zxbc, M), A->d_xn, grad_of(w.ssm_in),
                             grad_of(w.ssm_in_b), kAdd);
      }));
  g.add(
      b + "ssm_dt",
      [=](vk::Recorder& r) {
        ops::matmul(r, w.ssm_dt_in->forward(), L->xn1, L->dt_low, {value_of(w.ssm_dt_in_b)});
        ops::matmul(r, w.ssm_dt->forward(), L->dt_low, rows(L->dt, M), {value_of(w.ssm_dt_b)});
      },
      when(x.backward, [=](vk::Recorder& r) {  // the dt bias: its matmul share here, the scan's share in ssm_scan
        ops::matmul_backward(r, w.ssm_dt->forward(), L->dt_low, rows(A->d_dt, M), A->d_dt_low, grad_of(w.ssm_dt),
                             grad_of(w.ssm_dt_b), kWrite);
        ops::matmul_backward(r, w.ssm_dt_in->forward(), L->xn1, A->d_dt_low, A->d_xn, grad_of(w.ssm_dt_in),
                             grad_of(w.ssm_dt_in_b), kWrite);
      }));
  g.add(
      b + "ssm_scan", [=](vk::Recorder& r) { ops::mamba_train(r, L->zxbc, L->dt, mw, L->y, L->saved, dims); },
      when(x.backward, [=](vk::Recorder& r) {
        ops::mamba_backward(r, L->zxbc, L->dt, mw, L->saved, A->d_y, A->d_zxbc, A->d_dt, dw, A->mamba_scratch, dims,
                            {}, kWrite);
      }));
  g.add(
      b + "ssm_out",
      [=](vk::Recorder& r) {
        r.copy(L->x.buf, L->h.buf);
        ops::matmul(r, w.ssm_out->forward(), rows(L->y, M), L->h, {value_of(w.ssm_out_b), true});
      },
      when(x.backward, [=](vk::Recorder& r) {
        ops::matmul_backward(r, w.ssm_out->forward(), rows(L->y, M), A->d_res, rows(A->d_y, M), grad_of(w.ssm_out),
                             grad_of(w.ssm_out_b), kWrite);
      }));
}

}  // namespace

TrainGraph build_llama_train_graph(const LlamaParams& p, const LlamaActivations& a, const BatchInputs& in,
                                   const Objective* objective, int mb, const TeacherSignals& teacher) {
  const ModelConfig& c = p.config();
  const int64_t M = int64_t(a.n_seqs) * a.seq_len;
  DS_CHECK(in.ids.n_elements() == M && in.targets.n_elements() == M, "[train] micro-batch inputs hold ",
           in.ids.n_elements(), " ids and ", in.targets.n_elements(), " targets for ", M, " tokens");
  // The nodes outlive this function: they capture values and pointers to p, a and objective only.
  const LlamaActivations* A = &a;
  const Objective* obj = objective;
  const BatchInputs io = in;
  const float eps = c.norm_eps;
  const bool train = objective != nullptr && bool(a.d_res);
  const int lowest = train ? p.lowest_trainable_layer() : c.n_layers;
  TrainGraph g;

  const TrainParam* emb = &p.tok_embd();
  const Tensor x0 = a.layers[0].x;
  g.add(
      "token_embd", [=](vk::Recorder& r) { ops::get_rows(r, emb->forward(), io.ids, x0); },
      when(train && emb->trainable,
           [=](vk::Recorder& r) { ops::get_rows_backward(r, A->d_res, io.ids, emb->grad, /*accumulate=*/true); }));

  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const LlamaParams::Layer w = p.layer(l);
    const LlamaActivations::Layer* L = &a.layers[size_t(l)];
    const LayerCtx x{&p, A, L, w, l + 1 < c.n_layers ? a.layers[size_t(l) + 1].x : a.x_out, M, eps,
                     train && l >= lowest};
    const Tensor x_next = x.x_next;

    g.add(
        b + "attn_norm", [=](vk::Recorder& r) { ops::rms_norm(r, L->x, w.attn_norm->master, L->xn1, eps); },
        when(x.backward, [=](vk::Recorder& r) {
          ops::rms_norm_backward(r, L->x, w.attn_norm->master, A->d_xn, A->d_res, grad_of(w.attn_norm), A->rstd, eps,
                                 kAdd);
        }));
    switch (c.layer_kind(l)) {
      case LayerKind::Attention: add_qkv_mixer(g, b, x, false); break;
      case LayerKind::Linear: add_qkv_mixer(g, b, x, true); break;
      case LayerKind::Mamba: add_mamba(g, b, x); break;
    }
    g.add(
        b + "ffn_norm", [=](vk::Recorder& r) { ops::rms_norm(r, L->h, w.ffn_norm->master, L->xn2, eps); },
        when(x.backward, [=](vk::Recorder& r) {
          ops::rms_norm_backward(r, L->h, w.ffn_norm->master, A->d_xn, A->d_res, grad_of(w.ffn_norm), A->rstd, eps,
                                 kAdd);
        }));
    const Projection pg = x.proj(w.w_gate, nullptr, LoraTarget::Gate), pu = x.proj(w.w_up, nullptr, LoraTarget::Up),
                     pd = x.proj(w.w_down, nullptr, LoraTarget::Down);
    g.add(
        b + "ffn_gate_up",
        [=](vk::Recorder& r) {
          pg.forward(r, L->xn2, L->gate);
          pu.forward(r, L->xn2, L->up);
        },
        when(x.backward, [=](vk::Recorder& r) {  // gate and up hold their gradients by now (swiglu_backward)
          pg.backward(r, L->xn2, L->gate, A->d_xn, kWrite);
          pu.backward(r, L->xn2, L->up, A->d_xn, kAdd);
        }));
    g.add(
        b + "swiglu", [=](vk::Recorder& r) { ops::swiglu(r, L->gate, L->up, L->act); },
        when(x.backward, [=](vk::Recorder& r) { ops::swiglu_backward(r, L->gate, L->up, A->d_act, L->gate, L->up); }));
    g.add(
        b + "ffn_down",
        [=](vk::Recorder& r) {
          r.copy(L->h.buf, x_next.buf);
          pd.forward(r, L->act, x_next, true);
        },
        when(x.backward, [=](vk::Recorder& r) { pd.backward(r, L->act, A->d_res, A->d_act, kWrite); }));
    if (train)  // values of every hidden term; gradients matter only where something below trains
      g.add(b + "hidden_loss", {}, [=](vk::Recorder& r) { obj->record_hidden(r, mb, l, x_next, A->d_res, teacher); });
  }

  const TrainParam* out_norm = &p.output_norm();
  const TrainParam* out = &p.output();
  g.add(
      "output_norm", [=](vk::Recorder& r) { ops::rms_norm(r, A->x_out, out_norm->master, A->xf, eps); },
      when(train, [=](vk::Recorder& r) {  // the first write of the residual gradient
        ops::rms_norm_backward(r, A->x_out, out_norm->master, A->d_xn, A->d_res, grad_of(out_norm), A->rstd, eps,
                               kWrite);
      }));
  g.add(
      "output", [=](vk::Recorder& r) { ops::matmul(r, out->forward(), A->xf, A->logits); },
      when(train, [=](vk::Recorder& r) {
        ops::matmul_backward(r, out->forward(), A->xf, A->dlogits, A->d_xn, grad_of(out), {}, kWrite);
      }));
  if (obj)
    g.add("loss", [=](vk::Recorder& r) { obj->record_logits(r, mb, A->logits, A->dlogits, io.targets, teacher); });
  return g;
}

}  // namespace ds::train
