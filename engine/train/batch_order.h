// The order in which a run visits its training sequences: epochs over the n sequences, each epoch in its own
// seeded order (Fisher-Yates over SplitMix64 of seed and epoch), and optimizer step s taking entries
// [s * batch, (s + 1) * batch) of the epochs laid end to end. A function of (n, batch, seed, step) alone, so a
// resumed run continues exactly where the interrupted one was, with nothing but the step saved.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ds::train {

class BatchOrder {
 public:
  BatchOrder(size_t n_sequences, int batch, uint64_t seed);
  std::vector<size_t> batch(int step);  // batch indices into the sequences
  int64_t epoch_of(int step) const;     // the epoch of the step's first sequence

 private:
  const std::vector<size_t>& epoch(int64_t e);
  size_t n_;
  int batch_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  std::vector<size_t> order_;
};

}  // namespace ds::train
