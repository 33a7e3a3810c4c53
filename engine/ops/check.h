// Shape and type checks shared by the op dispatchers; messages name the op, the tensor and the numbers.
#pragma once
#include <algorithm>
#include <utility>

#include "distilscope/device.h"
#include "ops/tensor.h"
#include "util/error.h"

namespace ds::ops {

inline void check_type(const char* op, const Tensor& t, DType want) {
  DS_CHECK(t.type == want, "[", op, "] ", t.name, ": type ", dtype_name(t.type), ", expected ", dtype_name(want));
}

inline void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  DS_CHECK(a.ne == b.ne, "[", op, "] ", a.name, " is ", a.shape_str(), " but ", b.name, " is ", b.shape_str());
}

// Splits a 1-D workgroup count over x and y (65535 per dimension).
inline std::pair<uint32_t, uint32_t> grid_2d(int64_t groups) {
  if (groups <= 65535) return {uint32_t(groups), 1u};
  uint32_t gy = uint32_t((groups + 65534) / 65535);
  return {uint32_t((groups + gy - 1) / gy), gy};
}

// Shader-variant suffix of a weight type read through shaders/dequant.glsl ("f16", "q8_0", ...);
// throws naming the tensor for any other type. Quantized rows must hold whole blocks.
inline const char* weight_variant(const char* op, const Tensor& w) {
  const char* suffix = nullptr;
  switch (w.type) {
    case DType::F32: suffix = "f32"; break;
    case DType::F16: suffix = "f16"; break;
    case DType::BF16: suffix = "bf16"; break;
    case DType::Q8_0: suffix = "q8_0"; break;
    case DType::Q4_0: suffix = "q4_0"; break;
    default:
      fail("[", op, "] weight ", w.name, ": type ", dtype_name(w.type),
           " is not a weight type (F32, F16, BF16, Q8_0, Q4_0)");
  }
  DS_CHECK(w.ne[0] % dtype_block_elems(w.type) == 0, "[", op, "] weight ", w.name, ": ", w.shape_str(), " ",
           dtype_name(w.type), " rows of ", w.ne[0], " are not a multiple of the block size ",
           dtype_block_elems(w.type));
  return suffix;
}

// Checks that a tensor has a buffer that holds it, fits one storage-buffer binding
// (maxStorageBufferRange), and starts at a legal binding offset (minStorageBufferOffsetAlignment, and
// at least 4 bytes since kernels read 16-bit words or wider).
inline void check_binding(const char* op, const Tensor& t, const Device& dev) {
  DS_CHECK(bool(t), "[", op, "] ", t.name.empty() ? "a tensor" : t.name, " has no buffer");
  uint64_t range = dev.props().limits.maxStorageBufferRange;
  DS_CHECK(t.n_bytes() <= range, "[", op, "] ", t.name, ": ", t.shape_str(), " ", dtype_name(t.type), " is ",
           format_bytes(double(t.n_bytes())), ", over the device's storage-buffer range of ",
           format_bytes(double(range)), " (split the tensor)");
  DS_CHECK(t.buf.size >= t.n_bytes(), "[", op, "] ", t.name, ": buffer slice of ", t.buf.size,
           " bytes holds less than its ", t.n_bytes(), " bytes");
  uint64_t align = std::max<uint64_t>(4, dev.props().limits.minStorageBufferOffsetAlignment);
  DS_CHECK(t.buf.offset % align == 0, "[", op, "] ", t.name, ": buffer offset ", t.buf.offset, " is not a multiple of ",
           align, " (the device's storage-buffer offset alignment; a row view of a quantized tensor must start there)");
}

inline uint32_t div_up(int64_t a, int64_t b) { return uint32_t((a + b - 1) / b); }

}  // namespace ds::ops
