// Reference get_rows.
#include "ref/embed.h"

#include <cstddef>

namespace ds::ref {

void get_rows(std::span<const float> table, std::span<const int32_t> ids, std::span<float> out, int K, int V) {
  for (size_t m = 0; m < ids.size(); ++m) {
    int32_t id = ids[m];
    for (int k = 0; k < K; ++k) out[m * K + k] = (id >= 0 && id < V) ? table[size_t(id) * K + k] : 0.0f;
  }
}

}  // namespace ds::ref
