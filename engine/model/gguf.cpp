// GGUF reader (bounds-checked cursor over the mapping) and writer.
#include "model/gguf.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/error.h"

namespace ds {

const char* gguf_type_name(GgufType t) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  auto i = static_cast<uint32_t>(t);
  return i < 13 ? names[i] : "invalid";
}

bool GgufValue::is_int() const {
  switch (type) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64:
      return true;
    default:
      return false;
  }
}

size_t GgufValue::array_size() const {
  if (type != GgufType::ARRAY) return 0;
  if (elem_type == GgufType::STRING) return strs.size();
  if (elem_type == GgufType::ARRAY) return items.size();
  return nums.size();
}

double GgufValue::number() const {
  switch (type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
      return double(u);
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
      return double(i);
    case GgufType::F32: case GgufType::F64:
      return f;
    case GgufType::BOOL:
      return u ? 1.0 : 0.0;
    default:
      fail("GGUF value of type ", gguf_type_name(type), " is not a number");
  }
}

uint64_t GgufTensorInfo::n_elements() const {
  uint64_t n = 1;
  for (auto d : ne) n *= d;
  return n;
}

std::string GgufTensorInfo::shape_str() const {
  std::string s;
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? "x" : "") + std::to_string(ne[i]);
  return s.empty() ? "scalar" : s;
}

namespace {

constexpr uint32_t k_magic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t k_max_string = 1ull << 30;
constexpr uint64_t k_max_array = 1ull << 32;
constexpr uint32_t k_max_dims = 4;

class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* p, size_t n) : path_(path), p_(p), n_(n) {}

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    if (len > k_max_string) fail(path_, ": ", what, " claims a string of ", len, " bytes at offset ", pos_ - 8);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  void need(uint64_t bytes, const char* what) const {
    if (bytes > n_ - pos_)
      fail(path_, ": truncated: ", what, " needs ", bytes, " bytes at offset ", pos_, ", file has ",
           n_ - pos_, " left");
  }
  size_t pos() const { return pos_; }

 private:
  const std::string& path_;
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

GgufValue read_value(Cursor& c, GgufType t, const std::string& path, const std::string& key, int depth);

void read_scalar(Cursor& c, GgufType t, GgufValue& v, const std::string& path, const std::string& key) {
  v.type = t;
  switch (t) {
    case GgufType::U8: v.u = c.read<uint8_t>("u8 value"); break;
    case GgufType::I8: v.i = c.read<int8_t>("i8 value"); break;
    case GgufType::U16: v.u = c.read<uint16_t>("u16 value"); break;
    case GgufType::I16: v.i = c.read<int16_t>("i16 value"); break;
    case GgufType::U32: v.u = c.read<uint32_t>("u32 value"); break;
    case GgufType::I32: v.i = c.read<int32_t>("i32 value"); break;
    case GgufType::U64: v.u = c.read<uint64_t>("u64 value"); break;
    case GgufType::I64: v.i = c.read<int64_t>("i64 value"); break;
    case GgufType::F32: v.f = c.read<float>("f32 value"); break;
    case GgufType::F64: v.f = c.read<double>("f64 value"); break;
    case GgufType::BOOL: {
      uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1) fail(path, ": metadata ", key, ": bool value ", int(b), " is neither 0 nor 1");
      v.u = b;
      break;
    }
    case GgufType::STRING: v.s = c.read_string("string value"); break;
    default: fail(path, ": metadata ", key, ": unknown value type ", uint32_t(t));
  }
}

