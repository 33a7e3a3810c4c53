// Reference get_rows forward/backward (plain loops), instantiated for float and double.
#include "ref/backward/embed.h"

#include <algorithm>
#include <cstddef>

namespace ds::ref {

template <class T>
void get_rows_forward(std::span<const T> table, std::span<const int32_t> ids, std::span<T> out, int K, int V) {
  for (size_t m = 0; m < ids.size(); ++m)
    for (int k = 0; k < K; ++k) out[m * K + k] = ids[m] >= 0 && ids[m] < V ? table[size_t(ids[m]) * K + k] : T(0);
}

template <class T>
void get_rows_backward(std::span<const T> dout, std::span<const int32_t> ids, std::span<T> dtable, int K, int V) {
  std::fill(dtable.begin(), dtable.end(), T(0));
  for (size_t m = 0; m < ids.size(); ++m)
    if (ids[m] >= 0 && ids[m] < V)
      for (int k = 0; k < K; ++k) dtable[size_t(ids[m]) * K + k] += dout[m * K + k];
}

#define DS_INSTANTIATE(T)                                                                                  \
  template void get_rows_forward<T>(std::span<const T>, std::span<const int32_t>, std::span<T>, int, int); \
  template void get_rows_backward<T>(std::span<const T>, std::span<const int32_t>, std::span<T>, int, int);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
