// Backward of get_rows (the token embedding): the rows of dOut are scatter-added into dTable.
#pragma once
#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// dtable F32 [K, V] (+)= for every token m: dout[:, m] into column ids[m] (ids outside [0, V) add nothing).
// dout: F32 [K, M]; ids: I32 [M]. Deterministic (no atomics; each table row is summed in token order by one
// workgroup). accumulate = false zero-fills dtable first.
void get_rows_backward(vk::Recorder& rec, const Tensor& dout, const Tensor& ids, const Tensor& dtable, bool accumulate);

}  // namespace ops
}  // namespace ds
