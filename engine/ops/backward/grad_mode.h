// How a backward op writes its gradients: overwrite (=) or add into (+=) what the output holds. Input
// gradients add up where a tensor feeds several ops (the normed x feeds q, k and v; the residual stream
// feeds a block and skips it); parameter gradients add up over micro-batches.
#pragma once

namespace ds::ops {

struct GradMode {
  bool accumulate_input = false;   // dX += ... (else dX = ...)
  bool accumulate_params = false;  // dW += ..., db += ... (else =)
};

}  // namespace ds::ops
