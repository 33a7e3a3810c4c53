// Tensor helpers.
#include "ops/tensor.h"

#include "util/error.h"

namespace ds {

std::string Tensor::shape_str() const {
  std::string s = std::to_string(ne[0]);
  int last = 3;
  while (last > 0 && ne[last] == 1) --last;
  for (int i = 1; i <= last; ++i) s += "x" + std::to_string(ne[i]);
  return s;
}

Tensor Tensor::rows_view(int64_t r0, int64_t n) const {
  DS_CHECK(r0 >= 0 && r0 + n <= rows(), "[tensor] ", name, ": rows [", r0, ", ", r0 + n, ") out of ", rows());
  Tensor t = *this;
  t.buf = buf.sub(VkDeviceSize(r0) * row_bytes(), VkDeviceSize(n) * row_bytes());
  t.ne = {ne[0], n, 1, 1};
  return t;
}

Tensor Tensor::reshaped(std::array<int64_t, 4> new_ne) const {
  Tensor t = *this;
  t.ne = new_ne;
  DS_CHECK(t.n_elements() == n_elements(), "[tensor] ", name, ": cannot reshape ", shape_str(), " to ", t.shape_str());
  return t;
}

Tensor sub_tensor(const Tensor& whole, int64_t first, std::array<int64_t, 4> ne, const std::string& name) {
  DS_CHECK(dtype_block_elems(whole.type) == 1, "[tensor] ", whole.name, ": element views of ", dtype_name(whole.type),
           " tensors are not supported");
  Tensor t;
  t.type = whole.type;
  t.ne = ne;
  t.name = name;
  DS_CHECK(first >= 0 && first + t.n_elements() <= whole.n_elements(), "[tensor] view ", name, " [", first, ", ",
           first + t.n_elements(), ") is outside ", whole.name, " (", whole.n_elements(), " elements)");
  t.buf = whole.buf.sub(dtype_bytes(whole.type, uint64_t(first)), t.n_bytes());
  return t;
}

Tensor make_tensor(vk::Arena& arena, DType type, std::array<int64_t, 4> ne, const std::string& name) {
  Tensor t;
  t.type = type;
  t.ne = ne;
  t.name = name;
  DS_CHECK(ne[0] % dtype_block_elems(type) == 0, "[tensor] ", name, ": row length ", ne[0],
           " not a multiple of the block size of ", dtype_name(type));
  t.buf = arena.alloc(t.n_bytes(), name);
  return t;
}

}  // namespace ds

#include "distilscope/device.h"

namespace ds {

void upload(Device& dev, const Tensor& t, const void* bytes) { dev.staging().upload(t.buf, bytes, t.n_bytes()); }

void upload_f32(Device& dev, const Tensor& t, const std::vector<float>& values) {
  DS_CHECK(int64_t(values.size()) == t.n_elements(), "[tensor] ", t.name, ": uploading ", values.size(),
           " values into ", t.n_elements(), " elements");
  std::vector<uint8_t> bytes(t.n_bytes());
  from_f32(t.type, values.data(), bytes.data(), values.size());
  upload(dev, t, bytes.data());
}

std::vector<float> download_f32(Device& dev, const Tensor& t) {
  std::vector<uint8_t> bytes(t.n_bytes());
  dev.staging().download(t.buf, bytes.data(), bytes.size());
  std::vector<float> out(size_t(t.n_elements()));
  to_f32(t.type, bytes.data(), out.data(), out.size());
  return out;
}

}  // namespace ds
