// The llama training graph (see llama_train.h). Forward per layer, with the tensors kept for the backward:
//   xn1 = rms_norm(x) ; q, k, v = W xn1 (+ b) ; rope(q), rope(k) ; att, lse = attention_train(q, k, v)
//   h = x + Wo att ; xn2 = rms_norm(h) ; gate, up = W xn2 ; act = silu(gate) up ; x' = h + Wd act
// Backward per layer (d_res holds dL/dx' on entry, dL/dx on exit; the adds need no kernel):
//   d_act = Wd^T d_res ; d_gate, d_up = swiglu' (over gate, up) ; d_xn = Wg^T d_gate + Wu^T d_up
//   d_res += rms_norm'(h; d_xn) ; d_att = Wo^T d_res ; d_q, d_k, d_v = attention' ; rope^T(d_q), rope^T(d_k)
//   d_xn = Wq^T d_q + Wk^T d_k + Wv^T d_v ; d_res += rms_norm'(x; d_xn)
// with every parameter gradient added (+=) into its buffer.
#include "train/llama_train.h"

#include <cmath>

#include "distilscope/device.h"
#include "ops/backward/attention.h"
#include "ops/backward/embed.h"
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

// Floats per token of each activation group (F32).
struct PerToken {
  int64_t layer_kept, head, scratch;
};
PerToken per_token(const ModelConfig& c) {
  const int64_t d = c.d_model, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim;
  return {4 * d + 2 * q + 2 * kv + c.n_heads + 3 * f, 2 * d + 2 * int64_t(c.vocab), 2 * d + 2 * q + 2 * kv + f + 1};
}

// Parameter gradients always add up (the step zeroes them once, micro-batches accumulate).
constexpr ops::GradMode kWrite{false, true}, kAdd{true, true};

}  // namespace

uint64_t llama_activation_bytes(const ModelConfig& c, int n_seqs, int seq_len, bool backward) {
  const PerToken p = per_token(c);
  const int64_t m = int64_t(n_seqs) * seq_len;
  return uint64_t(m * (p.layer_kept * c.n_layers + p.head + (backward ? p.scratch : 0)) * 4);
}

uint64_t llama_largest_activation(const ModelConfig& c, int n_seqs, int seq_len) {
  const int64_t m = int64_t(n_seqs) * seq_len;
  return uint64_t(m * std::max<int64_t>({c.vocab, c.ffn_dim, c.q_dim(), c.d_model}) * 4);
}

LlamaActivations allocate_llama_activations(Device& dev, vk::Arena& arena, const ModelConfig& c, int n_seqs,
                                            int seq_len, bool backward, bool separate_logits_grad) {
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
    L.q = f32({hd, c.n_heads, T, S}, b + "q");
    L.att = f32({hd, c.n_heads, T, S}, b + "att");
    L.k = f32({hd, c.n_kv_heads, T, S}, b + "k");
    L.v = f32({hd, c.n_kv_heads, T, S}, b + "v");
    L.lse = f32({c.n_heads, T, S, 1}, b + "lse");
    L.gate = f32({c.ffn_dim, M, 1, 1}, b + "gate");
    L.up = f32({c.ffn_dim, M, 1, 1}, b + "up");
    L.act = f32({c.ffn_dim, M, 1, 1}, b + "act");
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
  }
  return a;
}

