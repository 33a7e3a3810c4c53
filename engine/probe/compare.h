// Per-layer teacher-student comparison on the GPU: cosine similarity of two residual streams and the
// Jensen-Shannon divergence of two attention rows (natural log: 0 for identical rows, at most ln 2), per
// token. Inputs are spans, so a teacher's residual or rows saved in its ring frame can be read back.
#pragma once
#include <cstdint>

#include "probe/span.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace probe {

// out[t * out_stride] = cos(a_t, b_t) for t < n_tokens; row t of a and b = d consecutive F32 at span + t * d.
// 0 when either row is all zero.
void cosine(vk::Recorder& rec, const Span& a, const Span& b, int d, int n_tokens, const vk::BufferSlice& index,
            const Span& out, uint32_t out_stride = 1);

// out[t * out_stride] = mean over g < n_groups of JS(a_(g,t), b_(g,t)), row (g, t) = n_keys F32 at
// span + g * group_stride + t * n_keys (attention rows: groups = heads, group_stride = query_stride * n_keys).
// Rows are probability vectors (non-negative; entries past the causal limit are 0).
void attention_js(vk::Recorder& rec, const Span& a, const Span& b, int n_keys, int n_tokens, int n_groups,
                  uint32_t group_stride, const vk::BufferSlice& index, const Span& out, uint32_t out_stride = 1);

}  // namespace probe
}  // namespace ds
