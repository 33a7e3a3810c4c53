// Embedding lookup: gathers table columns by token id, dequantizing any weight type in the kernel.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// table: [K, V] F32|F16|BF16|Q8_0|Q4_0; ids: I32 [M] on the device; out: F32 [K, M].
// out[:, m] = table[:, ids[m]]. The kernel cannot raise errors: an id outside [0, V) yields a zero
// column, so callers validate ids on the host (the ids are host-written before every submit).
void get_rows(vk::Recorder& rec, const Tensor& table, const Tensor& ids, const Tensor& out);

}  // namespace ops
}  // namespace ds
