// JSON reading: a DOM parser (RFC 8259, strict: no comments, NaN or trailing commas; objects keep
// their key order; duplicate keys are an error) and JsonRef, a view that knows where it is in the
// document so typed accessors fail with "config.json: key 'ssm_cfg.d_state' is a string, expected a number".
// Writing goes through util/json.h (JsonWriter); write_json() re-emits a parsed value there.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace ds {

enum class JsonType { Null, Bool, Number, String, Array, Object };
const char* json_type_name(JsonType t);  // "null", "a boolean", "a number", "a string", "an array", "an object"

struct JsonValue {
  JsonType type = JsonType::Null;
  bool boolean = false;
  double number = 0;
  bool integral = false;            // number is an integer held exactly in `integer`
  int64_t integer = 0;
  std::string string;               // String: decoded UTF-8
  std::vector<JsonValue> items;     // Array elements, or Object member values (file order)
  std::vector<std::string> keys;    // Object member keys, parallel to items
  std::vector<uint32_t> by_key;     // Object: member indices sorted by key, for lookup

  const JsonValue* find(std::string_view key) const;  // Object member or nullptr
};

struct JsonParseOptions {
  int max_depth = 128;  // nesting of arrays/objects
};

// Parses a whole document; `name` (usually the file name) prefixes errors:
//   "[json] config.json:12:5: expected ',' or '}' after object member"
JsonValue parse_json(std::string_view text, std::string_view name, const JsonParseOptions& = {});

// A parsed document: the file name, the text's root value.
struct JsonDocument {
  std::string name;
  JsonValue root;
};
JsonDocument read_json_file(const std::string& path, const JsonParseOptions& = {});  // name = path

// A position in a document: value + document name + key path ("ssm_cfg.d_state", "layout[3]").
// Cheap to copy (the name is shared); the parsed value must outlive it.
class JsonRef {
 public:
  JsonRef(const JsonValue& v, std::string doc) : v_(&v), doc_(std::make_shared<const std::string>(std::move(doc))) {}
  JsonRef(const JsonDocument& d) : JsonRef(d.root, d.name) {}  // NOLINT: implicit on purpose

  const JsonValue& value() const { return *v_; }
  JsonType type() const { return v_->type; }
  bool is_null() const { return v_->type == JsonType::Null; }
  bool is_object() const { return v_->type == JsonType::Object; }
  bool is_array() const { return v_->type == JsonType::Array; }
  bool is_string() const { return v_->type == JsonType::String; }
  bool is_number() const { return v_->type == JsonType::Number; }
  const std::string& path() const { return path_; }
  const std::string& doc() const { return *doc_; }

  // Object members. get() fails when the key is missing; opt() treats a missing key and null alike.
  bool has(std::string_view key) const;
  JsonRef get(std::string_view key) const;
  std::optional<JsonRef> opt(std::string_view key) const;
  // Array elements / object members (value refs in file order, with their keys).
  size_t size() const;  // array or object
  JsonRef at(size_t i) const;
  std::vector<std::pair<std::string_view, JsonRef>> members() const;

  // Typed values; each fails naming the document, the key path, what it is and what was expected.
  bool as_bool() const;
  double as_double() const;
  int64_t as_int() const;                        // integral numbers only (2.0 is fine, 2.5 is not)
  int64_t as_int(int64_t lo, int64_t hi) const;  // with a range check
  const std::string& as_string() const;

  // Optional member with a default (missing or null -> default).
  bool bool_or(std::string_view key, bool d) const;
  double double_or(std::string_view key, double d) const;
  int64_t int_or(std::string_view key, int64_t d) const;
  std::string string_or(std::string_view key, std::string d) const;

  [[noreturn]] void fail_here(const std::string& what) const;  // "doc: key 'path' <what>"

 private:
  JsonRef(const JsonValue& v, std::shared_ptr<const std::string> doc, std::string path)
      : v_(&v), doc_(std::move(doc)), path_(std::move(path)) {}
  JsonRef child(const JsonValue& v, std::string path) const { return JsonRef(v, doc_, std::move(path)); }
  void expect(JsonType t) const;
  std::string where() const;
  const JsonValue* v_;
  std::shared_ptr<const std::string> doc_;
  std::string path_;
};

// Writes a parsed value through a JsonWriter (integers stay integers, key order is kept).
void write_json(JsonWriter& w, const JsonValue& v);

}  // namespace ds
