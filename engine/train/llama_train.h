// The llama-architecture training graph over one micro-batch of n_seqs sequences of seq_len tokens
// (M = n_seqs * seq_len rows): forward with the training ops (attention_train saves each row's log-sum-exp),
// every activation the backward needs kept per layer, the objective at the head, and the backward ops in
// reverse with the parameter gradients accumulated (+=, so micro-batches add up; the optimizer zeroes them
// once per step). The same graph serves a frozen model's forward (a distillation teacher; evaluation) when
// its backward is simply not recorded. Hybrid students: a linear layer replaces attention_train by the linear
// mixer's training forward (ops/backward/linear_mixer.h) between the same q/k/v/o projections; a Mamba layer
// is attn_norm, in_proj (z|x|B|C), the dt pair, the mixer core (ops/backward/mamba.h) and out_proj. Frozen
// parameters (LlamaParams) get no gradient, and the backward walk stops below the lowest trainable layer.
// LoRA adapters (LlamaParams with a LoraSpec): a projection with an adapter runs ops::lora_forward in place of
// its matmul, keeping u = s A x per adapter for lora_backward.
#pragma once
#include <array>
#include <vector>

#include "ops/tensor.h"
#include "train/llama_params.h"
#include "train/objective.h"
#include "train/train_graph.h"

namespace ds {
namespace vk {
class Arena;
}
namespace train {

// Per-layer activations kept for the backward, and gradient scratch shared by all layers.
struct LlamaActivations {
  int n_seqs = 0, seq_len = 0;
  Tensor positions;  // I32 [M]: t within its sequence (written once)
  struct Layer {
    Tensor x;              // F32 [d, M]   the residual stream entering the layer
    Tensor xn1, h, xn2;    // F32 [d, M]   normed x; x after the mixer; normed h
    Tensor q, att;         // F32 [head_dim, n_heads, seq_len, n_seqs]  (q after RoPE)   attention, linear
    Tensor k, v;           // F32 [head_dim, n_kv, seq_len, n_seqs]     (k after RoPE)   attention, linear
    Tensor lse;            // F32 [n_heads, seq_len, n_seqs]                             attention
    Tensor saved;          // F32 what the mixer's backward needs (*_train_saved_elems)  linear, Mamba
    Tensor zxbc;           // F32 [2 d_inner + 2 d_xb, seq_len, n_seqs]                  Mamba
    Tensor dt_low, dt, y;  // F32 [dt_rank | d_inner | d_inner, M]                       Mamba
    Tensor gate, up, act;  // F32 [ffn, M]  (gate/up become their gradients in the backward)
    std::array<Tensor, kLoraTargets> lora_u;  // F32 [r, M]  s A x of each adapter (LoRA)
  };
  std::vector<Layer> layers;
  Tensor x_out, xf;  // F32 [d, M]   residual after the last layer, final-normed
  Tensor logits;     // F32 [vocab, M]
  Tensor dlogits;    // = logits (the loss writes its gradient over them) or its own buffer
  // Gradients (backward only): residual gradient, normed-input gradient, attention and MLP scratch.
  Tensor d_res, d_xn, rstd, d_att, d_q, d_k, d_v, d_act;
  Tensor lin_scratch;                                  // linear layers
  Tensor d_zxbc, d_dt, d_dt_low, d_y, mamba_scratch;  // Mamba layers
  Tensor d_lora_u;                                    // F32 [r, M]  LoRA adapters
};

// Bytes of the activations of one micro-batch (with or without the backward scratch), to pick its size.
uint64_t llama_activation_bytes(const ModelConfig& c, int n_seqs, int seq_len, bool backward);
// Largest tensor of a micro-batch in bytes (must fit the device's storage-buffer range).
uint64_t llama_largest_activation(const ModelConfig& c, int n_seqs, int seq_len);
// What LoRA adapters add (at most: every target of every layer).
uint64_t lora_activation_bytes(const ModelConfig& c, const LoraSpec& lora, int n_seqs, int seq_len);

// adapters: the parameters whose LoRA adapters need their saved u (nullptr: none).
LlamaActivations allocate_llama_activations(Device& dev, vk::Arena& arena, const ModelConfig& c, int n_seqs,
                                            int seq_len, bool backward, bool separate_logits_grad,
                                            const LlamaParams* adapters = nullptr);

// The tokens of one micro-batch: I32 [M] each (targets < 0 are ignored by cross-entropy).
struct BatchInputs {
  Tensor ids, targets;
};

// Nodes: token_embd, per layer attn_norm, then attn_qkv, rope, attention | linear_mixer, attn_out (attention and
// linear layers) or ssm_in, ssm_dt, ssm_scan, ssm_out (Mamba), then ffn_norm, ffn_gate_up, swiglu, ffn_down (and
// hidden-loss hooks), output_norm, output, loss. `mb` selects the objective's value slots. objective nullptr:
// the forward alone (a frozen teacher), no loss nodes.
TrainGraph build_llama_train_graph(const LlamaParams& p, const LlamaActivations& a, const BatchInputs& in,
                                   const Objective* objective, int mb, const TeacherSignals& teacher = {});

}  // namespace train
}  // namespace ds
