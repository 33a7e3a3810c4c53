// Safetensors files (Hugging Face weights): a validating reader over an mmap, a directory of shards
// (model.safetensors.index.json or a single model.safetensors) and a writer (tmp + fsync + rename,
// optional sharding with the index). Layout: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {str: str}}, then the data.
// Shapes are kept as the file has them (PyTorch order, slowest dimension first): a Linear weight
// [out, in] is GGUF ne = [in, out], i.e. ne = reversed shape (ggml_ne()), with no data movement.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/dtype.h"
#include "util/mapped_file.h"

namespace ds {

constexpr uint64_t k_safetensors_max_header = 100'000'000;  // bytes, as the reference implementation

struct SafetensorsTensor {
  std::string name;
  std::string dtype;              // as written: "BF16", "F32", "I64", ...
  std::optional<DType> type;      // engine type when supported (F32, F16, BF16, I32)
  uint32_t elem_bits = 0;         // 0 for a dtype name this reader does not know
  std::vector<uint64_t> shape;    // file order (slowest first)
  uint64_t begin = 0, end = 0;    // byte range relative to the data section

  uint64_t n_elements() const;
  uint64_t n_bytes() const { return end - begin; }
  std::vector<uint64_t> ggml_ne() const { return {shape.rbegin(), shape.rend()}; }  // ne[0] fastest
  std::string shape_str() const;  // "[4096, 5120]"
};

class SafetensorsFile {
 public:
  // Validates the whole header (sizes, offsets, overlaps) before returning; throws ds::Error
  // "[safetensors] <path>: ..." naming the tensor and the numbers.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint64_t file_size() const { return file_->size(); }
  uint64_t data_offset() const { return data_offset_; }  // 8 + header length

  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // header order
  const SafetensorsTensor* find(std::string_view name) const;
  const SafetensorsTensor& tensor(std::string_view name) const;  // throws when missing
  // The tensor's bytes inside the mapping (not necessarily aligned); throws for dtypes the engine
  // cannot use (listed tensors of other dtypes only fail here).
  std::span<const uint8_t> data(const SafetensorsTensor& t) const;
  std::span<const uint8_t> data(std::string_view name) const { return data(tensor(name)); }

  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

 private:
  std::unique_ptr<MappedFile> file_;
  uint64_t data_offset_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

// All weights of a Hugging Face model directory: the shards named by model.safetensors.index.json
// (its weight_map is the authority) or else the single model.safetensors. Every listed tensor is
// checked to exist in its shard when the directory is opened.
class SafetensorsDir {
 public:
  explicit SafetensorsDir(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  std::vector<std::string> names() const;  // sorted

  const SafetensorsTensor* find(std::string_view name) const;
  const SafetensorsTensor& tensor(std::string_view name) const;  // throws naming the directory
  const SafetensorsFile& file_of(std::string_view name) const;
  std::span<const uint8_t> data(std::string_view name) const;

 private:
  std::string dir_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<const SafetensorsFile*, const SafetensorsTensor*>, std::less<>> where_;
};

// Builds safetensors files. Tensors are written packed (no gaps), larger element sizes first and
// then by name, so that every tensor is aligned to its element size; the header is padded with
// spaces to a multiple of 8 bytes. Metadata {"format": "pt"} is set by default (transformers
// refuses files whose format is not pt/tf/flax/mlx).
class SafetensorsWriter {
 public:
  SafetensorsWriter();
  void set_metadata(const std::string& key, const std::string& value);

  // shape in file order (slowest first; a Linear weight is [out, in] = reversed GGUF ne).
  // The bytes are copied; byte size is checked against dtype x shape.
  void add(const std::string& name, DType type, std::vector<uint64_t> shape, std::span<const uint8_t> bytes);
  // Same without a copy: `bytes` must stay valid until write() returns.
  void add_view(const std::string& name, DType type, std::vector<uint64_t> shape, std::span<const uint8_t> bytes);
  // Bytes produced by `fill` (into a buffer of the right size) when the file is written, one tensor at a time.
  using Fill = std::function<void(std::span<uint8_t> out)>;
  void add_deferred(const std::string& name, DType type, std::vector<uint64_t> shape, Fill fill);

  uint64_t total_bytes() const;
  // One file.
  void write(const std::string& path) const;
  // A model directory: "<dir>/model.safetensors" when everything fits in max_shard_bytes (0 = no
  // limit), else "<dir>/model-0000i-of-0000n.safetensors" + model.safetensors.index.json (written
  // last). A stale file of the other form is removed so the directory reads back as written.
  // Returns the file names written (relative to dir).
  std::vector<std::string> write_dir(const std::string& dir, uint64_t max_shard_bytes = 0) const;

 private:
  struct Entry {
    std::string name;
    DType type;
    std::vector<uint64_t> shape;
    std::vector<uint8_t> owned;
    std::span<const uint8_t> bytes;
    uint64_t size = 0;
    Fill fill;
  };
  void add_entry(Entry e);
  std::vector<const Entry*> packing_order() const;
  void write_file(const std::string& path, const std::vector<const Entry*>& entries) const;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::map<std::string, size_t, std::less<>> names_;
};

// The safetensors dtype name of an engine type ("F32", "F16", "BF16", "I32"); throws for Q8_0/Q4_0.
const char* safetensors_dtype_name(DType t);

}  // namespace ds
