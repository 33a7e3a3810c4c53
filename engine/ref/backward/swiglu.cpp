// Reference SwiGLU forward/backward (in double), instantiated for float and double.
#include "ref/backward/swiglu.h"

#include <cmath>

namespace ds::ref {

template <class T>
void swiglu_forward(std::span<const T> gate, std::span<const T> up, std::span<T> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    out[i] = T(g / (1 + std::exp(-g)) * up[i]);
  }
}

template <class T>
void swiglu_backward(std::span<const T> gate, std::span<const T> up, std::span<const T> dout, std::span<T> dgate,
                     std::span<T> dup) {
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i], sg = 1 / (1 + std::exp(-g));
    dgate[i] = T(double(dout[i]) * up[i] * sg * (1 + g * (1 - sg)));
    dup[i] = T(double(dout[i]) * g * sg);
  }
}

#define DS_INSTANTIATE(T)                                                                                    \
  template void swiglu_forward<T>(std::span<const T>, std::span<const T>, std::span<T>);                     \
  template void swiglu_backward<T>(std::span<const T>, std::span<const T>, std::span<const T>, std::span<T>, \
                                   std::span<T>);
DS_INSTANTIATE(float)
DS_INSTANTIATE(double)
#undef DS_INSTANTIATE

}  // namespace ds::ref