GgufValue read_value(Cursor& c, GgufType t, const std::string& path, const std::string& key, int depth) {
  GgufValue v;
  if (t != GgufType::ARRAY) {
    read_scalar(c, t, v, path, key);
    return v;
  }
  if (depth > 4) fail(path, ": metadata ", key, ": arrays nested more than 4 deep");
  v.type = GgufType::ARRAY;
  uint32_t et = c.read<uint32_t>("array element type");
  if (et > 12) fail(path, ": metadata ", key, ": unknown array element type ", et);
  v.elem_type = GgufType(et);
  uint64_t n = c.read<uint64_t>("array length");
  if (n > k_max_array) fail(path, ": metadata ", key, ": array length ", n, " is implausible");
  if (v.elem_type == GgufType::STRING) {
    c.need(n * 8, "string array");  // at least the length fields
    v.strs.reserve(n);
    for (uint64_t k = 0; k < n; ++k) v.strs.push_back(c.read_string("array string"));
  } else if (v.elem_type == GgufType::ARRAY) {
    for (uint64_t k = 0; k < n; ++k) {
      uint32_t inner = c.read<uint32_t>("nested array type");
      if (inner != uint32_t(GgufType::ARRAY))
        fail(path, ": metadata ", key, ": nested array element has type ", inner);
      v.items.push_back(read_value(c, GgufType::ARRAY, path, key, depth + 1));
    }
  } else {
    v.nums.reserve(n);
    GgufValue tmp;
    for (uint64_t k = 0; k < n; ++k) {
      read_scalar(c, v.elem_type, tmp, path, key);
      v.nums.push_back(tmp.number());
    }
  }
  return v;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
  Cursor c(path, file_->data(), file_->size());
  if (file_->size() < 8) fail(path, ": not a GGUF file (", file_->size(), " bytes, too short for a header)");
  uint32_t magic = c.read<uint32_t>("magic");
  if (magic != k_magic) fail(path, ": not a GGUF file (magic 0x", std::hex, magic, ", expected 0x46554747 'GGUF')");
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    fail(path, ": GGUF version ", version_, " is not supported (versions 2 and 3 are)");
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata count");
  if (n_tensors > (1u << 24)) fail(path, ": tensor count ", n_tensors, " is implausible");
  if (n_kv > (1u << 24)) fail(path, ": metadata count ", n_kv, " is implausible");

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = c.read_string("metadata key");
    uint32_t t = c.read<uint32_t>("metadata type");
    if (t > 12) fail(path, ": metadata ", key, ": unknown value type ", t);
    GgufValue v = read_value(c, GgufType(t), path, key, 0);
    if (kv_.count(key)) fail(path, ": metadata key ", key, " appears twice");
    key_order_.push_back(key);
    kv_.emplace(key, std::move(v));
  }

  if (auto* a = find("general.alignment")) {
    if (!a->is_int() || a->number() <= 0 || (uint64_t(a->number()) & (uint64_t(a->number()) - 1)))
      fail(path, ": general.alignment must be a power of two, got ", a->number());
    alignment_ = uint64_t(a->number());
  }

  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = c.read_string("tensor name");
    uint32_t n_dims = c.read<uint32_t>("tensor dims");
    if (n_dims == 0 || n_dims > k_max_dims)
      fail(path, ": tensor ", t.name, ": ", n_dims, " dimensions (1 to ", k_max_dims, " supported)");
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = c.read<uint64_t>("tensor dim");
      if (ne == 0 || ne > (1ull << 40)) fail(path, ": tensor ", t.name, ": dimension ", d, " is ", ne);
      t.ne.push_back(ne);
    }
    t.ggml_type = c.read<uint32_t>("tensor type");
    t.offset = c.read<uint64_t>("tensor offset");
    if (auto info = dtype_info(t.ggml_type)) {
      t.type = DType(t.ggml_type);
      uint64_t n = t.n_elements();
      if (t.ne[0] % info->block_elems != 0)
        fail(path, ": tensor ", t.name, ": row length ", t.ne[0], " is not a multiple of the ",
             info->name, " block size ", info->block_elems);
      t.n_bytes = n / info->block_elems * info->block_bytes;
    }
    if (tensor_index_.count(t.name)) fail(path, ": tensor ", t.name, " appears twice");
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (n_tensors > 0 && data_offset_ > file_->size())
    fail(path, ": truncated: data section would start at ", data_offset_, " but the file has ",
         file_->size(), " bytes");
  uint64_t data_size = file_->size() - std::min<uint64_t>(data_offset_, file_->size());
  for (auto& t : tensors_) {
    if (t.offset % alignment_ != 0)
      fail(path, ": tensor ", t.name, ": offset ", t.offset, " is not aligned to ", alignment_);
    if (!dtype_info(t.ggml_type)) continue;
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      fail(path, ": truncated or corrupt: tensor ", t.name, ": ", t.shape_str(), " ", dtype_name(t.type), " needs ",
           t.n_bytes, " bytes at data offset ", t.offset, ", file has ",
           t.offset > data_size ? 0 : data_size - t.offset, " left");
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

namespace {
const GgufValue& need_key(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) fail(f.path(), ": metadata key ", key, " is missing");
  return *v;
}
}  // namespace