TrainGraph build_llama_train_graph(const LlamaParams& p, const LlamaActivations& a, const BatchInputs& in,
                                   const Objective& objective, int mb, const TeacherSignals& teacher) {
  const ModelConfig& c = p.config();
  const int64_t M = int64_t(a.n_seqs) * a.seq_len;
  DS_CHECK(in.ids.n_elements() == M && in.targets.n_elements() == M, "[train] micro-batch inputs hold ",
           in.ids.n_elements(), " ids and ", in.targets.n_elements(), " targets for ", M, " tokens");
  // The nodes outlive this function: they capture values and pointers to p, a and objective only.
  const LlamaParams* P = &p;
  const LlamaActivations* A = &a;
  const Objective* obj = &objective;
  const BatchInputs io = in;
  const float eps = c.norm_eps, scale = 1.0f / std::sqrt(float(c.head_dim));
  const auto mode = c.rope.style == RopeStyle::Neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  auto flat = [](const Tensor& t) { return t.reshaped({t.ne[0] * t.ne[1], t.ne[2] * t.ne[3], 1, 1}); };
  auto tokens = [M](const Tensor& t) { return t.reshaped({t.ne[0], t.ne[1], M, 1}); };  // [hd, heads, M]
  TrainGraph g;

  const TrainParam* emb = &p.tok_embd();
  const Tensor x0 = a.layers[0].x;
  g.add(
      "token_embd", [=](vk::Recorder& r) { ops::get_rows(r, emb->forward(), io.ids, x0); },
      [=](vk::Recorder& r) { ops::get_rows_backward(r, A->d_res, io.ids, emb->grad, /*accumulate=*/true); });

  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const LlamaParams::Layer w = p.layer(l);
    const LlamaActivations::Layer* L = &a.layers[size_t(l)];
    const Tensor x_next = l + 1 < c.n_layers ? a.layers[size_t(l) + 1].x : a.x_out;
    const Tensor bq = w.bq ? w.bq->master : Tensor{}, bk = w.bk ? w.bk->master : Tensor{};
    const Tensor bv = w.bv ? w.bv->master : Tensor{};
    const Tensor gbq = w.bq ? w.bq->grad : Tensor{}, gbk = w.bk ? w.bk->grad : Tensor{};
    const Tensor gbv = w.bv ? w.bv->grad : Tensor{};

    g.add(
        b + "attn_norm", [=](vk::Recorder& r) { ops::rms_norm(r, L->x, w.attn_norm->master, L->xn1, eps); },
        [=](vk::Recorder& r) {
          ops::rms_norm_backward(r, L->x, w.attn_norm->master, A->d_xn, A->d_res, w.attn_norm->grad, A->rstd, eps,
                                 kAdd);
        });
    g.add(
        b + "attn_qkv",
        [=](vk::Recorder& r) {
          ops::matmul(r, w.wq->forward(), L->xn1, flat(L->q), {bq});
          ops::matmul(r, w.wk->forward(), L->xn1, flat(L->k), {bk});
          ops::matmul(r, w.wv->forward(), L->xn1, flat(L->v), {bv});
        },
        [=](vk::Recorder& r) {
          ops::matmul_backward(r, w.wq->forward(), L->xn1, flat(A->d_q), A->d_xn, w.wq->grad, gbq, kWrite);
          ops::matmul_backward(r, w.wk->forward(), L->xn1, flat(A->d_k), A->d_xn, w.wk->grad, gbk, kAdd);
          ops::matmul_backward(r, w.wv->forward(), L->xn1, flat(A->d_v), A->d_xn, w.wv->grad, gbv, kAdd);
        });
    // RoPE over [head_dim, heads, M] views: positions restart in every sequence.
    g.add(
        b + "rope",
        [=](vk::Recorder& r) {
          ops::rope(r, tokens(L->q), A->positions, P->rope_inv_freq(), mode, tokens(L->q));
          ops::rope(r, tokens(L->k), A->positions, P->rope_inv_freq(), mode, tokens(L->k));
        },
        [=](vk::Recorder& r) {
          ops::rope_backward(r, tokens(A->d_q), A->positions, P->rope_inv_freq(), mode, tokens(A->d_q));
          ops::rope_backward(r, tokens(A->d_k), A->positions, P->rope_inv_freq(), mode, tokens(A->d_k));
        });
    g.add(
        b + "attention", [=](vk::Recorder& r) { ops::attention_train(r, L->q, L->k, L->v, scale, L->att, L->lse); },
        [=](vk::Recorder& r) {
          ops::attention_backward(r, L->q, L->k, L->v, L->att, L->lse, A->d_att, scale, A->d_q, A->d_k, A->d_v);
        });
    g.add(
        b + "attn_out",
        [=](vk::Recorder& r) {
          r.copy(L->x.buf, L->h.buf);
          ops::matmul(r, w.wo->forward(), flat(L->att), L->h, {.accumulate = true});
        },
        [=](vk::Recorder& r) {
          ops::matmul_backward(r, w.wo->forward(), flat(L->att), A->d_res, flat(A->d_att), w.wo->grad, {}, kWrite);
        });
    g.add(
        b + "ffn_norm", [=](vk::Recorder& r) { ops::rms_norm(r, L->h, w.ffn_norm->master, L->xn2, eps); },
        [=](vk::Recorder& r) {
          ops::rms_norm_backward(r, L->h, w.ffn_norm->master, A->d_xn, A->d_res, w.ffn_norm->grad, A->rstd, eps, kAdd);
        });
    g.add(
        b + "ffn_gate_up",
        [=](vk::Recorder& r) {
          ops::matmul(r, w.w_gate->forward(), L->xn2, L->gate);
          ops::matmul(r, w.w_up->forward(), L->xn2, L->up);
        },
        [=](vk::Recorder& r) {  // gate and up hold their gradients by now (swiglu_backward wrote over them)
          ops::matmul_backward(r, w.w_gate->forward(), L->xn2, L->gate, A->d_xn, w.w_gate->grad, {}, kWrite);
          ops::matmul_backward(r, w.w_up->forward(), L->xn2, L->up, A->d_xn, w.w_up->grad, {}, kAdd);
        });
    g.add(
        b + "swiglu", [=](vk::Recorder& r) { ops::swiglu(r, L->gate, L->up, L->act); },
        [=](vk::Recorder& r) { ops::swiglu_backward(r, L->gate, L->up, A->d_act, L->gate, L->up); });
    g.add(
        b + "ffn_down",
        [=](vk::Recorder& r) {
          r.copy(L->h.buf, x_next.buf);
          ops::matmul(r, w.w_down->forward(), L->act, x_next, {.accumulate = true});
        },
        [=](vk::Recorder& r) {
          ops::matmul_backward(r, w.w_down->forward(), L->act, A->d_res, A->d_act, w.w_down->grad, {}, kWrite);
        });
    g.add(b + "hidden_loss", {}, [=](vk::Recorder& r) { obj->record_hidden(r, mb, l, x_next, A->d_res, teacher); });
  }

  const TrainParam* out_norm = &p.output_norm();
  const TrainParam* out = &p.output();
  g.add(
      "output_norm", [=](vk::Recorder& r) { ops::rms_norm(r, A->x_out, out_norm->master, A->xf, eps); },
      [=](vk::Recorder& r) {  // the first write of the residual gradient
        ops::rms_norm_backward(r, A->x_out, out_norm->master, A->d_xn, A->d_res, out_norm->grad, A->rstd, eps, kWrite);
      });
  g.add(
      "output", [=](vk::Recorder& r) { ops::matmul(r, out->forward(), A->xf, A->logits); },
      [=](vk::Recorder& r) {
        ops::matmul_backward(r, out->forward(), A->xf, A->dlogits, A->d_xn, out->grad, {}, kWrite);
      });
  g.add("loss", [=](vk::Recorder& r) { obj->record_logits(r, mb, A->logits, A->dlogits, io.targets, teacher); });
  return g;
}

}  // namespace ds::train
