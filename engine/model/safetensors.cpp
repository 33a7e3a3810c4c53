// Safetensors reader (header validation: limits, bounds, sizes, overlaps), shard directory, writer.
#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json.h"
#include "util/json_parse.h"

namespace ds {

namespace fs = std::filesystem;

namespace {

struct DtypeEntry {
  const char* name;
  uint32_t bits;
  std::optional<DType> type;
};

// The dtypes of the safetensors format; only the ones with an engine type can be read as data.
const DtypeEntry k_dtypes[] = {
    {"F32", 32, DType::F32},   {"F16", 16, DType::F16},  {"BF16", 16, DType::BF16}, {"I32", 32, DType::I32},
    {"F64", 64, {}},           {"I64", 64, {}},          {"U64", 64, {}},           {"U32", 32, {}},
    {"I16", 16, {}},           {"U16", 16, {}},          {"I8", 8, {}},             {"U8", 8, {}},
    {"BOOL", 8, {}},           {"F8_E4M3", 8, {}},       {"F8_E5M2", 8, {}},        {"F8_E8M0", 8, {}},
    {"F6_E2M3", 6, {}},        {"F6_E3M2", 6, {}},       {"F4", 4, {}},             {"C64", 64, {}},
};

const DtypeEntry* find_dtype(std::string_view name) {
  for (auto& d : k_dtypes)
    if (name == d.name) return &d;
  return nullptr;
}

std::string range_str(uint64_t b, uint64_t e) { return cat("[", b, ", ", e, ")"); }

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

uint64_t SafetensorsTensor::n_elements() const {
  uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string SafetensorsTensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// ---- reader ----

SafetensorsFile::SafetensorsFile(const std::string& path) {
  try {
    file_ = std::make_unique<MappedFile>(path);
  } catch (const Error& e) {
    fail("[safetensors] ", e.what());
  }
  const uint64_t size = file_->size();
  auto bad = [&](const auto&... parts) { fail("[safetensors] ", path, ": ", parts...); };
  if (size < 8) bad("file is ", size, " bytes, too small for the 8-byte header length");
  const uint64_t n = read_u64_le(file_->data());
  if (n > k_safetensors_max_header)
    bad("header length ", n, " bytes exceeds the limit of ", k_safetensors_max_header,
        " bytes (not a safetensors file, or a corrupt one)");
  if (n > size - 8) bad("header of ", n, " bytes runs past the end of the file (", size, " bytes)");
  data_offset_ = 8 + n;
  const uint64_t data_size = size - data_offset_;

  std::string_view text(reinterpret_cast<const char*>(file_->data() + 8), n);
  JsonValue header;
  try {
    header = parse_json(text, "header");
  } catch (const Error& e) {
    bad("invalid JSON header: ", e.what());
  }
  try {
    JsonRef root(header, cat(path, " header"));
    if (!root.is_object()) root.fail_here(cat("is ", json_type_name(root.type()), ", expected an object"));
    for (auto& [key, v] : root.members()) {
      if (key == "__metadata__") {
        for (auto& [mk, mv] : v.members()) metadata_.emplace_back(std::string(mk), mv.as_string());
        continue;
      }
      SafetensorsTensor t;
      t.name = std::string(key);
      t.dtype = v.get("dtype").as_string();
      if (auto* d = find_dtype(t.dtype)) {
        t.elem_bits = d->bits;
        t.type = d->type;
      }
      JsonRef shape = v.get("shape");
      for (size_t i = 0; i < shape.size(); ++i) t.shape.push_back(uint64_t(shape.at(i).as_int(0, INT64_MAX)));
      JsonRef offs = v.get("data_offsets");
      if (offs.size() != 2) offs.fail_here(cat("has ", offs.size(), " elements, expected 2 (begin, end)"));
      t.begin = uint64_t(offs.at(0).as_int(0, INT64_MAX));
      t.end = uint64_t(offs.at(1).as_int(0, INT64_MAX));
      if (t.end < t.begin) bad("tensor ", t.name, ": data_offsets ", range_str(t.begin, t.end), " end before they begin");
      if (t.end > data_size)
        bad("tensor ", t.name, ": data_offsets ", range_str(t.begin, t.end), " run past the end of the file (data section is ",
            data_size, " bytes)");
      uint64_t elems = 1, bits = 0;
      for (auto d : t.shape)
        if (__builtin_mul_overflow(elems, d, &elems)) bad("tensor ", t.name, ": shape ", t.shape_str(), " overflows");
      if (t.elem_bits) {
        if (__builtin_mul_overflow(elems, uint64_t(t.elem_bits), &bits) || bits != t.n_bytes() * 8)
          bad("tensor ", t.name, ": ", t.dtype, " ", t.shape_str(), " needs ", bits / 8, bits % 8 ? "+" : "",
              " bytes but data_offsets ", range_str(t.begin, t.end), " hold ", t.n_bytes());
      }
      index_[t.name] = tensors_.size();
      tensors_.push_back(std::move(t));
    }
  } catch (const Error& e) {
    if (std::string_view(e.what()).substr(0, 13) == "[safetensors]") throw;
    fail("[safetensors] ", e.what());
  }

  // No two tensors may share a byte (sorted by begin; empty tensors cannot overlap anything).
  std::vector<const SafetensorsTensor*> by_begin;
  for (auto& t : tensors_)
    if (t.n_bytes() > 0) by_begin.push_back(&t);
  std::sort(by_begin.begin(), by_begin.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  const SafetensorsTensor* reach = nullptr;  // the tensor ending furthest so far
  for (auto* t : by_begin) {
    if (reach && t->begin < reach->end)
      bad("tensors ", reach->name, " ", range_str(reach->begin, reach->end), " and ", t->name, " ",
          range_str(t->begin, t->end), " overlap");
    if (!reach || t->end > reach->end) reach = t;
  }
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensor& SafetensorsFile::tensor(std::string_view name) const {
  if (auto* t = find(name)) return *t;
  fail("[safetensors] ", path(), ": no tensor named ", name, " (", tensors_.size(), " tensors in the file)");
}

std::span<const uint8_t> SafetensorsFile::data(const SafetensorsTensor& t) const {
  if (!t.type)
    fail("[safetensors] ", path(), ": tensor ", t.name, " has dtype ", t.dtype,
         t.elem_bits ? "" : " (unknown to this reader)", ", which the engine cannot use (F32, F16, BF16, I32 are supported)");
  return {file_->data() + data_offset_ + t.begin, size_t(t.n_bytes())};
}

// ---- directory of shards ----

SafetensorsDir::SafetensorsDir(const std::string& dir) : dir_(dir) {
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  std::error_code ec;
  if (fs::is_regular_file(single, ec)) {  // transformers also prefers the single file
    files_.push_back(std::make_unique<SafetensorsFile>(single));
    for (auto& t : files_[0]->tensors()) where_[t.name] = {files_[0].get(), &t};
    return;
  }
  if (!fs::is_regular_file(index, ec)) {
    std::string found;
    if (fs::is_directory(dir, ec))
      for (auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".safetensors") found += (found.empty() ? "" : ", ") + e.path().filename().string();
    fail("[safetensors] ", dir, ": has neither model.safetensors nor model.safetensors.index.json",
         found.empty() ? std::string(" (not a Hugging Face model directory?)") : cat(" (found ", found, ")"));
  }
  sharded_ = true;
  JsonDocument doc = read_json_file(index);
  JsonRef map = JsonRef(doc).get("weight_map");
  std::map<std::string, const SafetensorsFile*> shards;
  for (auto& [name, shard_ref] : map.members()) {
    const std::string& shard = shard_ref.as_string();
    if (shard.empty() || shard[0] == '/' || shard.find("..") != std::string::npos)
      shard_ref.fail_here(cat("names shard '", shard, "', which is not a file inside the model directory"));
    auto it = shards.find(shard);
    if (it == shards.end()) {
      std::string p = dir + "/" + shard;
      if (!fs::exists(p, ec))
        fail("[safetensors] ", index, ": shard ", shard, " (holding tensor ", name, ") does not exist in ", dir);
      files_.push_back(std::make_unique<SafetensorsFile>(p));
      it = shards.emplace(shard, files_.back().get()).first;
    }
    const SafetensorsTensor* t = it->second->find(name);
    if (!t) fail("[safetensors] ", index, ": tensor ", name, " is mapped to ", shard, ", which does not contain it");
    where_[std::string(name)] = {it->second, t};
  }
}

std::vector<std::string> SafetensorsDir::names() const {
  std::vector<std::string> out;
  for (auto& [n, w] : where_) out.push_back(n);
  return out;
}

const SafetensorsTensor* SafetensorsDir::find(std::string_view name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : it->second.second;
}

const SafetensorsTensor& SafetensorsDir::tensor(std::string_view name) const {
  if (auto* t = find(name)) return *t;
  fail("[safetensors] ", dir_, ": no tensor named ", name, " (", where_.size(), " tensors in ", files_.size(), " file(s))");
}

const SafetensorsFile& SafetensorsDir::file_of(std::string_view name) const {
  tensor(name);
  return *where_.find(name)->second.first;
}

std::span<const uint8_t> SafetensorsDir::data(std::string_view name) const { return file_of(name).data(tensor(name)); }

// ---- writer ----

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    default: fail("[safetensors] type ", dtype_name(t), " has no safetensors dtype (F32, F16, BF16, I32 can be written)");
  }
}

SafetensorsWriter::SafetensorsWriter() { metadata_.emplace_back("format", "pt"); }

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = value;
      return;
    }
  metadata_.emplace_back(key, value);
}

void SafetensorsWriter::add_entry(Entry e) {
  DS_CHECK(e.name != "__metadata__" && !e.name.empty(), "[safetensors] writer: invalid tensor name '", e.name, "'");
  DS_CHECK(!names_.count(e.name), "[safetensors] writer: tensor ", e.name, " added twice");
  safetensors_dtype_name(e.type);
  uint64_t n = 1;
  for (auto d : e.shape) n *= d;
  if (!e.fill) e.size = e.bytes.size();
  DS_CHECK(e.size == dtype_bytes(e.type, n), "[safetensors] writer: tensor ", e.name, ": ", dtype_name(e.type),
           " with ", n, " elements needs ", dtype_bytes(e.type, n), " bytes, got ", e.size);
  names_[e.name] = entries_.size();
  entries_.push_back(std::make_unique<Entry>(std::move(e)));
}

void SafetensorsWriter::add(const std::string& name, DType type, std::vector<uint64_t> shape, std::span<const uint8_t> bytes) {
  Entry e{name, type, std::move(shape), std::vector<uint8_t>(bytes.begin(), bytes.end()), {}, 0, {}};
  e.bytes = e.owned;  // the vector's buffer moves with it
  add_entry(std::move(e));
}

void SafetensorsWriter::add_view(const std::string& name, DType type, std::vector<uint64_t> shape,
                                 std::span<const uint8_t> bytes) {
  add_entry(Entry{name, type, std::move(shape), {}, bytes, 0, {}});
}

void SafetensorsWriter::add_deferred(const std::string& name, DType type, std::vector<uint64_t> shape, Fill fill) {
  uint64_t n = 1;
  for (auto d : shape) n *= d;
  const uint64_t size = dtype_bytes(type, n);
  add_entry(Entry{name, type, std::move(shape), {}, {}, size, std::move(fill)});
}

uint64_t SafetensorsWriter::total_bytes() const {
  uint64_t n = 0;
  for (auto& e : entries_) n += e->size;
  return n;
}

void SafetensorsWriter::write_file(const std::string& path, const std::vector<const Entry*>& entries) const {
  JsonWriter w;
  w.begin_object();
  w.key("__metadata__").begin_object();
  for (auto& [k, v] : metadata_) w.field(k, std::string_view(v));
  w.end_object();
  uint64_t offset = 0;
  for (auto* e : entries) {
    w.key(e->name).begin_object();
    w.field("dtype", safetensors_dtype_name(e->type));
    w.key("shape").begin_array();
    for (auto d : e->shape) w.value(d);
    w.end_array();
    w.key("data_offsets").begin_array().value(offset).value(offset + e->size).end_array();
    w.end_object();
    offset += e->size;
  }
  w.end_object();
  std::string header = w.str();
  header.resize((header.size() + 8 + 7) / 8 * 8 - 8, ' ');  // data section starts 8-aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  AtomicFile f(path);
  f.write(len, 8);
  f.write(header);
  std::vector<uint8_t> produced;
  for (auto* e : entries) {
    if (e->fill) {
      produced.assign(e->size, 0);
      e->fill(produced);
      f.write(produced.data(), produced.size());
    } else {
      f.write(e->bytes.data(), e->bytes.size());
    }
  }
  f.commit();
}

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::packing_order() const {
  std::vector<const Entry*> order;
  for (auto& e : entries_) order.push_back(e.get());
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    size_t sa = dtype_bytes(a->type, 1), sb = dtype_bytes(b->type, 1);
    return sa != sb ? sa > sb : a->name < b->name;
  });
  return order;
}

