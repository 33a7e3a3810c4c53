// Type decisions, conversions and uploads of model weights (see weight_loader.h).
#include "model/weight_loader.h"

#include <algorithm>

#include "util/error.h"
#include "vk/memory.h"

namespace ds {

WeightLoader::WeightLoader(Device& dev, vk::Arena& arena, const ModelSource& src, const LoadOptions& opts)
    : dev_(dev), arena_(arena), src_(src) {
  std::string q = opts.quantize;
  std::transform(q.begin(), q.end(), q.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  DS_CHECK(q.empty() || q == "q8_0", "[load] quantize '", opts.quantize, "' is not supported (q8_0, or nothing)");
  q8_0_ = q == "q8_0";
  for (const auto& spec : llama_tensor_specs(src.config())) is_matrix_[spec.name] = spec.matrix;
}

DType WeightLoader::device_type(const GgufTensorInfo& t) const {
  auto it = is_matrix_.find(t.name);
  if (it == is_matrix_.end() || !it->second) return DType::F32;  // vectors, mixer parameters, rope_freqs
  const bool plain = t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16;
  if (q8_0_ && plain && t.ne[0] % k_qblock == 0) return DType::Q8_0;
  if (src_.format() == ModelSource::Format::HuggingFace && t.type == DType::BF16) return DType::F16;
  return t.type;
}

uint64_t WeightLoader::device_bytes(const GgufTensorInfo& t) const { return dtype_bytes(device_type(t), t.n_elements()); }

void WeightLoader::check_device_limits() const {
  const uint64_t max_range = dev_.props().limits.maxStorageBufferRange;
  uint64_t total = 0;
  for (const auto& [name, matrix] : is_matrix_) {
    const GgufTensorInfo* t = src_.find(name);
    if (!t) continue;
    const uint64_t bytes = device_bytes(*t);
    total += bytes;
    if (bytes > max_range)
      fail(src_.path(), ": tensor ", src_.label(name), " is ", format_bytes(double(bytes)), " as ",
           dtype_name(device_type(*t)), "; ", dev_.info().name, " binds at most ", format_bytes(double(max_range)),
           " per storage buffer");
  }
  if (total > dev_.info().device_local_bytes)
    fail(src_.path(), ": weights need ", format_bytes(double(total)), " but ", dev_.info().name, " has ",
         format_bytes(double(dev_.info().device_local_bytes)), " of device-local memory",
         q8_0_ ? "" : " (quantize = q8_0 halves 16-bit weights)");
}

std::span<const uint8_t> WeightLoader::device_data(const GgufTensorInfo& t, std::vector<uint8_t>& scratch,
                                                   DType& to) const {
  auto bytes = src_.data(t);
  to = device_type(t);
  if (to == DType::F16 && t.type == DType::BF16 && !fits_f16(t.type, bytes.data(), t.n_elements()))
    to = DType::BF16;  // values beyond F16's range: keep BF16 (the kernels read it too)
  if (to == t.type) return bytes;
  scratch.resize(dtype_bytes(to, t.n_elements()));
  convert_type(t.type, bytes.data(), to, scratch.data(), t.n_elements());
  return scratch;
}

Tensor WeightLoader::describe(const GgufTensorInfo& t) const {
  Tensor d;
  d.name = t.name;
  d.type = device_type(t);
  for (size_t i = 0; i < t.ne.size() && i < 4; ++i) d.ne[i] = int64_t(t.ne[i]);
  if (d.type == DType::F32 && t.ne.size() == 1) d.ne = {int64_t(t.ne[0]), 1, 1, 1};
  return d;
}

Tensor WeightLoader::load(const std::string& name) {
  const GgufTensorInfo* info = src_.find(name);
  if (!info) return {};
  std::vector<uint8_t> scratch;
  Tensor t = describe(*info);
  auto bytes = device_data(*info, scratch, t.type);
  t.buf = arena_.alloc(t.n_bytes(), name);
  upload(dev_, t, bytes.data());
  return t;
}

Tensor WeightLoader::load_joint(const std::vector<std::string>& names, const std::vector<Tensor*>& parts) {
  const uint64_t align = std::max<uint64_t>(16, dev_.props().limits.minStorageBufferOffsetAlignment);
  std::vector<const GgufTensorInfo*> infos;
  for (auto& n : names) infos.push_back(src_.find(n));
  bool ok = infos[0] && infos[0]->ne.size() == 2;
  uint64_t total = 0;
  for (auto* t : infos) {
    ok = ok && t && t->ne.size() == 2 && device_type(*t) == device_type(*infos[0]) && t->ne[0] == infos[0]->ne[0] &&
         t->type == infos[0]->type && total % align == 0;
    if (t) total += device_bytes(*t);
  }
  if (!ok) {
    for (size_t i = 0; i < names.size(); ++i) *parts[i] = load(names[i]);
    return {};
  }
  // The parts' device bytes first (a BF16 part that does not fit F16 keeps BF16: then load separately).
  std::vector<std::vector<uint8_t>> scratch(infos.size());
  std::vector<std::span<const uint8_t>> data;
  for (size_t i = 0; i < infos.size(); ++i) {
    DType type;
    data.push_back(device_data(*infos[i], scratch[i], type));
    if (type != device_type(*infos[i])) {
      for (size_t j = 0; j < names.size(); ++j) *parts[j] = load(names[j]);
      return {};
    }
  }
  Tensor joint;
  joint.name = names[0] + "+";
  joint.type = device_type(*infos[0]);
  joint.ne = {int64_t(infos[0]->ne[0]), 0, 1, 1};
  for (auto* t : infos) joint.ne[1] += int64_t(t->ne[1]);
  joint.buf = arena_.alloc(total, joint.name);
  uint64_t off = 0;
  for (size_t i = 0; i < infos.size(); ++i) {
    Tensor& part = *parts[i] = describe(*infos[i]);
    part.buf = joint.buf.sub(off, data[i].size());
    upload(dev_, part, data[i].data());
    off += data[i].size();
  }
  return joint;
}

}  // namespace ds
