// GGUF v2/v3 files: a reader over an mmap (metadata of every type, tensor directory, alignment) and
// a writer (temporary file + rename, so a good file is never replaced by a half-written one).
// Tensor shapes follow GGUF: ne[0] is the fastest-varying (row length), ne[1] the row count, ...
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/dtype.h"
#include "util/mapped_file.h"

namespace ds {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value. Scalars live in the matching field; arrays keep their element type and
// the elements in `strs` (strings), `nums` (any number or bool, as double; exact for < 2^53)
// or `items` (arrays of arrays).
struct GgufValue {
  GgufType type = GgufType::U32;
  GgufType elem_type = GgufType::U32;  // for ARRAY
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<std::string> strs;
  std::vector<double> nums;
  std::vector<GgufValue> items;

  bool is_int() const;
  bool is_float() const { return type == GgufType::F32 || type == GgufType::F64; }
  size_t array_size() const;
  // Numeric value of a scalar (any int/float/bool type).
  double number() const;
};

struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;     // raw type number as stored (may be unsupported)
  DType type = DType::F32;    // valid when dtype_info(ggml_type) exists
  std::vector<uint64_t> ne;   // ne[0] fastest
  uint64_t offset = 0;        // relative to the data section
  uint64_t n_bytes = 0;
  uint64_t n_elements() const;
  std::string shape_str() const;  // "64x512"
};

class GgufFile {
 public:
  // Parses and validates the whole header; throws ds::Error naming the file and the numbers.
  // Tensors of unsupported types are listed (so `info` can show them) but fail in data().
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return file_->size(); }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<std::string>& key_order() const { return key_order_; }
  const GgufValue* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }

  // Typed getters: throw naming the key when missing or of an incompatible type.
  std::string get_string(const std::string& key) const;
  uint64_t get_uint(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::optional<std::string> opt_string(const std::string& key) const;
  std::optional<uint64_t> opt_uint(const std::string& key) const;
  std::optional<double> opt_float(const std::string& key) const;
  const std::vector<std::string>& get_str_array(const std::string& key) const;
  const std::vector<double>& get_num_array(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  const GgufTensorInfo& tensor(const std::string& name) const;  // throws when missing
  // The tensor's bytes inside the mapping; throws for unsupported types.
  std::span<const uint8_t> data(const GgufTensorInfo& t) const;

 private:
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file. Metadata keeps insertion order; tensors are written aligned.
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue v);
  void set_string(const std::string& key, const std::string& v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_str_array(const std::string& key, std::vector<std::string> v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_alignment(uint32_t a);

  // Adds a tensor with its bytes (copied); ne[0] fastest. Byte size is checked against type/shape.
  void add_tensor(const std::string& name, DType type, std::vector<uint64_t> ne,
                  std::span<const uint8_t> bytes);
  // Convenience: converts f32 values to `type` (quantizing if needed).
  void add_tensor_f32(const std::string& name, DType type, std::vector<uint64_t> ne,
                      std::span<const float> values);
  // A tensor whose bytes `fill` writes into a buffer of the right size when the file is written, one
  // tensor at a time (converting a model larger than memory).
  using Fill = std::function<void(std::span<uint8_t> out)>;
  void add_tensor_deferred(const std::string& name, DType type, std::vector<uint64_t> ne, Fill fill);

  // Writes to path + ".tmp", fsyncs, renames over path. Throws with the OS reason on failure,
  // leaving any existing file at path untouched.
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<uint64_t> ne;
    std::vector<uint8_t> bytes;
    uint64_t size = 0;  // bytes in the file
    Fill fill;          // deferred tensors: produces the bytes at write time
  };
  void check_new(const std::string& name, DType type, const std::vector<uint64_t>& ne, uint64_t n_bytes) const;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace ds