std::string GgufFile::get_string(const std::string& key) const {
  const auto& v = need_key(*this, key);
  if (v.type != GgufType::STRING) fail(path(), ": metadata ", key, " is ", gguf_type_name(v.type), ", expected string");
  return v.s;
}

uint64_t GgufFile::get_uint(const std::string& key) const {
  const auto& v = need_key(*this, key);
  if (!v.is_int() || v.number() < 0)
    fail(path(), ": metadata ", key, " is ", gguf_type_name(v.type), ", expected a non-negative integer");
  return v.u ? v.u : uint64_t(v.i);
}

double GgufFile::get_float(const std::string& key) const {
  const auto& v = need_key(*this, key);
  if (!v.is_int() && !v.is_float()) fail(path(), ": metadata ", key, " is ", gguf_type_name(v.type), ", expected a number");
  return v.number();
}

bool GgufFile::get_bool(const std::string& key) const {
  const auto& v = need_key(*this, key);
  if (v.type != GgufType::BOOL) fail(path(), ": metadata ", key, " is ", gguf_type_name(v.type), ", expected bool");
  return v.u != 0;
}

std::optional<std::string> GgufFile::opt_string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}
std::optional<uint64_t> GgufFile::opt_uint(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_uint(key);
}
std::optional<double> GgufFile::opt_float(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_float(key);
}

const std::vector<std::string>& GgufFile::get_str_array(const std::string& key) const {
  const auto& v = need_key(*this, key);
  if (v.type != GgufType::ARRAY || v.elem_type != GgufType::STRING)
    fail(path(), ": metadata ", key, " is not an array of strings");
  return v.strs;
}

const std::vector<double>& GgufFile::get_num_array(const std::string& key) const {
  const auto& v = need_key(*this, key);
  if (v.type != GgufType::ARRAY || v.elem_type == GgufType::STRING || v.elem_type == GgufType::ARRAY)
    fail(path(), ": metadata ", key, " is not an array of numbers");
  return v.nums;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const auto* t = find_tensor(name);
  if (!t) fail(path(), ": tensor ", name, " is missing");
  return *t;
}

std::span<const uint8_t> GgufFile::data(const GgufTensorInfo& t) const {
  if (!dtype_info(t.ggml_type))
    fail(path(), ": tensor ", t.name, " has type ", ggml_type_name(t.ggml_type), " (", t.ggml_type,
         "), which is not supported (F32, F16, BF16, Q8_0, Q4_0 are)");
  return {file_->data() + data_offset_ + t.offset, t.n_bytes};
}

// ---------------------------------------------------------------------------------------------
// Writer

