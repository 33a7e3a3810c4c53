// Activation statistics of any F32 [d, n] tensor, per token, into a stat block: the L2 norm into one of
// three norm words (residual / mixer out / MLP out: the caller says which), and for the residual stream
// also the top-|x| channels and a fixed-bin histogram.
#pragma once
#include <cstdint>

#include "probe/span.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace probe {

// Words of one token's stat block:
//   [0] residual norm, [1] mixer-out norm, [2] MLP-out norm          (F32)
//   [3, 3+k)        top-k values by |x|, largest first (signed, F32; ties to the lower channel)
//   [3+k, 3+2k)     their channels (U32; 0xffffffff where d < k)
//   [3+2k, 3+2k+b)  histogram counts (U32): bin = floor((x - lo) * b / (hi - lo)) clamped to [0, b), so
//                   values below lo count in bin 0 and values at or above hi in bin b - 1; NaN not counted
struct StatsLayout {
  int top_k = 8;       // 1 .. 16
  int bins = 64;       // 1 .. 1024
  float lo = -8, hi = 8;
  uint32_t block_words() const { return uint32_t(3 + 2 * top_k + bins); }
  float bin_scale() const { return float(bins) / (hi - lo); }
};

enum class NormSlot : uint32_t { Residual = 0, MixerOut = 1, MlpOut = 2 };

// For tokens t < n_tokens of x (F32 [d, >= n_tokens]): block t at out + t * block_words. `full` adds the
// top-k channels and the histogram (only the norm word is written otherwise).
void activation_stats(vk::Recorder& rec, const Tensor& x, int n_tokens, const StatsLayout& layout, NormSlot slot,
                      bool full, const vk::BufferSlice& index, const Span& out);

}  // namespace probe
}  // namespace ds
