// JsonWriter: a small streaming JSON writer (objects, arrays, escaped strings, numbers) for --json
// outputs and exports. Keys and values are written in call order; commas are handled for you.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(double d);
  JsonWriter& value(int64_t i);
  JsonWriter& value(int i) { return value(int64_t(i)); }
  JsonWriter& value(uint64_t u) { return value(int64_t(u)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  const std::string& str() const { return out_; }
  static std::string escape(std::string_view s);

 private:
  void sep();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace ds
