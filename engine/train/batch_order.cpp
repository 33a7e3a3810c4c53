// Seeded epoch order of training sequences (see batch_order.h).
#include "train/batch_order.h"

#include "train/corpus.h"
#include "util/error.h"

namespace ds::train {

BatchOrder::BatchOrder(size_t n_sequences, int batch, uint64_t seed) : n_(n_sequences), batch_(batch), seed_(seed) {
  DS_CHECK(n_ > 0, "[train] there are no training sequences (the corpus is shorter than one sequence)");
  DS_CHECK(batch_ > 0, "[train] batch of ", batch_, " sequences");
}

int64_t BatchOrder::epoch_of(int step) const { return int64_t(step) * batch_ / int64_t(n_); }

const std::vector<size_t>& BatchOrder::epoch(int64_t e) {
  if (e != cached_epoch_) {
    order_ = seeded_permutation(n_, seed_ * 0x9E3779B97F4A7C15ull + uint64_t(e) + 1);
    cached_epoch_ = e;
  }
  return order_;
}

std::vector<size_t> BatchOrder::batch(int step) {
  std::vector<size_t> out;
  out.reserve(size_t(batch_));
  for (int64_t i = int64_t(step) * batch_; i < int64_t(step + 1) * batch_; ++i)
    out.push_back(epoch(i / int64_t(n_))[size_t(i % int64_t(n_))]);
  return out;
}

}  // namespace ds::train
