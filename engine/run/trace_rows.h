// AttentionRows: attention rows gathered by (layer, head) and query position, from capture frames or
// stored blobs, turned into one square AttentionMap per (layer, head) over every traced position.
#pragma once
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "distilscope/snapshots.h"

namespace ds {

class AttentionRows {
 public:
  // The row of query `position` (keys 0 .. row.size() - 1; entries past the position are 0).
  void add(int layer, int head, LayerKind kind, int position, std::span<const float> row);
  // Maps ordered by (layer, head); n_queries = n_keys = the number of positions seen (rows not seen are 0).
  std::vector<AttentionMap> maps() const;

 private:
  struct Rows {
    LayerKind kind = LayerKind::Attention;
    std::vector<std::vector<float>> by_position;
  };
  std::map<std::pair<int, int>, Rows> rows_;
};

}  // namespace ds
