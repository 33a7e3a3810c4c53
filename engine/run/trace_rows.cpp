// AttentionRows: gathering rows per (layer, head) and squaring them into maps.
#include "run/trace_rows.h"

#include <algorithm>

namespace ds {

void AttentionRows::add(int layer, int head, LayerKind kind, int position, std::span<const float> row) {
  Rows& r = rows_[{layer, head}];
  r.kind = kind;
  if (r.by_position.size() <= size_t(position)) r.by_position.resize(size_t(position) + 1);
  r.by_position[size_t(position)].assign(row.begin(), row.end());
}

std::vector<AttentionMap> AttentionRows::maps() const {
  size_t n = 0;
  for (const auto& [key, r] : rows_) n = std::max(n, r.by_position.size());
  std::vector<AttentionMap> out;
  for (const auto& [key, r] : rows_) {
    AttentionMap m;
    m.layer = key.first;
    m.head = key.second;
    m.kind = r.kind;
    m.implied = r.kind != LayerKind::Attention;
    m.n_queries = m.n_keys = int(n);
    m.probs.assign(n * n, 0.0f);
    for (size_t q = 0; q < r.by_position.size(); ++q) {
      const auto& row = r.by_position[q];
      std::copy_n(row.begin(), std::min(row.size(), n), m.probs.begin() + ptrdiff_t(q * n));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace ds
