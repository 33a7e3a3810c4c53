// Initialization of a Mamba ("m2") mixer from a teacher attention layer, host side (for `linearize`): the
// Apriel-H1 / MIL recipe: C <- W_Q, B <- W_K, x <- W_V, out_proj <- W_O, the rest as the reference's modules init.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "distilscope/model_config.h"

namespace ds {

// One tensor of the new mixer: GGUF name ("blk.3.ssm_in.weight"), GGUF shape, F32 values.
struct InitTensor {
  std::string name;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  std::vector<float> data;
};

// The teacher layer's attention weights as F32, GGUF order (= PyTorch [out, in] row-major).
struct TeacherAttention {
  std::span<const float> wq;  // attn_q.weight [d_model, n_heads*head_dim]
  std::span<const float> wk;  // attn_k.weight [d_model, n_kv*head_dim]
  std::span<const float> wv;  // attn_v.weight [d_model, n_kv*head_dim]
  std::span<const float> wo;  // attn_output.weight [n_heads*head_dim, d_model]
  std::span<const float> bo;  // attn_output.bias [d_model], or empty (copied to ssm_out.bias when the mixer has biases)
};

struct MambaInitOptions {
  uint64_t seed = 0;
  // false: copy rows as the reference does (C head k gets q rows k*d_state..., whose partner B group k/repeat
  // holds k rows of another sub-block of the same kv head). true: permute C's rows and out_proj's columns so
  // that every C head pairs with the same d_state dims of its q head's kv head, and channel c's x (a value dim)
  // meets out_proj's column of that value dim (needs d_state | head_dim).
  bool align_heads = false;
  // The scan adds dt_proj.bias twice (docs/formats.md). false: the reference's bias inv_softplus(dt0), so
  // at init the scan steps by softplus(2 * bias); true: half of it, so the scan steps by dt0 itself.
  bool compensate_double_dt_bias = false;
};

// The mixer tensors of layer `layer` of `student` (a hybrid whose layer is LayerKind::Mamba, with
// d_inner = q_dim and d_xb = kv_dim): ssm_in, ssm_dt_in, ssm_dt (weight, bias), ssm_conv1d (weight, bias),
// ssm_a_log, ssm_d, ssm_out, and the in/dt_in/out biases when ssm_cfg.bias. Random parts are deterministic in
// (seed, layer): z rows and dt_in_proj U(+-1/sqrt(d_model)), conv U(+-1/sqrt(d_conv)), dt_proj weight
// U(+-dt_scale/sqrt(dt_rank)) (or that constant), dt0 log-uniform in [dt_min, dt_max] floored at dt_init_floor.
std::vector<InitTensor> init_mamba_from_attention(const ModelConfig& student, int layer, const TeacherAttention& t,
                                                  const MambaInitOptions& opt = {});

// The channel permutation align_heads applies: C row / out_proj column c <- q row / W_O column perm[c].
std::vector<int> mamba_aligned_head_permutation(const ModelConfig& student);

}  // namespace ds
