// WeightLoader: a source's tensors onto the device in the types the device keeps: vectors and mixer
// parameters F32; matrices in their file type, Hugging Face BF16 as F16 (when it fits F16's range), or Q8_0
// when LoadOptions::quantize asks; one tensor at a time through a host buffer. Also places q/k/v and
// gate/up back to back for the fused decode mat-vecs.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "distilscope/model.h"
#include "model/llama_config.h"
#include "model/model_source.h"
#include "ops/tensor.h"

namespace ds {

class WeightLoader {
 public:
  WeightLoader(Device& dev, vk::Arena& arena, const ModelSource& src, const LoadOptions& opts);

  // The type a tensor gets on the device, and its device bytes (for the memory checks before uploading).
  DType device_type(const GgufTensorInfo& t) const;
  uint64_t device_bytes(const GgufTensorInfo& t) const;
  // Throws naming the tensor when one tensor or the whole model exceeds the device's limits.
  void check_device_limits() const;

  // The tensor on the device, or an empty Tensor when the source does not have it.
  Tensor load(const std::string& name);
  // Tensors of one device type and row length placed back to back (each part also visible on its own);
  // returns the joint view, or empty when they differ or a part would not start binding-aligned (then
  // they are loaded separately).
  Tensor load_joint(const std::vector<std::string>& names, const std::vector<Tensor*>& parts);

 private:
  // The tensor's bytes in the type it gets (`type`: device_type(), or BF16 kept when F16 cannot hold the
  // values); a view of the file when nothing changes, else converted into scratch.
  std::span<const uint8_t> device_data(const GgufTensorInfo& t, std::vector<uint8_t>& scratch, DType& type) const;
  Tensor describe(const GgufTensorInfo& t) const;

  Device& dev_;
  vk::Arena& arena_;
  const ModelSource& src_;
  bool q8_0_ = false;
  std::map<std::string, bool> is_matrix_;  // from llama_tensor_specs
};

}  // namespace ds