void GgufWriter::set(const std::string& key, GgufValue v) {
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

void GgufWriter::set_string(const std::string& key, const std::string& s) {
  GgufValue v;
  v.type = GgufType::STRING;
  v.s = s;
  set(key, std::move(v));
}
void GgufWriter::set_u32(const std::string& key, uint32_t x) {
  GgufValue v;
  v.type = GgufType::U32;
  v.u = x;
  set(key, std::move(v));
}
void GgufWriter::set_i32(const std::string& key, int32_t x) {
  GgufValue v;
  v.type = GgufType::I32;
  v.i = x;
  set(key, std::move(v));
}
void GgufWriter::set_u64(const std::string& key, uint64_t x) {
  GgufValue v;
  v.type = GgufType::U64;
  v.u = x;
  set(key, std::move(v));
}
void GgufWriter::set_f32(const std::string& key, float x) {
  GgufValue v;
  v.type = GgufType::F32;
  v.f = x;
  set(key, std::move(v));
}
void GgufWriter::set_bool(const std::string& key, bool x) {
  GgufValue v;
  v.type = GgufType::BOOL;
  v.u = x;
  set(key, std::move(v));
}
void GgufWriter::set_str_array(const std::string& key, std::vector<std::string> a) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = GgufType::STRING;
  v.strs = std::move(a);
  set(key, std::move(v));
}
void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& a) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = GgufType::F32;
  v.nums.assign(a.begin(), a.end());
  set(key, std::move(v));
}
void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& a) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = GgufType::I32;
  v.nums.assign(a.begin(), a.end());
  set(key, std::move(v));
}
void GgufWriter::set_alignment(uint32_t a) {
  DS_CHECK(a > 0 && (a & (a - 1)) == 0, "[gguf] alignment ", a, " is not a power of two");
  alignment_ = a;
  set_u32("general.alignment", a);
}

void GgufWriter::check_new(const std::string& name, DType type, const std::vector<uint64_t>& ne, uint64_t n_bytes) const {
  DS_CHECK(!ne.empty() && ne.size() <= 4, "[gguf] tensor ", name, ": ", ne.size(), " dims");
  uint64_t n = 1;
  for (auto d : ne) n *= d;
  DS_CHECK(ne[0] % dtype_block_elems(type) == 0, "[gguf] tensor ", name, ": row length ", ne[0],
           " is not a multiple of the ", dtype_name(type), " block size");
  size_t want = dtype_bytes(type, n);
  DS_CHECK(n_bytes == want, "[gguf] tensor ", name, ": ", dtype_name(type), " with ", n, " elements needs ", want,
           " bytes, got ", n_bytes);
  for (auto& t : tensors_) DS_CHECK(t.name != name, "[gguf] tensor ", name, " added twice");
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<uint64_t> ne,
                            std::span<const uint8_t> bytes) {
  check_new(name, type, ne, bytes.size());
  tensors_.push_back({name, type, std::move(ne), std::vector<uint8_t>(bytes.begin(), bytes.end()), bytes.size(), {}});
}

void GgufWriter::add_tensor_deferred(const std::string& name, DType type, std::vector<uint64_t> ne, Fill fill) {
  DS_CHECK(!ne.empty(), "[gguf] tensor ", name, ": no dims");
  uint64_t n = 1;
  for (auto d : ne) n *= d;
  const uint64_t size = dtype_bytes(type, n);
  check_new(name, type, ne, size);
  tensors_.push_back({name, type, std::move(ne), {}, size, std::move(fill)});
}

void GgufWriter::add_tensor_f32(const std::string& name, DType type, std::vector<uint64_t> ne,
                                std::span<const float> values) {
  std::vector<uint8_t> bytes(dtype_bytes(type, values.size()));
  DS_CHECK(values.size() % dtype_block_elems(type) == 0, "[gguf] tensor ", name, ": ", values.size(),
           " values do not fill whole ", dtype_name(type), " blocks");
  from_f32(type, values.data(), bytes.data(), values.size());
  add_tensor(name, type, std::move(ne), bytes);
}

namespace {

void put_raw(std::vector<uint8_t>& out, const void* p, size_t n) {
  auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}
template <class T>
void put(std::vector<uint8_t>& out, T v) {
  put_raw(out, &v, sizeof v);
}
void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  put_raw(out, s.data(), s.size());
}

