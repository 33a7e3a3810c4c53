// Tensor: a typed, shaped view of device memory, the unit every op binds. Contiguous, GGUF order:
// ne[0] is the fastest-varying dimension (row length), ne[1] rows, ne[2], ne[3] outer.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/dtype.h"
#include "vk/memory.h"

namespace ds {

struct Tensor {
  vk::BufferSlice buf;
  DType type = DType::F32;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  std::string name;

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t n_bytes() const { return dtype_bytes(type, uint64_t(n_elements())); }
  size_t row_bytes() const { return dtype_bytes(type, uint64_t(ne[0])); }
  std::string shape_str() const;  // "64x512"
  explicit operator bool() const { return bool(buf); }
  // Rows [r0, r0+n) of a tensor viewed as ne[0] x rows (for batching and per-layer views).
  Tensor rows_view(int64_t r0, int64_t n) const;
  // The same memory with another shape of equal element count.
  Tensor reshaped(std::array<int64_t, 4> new_ne) const;
};

namespace vk {
class Arena;
}
// A view of `whole`'s memory from element `first` on, with shape ne (F32/I32/F16/BF16 tensors only).
Tensor sub_tensor(const Tensor& whole, int64_t first, std::array<int64_t, 4> ne, const std::string& name);
// Allocates an uninitialized tensor in `arena`.
Tensor make_tensor(vk::Arena& arena, DType type, std::array<int64_t, 4> ne, const std::string& name);

}  // namespace ds

namespace ds {
class Device;
// Host <-> device copies of a whole tensor (bytes in the tensor's own type).
void upload(Device& dev, const Tensor& t, const void* bytes);
void upload_f32(Device& dev, const Tensor& t, const std::vector<float>& values);  // converts to t.type
std::vector<float> download_f32(Device& dev, const Tensor& t);                   // converts from t.type
}  // namespace ds
