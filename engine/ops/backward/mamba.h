// Mamba mixer core (Apriel-H1 "m2") for training: a forward over whole sequences from a zero state that saves
// state checkpoints, and its backward w.r.t. the in_proj output (z, x, B, C), dt and the mixer's parameters.
// Memory vs compute: the forward keeps the SSM state only every checkpoint_tokens tokens (d_inner x d_state floats
// per checkpoint and sequence); the backward rescans each chunk from its checkpoint (one extra forward scan) into
// a scratch of one chunk of states per sequence, then walks it back. The reverse scan is sequential in time and
// parallel over channels x sequences (T <= ~512 training windows); maths in ref/backward/mamba.h.
#pragma once
#include <cstddef>

#include "ops/backward/grad_mode.h"
#include "ops/mamba.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

struct MambaTrainOptions {
  int checkpoint_tokens = 16;  // chunk length of the checkpoints (>= 1); the backward must use the same
};

// F32 elements of `saved` (the checkpoints) and of the backward's `scratch`.
size_t mamba_train_saved_elems(const MambaDims& dims, int n_tokens, int n_seqs, const MambaTrainOptions& opt = {});
size_t mamba_backward_scratch_elems(const MambaDims& dims, int n_tokens, int n_seqs, const MambaTrainOptions& opt = {});

// y = the mixer core (ops::mamba_mixer's maths) of n_seqs sequences of n_tokens, each from a zero state.
// zxbc: F32 [2*d_inner + 2*d_xb, n_tokens, n_seqs]; dt: F32 [d_inner, n_tokens, n_seqs] (dt_proj output including
// its bias); y: F32 [d_inner, n_tokens, n_seqs]; saved: F32, mamba_train_saved_elems (read by mamba_backward).
void mamba_train(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w, const Tensor& y,
                 const Tensor& saved, const MambaDims& dims, const MambaTrainOptions& opt = {});

// From the forward's inputs, its `saved` checkpoints and dy (shape of y): d_zxbc (shape of zxbc: z, x, B and C
// rows), d_dt (shape of dt; also the dt projection's output gradient: ssm_dt.bias gets sum_rows(d_dt) from there
// and dw.dt_bias from the second add here), and the parameter gradients dw.conv_w [d_conv, 1, d_inner] (or
// [d_conv, d_inner]), conv_b, dt_bias [d_inner], a_log [d_state, d_inner], d [d_inner] -- each may be empty (not
// wanted); conv_b / dt_bias only where w has them. mode: = or += for the input (d_zxbc, d_dt) and the parameter
// gradients. scratch: F32, mamba_backward_scratch_elems. Deterministic: no atomics, sums in a fixed order.
void mamba_backward(vk::Recorder& rec, const Tensor& zxbc, const Tensor& dt, const MambaWeights& w, const Tensor& saved,
                    const Tensor& dy, const Tensor& d_zxbc, const Tensor& d_dt, const MambaWeights& dw,
                    const Tensor& scratch, const MambaDims& dims, const MambaTrainOptions& opt = {},
                    const GradMode& mode = {});

}  // namespace ops
}  // namespace ds
