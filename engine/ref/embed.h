// Reference embedding lookup on a table already dequantized to F32.
#pragma once
#include <cstdint>
#include <span>

namespace ds::ref {

// table: (V, K) (GGUF [K, V]); ids: (M); out: (M, K) (GGUF [K, M]).
// out[m] = table[ids[m]], or zeros when ids[m] is outside [0, V) (as the kernel does).
void get_rows(std::span<const float> table, std::span<const int32_t> ids, std::span<float> out, int K, int V);

}  // namespace ds::ref
