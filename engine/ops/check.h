// Shape and type checks shared by the op dispatchers; messages name the op, the tensor and the numbers.
#pragma once
#include <utility>

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

inline uint32_t div_up(int64_t a, int64_t b) { return uint32_t((a + b - 1) / b); }

}  // namespace ds::ops