void put_scalar(std::vector<uint8_t>& out, GgufType t, double num, const GgufValue* v) {
  switch (t) {
    case GgufType::U8: put<uint8_t>(out, uint8_t(v ? v->u : num)); break;
    case GgufType::I8: put<int8_t>(out, int8_t(v ? v->i : num)); break;
    case GgufType::U16: put<uint16_t>(out, uint16_t(v ? v->u : num)); break;
    case GgufType::I16: put<int16_t>(out, int16_t(v ? v->i : num)); break;
    case GgufType::U32: put<uint32_t>(out, uint32_t(v ? v->u : num)); break;
    case GgufType::I32: put<int32_t>(out, int32_t(v ? v->i : num)); break;
    case GgufType::U64: put<uint64_t>(out, uint64_t(v ? v->u : num)); break;
    case GgufType::I64: put<int64_t>(out, int64_t(v ? v->i : num)); break;
    case GgufType::F32: put<float>(out, float(v ? v->f : num)); break;
    case GgufType::F64: put<double>(out, double(v ? v->f : num)); break;
    case GgufType::BOOL: put<uint8_t>(out, uint8_t((v ? v->u : num) != 0)); break;
    default: fail("[gguf] cannot write scalar of type ", gguf_type_name(t));
  }
}

void put_value(std::vector<uint8_t>& out, const GgufValue& v) {
  if (v.type == GgufType::STRING) {
    put_string(out, v.s);
  } else if (v.type == GgufType::ARRAY) {
    put<uint32_t>(out, uint32_t(v.elem_type));
    put<uint64_t>(out, v.array_size());
    if (v.elem_type == GgufType::STRING) {
      for (auto& s : v.strs) put_string(out, s);
    } else if (v.elem_type == GgufType::ARRAY) {
      for (auto& item : v.items) {
        put<uint32_t>(out, uint32_t(GgufType::ARRAY));
        put_value(out, item);
      }
    } else {
      for (double x : v.nums) put_scalar(out, v.elem_type, x, nullptr);
    }
  } else {
    put_scalar(out, v.type, 0, &v);
  }
}

void write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": write failed: ", std::strerror(errno));
    }
    p += w;
    n -= size_t(w);
  }
}

}  // namespace

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> head;
  put<uint32_t>(head, k_magic);
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_.size());
  for (auto& [key, v] : kv_) {
    put_string(head, key);
    put<uint32_t>(head, uint32_t(v.type));
    put_value(head, v);
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, uint32_t(t.ne.size()));
    for (auto d : t.ne) put<uint64_t>(head, d);
    put<uint32_t>(head, uint32_t(t.type));
    put<uint64_t>(head, offset);
    offsets.push_back(offset);
    offset += (t.size + alignment_ - 1) / alignment_ * alignment_;
  }
  head.resize((head.size() + alignment_ - 1) / alignment_ * alignment_, 0);

  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, ": cannot create: ", std::strerror(errno));
  try {
    write_all(fd, head.data(), head.size(), tmp);
    std::vector<uint8_t> pad(alignment_, 0);
    std::vector<uint8_t> produced;
    for (auto& t : tensors_) {
      std::span<const uint8_t> bytes = t.bytes;
      if (t.fill) {
        produced.assign(t.size, 0);
        t.fill(produced);
        bytes = produced;
      }
      write_all(fd, bytes.data(), bytes.size(), tmp);
      size_t rem = (alignment_ - bytes.size() % alignment_) % alignment_;
      write_all(fd, pad.data(), rem, tmp);
    }
    if (::fsync(fd) != 0) fail(tmp, ": fsync failed: ", std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(tmp, ": close failed: ", std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail(path, ": cannot rename ", tmp, " into place: ", std::strerror(e));
  }
}

}  // namespace ds
