// Names of the store's enums as written in the database, the clock, and Blob's float helpers.
#include <chrono>
#include <cstring>

#include "distilscope/store_records.h"
#include "util/error.h"

namespace ds {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

template <class E, size_t N>
E parse_name(std::string_view s, const char* const (&names)[N], const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (s == names[i]) return E(i);
  fail("[store] unknown ", what, " \"", s, "\"");
}

const char* const kRoles[] = {"system", "user", "assistant"};
const char* const kKinds[] = {"generate", "trace", "compare", "pretrain", "distill", "eval"};
const char* const kStatuses[] = {"running", "done", "failed", "cancelled"};
const char* const kBlobTypes[] = {"f32", "f16", "bf16", "i32", "u8"};

}  // namespace

const char* to_string(Role r) { return kRoles[int(r)]; }
const char* to_string(RunKind k) { return kKinds[int(k)]; }
const char* to_string(RunStatus s) { return kStatuses[int(s)]; }
const char* to_string(BlobType t) { return kBlobTypes[int(t)]; }
Role parse_role(std::string_view s) { return parse_name<Role>(s, kRoles, "message role"); }
RunKind parse_run_kind(std::string_view s) { return parse_name<RunKind>(s, kKinds, "run kind"); }
RunStatus parse_run_status(std::string_view s) { return parse_name<RunStatus>(s, kStatuses, "run status"); }
BlobType parse_blob_type(std::string_view s) { return parse_name<BlobType>(s, kBlobTypes, "blob type"); }

size_t element_size(BlobType t) {
  switch (t) {
    case BlobType::F32: case BlobType::I32: return 4;
    case BlobType::F16: case BlobType::BF16: return 2;
    case BlobType::U8: return 1;
  }
  return 1;
}

Blob Blob::from_floats(BlobKey key, std::vector<int64_t> shape, std::span<const float> values) {
  Blob b;
  b.key = std::move(key);
  b.type = BlobType::F32;
  b.shape = std::move(shape);
  b.bytes.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(b.bytes.data(), values.data(), values.size_bytes());
  return b;
}

std::vector<float> Blob::floats() const {
  DS_CHECK(type == BlobType::F32, "[store] blob ", key.kind, " holds ", to_string(type), ", not f32");
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace ds
