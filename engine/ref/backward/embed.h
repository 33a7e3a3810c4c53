// Reference get_rows forward and backward as templates over the scalar (float, and double for the
// finite-difference gradient checks). Shapes row-major: table (V, K), out / dout (M, K).
#pragma once
#include <cstdint>
#include <span>

namespace ds::ref {

// out[m][:] = table[ids[m]][:] (zeros for ids outside [0, V)).
template <class T>
void get_rows_forward(std::span<const T> table, std::span<const int32_t> ids, std::span<T> out, int K, int V);

// dtable = 0, then dtable[ids[m]][:] += dout[m][:] for every m (ids outside [0, V) skipped).
template <class T>
void get_rows_backward(std::span<const T> dout, std::span<const int32_t> ids, std::span<T> dtable, int K, int V);

}  // namespace ds::ref
