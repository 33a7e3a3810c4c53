// L2 prefetch: reads the first bytes of a tensor so that they sit in the GPU's L2 cache when the kernel that
// needs them runs (shaders/l2_prefetch.comp). Decode records it next to attention, which reads little memory,
// for the output projection's and the gate/up mat-vec's weights (model/arch_llama.cpp). Results never change.
#pragma once
#include <cstddef>

#include "ops/tensor.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace ops {

// Reads min(max_bytes, t.n_bytes()) bytes of t (rounded down to 16) from its start. sink: any tensor of at
// least 4 bytes that nothing reads; the kernel writes it only in the 1-in-2^32 case that the folded bytes
// equal a magic number, so the recorder is told it only reads the sink (prefetches overlap freely).
void l2_prefetch(vk::Recorder& rec, const Tensor& t, size_t max_bytes, const Tensor& sink);

}  // namespace ops
}  // namespace ds