void SafetensorsWriter::write(const std::string& path) const { write_file(path, packing_order()); }

std::vector<std::string> SafetensorsWriter::write_dir(const std::string& dir, uint64_t max_shard_bytes) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("[safetensors] ", dir, ": cannot create directory: ", ec.message());
  std::vector<const Entry*> order = packing_order();
  // Greedy shards in that order; a tensor larger than the limit gets a shard of its own.
  std::vector<std::vector<const Entry*>> shards(1);
  uint64_t in_shard = 0;
  for (auto* e : order) {
    if (max_shard_bytes && in_shard > 0 && in_shard + e->size > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(e);
    in_shard += e->size;
  }
  const std::string single = dir + "/model.safetensors", index = dir + "/model.safetensors.index.json";
  if (shards.size() == 1) {
    write_file(single, shards[0]);
    fs::remove(index, ec);
    return {"model.safetensors"};
  }
  std::vector<std::string> names;
  JsonWriter w;
  w.begin_object();
  w.key("metadata").begin_object().field("total_size", total_bytes()).end_object();
  w.key("weight_map").begin_object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_file(dir + "/" + name, shards[i]);
    for (auto* e : shards[i]) w.field(e->name, std::string_view(name));
    names.push_back(name);
  }
  w.end_object().end_object();
  write_file_atomic(index, w.str() + "\n");
  fs::remove(single, ec);
  names.push_back("model.safetensors.index.json");
  return names;
}

}  // namespace ds
