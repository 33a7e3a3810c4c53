// Reference SwiGLU forward and backward, templates over the scalar (float; double for gradient checks).
#pragma once
#include <span>

namespace ds::ref {

// out = silu(gate) * up, silu(g) = g / (1 + exp(-g))
template <class T>
void swiglu_forward(std::span<const T> gate, std::span<const T> up, std::span<T> out);

// dgate = dout * up * sigmoid(g) (1 + g (1 - sigmoid(g)));  dup = dout * silu(g)
template <class T>
void swiglu_backward(std::span<const T> gate, std::span<const T> up, std::span<const T> dout, std::span<T> dgate,
                     std::span<T> dup);

}  // namespace ds::ref
