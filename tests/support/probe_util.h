// Helpers for the probe tests: I32 tensors, a frame-index buffer, raw word downloads, bit casts.
#pragma once
#include <cstring>
#include <vector>

#include "support/gpu.h"

namespace ds::test {

inline Tensor i32_tensor(const std::vector<int32_t>& v, const std::string& name) {
  Tensor t = empty_tensor(DType::I32, {int64_t(v.size()), 1, 1, 1}, name);
  upload(device(), t, v.data());
  return t;
}

// The frame-index buffer {slot, seq, tag, 0} as an I32 tensor.
inline Tensor index_tensor(int32_t slot, int32_t seq = 0) { return i32_tensor({slot, seq, 0, 0}, "frame_index"); }

// A word buffer (F32 tensor of n words) filled with `fill` bits.
inline Tensor word_tensor(size_t n, uint32_t fill, const std::string& name) {
  Tensor t = empty_tensor(DType::F32, {int64_t(n), 1, 1, 1}, name);
  std::vector<uint32_t> w(n, fill);
  upload(device(), t, w.data());
  return t;
}

inline std::vector<uint32_t> download_words(const Tensor& t) {
  std::vector<uint32_t> w(t.n_bytes() / 4);
  device().staging().download(t.buf, w.data(), t.n_bytes());
  return w;
}

inline float as_f32(uint32_t w) {
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}

constexpr uint32_t k_nan_bits = 0x7fc00001u;  // sentinel fill: a quiet NaN

}  // namespace ds::test
